"""What the env benchmarks measure and set up the same way: the scenario's peak memory,
the wall time spent inside the bridge (waiting for ns-3), and the scaling benchmarks'
scenario (N experts on a circle, a synthetic table) and outputs. Imported by env_step.py,
env_scaling.py and multi_user_scaling.py (run as ``python bench/<script>.py``, so this
directory is on sys.path)."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pybridge.bridge import Bridge
from pybridge.config import EnvConfig


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of process ``pid`` in MiB; NaN if not reported."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class BridgeClock:
    """Seconds spent in ``Bridge.exchange`` (one action out, its report back) while the
    ``timed_bridge`` block runs: the scenario's share of a step, as Python waits for it."""

    def __init__(self) -> None:
        self.seconds = 0.0


@contextmanager
def timed_bridge() -> Iterator[BridgeClock]:
    """Count the wall time of every bridge exchange in the block (every Bridge instance)."""
    clock = BridgeClock()
    original = Bridge.exchange

    def exchange(self: Bridge):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return original(self)
        finally:
            clock.seconds += time.perf_counter() - t

    Bridge.exchange = exchange  # type: ignore[method-assign]
    try:
        yield clock
    finally:
        Bridge.exchange = original  # type: ignore[method-assign]


# -- the scaling benchmarks' scenario and outputs ----------------------------------------


def add_scaling_arguments(parser: argparse.ArgumentParser, experts: list[int]) -> None:
    """The options every scaling benchmark takes: the base config, N, the table, outputs."""
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--experts", type=int, nargs="+", default=experts)
    parser.add_argument("--subtasks", type=int, default=3, help="K of the synthetic table")
    parser.add_argument("--radius", type=float, default=10.0, help="experts' circle (m)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--csv", type=Path)


def scaled_config(base: EnvConfig, n: int, radius: float, table: Path, tasks: int) -> dict:
    """``base`` with N static experts on a circle of ``radius`` around the user, ``table``
    and ``tasks`` tasks (rounds) per episode."""
    cfg = base.model_dump(mode="json")
    user = cfg["scenario"]["user"]["position"]
    cfg["scenario"]["experts"] = [
        {
            "position": [
                round(user[0] + radius * math.cos(2 * math.pi * i / n), 3),
                round(user[1] + radius * math.sin(2 * math.pi * i / n), 3),
                user[2],
            ]
        }
        for i in range(n)
    ]
    cfg["tasks"]["table"] = str(table)
    cfg["tasks"]["episode_tasks"] = tasks
    return cfg


def synthetic_table(directory: Path, n: int, subtasks: int, seed: int) -> Path:
    """A synthetic quality table with N expert writers (``tests/conftest.py::synthetic_frame``:
    8 prompts of made-up texts, K = ``subtasks``) written to ``directory``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.conftest import synthetic_frame

    table = directory / f"table{n}.parquet"
    synthetic_frame(8, subtasks, n, seed=seed).to_parquet(table)
    return table


def write_results(
    args: argparse.Namespace,
    result: dict[str, Any],
    columns: list[str],
    shown: list[str] | None = None,
) -> None:
    """``result`` (its ``rows`` among the run's settings) to ``--json``, the rows'
    ``columns`` to ``--csv``, and a Markdown table of ``shown`` (default: ``columns``)."""
    rows, shown = result["rows"], shown or columns
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    print("\n| " + " | ".join(shown) + " |\n|" + "---|" * len(shown))
    for row in rows:
        # a row without a column is a cell the run skipped (multi_user_scaling's budget)
        print("| " + " | ".join(f"{row[c]:.4g}" if c in row else "skipped" for c in shown) + " |")
