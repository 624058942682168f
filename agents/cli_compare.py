"""``netmoe compare``: every method over several seeds, the paper's figures and table;
``--cross-model``: train on several backends, evaluate all on one."""

from __future__ import annotations

import argparse
from typing import Any

from agents.cli_common import guarded, load, setup_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="experiment YAML (configs/experiment_*)")
    parser.add_argument("--out", default="runs/compare", help="output directory")
    parser.add_argument("--seeds", type=int, help="override compare.seeds")
    parser.add_argument("--workers", type=int, help="override compare.workers")
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument("--backend", choices=["ns3", "shannon"], help="override env.backend")
    parser.add_argument("--eval-episodes", type=int, help="override train.eval_episodes")
    parser.add_argument(
        "--users", type=int, help="only the first M users (scenario.users or num_users)"
    )
    parser.add_argument("--experts", type=int, help="only the first N of the experiment's experts")
    parser.add_argument(
        "--methods", help="comma-separated subset of sac,random,local,greedy-snr,"
        "least-loaded,quality-greedy,round-robin,table-oracle,table-oracle-masked,upper-bound,"
        "upper-bound-masked (several users: "
        "also coordinate-descent)",
    )  # fmt: skip
    parser.add_argument(
        "--cross-model", action="store_true",
        help="train SAC on each --train-backends, evaluate all on --eval-backend",
    )  # fmt: skip
    parser.add_argument(
        "--train-backends", default="shannon,ns3",
        help="(cross-model) comma-separated: shannon, ns3, shannon+ns3 (pretrain, then ns-3)",
    )  # fmt: skip
    parser.add_argument("--eval-backend", default="ns3", choices=["ns3", "shannon"])
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)

    def go() -> int:
        from agents.experiment import METHODS, ExperimentError

        exp = load(args)
        changes: dict[str, Any] = {}
        if args.seeds is not None:
            if args.seeds < 1:
                raise ExperimentError("--seeds must be >= 1")
            changes["seeds"] = args.seeds
        if args.workers is not None:
            if args.workers < 1:
                raise ExperimentError("--workers must be >= 1")
            changes["workers"] = args.workers
        if args.methods:
            methods = [m.strip() for m in args.methods.split(",") if m.strip()]
            bad = [m for m in methods if m not in METHODS]
            if bad or not methods:
                raise ExperimentError(f"--methods: unknown {bad}; known: {', '.join(METHODS)}")
            changes["methods"] = methods
        exp = exp.with_compare(**changes)
        import pandas as pd

        pd.set_option("display.width", 160)
        if args.cross_model:
            from agents.compare import cross_model

            backends = [b.strip() for b in args.train_backends.split(",") if b.strip()]
            known = ("ns3", "shannon", "shannon+ns3")
            bad = [b for b in backends if b not in known]
            if bad or not backends:
                raise ExperimentError(f"--train-backends: unknown {bad}; use {', '.join(known)}")
            summary = cross_model(exp, args.out, backends, args.eval_backend,
                                  progress=not args.no_progress)  # fmt: skip
        else:
            from agents.compare import compare

            summary = compare(exp, args.out, progress=not args.no_progress)
        print(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"results in {args.out}")
        return 0

    return guarded(go)


if __name__ == "__main__":
    import sys

    from agents.cli_common import standalone

    sys.exit(standalone("compare", sys.modules[__name__]))
