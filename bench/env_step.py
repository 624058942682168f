"""End-to-end environment speed on a scenario: steps per second, the share of a step
spent outside ns-3 (Python env + bridge), reset time, and the scenario's peak memory.

    python bench/env_step.py [--config configs/default.yaml] [--episodes 5] [--json out.json]

``--config`` takes an env config or an experiment file (its ``env_base`` + ``env``).

A random policy drives the environment. "Inside ns-3" is the wall time Python spends
in ``Bridge.exchange`` (the scenario simulating the task, plus the bridge's own few
microseconds); everything else in ``env.step`` is outside.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from measure import peak_rss_mib, timed_bridge

from pybridge.env import EdgeMoEEnv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--table", help="override tasks.table")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from agents.experiment import load_env

    cfg = load_env(args.config)
    if args.table:
        cfg = cfg.model_copy(
            update={"tasks": cfg.tasks.model_copy(update={"table": Path(args.table)})}
        )
    with timed_bridge() as in_bridge:
        env = EdgeMoEEnv(cfg)
        rng = np.random.default_rng(args.seed)
        step_wall, reset_wall, steps, peaks, sim_s = 0.0, 0.0, 0, [], 0.0
        reset_in_bridge = 0.0  # a reset's exchanges (warm-up, fork) are not a step's
        for ep in range(args.episodes):
            t, bridge_before = time.perf_counter(), in_bridge.seconds
            env.reset(seed=args.seed + ep)
            reset_wall += time.perf_counter() - t
            reset_in_bridge += in_bridge.seconds - bridge_before
            truncated = False
            t = time.perf_counter()
            while not truncated:
                action = rng.integers(0, env.num_experts + 1, env.num_subtasks)
                _, _, _, truncated, info = env.step(action)
                steps += 1
            step_wall += time.perf_counter() - t
            sim_s += info["sim_time_s"]
            backend = env.backend
            if backend is not None and hasattr(backend, "bridge"):
                peaks.append(peak_rss_mib(backend.bridge.scenario_pid))
        env.close()
    inside = in_bridge.seconds - reset_in_bridge
    result = {
        "config": args.config,
        "backend": cfg.backend,
        "episodes": args.episodes,
        "steps": steps,
        "steps_per_s": steps / step_wall,
        "ms_per_step": 1e3 * step_wall / steps,
        "share_outside_ns3": (step_wall - inside) / step_wall if cfg.backend == "ns3" else None,
        "reset_ms": 1e3 * reset_wall / args.episodes,
        "simulated_s_per_wall_s": sim_s / (step_wall + reset_wall),
        "scenario_peak_rss_mib": max(peaks) if peaks else None,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
