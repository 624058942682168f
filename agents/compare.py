"""Every method over several seeds, the paper's two figures, and the cross-model study.

A *job* is one (method, seed): SAC trains (agents.train) and is evaluated on the
schedule; a baseline is evaluated once on the same evaluation episodes as SAC of that
seed (``agents.train.eval_seeds``). Jobs run in a process pool. Outputs in ``out/``:

- ``runs.csv``: one row per (method, seed): mean reward, final reward, wall time, ...
- ``curves.csv``: SAC's evaluations per epoch (all seeds)
- ``training.csv``: SAC's reward on its training episodes per epoch (pretraining <= 0)
- ``summary.csv``: per method, means with 95% confidence intervals over seeds
- ``reward_vs_epoch.png`` (SAC's learning curve beside the evaluation of every method)
  and ``mean_final_reward.png``: the paper's Figures 4 and 5
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.experiment import Experiment
from agents.jobs import run_isolated
from agents.run import train_then_evaluate

log = logging.getLogger(__name__)

# two-sided 95% Student-t quantiles by degrees of freedom (scipy is not a dependency)
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}  # fmt: skip


def t975(df: int) -> float:
    if df < 1:
        return math.nan
    keys = [k for k in _T975 if k <= df]
    return _T975[max(keys)] if df <= 30 else 1.96


def mean_ci(values: np.ndarray | list[float]) -> tuple[float, float]:
    """Mean and half-width of its 95% t confidence interval (NaN half-width for one value)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()) if len(v) else math.nan, math.nan
    return float(v.mean()), float(t975(len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def time_to_fraction(curve: pd.DataFrame, fraction: float = 0.95) -> tuple[float, int]:
    """Wall seconds and epoch at which an eval curve first reaches ``fraction`` of its final
    value (final - (1 - fraction) * |final|, so it also works for negative rewards)."""
    final = float(curve["reward"].iloc[-1])
    goal = final - (1.0 - fraction) * abs(final)
    hit = curve[curve["reward"] >= goal].iloc[0]
    return float(hit["wall_s"]), int(hit["epoch"])


# per SAC training epoch (epoch <= 0: pretraining), for the learning curve of Figure 4
TRAINING_COLUMNS = ["seed", "epoch", "phase", "backend", "env_steps", "train_reward", "wall_s"]


def run_job(exp: Experiment, method: str, seed: int, out: str, progress: bool) -> dict[str, Any]:
    """One (method, seed); returns its run row and, for SAC, its evaluation curve and
    training epochs."""
    t0 = time.perf_counter()
    if method == "sac":
        run = train_then_evaluate(exp, seed, Path(out) / "sac" / f"seed{seed}", train=True,
                                  evaluate=[], progress=progress)  # fmt: skip
        res = run.training
        assert res is not None
        curve = res.evals
        wall95, epoch95 = time_to_fraction(curve)
        last = curve.iloc[-1]
        row = {
            "mean_reward": float(curve["reward"].mean()),
            "final_reward": float(last["reward"]),
            "final_quality": float(last["quality"]),
            "final_tx_cost": float(last["tx_cost"]),
            "time_to_95_s": wall95,
            "epoch_to_95": epoch95,
            "train_wall_s": float(last["wall_s"]),
            # training epochs cut short because a scenario process died (see epochs.csv)
        }
        if "scenario_died" in res.epochs:  # (the multi-user training has no such column)
            deaths = int((res.epochs["scenario_died"].fillna("") != "").sum())
            row["train_scenario_deaths"] = deaths
        row.update(_multi_user_columns(last.to_dict()))
        if "rounds_per_s" in res.epochs:
            row["train_rounds_per_s"] = float(res.epochs["rounds_per_s"].mean())
        curves = curve.to_dict("records")
        training = res.epochs[TRAINING_COLUMNS].assign(method=method).to_dict("records")
    else:
        run = train_then_evaluate(exp, seed, Path(out), train=False, evaluate=[method])
        ev, policy = run.evals[method], run.policies[method]
        row = {
            "mean_reward": ev["reward"],
            "final_reward": ev["reward"],
            "final_quality": ev["quality"],
            "final_tx_cost": ev["tx_cost"],
        }
        if method in ("upper-bound", "upper-bound-masked", "coordinate-descent"):
            row["oracle_exhaustive"] = bool(policy.exhaustive)  # type: ignore[attr-defined]
            row["oracle_evaluations"] = policy.evaluations  # type: ignore[attr-defined]
        row.update(_multi_user_columns(ev))
        curves, training = [], []
    row.update(method=method, seed=seed, job_wall_s=time.perf_counter() - t0)
    return {"row": row, "curves": curves, "training": training}


def _multi_user_columns(ev: dict[str, Any]) -> dict[str, float]:
    """A multi-user evaluation's extra columns (latency percentiles, lost replies per
    episode, each user's mean reward); none for a single-user one (its rows unchanged)."""
    if "p50_latency_s" not in ev:
        return {}
    keys = ["p50_latency_s", "p95_latency_s", "replies_lost"]
    keys += [k for k in ev if k.startswith("user_") and k.endswith("_reward")]
    return {k: float(ev[k]) for k in keys}


#: summary.csv: the mean over seeds of these runs.csv columns, when present
MULTI_USER_SUMMARY = ("p50_latency_s", "p95_latency_s", "replies_lost")
#: the references (know the simulator state); several users: the best of those run is
#: what ``final_vs_best_reference`` divides by
REFERENCES = ("upper-bound", "coordinate-descent")


def _failed(method: str, seed: int, exc: BaseException) -> dict[str, Any]:
    """The result of a job whose scenario died: a row with the error, no numbers."""
    message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    log.warning("%s seed %d failed: %s", method, seed, message)
    return {"row": {"method": method, "seed": seed, "error": message}, "curves": [], "training": []}


def run_jobs(
    exp: Experiment, jobs: list[tuple[str, int]], out: Path, workers: int, progress: bool
) -> list[dict[str, Any]]:
    """Every (method, seed) job (``run_isolated``: a job whose scenario died becomes a
    row with an ``error``); with ``workers`` > 1 a bar of finished jobs, else each SAC
    run's own bar."""
    calls = [(exp, m, s, str(out), progress and workers <= 1) for m, s in jobs]
    return run_isolated(
        run_job, calls, workers,
        failed=lambda call, exc: _failed(call[1], call[2], exc),
        name=lambda call: f"{call[1]} seed {call[2]}",
        progress=progress and workers > 1, desc="compare",
    )  # fmt: skip


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean/final reward with 95% CIs over seeds, and ratios to the bound."""
    rows = []
    for method, g in runs.groupby("method", sort=False):
        mean, mean_hw = mean_ci(g["mean_reward"])
        final, final_hw = mean_ci(g["final_reward"])
        row = {
            "method": method,
            "seeds": len(g),
            "mean_reward": mean,
            "mean_reward_ci95": mean_hw,
            "final_reward": final,
            "final_reward_ci95": final_hw,
            "job_wall_s": float(g["job_wall_s"].mean()),
        }
        for col in [*MULTI_USER_SUMMARY, *(c for c in g if str(c).startswith("user_"))]:
            if col in g and g[col].notna().any():
                row[col] = float(g[col].mean())
        if "time_to_95_s" in g and g["time_to_95_s"].notna().any():
            row["time_to_95_s"] = float(g["time_to_95_s"].mean())
            row["epoch_to_95"] = float(g["epoch_to_95"].mean())
        rows.append(row)
    summary = pd.DataFrame(rows)
    if (runs["method"] == "sac").any():
        # paired by seed (same evaluation episodes): SAC's final reward minus the method's
        sac = runs[runs["method"] == "sac"].set_index("seed")["final_reward"]
        paired = [
            mean_ci((sac - g.set_index("seed")["final_reward"]).dropna())
            for _, g in runs.groupby("method", sort=False)
        ]
        summary["sac_minus_method"] = [m for m, _ in paired]
        summary["sac_minus_method_ci95"] = [h for _, h in paired]
    ub = summary.loc[summary["method"] == "upper-bound", "final_reward"]
    if len(ub):
        summary["final_vs_upper_bound"] = summary["final_reward"] / float(ub.iloc[0])
    if (summary["method"] == "coordinate-descent").any():  # several users
        # the best of the references run (coordinate descent is no bound: a lower estimate
        # of the exhaustive optimum)
        refs = summary.loc[summary["method"].isin(REFERENCES), "final_reward"]
        summary["final_vs_best_reference"] = summary["final_reward"] / float(refs.max())
    return summary


def _mean_band(ax: Any, frame: pd.DataFrame, x: str, y: str, **style: Any) -> None:
    """Mean of ``y`` over seeds per ``x``, with its 95% CI as a band (an epoch cut short
    by a dying scenario has no reward: left out, not a gap in the line)."""
    stats = frame.dropna(subset=[y]).groupby(x)[y].apply(mean_ci).apply(pd.Series)
    stats.columns = ["mean", "hw"]
    hw = stats["hw"].fillna(0)
    ax.plot(stats.index, stats["mean"], **style)
    ax.fill_between(stats.index, stats["mean"] - hw, stats["mean"] + hw,
                    color=style.get("color"), alpha=0.2)  # fmt: skip


def plot(
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    summary: pd.DataFrame,
    out: Path,
    training: pd.DataFrame,
) -> None:
    """The paper's Figure 4 (reward vs epoch) and Figure 5 (mean and final reward).

    Figure 4 has a left panel when SAC trained (``training`` has rows): its reward on the
    training episodes (sampled actions) through pretraining and training, i.e. how it
    learnt; the right panel is the greedy evaluation against every other method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(training):
        fig, (lax, ax) = plt.subplots(1, 2, figsize=(13, 4.4), width_ratios=[1, 1.25])
        _mean_band(lax, training, "epoch", "train_reward", color="C0", lw=1.5,
                   label="SAC, training episodes (sampled actions)")  # fmt: skip
        pre = training[training["phase"] == "pretrain"]
        if len(pre):
            lax.axvspan(float(pre["epoch"].min()) - 0.5, 0.5, color="0.9", zorder=0,
                        label=f"pretraining on {pre['backend'].iloc[0]}")  # fmt: skip
        lax.set_xlabel("training epoch (<= 0: pretraining)")
        lax.set_ylabel("mean reward per task")
        lax.set_title("SAC learning (95% CI over seeds)")
        lax.legend(fontsize=8, loc="upper left")
    else:
        fig, ax = plt.subplots(figsize=(8.5, 4.2))
    xmax = float(curves["epoch"].max()) if len(curves) else 1.0
    if len(curves):
        _mean_band(ax, curves, "epoch", "reward", color="C0", lw=2, marker="o",
                   label="SAC (greedy eval)")  # fmt: skip
    for i, method in enumerate(m for m in runs["method"].unique() if m != "sac"):
        mean, hw = mean_ci(runs.loc[runs["method"] == method, "final_reward"])
        ax.hlines(mean, 0, xmax, color=f"C{i + 1}", label=method, ls="--")
        if not math.isnan(hw):
            ax.fill_between([0, xmax], mean - hw, mean + hw, color=f"C{i + 1}", alpha=0.1)
    ax.set_xlabel("epoch on the evaluation backend (one episode per env; 0 = after pretraining)")
    ax.set_ylabel("mean reward per task")
    ax.set_title("Reward vs. epoch (95% CI over seeds)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(out / "reward_vs_epoch.png", dpi=130)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.2))
    x = np.arange(len(summary))
    ax.bar(x - 0.2, summary["mean_reward"], 0.4, yerr=summary["mean_reward_ci95"].fillna(0),
           capsize=3, label="mean reward")  # fmt: skip
    ax.bar(x + 0.2, summary["final_reward"], 0.4, yerr=summary["final_reward_ci95"].fillna(0),
           capsize=3, label="final reward")  # fmt: skip
    ax.set_xticks(x, summary["method"], rotation=25, ha="right")
    ax.set_ylabel("mean reward per task")
    ax.set_title("Mean and final reward per method (95% CI over seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "mean_final_reward.png", dpi=130)
    plt.close(fig)


def compare(exp: Experiment, out: str | Path, progress: bool = True) -> pd.DataFrame:
    """Run every method of ``exp.compare`` over its seeds; write tables and figures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cc = exp.compare
    from agents.multi import check_methods, check_upper_bound, default_methods, is_multi_user

    if is_multi_user(exp.env):
        if "methods" not in cc.model_fields_set:
            exp = exp.with_compare(methods=default_methods(exp))
            cc = exp.compare
        check_methods(cc.methods, exp.source)
        check_upper_bound(exp, cc.methods)
    else:
        from agents.experiment import MULTI_USER_ONLY, ExperimentError

        if bad := [m for m in cc.methods if m in MULTI_USER_ONLY]:
            raise ExperimentError(
                f"{exp.source}: compare.methods: {bad} need several users "
                "(scenario.num_users or scenario.users)"
            )
    t0 = time.perf_counter()
    # longest first: SAC, then the oracle, then the cheap rules
    order = sorted(
        cc.methods, key=lambda m: {"sac": 0, "upper-bound": 1, "coordinate-descent": 1}.get(m, 2)
    )
    jobs = [(m, s) for m in order for s in range(cc.seeds)]
    results = run_jobs(exp, jobs, out, cc.workers, progress)
    runs = pd.DataFrame([r["row"] for r in results])
    runs["method"] = pd.Categorical(runs["method"], categories=cc.methods, ordered=True)
    runs = runs.sort_values(["method", "seed"]).reset_index(drop=True)
    runs["method"] = runs["method"].astype(str)
    curves = pd.DataFrame([c for r in results for c in r["curves"]])
    # with its header even when no SAC ran, so that pandas reads it back
    training = pd.DataFrame([t for r in results for t in r["training"]],
                            columns=TRAINING_COLUMNS + ["method"])  # fmt: skip
    # failed jobs stay in runs.csv (column error); statistics use the finished ones
    ok = runs[runs["error"].isna()] if "error" in runs else runs
    summary = summarize(ok)
    if len(ok) < len(runs):
        summary["failed_jobs"] = int(len(runs) - len(ok))
    summary["compare_wall_s"] = time.perf_counter() - t0
    runs.to_csv(out / "runs.csv", index=False)
    curves.to_csv(out / "curves.csv", index=False)
    training.to_csv(out / "training.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    plot(ok, curves, summary, out, training)
    return summary


def cross_job(exp: Experiment, seed: int, trained_on: str, eval_backend: str,
              out: str, progress: bool) -> dict[str, Any]:  # fmt: skip
    """Train one SAC (``trained_on``: a backend, or ``shannon+ns3`` = pretrain on Shannon as
    the experiment says, then train on ns-3) and evaluate it on ``eval_backend``."""
    t0 = time.perf_counter()
    if "+" in trained_on:
        first, second = trained_on.split("+")
        run_exp = exp.with_env({"backend": second}).with_train(pretrain_backend=first)
    else:  # one backend only: no pretraining
        run_exp = exp.with_env({"backend": trained_on}).with_train(
            pretrain_backend="", pretrain_epochs=0
        )
    run = train_then_evaluate(
        run_exp, seed, Path(out) / f"train_{trained_on}" / f"seed{seed}", train=True,
        evaluate=["sac"], eval_env=exp.with_env({"backend": eval_backend}).env,
        progress=progress,
    )  # fmt: skip
    ev, res = run.evals["sac"], run.training
    assert res is not None
    return {"seed": seed, "trained_on": trained_on, "evaluated_on": eval_backend,
            "reward": ev["reward"], "quality": ev["quality"], "tx_cost": ev["tx_cost"],
            "replies_lost": ev["replies_lost"],
            "train_tasks": int(res.epochs["env_steps"].iloc[-1]),
            "job_wall_s": time.perf_counter() - t0}  # fmt: skip


def cross_model(
    exp: Experiment,
    out: str | Path,
    train_backends: list[str],
    eval_backend: str,
    progress: bool = True,
) -> pd.DataFrame:
    """Train SAC on each backend, evaluate every policy on ``eval_backend``'s episodes.

    A training backend is ``shannon`` or ``ns3`` (that backend only, the experiment's
    ``train.epochs``, no pretraining) or ``shannon+ns3`` (pretraining on Shannon for
    ``train.pretrain_epochs``, then ``train.epochs`` on ns-3). Jobs run in a pool of
    ``compare.workers`` processes. Writes ``cross_model.csv`` (one row per seed and
    training backend; a job whose scenario died has an ``error`` instead) and
    ``cross_model_summary.csv`` (means, 95% CIs, and each one's difference to the policy
    trained on the evaluation backend, paired by seed).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, b) for b in train_backends for seed in range(exp.compare.seeds)]

    def failed(call: tuple[Any, ...], exc: BaseException) -> dict[str, Any]:
        seed, backend = call[1], call[2]
        row = _failed(f"sac trained on {backend}", seed, exc)["row"]
        return {"seed": seed, "trained_on": backend, "evaluated_on": eval_backend,
                "error": row["error"]}  # fmt: skip

    workers = exp.compare.workers
    calls = [(exp, s, b, eval_backend, str(out), progress and workers <= 1) for s, b in jobs]
    rows = run_isolated(cross_job, calls, workers, failed,
                        name=lambda call: f"trained on {call[2]} seed {call[1]}",
                        progress=progress and workers > 1, desc="cross-model")  # fmt: skip
    every = pd.DataFrame(rows)
    every.to_csv(out / "cross_model.csv", index=False)
    # a job whose scenario died stays in cross_model.csv (column error), not in the stats
    table = every[every["error"].isna()] if "error" in every else every
    ref = table[table["trained_on"] == eval_backend].set_index("seed")["reward"]
    summ = []
    for backend, g in table.groupby("trained_on", sort=False):
        mean, hw = mean_ci(g["reward"])
        row = {"trained_on": backend, "evaluated_on": eval_backend, "seeds": len(g),
               "reward": mean, "reward_ci95": hw, "quality": float(g["quality"].mean()),
               "tx_cost": float(g["tx_cost"].mean()),
               "train_tasks": float(g["train_tasks"].mean()),
               "job_wall_s": float(g["job_wall_s"].mean())}  # fmt: skip
        if len(ref):
            diff = g.set_index("seed")["reward"] - ref
            row["diff_vs_native"], row["diff_ci95"] = mean_ci(diff.dropna())
        summ.append(row)
    summary = pd.DataFrame(summ)
    summary.to_csv(out / "cross_model_summary.csv", index=False)
    return summary
