"""What the upper bound pays per forked try against what a step costs, on a scenario.

    python bench/try_cost.py [--config configs/default.yaml] [--episodes 3] [--json out.json]

A random policy acts. Before each step the same action is tried first (the backend's
``try_task``, as ``env.evaluate_action`` does: a forked copy of the scenario runs the
task and exits); then the step runs it for real. A try skips the gap after its task (the step
does not), so "events per try / per step" is what a try costs now against what it cost
when it simulated the gap too (a try was a step in a copy). Also: wall ms of each (the
fork included in a try's) and whether the try's reward equals the step's (it must).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from agents.experiment import load_env
from pybridge.env import EdgeMoEEnv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    env = EdgeMoEEnv(load_env(args.config).model_dump(mode="json"))
    rng = np.random.default_rng(args.seed)
    try_events, step_events, try_wall, step_wall, equal = [], [], [], [], 0
    try:
        for ep in range(args.episodes):
            env.reset(seed=args.seed + ep)
            truncated = False
            while not truncated:
                action = rng.integers(0, env.num_experts + 1, env.num_subtasks)
                before = int(env.backend.bridge.report["sim_events"])  # type: ignore[union-attr]
                t = time.perf_counter()
                task = env.build_task(action)
                tried = env.backend.try_task(task)  # type: ignore[union-attr]
                try_wall.append(time.perf_counter() - t)
                guess = env.price(task, tried)[0]
                t = time.perf_counter()
                _, reward, _, truncated, _ = env.step(action)
                step_wall.append(time.perf_counter() - t)
                after = int(env.backend.bridge.report["sim_events"])  # type: ignore[union-attr]
                try_events.append(int(tried["sim_events"]) - before)
                step_events.append(after - before)
                equal += guess == reward
    finally:
        env.close()
    result = {
        "config": args.config,
        "tasks": len(step_events),
        "events_per_try": float(np.mean(try_events)),
        "events_per_step": float(np.mean(step_events)),
        "try_over_step_events": float(np.sum(try_events) / np.sum(step_events)),
        "try_ms": 1e3 * float(np.mean(try_wall)),
        "step_ms": 1e3 * float(np.mean(step_wall)),
        "rewards_equal": f"{equal}/{len(step_events)}",
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if equal == len(step_events) else 1


if __name__ == "__main__":
    sys.exit(main())
