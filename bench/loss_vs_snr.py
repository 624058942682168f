"""How often an offloaded reply is lost, by the SNR the user device last heard from the
expert before sending (where SAC's ``mask_min_snr_db`` comes from, docs/agents.md).

Runs a uniformly random policy on the default ns-3 scenario for ``--episodes`` episodes
from env seeds 3,000,000 + i (disjoint from every training, pretraining and evaluation
seed of ``netmoe train`` / ``compare``), and counts, per offloaded subtask, whether its
reply arrived, binned by the observed SNR and split by association; then, for associated
experts heard at 15 dB or better, by the age of that sample (SAC's ``mask_max_age_s``);
then how far the SNR of the task's own frames fell from the observed one; then, for
associated experts heard just above the mask (15-18 dB), by the observed SNR's change
since the previous decision (``observed_trend_db``, what a device could compute) and by
the change of the expert's distance from this decision to the next, over the task and
the pause after it (``moved_m``, ground truth, not observable; positive: farther away).

    python bench/loss_vs_snr.py --episodes 20 --out runs/bench/loss_vs_snr.csv   # ~40 s

``--config`` takes an env config or an experiment file (its ``env_base`` + ``env``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from agents.experiment import load_env
from pybridge.config import EnvConfig
from pybridge.env import EdgeMoEEnv
from pybridge.observation import AGE_SCALE_S, SNR_FLOOR_DB
from pybridge.paths import REPO_ROOT

SEED_BASE = 3_000_000
BINS = [-np.inf, 9.0, 12.0, 13.0, 14.0, 15.0, 16.0, 18.0, 20.0, 25.0, 30.0, np.inf]
AGE_BINS = [0.0, 0.05, 0.2, 0.5, 1.0, 3.0, np.inf]  # s (an observation reads 10 s at most)
TREND_BINS = [-np.inf, -3.0, -1.0, 1.0, np.inf]  # dB since the previous decision
MOVED_BINS = [-np.inf, 0.0, 5.0, 10.0, np.inf]  # m from this decision to the next
MASK_BAND_DB = (15.0, 18.0)  # just above SAC's 15 dB mask


def snr_change(
    prev_snr: np.ndarray | None, prev_age: np.ndarray | None, snr: np.ndarray
) -> np.ndarray:
    """Per expert, the observed SNR now minus at the previous decision (dB); NaN at an
    episode's first decision and where the previous observation held no sample (never
    heard: the -20 dB floor, age 10 s), whose difference would be a jump from the floor."""
    if prev_snr is None or prev_age is None:
        return np.full_like(snr, np.nan)
    unheard = (prev_age >= AGE_SCALE_S) | (prev_snr <= SNR_FLOOR_DB)
    return np.where(unheard, np.nan, snr - prev_snr)


def collect(config: EnvConfig, episodes: int, seed: int) -> pd.DataFrame:
    """One row per (task, expert the task offloaded to): what was observed, what was lost,
    the airtime energy spent with it, how long its exchange was open (its delay) and the
    longest transfer time (delay minus generation) of its subtasks."""
    env = EdgeMoEEnv(config)
    rng = np.random.default_rng(seed)
    rows = []
    try:
        for ep in range(episodes):
            obs, _ = env.reset(seed=SEED_BASE + ep)
            done = False
            prev_snr = prev_age = None  # the observation at the previous decision
            prev_dist = None  # each expert's distance at this decision (the last info's)
            while not done:
                seen = np.asarray(obs, dtype=float)
                snr, age = env.obs_layout.snr_db(seen), env.obs_layout.age_s(seen)
                trend = snr_change(prev_snr, prev_age, snr)
                prev_snr, prev_age = snr, age
                assoc = env.obs_layout.associated(obs)
                action = rng.integers(0, env.num_experts + 1, env.num_subtasks)
                obs, _, terminated, truncated, info = env.step(action)
                done = terminated or truncated
                effective = np.asarray(info["effective_assignment"])
                dist = np.asarray(info["distance_m"], dtype=float)
                moved = dist - prev_dist if prev_dist is not None else np.full_like(dist, np.nan)
                prev_dist = dist
                for i in range(1, env.num_experts + 1):
                    sent = action == i
                    if sent.any():
                        rows.append(
                            {
                                "episode": ep,
                                "expert": i,
                                "observed_snr_db": float(snr[i - 1]),
                                "observed_age_s": float(age[i - 1]),
                                "observed_trend_db": float(trend[i - 1]),
                                "associated": bool(assoc[i - 1]),
                                "sent": int(sent.sum()),
                                "lost": int((sent & (effective == 0)).sum()),
                                "distance_m": float(dist[i - 1]),
                                # info's distance is the next decision's
                                # (backends.NEXT_OBSERVATION_FIELDS)
                                "moved_m": float(moved[i - 1]),
                                # what the task's own frames with the expert measured
                                "task_snr_db": float(info["snr_db"][i - 1]),
                                "energy_j": float(info["energy_j"][i - 1]),
                                "open_s": float(info["delay_s"][i - 1]),
                                "transfer_s": float(info["transfer_s"][sent].max()),
                            }
                        )
    finally:
        env.close()
    return pd.DataFrame(rows)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Replies sent and lost per (associated, observed-SNR bin)."""
    binned = rows.assign(snr_bin=pd.cut(rows.observed_snr_db, BINS, right=False))
    table = binned.groupby(["associated", "snr_bin"], observed=True)[["sent", "lost"]].sum()
    table["loss_rate"] = (table.lost / table.sent).round(3)
    return table.reset_index()


