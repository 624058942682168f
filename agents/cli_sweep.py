"""``netmoe sweep``: a grid of seeds x scenarios x reward weights, local or on Ray."""

from __future__ import annotations

import argparse

from agents.cli_common import guarded, load, setup_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="experiment YAML with a sweep: section")
    parser.add_argument("--out", default="runs/sweep", help="output directory")
    parser.add_argument("--workers", type=int, default=2, help="local processes (default 2)")
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument(
        "--address", help="Ray cluster address (e.g. auto or ray://host:10001); needs ray"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (local runs)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)

    def go() -> int:
        from agents.experiment import ExperimentError
        from agents.sweep import sweep

        if args.workers < 1:
            raise ExperimentError("--workers must be >= 1")
        table = sweep(load(args), args.out, workers=args.workers, address=args.address,
                      progress=not args.no_progress)  # fmt: skip
        means = table.groupby(["scenario", "weights", "method"], sort=False)["reward"].mean()
        print(means.to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"results in {args.out}/sweep.csv")
        return 0

    return guarded(go)


if __name__ == "__main__":
    import sys

    from agents.cli_common import standalone

    sys.exit(standalone("sweep", sys.modules[__name__]))
