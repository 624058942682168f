"""Local or centralised critics for the multi-user shared SAC, on training seeds only.

``train.sac.critic: local`` (each user's critic reads its own observation) against
``central`` (the env's global ``state()`` from the acting user's side; agents/sac.py).
For each ``--seeds`` seed (training seeds: no reported comparison uses them) both
variants train for the same ``--epochs`` with the experiment's recipe
(``multi_gamma.one``) and their greedy policies are scored on the same ``--episodes``
episodes from the *training* seed stream after the last epoch, never on evaluation
seeds. Prints one row per (critic, seed) as it finishes, then the mean per critic and
the per-seed difference central - local; two runs at a time.

    python bench/multi_critic.py --users 4 --experts 8 --epochs 30 --seeds 100 101 102
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
from multi_gamma import one  # bench/ is the script's directory

COLUMNS = ["reward", "p95_latency_s", "replies_lost"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="configs/experiment_multi_user.yaml")
    p.add_argument("--users", type=int, default=4)
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--seeds", type=int, nargs="+", default=[100, 101])
    p.add_argument("--out", default="runs/multi_critic")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    # seed-major: each seed's pair finishes together
    calls = [(a.config, a.users, a.experts, a.epochs, {"critic": c}, s, a.episodes, a.out)
             for s in a.seeds for c in ("local", "central")]  # fmt: skip
    rows = []
    with ProcessPoolExecutor(a.workers) as pool:
        for row in pool.map(one, *zip(*calls, strict=True)):
            print(row, flush=True)
            rows.append(row)
    table = pd.DataFrame(rows)
    fmt = {"float_format": lambda v: f"{v:.4f}"}
    print(table.to_string(index=False, **fmt))
    print(table.groupby("critic")[COLUMNS].mean().to_string(**fmt))
    wide = table.pivot(index="seed", columns="critic", values="reward")
    diff = wide["central"] - wide["local"]
    print(f"central - local per seed: {diff.round(4).to_dict()}; mean {diff.mean():.4f}")


if __name__ == "__main__":
    main()
