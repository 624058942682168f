"""``netmoe train``: train discrete SAC on an experiment (resumes a killed run)."""

from __future__ import annotations

import argparse

from agents.cli_common import guarded, load, setup_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="experiment YAML (configs/experiment_*)")
    parser.add_argument("--out", default="runs/train", help="run directory (default runs/train)")
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument("--num-envs", type=int, help="override train.num_envs")
    parser.add_argument("--seed", type=int, help="override train.seed")
    parser.add_argument("--backend", choices=["ns3", "shannon"], help="override env.backend")
    parser.add_argument(
        "--fresh", action="store_true", help="ignore a checkpoint in --out and start over"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    # crash tests: SIGKILL the process after this epoch
    parser.add_argument("--kill-after-epoch", type=int, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)

    def go() -> int:
        from agents.train import train

        res = train(
            load(args), args.out, resume=not args.fresh, progress=not args.no_progress,
            kill_after_epoch=args.kill_after_epoch,
        )  # fmt: skip
        last = res.evals.iloc[-1]
        print(f"final eval reward {last['reward']:.4f} at epoch {int(last['epoch'])}; "
              f"results in {res.out}")  # fmt: skip
        return 0

    return guarded(go)


if __name__ == "__main__":
    import sys

    from agents.cli_common import standalone

    sys.exit(standalone("train", sys.modules[__name__]))
