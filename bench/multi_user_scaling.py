"""How the multi-user environment's cost grows with the number of users M and experts N:
rounds (``parallel_env`` steps) per second, user tasks per second, ns-3 wall ms and
events per round, and the scenario's peak memory, for each (M, N).

    python bench/multi_user_scaling.py [--users 1 2 4 8 16] [--experts 3 8 16 32]
        [--rounds 5] [--episodes 1] [--cell-budget-s 120]
        [--json out.json] [--csv out.csv] [--plot out.png]

The scenario is ``--config`` (default ``configs/default.yaml``) with ``scenario.num_users
= M`` (copies of its user on a circle of ``user_spread_m``), its experts replaced by N
static experts on a circle of ``--radius`` m around the user, the serving model on
(``--no-serving`` turns it off) and a synthetic quality table with N writers
(``tests/conftest.py::synthetic_frame``: made-up texts, K = ``--subtasks``), every user's
task at the round's start. Every agent acts at random. "ns-3 ms per round" is the wall
time Python waits in ``Bridge.exchange``; "events per round" the scenario's ns-3 event
count (report field ``sim_events``) over the episode's rounds, warm-up excluded.

``--cell-budget-s`` caps the grid's cost: a cell stops after the round in which its wall
time passes the budget (``rounds`` says how many it measured), and a cell with at least
as many users and experts as one that passed the budget is skipped (``skipped``), since
it would cost more.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from measure import (
    add_scaling_arguments,
    peak_rss_mib,
    scaled_config,
    synthetic_table,
    timed_bridge,
    write_results,
)

import pybridge
from agents.experiment import load_env
from pybridge.config import EnvConfig

COLUMNS = ["users", "experts", "rounds", "steps_per_s", "user_tasks_per_s", "ns3_ms_per_round",
           "events_per_round", "scenario_peak_rss_mib", "cell_wall_s"]  # fmt: skip


def multi_user_config(
    base: EnvConfig, m: int, n: int, radius: float, table: Path, rounds: int, serving: bool
) -> dict:
    """``scaled_config`` (N static experts on a circle, ``table``) with M users, the serving
    model on or off, on ns-3, observing by heartbeats."""
    cfg = scaled_config(base, n, radius, table, rounds)
    cfg["scenario"]["num_users"] = m if m > 1 else None
    # the recorded runs (docs/benchmarks.md) observed by heartbeats, every M alike
    cfg["scenario"]["observe"] = "heartbeat"
    cfg["scenario"]["serving"]["enabled"] = serving
    cfg["tasks"]["expert_writers"] = None
    cfg["backend"] = "ns3"
    return cfg


def measure(config: dict, episodes: int, seed: int, budget_s: float = math.inf) -> dict[str, float]:
    """One parallel env: rounds/s, user tasks/s, ns-3 ms and events per round, peak MiB;
    the episode stops after the round in which the cell's wall time passes ``budget_s``."""
    start = time.perf_counter()
    over = False
    with timed_bridge() as in_bridge:
        env = pybridge.parallel_env(config=config)
        rng = np.random.default_rng(seed)
        wall, rounds, events, peaks = 0.0, 0, 0, []
        try:
            for ep in range(episodes):
                env.reset(seed=seed + ep)
                bridge = env.backend.bridge  # type: ignore[union-attr]
                first = int(bridge.report["sim_events"])
                in_bridge.seconds = 0.0 if ep == 0 else in_bridge.seconds  # not the start
                t = time.perf_counter()
                while env.agents:
                    env.step(
                        {
                            a: rng.integers(0, env.num_experts + 1, env.num_subtasks)
                            for a in env.agents
                        }
                    )
                    rounds += 1
                    if time.perf_counter() - start > budget_s:
                        over = True
                        break
                wall += time.perf_counter() - t
                events += int(bridge.report["sim_events"]) - first
                peaks.append(peak_rss_mib(bridge.scenario_pid))
                if over:
                    break
        finally:
            env.close()
    m = env.num_users
    return {
        "rounds": rounds,
        "steps_per_s": rounds / wall,
        "user_tasks_per_s": rounds * m / wall,
        "ns3_ms_per_round": 1e3 * in_bridge.seconds / rounds,
        "events_per_round": events / rounds,
        "scenario_peak_rss_mib": max(peaks),
        "cell_wall_s": time.perf_counter() - start,
    }


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Steps/s against M (one line per N) and against N (one line per M), and ns-3 events
    per round against M (the deterministic measure; wall times move with the machine)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    rows = [r for r in rows if not r.get("skipped")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    panels = (
        (axes[0], "users", "experts", "steps_per_s", "rounds (steps) / s"),
        (axes[1], "experts", "users", "steps_per_s", "rounds (steps) / s"),
        (axes[2], "users", "experts", "events_per_round", "ns-3 events per round"),
    )
    for ax, x, line, y, ylabel in panels:
        for value in sorted({r[line] for r in rows}):
            pts = sorted((r[x], r[y]) for r in rows if r[line] == value)
            ax.plot(
                *zip(*pts, strict=True),
                "o-",
                label=f"{'N' if line == 'experts' else 'M'} = {value}",
            )
        ax.set(xlabel="users M" if x == "users" else "experts N", ylabel=ylabel,
               xscale="log", yscale="log")  # fmt: skip
        ticks = sorted({r[x] for r in rows})
        ax.xaxis.set_minor_locator(NullLocator())  # no log-scale minor labels
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.legend(fontsize=7)
    fig.suptitle("parallel_env on ns-3 (random actions, serving on)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scaling_arguments(parser, experts=[3, 8, 16, 32])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per episode")
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--no-serving", action="store_true", help="experts without LLM servers")
    parser.add_argument(
        "--cell-budget-s",
        type=float,
        default=math.inf,
        help="stop a cell after the round that passes it; skip larger cells",
    )
    parser.add_argument("--plot", type=Path, help="PNG of steps/s vs M and N, events vs M")
    args = parser.parse_args()

    base = load_env(args.config)
    rows: list[dict[str, Any]] = []
    over_budget: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="netmoe-mu-scaling-") as tmp:
        for n in args.experts:
            table = synthetic_table(Path(tmp), n, args.subtasks, args.seed)
            for m in args.users:
                if any(m >= r["users"] and n >= r["experts"] for r in over_budget):
                    row = {"users": m, "experts": n, "skipped": True}
                else:
                    config = multi_user_config(
                        base, m, n, args.radius, table, args.rounds, not args.no_serving
                    )
                    cost = measure(config, args.episodes, args.seed, args.cell_budget_s)
                    row = {"users": m, "experts": n, **cost}
                    if row["cell_wall_s"] > args.cell_budget_s:
                        over_budget.append(row)
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {
        "config": args.config,
        "rounds_per_episode": args.rounds,
        "episodes": args.episodes,
        "serving": not args.no_serving,
        "cell_budget_s": args.cell_budget_s,
        "rows": rows,
    }
    if args.plot:
        plot(rows, args.plot)
    write_results(args, result, [*COLUMNS, "skipped"], shown=COLUMNS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
