"""How the environment's cost grows with the number of experts and with parallel
environments: steps/s, ns-3 wall ms and events per task, reset time and the scenario's
peak memory for N experts, and steps/s of 1 and 2 Gymnasium ``AsyncVectorEnv`` workers.

    python bench/env_scaling.py [--experts 3 8 16 32] [--vector 1 2] [--episodes 2]
        [--tasks 20] [--json out.json] [--csv out.csv]

Why v vector workers give less than v times one: ``AsyncVectorEnv.step`` returns when
its *slowest* worker has simulated its task, and tasks differ a lot in ns-3 work (a task
whose reply is lost runs to the deadline). Two more columns per v separate that barrier
from the machine: ``barrier_bound<v>``, the best speed-up any synchronous vector of v
workers can reach with the single run's step times (v x mean / E[max of v steps], the
steps drawn from the single run's), and ``independent<v>_steps_per_s``, v processes each
stepping its own environment with no barrier (as ``netmoe compare``'s workers run seeds).

The scenario is ``--config`` (default ``configs/default.yaml``: 802.11ax, Nakagami fading,
random-walk user) with its experts replaced by N static experts on a circle of
``--radius`` m around the user, and a synthetic quality table with N expert writers
(``tests/conftest.py::synthetic_frame``: made-up texts, K = ``--subtasks``). A random
policy acts. "ns-3 ms per task" is the wall time Python waits in ``Bridge.exchange``;
"events per task" the scenario's ns-3 event count (report field ``sim_events``) over the
episode's tasks, warm-up excluded. Vector rows give steps/s of all workers together.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from measure import (
    add_scaling_arguments,
    peak_rss_mib,
    scaled_config,
    synthetic_table,
    timed_bridge,
    write_results,
)

import pybridge
from pybridge.config import load_config
from pybridge.env import EdgeMoEEnv


def single(config: dict, episodes: int, seed: int) -> dict[str, float]:
    """One environment: steps/s, ns-3 ms and events per task, reset ms, peak MiB."""
    with timed_bridge() as in_bridge:
        env = EdgeMoEEnv(config)
        rng = np.random.default_rng(seed)
        resets, step_walls, events, peaks = [], [], 0, []
        try:
            for ep in range(episodes):
                t = time.perf_counter()
                env.reset(seed=seed + ep)
                resets.append(time.perf_counter() - t)
                bridge = env.backend.bridge  # type: ignore[union-attr]
                first = int(bridge.report["sim_events"])
                if ep == 0:  # the process start is not per-task time; later resets are
                    in_bridge.seconds = 0.0
                truncated = False
                while not truncated:
                    t = time.perf_counter()
                    _, _, _, truncated, _ = env.step(
                        rng.integers(0, env.num_experts + 1, env.num_subtasks)
                    )
                    step_walls.append(time.perf_counter() - t)
                events += int(bridge.report["sim_events"]) - first
                peaks.append(peak_rss_mib(bridge.scenario_pid))
        finally:
            env.close()
    inside = in_bridge.seconds
    steps = len(step_walls)
    return {
        "steps_per_s": steps / sum(step_walls),
        "ns3_ms_per_task": 1e3 * inside / steps,
        "events_per_task": events / steps,
        # the first reset starts the process; later ones fork it (the usual case)
        "first_reset_ms": 1e3 * resets[0],
        "reset_ms": 1e3 * statistics.median(resets[1:]) if len(resets) > 1 else float("nan"),
        "scenario_peak_rss_mib": max(peaks),
        "step_walls": step_walls,
    }


def barrier_bound(step_walls: list[float], num_envs: int, seed: int) -> float:
    """The speed-up over one environment that ``num_envs`` synchronous workers reach at
    best, each on its own core: every vector step lasts as long as its slowest worker's
    step, so it is ``num_envs x mean / E[max of num_envs steps]``, the steps drawn from
    ``step_walls`` (one environment's, 200,000 draws)."""
    walls = np.asarray(step_walls)
    draws = np.random.default_rng(seed).choice(walls, size=(200_000, num_envs))
    return float(num_envs * walls.mean() / draws.max(axis=1).mean())


def _independent_worker(config: dict, steps: int, seed: int, start: Any, done: Any) -> None:
    env = EdgeMoEEnv(config)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    start.wait()  # every worker's scenario process is up: time the steps only
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(
            rng.integers(0, env.num_experts + 1, env.num_subtasks)
        )
        if terminated or truncated:
            env.reset()
    env.close()
    done.put(time.perf_counter())


def independent(config: dict, num_envs: int, steps: int, seed: int) -> float:
    """Steps/s of ``num_envs`` processes together, each stepping its own environment
    ``steps`` times (resets inside included) with no barrier between them."""
    ctx = mp.get_context("spawn")
    start, done = ctx.Barrier(num_envs + 1), ctx.Queue()
    procs = [
        ctx.Process(target=_independent_worker, args=(config, steps, seed + i, start, done))
        for i in range(num_envs)
    ]
    for p in procs:
        p.start()
    start.wait()
    t = time.perf_counter()
    last = max(done.get() for _ in procs)
    for p in procs:
        p.join()
    return steps * num_envs / (last - t)


def vector(config: dict, num_envs: int, steps: int, seed: int) -> float:
    """Steps/s of ``num_envs`` async workers together (resets inside included)."""
    envs = gym.make_vec(
        pybridge.ENV_ID, num_envs=num_envs, vectorization_mode="async", config=config
    )
    try:
        envs.reset(seed=seed)
        rng = np.random.default_rng(seed)
        t = time.perf_counter()
        for _ in range(steps):
            envs.step(
                rng.integers(
                    0, envs.single_action_space.nvec, (num_envs, len(envs.single_action_space.nvec))
                )
            )
        return steps * num_envs / (time.perf_counter() - t)
    finally:
        envs.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scaling_arguments(parser, experts=[3, 8, 16, 32])
    parser.add_argument("--vector", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--episodes", type=int, default=3, help="episodes of the single env")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per episode")
    args = parser.parse_args()

    base = load_config(args.config)
    rows = []
    with tempfile.TemporaryDirectory(prefix="netmoe-scaling-") as tmp:
        for n in args.experts:
            table = synthetic_table(Path(tmp), n, args.subtasks, args.seed)
            config = scaled_config(base, n, args.radius, table, args.tasks)
            one = single(config, args.episodes, args.seed)
            step_walls = one.pop("step_walls")
            row: dict[str, Any] = {"experts": n, **one}
            for v in args.vector:
                # as many steps per worker as the single run's, resets included
                row[f"vector{v}_steps_per_s"] = vector(
                    config, v, args.episodes * args.tasks, args.seed
                )
            for v in args.vector:
                if v > 1:
                    row[f"barrier_bound{v}"] = barrier_bound(step_walls, v, args.seed)
                    row[f"independent{v}_steps_per_s"] = independent(
                        config, v, args.episodes * args.tasks, args.seed
                    )
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"config": args.config, "tasks_per_episode": args.tasks, "rows": rows}
    cols = ["experts", "steps_per_s", "ns3_ms_per_task", "events_per_task", "reset_ms",
            "scenario_peak_rss_mib"] + [f"vector{v}_steps_per_s" for v in args.vector]  # fmt: skip
    for v in args.vector:
        if v > 1:
            cols += [f"barrier_bound{v}", f"independent{v}_steps_per_s"]
    write_results(args, result, list(rows[0]), cols)
    return 0


if __name__ == "__main__":
    sys.exit(main())
