"""How often SAC's mask hides an expert at a decision, by mask threshold.

On the evaluation episodes of ``--seeds`` (``agents.train.eval_seeds``: the episodes a
probe's or the comparison's greedy evaluation uses), an all-local policy steps through
every task, and at each decision counts the experts ``obs_layout.usable`` rules out:
not associated, or last heard below each ``--thresholds`` dB (``sac.mask_min_snr_db``).
The all-local policy sends no task traffic, so the SNR comes from the observation
mechanism alone (probes or heartbeats).

    python bench/mask_share.py --observe probe   # ~1 min; default: the config's mode
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from agents.experiment import load_env
from agents.train import eval_seeds
from pybridge.env import EdgeMoEEnv
from pybridge.paths import REPO_ROOT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "configs" / "default.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8, 16)))
    parser.add_argument("--episodes", type=int, default=2, help="evaluation episodes per seed")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[11.0, 13.0, 15.0])
    parser.add_argument("--observe", choices=["heartbeat", "probe"], help="scenario.observe")
    args = parser.parse_args()

    cfg = load_env(args.config)
    if args.observe:
        scenario = cfg.scenario.model_copy(update={"observe": args.observe})
        cfg = cfg.model_copy(update={"scenario": scenario})
    env = EdgeMoEEnv(cfg)
    hidden = {"association": 0, **{t: 0 for t in args.thresholds}}
    decisions = 0
    try:
        for seed in args.seeds:
            for env_seed in eval_seeds(seed, args.episodes):
                obs, _ = env.reset(seed=env_seed)
                done = False
                while not done:
                    o = np.asarray(obs, dtype=float)
                    usable = env.obs_layout.usable(o)
                    decisions += len(usable)
                    hidden["association"] += int((~usable).sum())
                    for t in args.thresholds:
                        hidden[t] += int((~env.obs_layout.usable(o, t)).sum())
                    action = np.zeros(env.action_space.shape, dtype=int)
                    obs, _, _, done, _ = env.step(action)
    finally:
        env.close()
    print(f"{decisions} expert-decisions, seeds {args.seeds}, {args.config}, "
          f"observe: {cfg.scenario.observe}")  # fmt: skip
    for key, n in hidden.items():
        label = "not associated" if key == "association" else f"below {key:g} dB or not associated"
        print(f"  hidden ({label}): {n / decisions:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
