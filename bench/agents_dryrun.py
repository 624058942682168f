"""Dry run of `netmoe compare` on the Shannon backend with a *synthetic* quality table.

For checking the pipeline and timing it before the real table exists; the scores are
random numbers (tests/conftest.py::synthetic_frame), so the rewards say nothing about
language quality. Usage:

    python bench/agents_dryrun.py --out runs/dryrun [--backend shannon|ns3] [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/dryrun")
    parser.add_argument("--backend", default="shannon", choices=["shannon", "ns3"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--prompts", type=int, default=20)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import synthetic_frame

    table = out / "synthetic_table.parquet"
    synthetic_frame(args.prompts, 3, 3).to_parquet(table)
    exp = yaml.safe_load((REPO / "configs/experiment_default.yaml").read_text())
    exp["env_base"] = str(REPO / "configs/default.yaml")
    exp["env"] = {**exp["env"], "backend": args.backend, "tasks": {"table": str(table.resolve())}}
    exp["compare"]["seeds"] = args.seeds
    path = out / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))

    from agents import cli_compare
    from agents.cli_common import standalone

    t0 = time.perf_counter()
    rc = standalone("compare", cli_compare, ["--config", str(path), "--out", str(out / "compare"),
                                             "--no-progress"])  # fmt: skip
    print(f"wall time {time.perf_counter() - t0:.1f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