def by_age(rows: pd.DataFrame, min_snr_db: float = 15.0) -> pd.DataFrame:
    """Replies sent and lost to associated experts heard at ``min_snr_db`` or better, per
    age of that sample at the decision."""
    heard = rows[rows.associated & (rows.observed_snr_db >= min_snr_db)]
    binned = heard.assign(age_bin=pd.cut(heard.observed_age_s, AGE_BINS, include_lowest=True))
    table = binned.groupby("age_bin", observed=True)[["sent", "lost"]].sum()
    table["loss_rate"] = (table.lost / table.sent).round(3)
    return table.reset_index()


def observation_error(rows: pd.DataFrame, max_age_s: float = 0.5) -> str:
    """How well the observed SNR (associated experts, sample at most ``max_age_s`` old)
    foretells the SNR of the task's own frames with the expert."""
    fresh = rows[rows.associated & (rows.observed_age_s <= max_age_s)]
    fresh = fresh[np.isfinite(fresh.task_snr_db) & np.isfinite(fresh.observed_snr_db)]
    lines = []
    band = fresh[fresh.observed_snr_db.between(15, 18, inclusive="left")]
    for name, part in [("all", fresh), ("observed 15-18 dB", band)]:
        err = part.task_snr_db - part.observed_snr_db
        lines.append(
            f"{name}: {len(part)} exchanges, task SNR - observed SNR mean {err.mean():+.2f} dB, "
            f"sd {err.std():.2f} dB; task SNR below 14 dB: {int((part.task_snr_db < 14).sum())}"
        )
    return "\n".join(lines)


def by_trend(rows: pd.DataFrame, band_db: tuple[float, float] = MASK_BAND_DB) -> pd.DataFrame:
    """Replies sent and lost to associated experts heard within ``band_db`` (just above
    the mask), per change of the observed SNR since the previous decision and per
    distance moved (ground truth): does a device-observable trend foretell a loss?"""
    heard = rows[rows.associated & rows.observed_snr_db.between(*band_db, inclusive="left")]
    heard = heard[np.isfinite(heard.observed_trend_db) & np.isfinite(heard.moved_m)]
    binned = heard.assign(
        trend_bin=pd.cut(heard.observed_trend_db, TREND_BINS, right=False),
        moved_bin=pd.cut(heard.moved_m, MOVED_BINS, right=False),
    )
    out = []
    for col in ("trend_bin", "moved_bin"):
        table = binned.groupby(col, observed=True)[["sent", "lost"]].sum()
        table["loss_rate"] = (table.lost / table.sent).round(3)
        out.append(table.reset_index().rename(columns={col: "bin"}).assign(by=col))
    return pd.concat(out, ignore_index=True)[["by", "bin", "sent", "lost", "loss_rate"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "configs" / "default.yaml")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random policy")
    parser.add_argument("--out", type=Path, default=None, help="CSV of the raw rows")
    args = parser.parse_args()
    rows = collect(load_env(args.config), args.episodes, args.seed)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        rows.to_csv(args.out, index=False)
    print(summarise(rows).to_string(index=False))
    assoc = rows[rows.associated]
    for threshold in (12.0, 13.0, 14.0, 15.0, 16.0):
        below = assoc[assoc.observed_snr_db < threshold]
        above = assoc[assoc.observed_snr_db >= threshold]
        print(
            f"associated, observed SNR < {threshold:4.1f} dB: lost {below.lost.sum()}/"
            f"{below.sent.sum()}; >= {threshold:4.1f} dB: lost {above.lost.sum()}/"
            f"{above.sent.sum()}"
        )
    print("associated, observed SNR >= 15 dB, by the age of that sample (s):")
    print(by_age(rows).to_string(index=False))
    print("associated, sample at most 0.5 s old: the observation against the task's frames:")
    print(observation_error(rows))
    lo, hi = MASK_BAND_DB
    print(f"associated, observed {lo:g}-{hi:g} dB: by the observed SNR's change since the")
    print("previous decision (dB) and by the change of distance to the next decision (m):")
    print(by_trend(rows).to_string(index=False))


if __name__ == "__main__":
    main()
