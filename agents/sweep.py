"""A grid of runs: seeds x scenarios x reward weights, locally or on a Ray cluster.

Each *cell* trains SAC with the cell's environment (the experiment's env, deep-merged
with the scenario's overrides and the reward weights) and evaluates it and the listed
baselines on the cell's evaluation episodes. Cells run in a local process pool, or as
Ray tasks when an address is given (``ray`` is an optional dependency: ``pip install
'netmoe[ray]'``; on a cluster the run directories are written on the worker nodes, the
result rows come back to the driver). A cell gives the same rows either way.
Output: ``sweep.csv`` (one row per cell and method).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.experiment import Experiment, ExperimentError
from agents.jobs import run_isolated
from agents.multi import is_multi_user
from agents.run import train_then_evaluate
from netmoe_runtime.ray_cluster import unreachable


@dataclass(frozen=True)
class Cell:
    seed: int
    scenario: str
    weights_index: int
    weights: dict[str, float]

    @property
    def name(self) -> str:
        return f"{self.scenario}/w{self.weights_index}/seed{self.seed}"


def cells(exp: Experiment) -> list[Cell]:
    sw = exp.sweep
    return [
        Cell(seed, scen, i, w)
        for scen, (i, w), seed in itertools.product(
            sw.grid_scenarios(), enumerate(sw.reward_weights), sw.seeds
        )
    ]


def cell_experiment(exp: Experiment, cell: Cell) -> Experiment:
    over = exp.sweep.grid_scenarios()[cell.scenario]
    cexp = exp.with_env(over).with_env({"reward": cell.weights})
    return cexp.with_train(seed=cell.seed)


def cell_baselines(cexp: Experiment) -> list[str]:
    """The sweep's baselines a cell evaluates: those of ``sweep.max_users`` only in cells
    with at most that many users."""
    sw = cexp.sweep
    if not sw.max_users or not is_multi_user(cexp.env):
        return list(sw.baselines)
    m = len(cexp.env_config().scenario.user_nodes)
    return [b for b in sw.baselines if m <= sw.max_users.get(b, m)]


def run_cell(exp: Experiment, cell: Cell, out: str) -> list[dict[str, Any]]:
    """Train and evaluate one cell; rows for SAC and each baseline (the baselines with
    the experiment's oracle and mask settings, as in compare)."""
    cexp = cell_experiment(exp, cell)
    methods = ["sac", *cell_baselines(cexp)]
    run = train_then_evaluate(cexp, cell.seed, Path(out) / cell.name, train=True,
                              evaluate=methods)  # fmt: skip
    rows = [{"scenario": cell.scenario, "weights_index": cell.weights_index,
             "weights": json.dumps(cell.weights, sort_keys=True), "seed": cell.seed,
             "method": method, **run.evals[method]} for method in methods]  # fmt: skip
    if is_multi_user(cexp.env):  # the cell's size, SAC's training speed, the oracle's tries
        scenario = cexp.env_config().scenario
        assert run.training is not None
        speed = float(run.training.epochs["rounds_per_s"].mean())
        for row in rows:
            row.update(users=len(scenario.user_nodes), experts=scenario.num_experts)
            if row["method"] == "sac":
                row["train_rounds_per_s"] = speed
            policy = run.policies[row["method"]]
            if hasattr(policy, "evaluations"):
                row["oracle_evaluations"] = policy.evaluations
                row["oracle_exhaustive"] = bool(policy.exhaustive)
    return rows


def sweep(
    exp: Experiment,
    out: str | Path,
    workers: int = 2,
    address: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every cell; locally in ``workers`` processes (a bar of finished cells with
    ``progress``), or on Ray at ``address``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    grid = cells(exp)
    for cell in grid:  # fail fast on a bad override, before any work
        cell_experiment(exp, cell)
    if address:
        results = _on_ray(exp, grid, str(out.resolve()), address)
    else:
        calls = [(exp, cell, str(out)) for cell in grid]
        results = run_isolated(run_cell, calls, workers, name=lambda call: call[1].name,
                               progress=progress, desc="sweep")  # fmt: skip
    table = pd.DataFrame([row for rows in results for row in rows])
    table.to_csv(out / "sweep.csv", index=False)
    if "users" in table:
        plot_vs_users(table, out)
    return table


#: the multi-user sweep's figures: per number of experts, these vs the number of users
VS_USERS = (
    ("reward", "mean reward per task"),
    ("p50_latency_s", "p50 task latency (s)"),
    ("p95_latency_s", "p95 task latency (s)"),
    ("replies_lost", "lost replies per episode"),
)


def plot_vs_users(table: pd.DataFrame, out: Path) -> None:
    """``vs_users_n<N>.png`` per number of experts N: a 2 x 2 figure of reward, p50 and
    p95 task latency and lost replies vs the number of users M, one line per method: the
    mean over the cells' seeds (and scenarios), with a band for its 95% t confidence
    interval over the seeds (none with one seed); ``rounds_per_s.png``: SAC's training
    rounds per second vs M, per N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agents.compare import mean_ci

    for n, g in table.groupby("experts"):
        fig, axes = plt.subplots(2, 2, figsize=(9.5, 7), sharex=True)
        for ax, (col, label) in zip(axes.flat, VS_USERS, strict=True):
            for method, gm in g.groupby("method", sort=False):
                stats = [(m, *mean_ci(gu[col].dropna())) for m, gu in gm.groupby("users")]
                m, mean, hw = (np.array(v, dtype=float) for v in zip(*stats, strict=True))
                (line,) = ax.plot(m, mean, marker="o", markersize=3, label=method)
                ax.fill_between(m, mean - hw, mean + hw, color=line.get_color(), alpha=0.15,
                                linewidth=0)  # fmt: skip
            ax.set_xscale("log", base=2)
            ticks = sorted(g["users"].unique())
            ax.set_xticks(ticks, [str(t) for t in ticks])
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        for ax in axes[-1]:
            ax.set_xlabel("users M")
        seeds = sorted(set(g.groupby(["users", "method"])["seed"].nunique()))
        fig.suptitle(f"N = {n} experts: mean over seeds ({'/'.join(map(str, seeds))} per "
                     "point), band: 95% CI over seeds")  # fmt: skip
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=min(len(labels), 4))
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        fig.savefig(out / f"vs_users_n{n}.png", dpi=100)
        plt.close(fig)
    sac = table[table["method"] == "sac"]
    if "train_rounds_per_s" in sac and len(sac):
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for n, g in sac.groupby("experts"):
            means = g.groupby("users")["train_rounds_per_s"].mean()
            ax.plot(means.index, means.values, marker="o", label=f"N = {n}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("users M")
        ax.set_ylabel("training rounds / s (all envs)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "rounds_per_s.png", dpi=120)
        plt.close(fig)


def check_reachable(address: str) -> None:
    """Fail at once (one line) when a ``HOST:PORT`` address accepts no TCP connection:
    ``ray.init`` would retry for minutes. ``auto`` and ``ray://`` addresses go to Ray."""
    if (why := unreachable(address)) is not None:
        raise ExperimentError(f"--address: no Ray cluster answers at {address}: {why}")


def _on_ray(exp: Experiment, grid: list[Cell], out: str, address: str) -> list[Any]:
    """One Ray task per cell (1 CPU each, no retries: a cell is deterministic, a failure
    would fail again). The workers import ``agents`` and ``pybridge``, so netmoe must be
    installed on every node; run directories are written on the node that ran the cell.
    Tested against a one-node cluster on loopback (tests/test_agents_ray.py)."""
    try:
        import ray
        from ray.exceptions import RayError, RayTaskError
    except ImportError:
        raise ExperimentError("--address needs ray: pip install 'netmoe[ray]'") from None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    check_reachable(address)
    own = not ray.is_initialized()
    if own:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RayError, RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExperimentError(f"--address: cannot reach Ray at {address}: {first}") from None
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(run_cell)
        refs = [remote.remote(exp, cell, out) for cell in grid]
        try:
            return ray.get(refs)
        except RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, Exception) else None
            if cause is not None:  # the cell's own error (e.g. BridgeError), not Ray's
                raise cause from None
            raise
    finally:
        if own:
            ray.shutdown()
