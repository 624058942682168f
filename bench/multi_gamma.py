"""Tune the discount of the multi-user shared SAC on training seeds only.

With several users the experts' queues carry over from one round to the next, so an
action changes the next round's state and gamma > 0 can matter. For each ``--gammas``
value and each ``--seeds`` seed (training seeds: no reported comparison uses them), this
trains the shared agent (``agents.train_multi.train_multi``) with the experiment's recipe and
scores its greedy policy on ``--episodes`` episodes from the *training* seed stream
after the run's last epoch (``agents.train.train_seeds``), never on evaluation seeds.
Prints one row per (gamma, seed) and the mean per gamma; two runs at a time.

    python bench/multi_gamma.py --users 2 --experts 3 --epochs 10 --seeds 100 101 \\
        --gammas 0 0.5 0.9
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd


def one(config: str, users: int, experts: int, epochs: int, sac_over: dict[str, Any],
        seed: int, episodes: int, out: str) -> dict[str, Any]:  # fmt: skip
    """Train with the experiment's ``train.sac`` updated by ``sac_over`` (also
    bench/multi_critic.py's); the greedy policy's scores on training-stream episodes."""
    import pybridge
    from agents.cli_common import size_overrides
    from agents.experiment import load_experiment
    from agents.multi import SharedSACPolicy, evaluate_multi
    from agents.train import train_seeds
    from agents.train_multi import train_multi

    exp = load_experiment(config)
    exp = exp.with_env(size_overrides(exp, users, experts))  # as compare's --users/--experts
    sac = {**exp.train.sac.model_dump(exclude_unset=True), **sac_over}
    exp = exp.with_train(epochs=epochs, seed=seed, eval_every=10**6, sac=sac)
    name = "_".join(f"{k}{v}" for k, v in sac_over.items())
    res = train_multi(exp, Path(out) / f"{name}_seed{seed}", progress=False)
    env = pybridge.parallel_env(config=exp.env)
    ev = evaluate_multi(env, SharedSACPolicy(res.agent), train_seeds(seed, epochs, episodes))
    env.close()
    return {**sac_over, "seed": seed, "reward": ev["reward"],
            "p95_latency_s": ev["p95_latency_s"], "replies_lost": ev["replies_lost"]}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/experiment_multi_user.yaml")
    p.add_argument("--users", type=int, default=2)
    p.add_argument("--experts", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--seeds", type=int, nargs="+", default=[100, 101])
    p.add_argument("--gammas", type=float, nargs="+", default=[0.0, 0.5, 0.9])
    p.add_argument("--out", default="runs/multi_gamma")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    calls = [(a.config, a.users, a.experts, a.epochs, {"gamma": g}, s, a.episodes, a.out)
             for g in a.gammas for s in a.seeds]  # fmt: skip
    with ProcessPoolExecutor(a.workers) as pool:
        rows = list(pool.map(one, *zip(*calls, strict=True)))
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(table.groupby("gamma")[["reward", "p95_latency_s", "replies_lost"]].mean().to_string(
        float_format=lambda v: f"{v:.4f}"))  # fmt: skip


if __name__ == "__main__":
    main()
