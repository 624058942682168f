"""How often an offloaded reply is lost, by the SNR the user device last heard from the
expert before sending (where SAC's ``mask_min_snr_db`` comes from, docs/agents.md).

Runs a uniformly random policy on the default ns-3 scenario for ``--episodes`` episodes
from env seeds 3,000,000 + i (disjoint from every training, pretraining and evaluation
seed of ``netmoe train`` / ``compare``), and counts, per offloaded subtask, whether its
reply arrived, binned by the observed SNR and split by association; then, for associated
experts heard at 15 dB or better, by the age of that sample (SAC's ``mask_max_age_s``);
then how far the SNR of the task's own frames fell from the observed one.

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
from pybridge.paths import REPO_ROOT

SEED_BASE = 3_000_000
BINS = [-np.inf, 9.0, 12.0, 13.0, 14.0, 15.0, 16.0, 18.0, 20.0, 25.0, 30.0, np.inf]
AGE_BINS = [0.0, 0.05, 0.2, 0.5, 1.0, 3.0, np.inf]  # s (an observation reads 10 s at most)


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
            while not done:
                seen = np.asarray(obs, dtype=float)
                snr, age = env.obs_layout.snr_db(seen), env.obs_layout.age_s(seen)
                assoc = env.obs_layout.associated(obs)
                action = rng.integers(0, env.num_experts + 1, env.num_subtasks)
                obs, _, terminated, truncated, info = env.step(action)
                done = terminated or truncated
                effective = np.asarray(info["effective_assignment"])
                for i in range(1, env.num_experts + 1):
                    sent = action == i
                    if sent.any():
                        rows.append(
                            {
                                "episode": ep,
                                "expert": i,
                                "observed_snr_db": float(snr[i - 1]),
                                "observed_age_s": float(age[i - 1]),
                                "associated": bool(assoc[i - 1]),
                                "sent": int(sent.sum()),
                                "lost": int((sent & (effective == 0)).sum()),
                                "distance_m": float(info["distance_m"][i - 1]),
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


if __name__ == "__main__":
    main()
