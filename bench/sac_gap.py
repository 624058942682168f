"""Where SAC's reward falls short of the upper bound, task by task.

For each trained run ``<runs>/seed<S>`` (``netmoe train`` or ``netmoe compare`` output),
replays that seed's evaluation episodes with the greedy SAC policy and, before every
step, asks the upper bound (every joint action tried on a fork of the simulator) for its
action and reward on the same task. Per task it records both actions, their rewards and
parts, the observation SAC acted on, and two flags:

- ``stall``: with every reply delivered, a subtask's transfer (delay minus generation)
  took longer than ``STALL_TRANSFER_S`` (of bench/fit_shannon_overhead.py): it waited
  for a TCP retransmission timeout (docs/results.md, "Where the gap is");
- ``bound_masked``: the bound used an expert SAC's mask rules out.

The summary splits the gap over four disjoint groups of tasks: SAC lost a reply, else
stalled, else masked (and by which of the mask's rules: association, SNR, a moving
expert's SNR, the sample's age, the SNR's fall), else the rest.

The episode follows SAC's actions (the bound's reward is what it would get on SAC's
trajectory, so the per-task gap is exact; the compare's upper bound follows its own).

    python bench/sac_gap.py --runs runs/compare_default/sac --seeds 0 1 2 3 4 5 6 7 \\
        --out runs/bench/sac_gap.csv   # ~6 min for 8 seeds on 2 cores
    python bench/sac_gap.py --rows runs/bench/sac_gap.csv   # the summary again
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fit_shannon_overhead import STALL_TRANSFER_S  # noqa: E402  (one definition of a stall)
from replay import sac_seed  # noqa: E402  (bench/replay.py)

from pybridge.observation import check_mask_limits  # noqa: E402

#: SAC's mask rules in the order they are checked, and the limits each adds
RULES = (
    ("snr", ("min_snr_db",)),
    ("mobile", ("mobile_min_snr_db",)),
    ("age", ("max_age_s",)),
    ("fall", ("max_fall_db", "fall_below_db")),
)


def replay(run: str, seed: int, candidates: int) -> list[dict[str, Any]]:
    """Per-task rows for one seed's evaluation episodes."""
    from agents.baselines import UpperBoundPolicy

    bound = UpperBoundPolicy(max_candidates=candidates)
    rows = []
    with sac_seed(run, seed) as s:
        agent, env = s.agent, s.env
        mask = agent.config.mask_limits()
        for episode in s.episodes:
            obs, _ = env.reset(seed=episode)
            done, t = False, 0
            while not done:
                sac = agent.act(obs[None], deterministic=True)[0]
                best = bound.act(env, obs)
                r_best, best_info = env.evaluate_action(best)
                allowed = env.obs_layout.usable(obs, **mask)
                why = masked_by(env.obs_layout, obs, mask)
                obs_next, r, _, done, info = env.step(sac)
                rows.append(
                    {
                        "seed": seed, "episode": episode, "task": t,
                        "observed_snr_db": np.round(env.obs_layout.snr_db(obs), 1).tolist(),
                        "observed_age_s": np.round(env.obs_layout.age_s(obs), 3).tolist(),
                        "sac_action": sac.tolist(), "bound_action": best.tolist(),
                        "sac_reward": r, "bound_reward": r_best,
                        "sac_quality": info["quality"], "bound_quality": best_info["quality"],
                        "sac_compute_cost": info["compute_cost"],
                        "bound_compute_cost": best_info["compute_cost"],
                        "sac_tx_cost": info["tx_cost"], "bound_tx_cost": best_info["tx_cost"],
                        "sac_experts": len(set(sac[sac > 0].tolist())),
                        "bound_experts": len(set(best[best > 0].tolist())),
                        "stall": info["replies_lost"] == 0
                        and bool((info["transfer_s"] > STALL_TRANSFER_S).any()),
                        "bound_masked": bool(any(a > 0 and not allowed[a - 1] for a in best)),
                        "bound_masked_by": "+".join(sorted({why[a - 1] for a in best
                                                            if a > 0 and not allowed[a - 1]})),
                        "sac_lost": info["replies_lost"],
                    }
                )  # fmt: skip
                obs, t = obs_next, t + 1
    return rows


