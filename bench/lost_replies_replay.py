"""Where a trained SAC policy loses replies: its evaluation episodes replayed, one line per
lost reply.

For each ``<runs>/seed<S>`` (``netmoe compare`` or ``netmoe train`` output), replays
that seed's evaluation episodes with the greedy policy of its final checkpoint (the
episodes and actions of the compare's last evaluation) and, for every expert that lost
a reply, prints what the user device observed at the decision (SNR, the sample's age)
beside what the scenario measured during the task (the SNR of its frames with that
expert, packets sent and lost, retransmissions) and the expert's distance at the end of
the previous task (``distance_before_m``; the gap's moves come after it) and of this one.

    python bench/lost_replies_replay.py --runs runs/compare_probe/sac --seeds 2 4 6
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from replay import sac_seed  # noqa: E402  (bench/replay.py)


def replay(run: Path, seed: int) -> list[dict[str, object]]:
    """One row per (task, expert) that lost a reply on ``seed``'s evaluation episodes."""
    rows: list[dict[str, object]] = []
    with sac_seed(run, seed) as s:
        agent, env, layout = s.agent, s.env, s.env.obs_layout
        for episode in s.episodes:
            obs, _ = env.reset(seed=episode)
            before, done, t = None, False, 0
            while not done:
                action = agent.act(obs[None], deterministic=True)[0]
                snr, age = layout.snr_db(obs), layout.age_s(obs)
                obs, _, _, done, info = env.step(action)
                report = env.backend.bridge.report
                lost = (action > 0) & (np.asarray(info["effective_assignment"]) == 0)
                for i in np.unique(action[lost]):
                    e = int(i) - 1
                    rows.append({
                        "seed": seed, "episode": episode, "task": t, "expert": int(i),
                        "replies_lost": int((lost & (action == i)).sum()),
                        "observed_snr_db": round(float(snr[e]), 1),
                        "observed_age_s": round(float(age[e]), 2),
                        "task_snr_db": round(float(info["snr_db"][e]), 1),
                        "packets_sent": int(report["packets_sent"][e]),
                        "packets_lost": int(report["packets_lost"][e]),
                        "retransmissions": int(report["retransmissions"][e]),
                        "distance_before_m": None if before is None else round(float(before[e]), 1),
                        "distance_after_m": round(float(info["distance_m"][e]), 1),
                    })  # fmt: skip
                before, t = info["distance_m"], t + 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="<out>/sac of a compare")
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    args = parser.parse_args()
    import pandas as pd

    rows = [row for seed in args.seeds for row in replay(args.runs, seed)]
    print(pd.DataFrame(rows).to_string(index=False) if rows else "no reply lost")


if __name__ == "__main__":
    main()
