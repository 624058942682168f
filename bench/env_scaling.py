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
steps drawn from the single run's), and ``independent<v>_*``, v processes each stepping
its own environment with no barrier (as ``netmoe compare``'s workers run seeds). Every
parallel row also gives ns-3 events/s (thousands): runs step different episodes, which
differ in work, so speed-ups are fairest as ratios of events/s. (A vector "step" that
autoresets a worker only resets it, about 1 in 20 here: it counts in the vector rows'
steps/s, not in the single and independent rows'.) ``barrier_bound<v>`` assumes one core
per worker: with more workers than cores it is not a bound.

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

from agents.experiment import load_env
from pybridge.env import EdgeMoEEnv


def single(config: dict, episodes: int, seed: int) -> tuple[dict[str, float], list[float]]:
    """One environment: steps/s, ns-3 ms and events per task, reset ms, peak MiB; and
    the wall time of each step (for ``barrier_bound``)."""
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
    row = {
        "steps_per_s": steps / sum(step_walls),
        "ns3_ms_per_task": 1e3 * inside / steps,
        "events_per_task": events / steps,
        # the first reset starts the process; later ones fork it (the usual case)
        "first_reset_ms": 1e3 * resets[0],
        "reset_ms": 1e3 * statistics.median(resets[1:]) if len(resets) > 1 else float("nan"),
        "scenario_peak_rss_mib": max(peaks),
    }
    return row, step_walls


def barrier_bound(step_walls: list[float], num_envs: int, seed: int) -> float:
    """The speed-up over one environment that ``num_envs`` synchronous workers reach at
    best, each on its own core: every vector step lasts as long as its slowest worker's
    step, so it is ``num_envs x mean / E[max of num_envs steps]``, the steps drawn from
    ``step_walls`` (one environment's, 200,000 draws)."""
    walls = np.asarray(step_walls)
    draws = np.random.default_rng(seed).choice(walls, size=(200_000, num_envs))
    return float(num_envs * walls.mean() / draws.max(axis=1).mean())


class CountEvents(gym.Wrapper):
    """Adds ``info["sim_events"]``: the ns-3 events the step simulated, the work it did
    (episodes differ a lot in work, so rates of different runs compare in events/s)."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        out = self.env.reset(**kwargs)
        self._events = self._count()
        return out

    def step(self, action: Any) -> tuple[Any, ...]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        now = self._count()
        info["sim_events"], self._events = now - self._events, now
        return obs, reward, terminated, truncated, info

    def _count(self) -> int:
        return int(self.env.unwrapped.backend.bridge.report["sim_events"])


def _independent_worker(config: dict, steps: int, seed: int, start: Any, done: Any) -> None:
    env = CountEvents(EdgeMoEEnv(config))
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    events = 0
    start.wait()  # every worker's scenario process is up: time the steps only
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(
            rng.integers(0, env.unwrapped.num_experts + 1, env.unwrapped.num_subtasks)
        )
        events += info["sim_events"]
        if terminated or truncated:
            env.reset()
    done.put((time.perf_counter(), events))
    env.close()


def independent(config: dict, num_envs: int, steps: int, seed: int) -> tuple[float, float]:
    """Steps/s and ns-3 events/s of ``num_envs`` processes together, each stepping its
    own environment ``steps`` times (resets inside included) with no barrier."""
    ctx = mp.get_context("spawn")
    start, done = ctx.Barrier(num_envs + 1), ctx.Queue()
    procs = [
        ctx.Process(target=_independent_worker, args=(config, steps, seed + i, start, done))
        for i in range(num_envs)
    ]
    for p in procs:
        p.start()
    start.wait(timeout=300)  # a worker that died breaks the barrier: no hang
    t = time.perf_counter()
    ends = [done.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    wall = max(end for end, _ in ends) - t
    return steps * num_envs / wall, sum(events for _, events in ends) / wall


def vector(config: dict, num_envs: int, steps: int, seed: int) -> tuple[float, float]:
    """Steps/s and ns-3 events/s of ``num_envs`` async workers together (resets inside
    included)."""
    envs = gym.vector.AsyncVectorEnv(
        [lambda: CountEvents(EdgeMoEEnv(config)) for _ in range(num_envs)]
    )
    try:
        envs.reset(seed=seed)
        rng = np.random.default_rng(seed)
        events = 0
        t = time.perf_counter()
        for _ in range(steps):
            *_, info = envs.step(
                rng.integers(
                    0, envs.single_action_space.nvec, (num_envs, len(envs.single_action_space.nvec))
                )
            )
            if "sim_events" in info:  # an autoreset step has the reset's info only
                events += int(info["sim_events"][info["_sim_events"]].sum())
        wall = time.perf_counter() - t
        return steps * num_envs / wall, events / wall
    finally:
        envs.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scaling_arguments(parser, experts=[3, 8, 16, 32])
    parser.add_argument("--vector", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--episodes", type=int, default=3, help="episodes of the single env")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per episode")
    args = parser.parse_args()

    base = load_env(args.config)
    rows = []
    with tempfile.TemporaryDirectory(prefix="netmoe-scaling-") as tmp:
        for n in args.experts:
            table = synthetic_table(Path(tmp), n, args.subtasks, args.seed)
            config = scaled_config(base, n, args.radius, table, args.tasks)
            one, step_walls = single(config, args.episodes, args.seed)
            row: dict[str, Any] = {"experts": n, **one}
            steps = args.episodes * args.tasks  # per worker, as the single run's
            for v in args.vector:
                rate = vector(config, v, steps, args.seed)
                row[f"vector{v}_steps_per_s"], row[f"vector{v}_kevents_per_s"] = rate
            for v in args.vector:
                if v > 1:
                    row[f"barrier_bound{v}"] = barrier_bound(step_walls, v, args.seed)
                    rate = independent(config, v, steps, args.seed)
                    row[f"independent{v}_steps_per_s"], row[f"independent{v}_kevents_per_s"] = rate
            for key in [k for k in row if k.endswith("kevents_per_s")]:
                row[key] /= 1e3
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"config": args.config, "tasks_per_episode": args.tasks, "rows": rows}
    cols = ["experts", "steps_per_s", "ns3_ms_per_task", "events_per_task", "reset_ms",
            "scenario_peak_rss_mib"]  # fmt: skip
    for v in args.vector:
        cols += [f"vector{v}_steps_per_s", f"vector{v}_kevents_per_s"]
    for v in args.vector:
        if v > 1:
            cols += [f"barrier_bound{v}", f"independent{v}_steps_per_s",
                     f"independent{v}_kevents_per_s"]  # fmt: skip
    write_results(args, result, list(rows[0]), cols)
    return 0


if __name__ == "__main__":
    sys.exit(main())
