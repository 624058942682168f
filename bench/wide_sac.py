"""Is the shared SAC with factored heads tractable at N = 32 experts, K = 8 subtasks?

    python bench/wide_sac.py [--users 2] [--experts 32] [--subtasks 8] [--epochs 2]
        [--ns3-rounds 5] [--learning-starts 128] [--out runs/wide_sac] [--no-ns3]

The experiment is ``configs/experiment_multi_user.yaml`` (serving on, random start
offsets, its SAC settings) with its first M users, N experts on a 10 m circle
(``agents.experiment.expert_circle``) and ``tasks.subtasks_per_task = K`` on the shipped
table (docs/environment.md, "Subtasks per task"). It trains with ``netmoe train``'s code
(``agents.train_multi.train_multi``): on Shannon for ``--epochs`` epochs of the file's
``train.num_envs`` envs, then on ns-3 for one episode of ``--ns3-rounds`` rounds in one
env; each run ends with one greedy evaluation episode. ``learning_starts`` is lowered
(``--learning-starts``) so that gradient steps happen in so short a run.

Printed per backend: training rounds/s and user steps/s (``epochs.csv``'s
``rounds_per_s`` x M), transitions, and the CPU seconds of the whole run (this process
and its reaped children, the ns-3 scenarios: ``resource.getrusage``); then the networks'
parameter counts and one gradient step (batch of ``batch_size``) timed alone, wall and
CPU ms. Torch runs on ``--threads`` threads (default 1). On a shared machine the wall
times are rough; the CPU times move less.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import pybridge
from agents.buffers import ReplayBuffer
from agents.experiment import expert_circle, load_experiment
from agents.sac import SACConfig
from agents.train import make_agent
from agents.train_multi import train_multi


def parameters(module: object) -> int:
    return sum(p.numel() for p in module.parameters())  # type: ignore[attr-defined]


def cpu_s() -> float:
    """CPU seconds of this process and its reaped children (user + system)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/experiment_multi_user.yaml")
    ap.add_argument("--users", type=int, default=2)
    ap.add_argument("--experts", type=int, default=32)
    ap.add_argument("--subtasks", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=2, help="Shannon epochs")
    ap.add_argument("--ns3-rounds", type=int, default=5, help="rounds of the ns-3 episode")
    ap.add_argument("--learning-starts", type=int, default=128)
    ap.add_argument("--no-ns3", action="store_true")
    ap.add_argument("--out", default="runs/wide_sac")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    base = load_experiment(args.config)
    users = base.env["scenario"]["users"][: args.users]
    exp = base.with_env(
        {
            "scenario": {"users": users, "experts": expert_circle(args.experts, 10.0)},
            "tasks": {"subtasks_per_task": args.subtasks},
        }
    )
    written = base.train.sac.model_dump(exclude_unset=True)
    sac = SACConfig.model_validate({**written, "learning_starts": args.learning_starts})
    results = {}
    runs = [("shannon", args.epochs, base.train.num_envs, None)]
    if not args.no_ns3:
        runs.append(("ns3", 1, 1, args.ns3_rounds))
    for backend, epochs, num_envs, rounds in runs:
        e = exp.with_env({"backend": backend})
        if rounds is not None:
            e = e.with_env({"tasks": {"episode_tasks": rounds}})
        e = e.with_train(epochs=epochs, num_envs=num_envs, eval_episodes=1, sac=sac)
        out = Path(args.out) / backend
        t0, c0 = time.perf_counter(), cpu_s()
        train_multi(e, out, resume=False, progress=False)
        wall, cpu = time.perf_counter() - t0, cpu_s() - c0
        rows = pd.read_csv(out / "epochs.csv")
        results[backend] = {
            "epochs": epochs,
            "num_envs": num_envs,
            "rounds_per_s": [round(float(r), 3) for r in rows["rounds_per_s"]],
            "user_steps_per_s": [round(float(r) * args.users, 3) for r in rows["rounds_per_s"]],
            "transitions": int(rows["env_steps"].iloc[-1]),
            "wall_s_with_eval": round(wall, 1),
            "cpu_s_with_eval": round(cpu, 1),
            "scenario_died": [s if isinstance(s, str) else "" for s in rows["scenario_died"]],
        }

    env = pybridge.parallel_env(config=exp.env)
    sac_cfg = SACConfig.from_dict(sac)
    agent = make_agent(env, sac_cfg, seed=0)
    k, choices, obs_dim = env.num_subtasks, env.num_experts + 1, env.obs_layout.size
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(1024, obs_dim, k)
    for _ in range(1024 // 64):
        obs = rng.normal(size=(64, obs_dim)).astype(np.float32)
        acts = rng.integers(0, choices, (64, k))
        buffer.add(obs, acts, rng.normal(size=64).astype(np.float32), obs, np.zeros(64, np.float32))
    agent.update(buffer.sample(sac_cfg.batch_size, rng))
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(50):
        agent.update(buffer.sample(sac_cfg.batch_size, rng))
    step_wall, step_cpu = time.perf_counter() - t0, time.process_time() - c0
    env.close()
    report = {
        "users": args.users,
        "experts": args.experts,
        "subtasks": k,
        "obs_dim": obs_dim,
        "head": "joint" if agent.joint else "factored",
        "actor_params": parameters(agent.actor),
        "critic_params_each": parameters(agent.q1),
        "gradient_step_ms_wall": round(step_wall / 50 * 1e3, 2),
        "gradient_step_ms_cpu": round(step_cpu / 50 * 1e3, 2),
        **results,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