def masked_by(layout: Any, obs: np.ndarray, mask: dict[str, Any]) -> list[str]:
    """Per expert, the first of SAC's mask rules that rules it out ("" if none):
    ``associated``, ``snr`` (heard below ``min_snr_db``), ``mobile`` (a moving expert
    below ``mobile_min_snr_db``), ``age`` (sample older than ``max_age_s``), ``fall``
    (``max_fall_db``)."""
    check_mask_limits(mask)
    rules, limits = [("associated", layout.usable(obs))], {}
    for name, keys in RULES:
        limits |= {k: mask[k] for k in keys if k in mask}
        rules.append((name, layout.usable(obs, **limits)))
    why = [""] * layout.num_experts
    for name, ok in reversed(rules):  # the first rule that fails wins
        for e in np.flatnonzero(~ok):
            why[e] = name
    return why


def summarise(rows: pd.DataFrame) -> str:
    gap = rows.bound_reward - rows.sac_reward
    tasks = len(rows)
    lines = [
        f"{tasks} tasks, {rows.seed.nunique()} seeds; same action on "
        f"{(rows.sac_action.astype(str) == rows.bound_action.astype(str)).mean():.1%}",
        f"mean reward: SAC {rows.sac_reward.mean():.3f}, bound {rows.bound_reward.mean():.3f}, "
        f"gap {gap.mean():.3f} per task",
    ]
    for name, part in (("quality", "quality"), ("compute", "compute_cost"), ("tx", "tx_cost")):
        sac, bound = rows[f"sac_{part}"].mean(), rows[f"bound_{part}"].mean()
        lines.append(f"  {name:8s} SAC {sac:.3f}  bound {bound:.3f}")
    lost = rows.sac_lost > 0 if "sac_lost" in rows else pd.Series(False, index=rows.index)
    stall = rows.stall.astype(bool) & ~lost
    masked = rows.bound_masked.astype(bool) & ~stall & ~lost  # each task counted once
    for hit, label in (
        (lost, "SAC lost a reply"),
        (stall, "else SAC's exchange stalled"),
        (masked, "else the bound used an expert SAC's mask rules out"),
    ):
        lines.append(
            f"{label}: {hit.sum()} tasks, gap {gap[hit].mean() if hit.any() else 0:.3f} on "
            f"them, {gap[hit].sum() / tasks:.3f} of the per-task gap"
        )
    if "bound_masked_by" in rows and masked.any():
        by = rows[masked].groupby(rows.bound_masked_by[masked].fillna(""))
        for rule, part in by:
            part_gap = gap[part.index]
            lines.append(
                f"  ruled out by {rule}: {len(part)} tasks, "
                f"{part_gap.sum() / tasks:.3f} of the per-task gap"
            )
    rest = ~(lost | stall | masked)
    lines.append(
        f"other tasks: {rest.sum()}, gap {gap[rest].mean():.3f} on them, "
        f"{gap[rest].sum() / tasks:.3f} of the per-task gap; experts used per task SAC "
        f"{rows.sac_experts[rest].mean():.2f}, bound {rows.bound_experts[rest].mean():.2f}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", help="directory of seed<S>/ run dirs")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--rows", type=Path, help="summarise this earlier --out CSV instead")
    parser.add_argument("--candidates", type=int, default=64, help="upper bound's max_candidates")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="CSV of the per-task rows")
    args = parser.parse_args()
    if args.rows is not None:
        print(summarise(pd.read_csv(args.rows)))
        return
    if not args.runs or not args.seeds:
        parser.error("--runs and --seeds are required (or --rows)")
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
        jobs = [pool.submit(replay, args.runs, s, args.candidates) for s in args.seeds]
        rows = pd.DataFrame([row for job in jobs for row in job.result()])
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        rows.to_csv(args.out, index=False)
    print(summarise(rows))


if __name__ == "__main__":
    main()
