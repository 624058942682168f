"""Several users (issue 16): training the shared-parameter SAC (``train_multi``).

One ``DiscreteSAC`` (``agents.sac``) that every user's observation goes through; every
user's transition goes into one replay buffer (parameter sharing, independent learners:
no centralised critic). The policies and the scoring are in ``agents.multi``; the epoch,
seed, checkpoint and crash rules are ``agents.train.train``'s (docs/agents.md, "Several
users").
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.experiment import Experiment, ExperimentError
from agents.multi import SharedSACPolicy, evaluate_multi

log = logging.getLogger(__name__)


def train_multi(
    exp: Experiment,
    out: str | Path,
    *,
    resume: bool = True,
    progress: bool = True,
    kill_after_epoch: int | None = None,
) -> Any:
    """Train the shared SAC on ``exp`` (a multi-user experiment), writing ``epochs.csv``,
    ``evals.csv`` (and ``.parquet``), ``experiment.yaml`` and ``checkpoint.pt`` to ``out``.

    One epoch = one episode in each of ``train.num_envs`` parallel envs, stepped in this
    process, with the single-user run's seeds (``agents.train.train_seeds``); every round
    adds M transitions per env to the one buffer. **Updates per transition are the
    single-user run's**: ``train.sac.updates_per_step`` gradient steps per M users of a
    round of all envs, i.e. M x ``updates_per_step`` per round, as one user's run takes
    ``updates_per_step`` per step of all envs; ``learning_starts`` counts transitions.
    Truncation is not terminal (the target bootstraps with ``train.sac.gamma``).

    As ``agents.train.train``: a checkpoint every ``train.checkpoint_every`` epochs and at
    the end holds everything the run depends on, and a run finding one in ``out`` (of the
    same experiment: ``run_fingerprint``) resumes from it, exactly as if never stopped;
    a scenario that dies mid-epoch (``BridgeError``) ends that epoch (its row's
    ``scenario_died`` says why) and the next starts fresh envs. Not supported (one line):
    ``train.pretrain_backend`` and ``train.vector: async``. No TensorBoard log."""
    import torch
    import yaml
    from tqdm import tqdm

    import pybridge
    from agents.buffers import ReplayBuffer
    from agents.sac import SACConfig
    from agents.train import (
        CHECKPOINT,
        TrainResult,
        _atomic_write,
        eval_seeds,
        make_agent,
        run_fingerprint,
        train_seeds,
    )
    from pybridge.bridge import BridgeError

    tc = exp.train
    for field, value, why in (
        ("pretrain_backend", tc.pretrain_backend, "pretraining"),
        # (async is the default: refused only when the experiment names it)
        (
            "vector",
            "vector" in tc.model_fields_set and tc.vector == "async",
            "async envs (the envs step in this process)",
        ),
    ):
        if value:
            raise ExperimentError(
                f"{exp.source}: train.{field}: {why} not supported with several users yet"
            )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT
    fingerprint = run_fingerprint(exp)
    ckpt = torch.load(ckpt_path, weights_only=False) if resume and ckpt_path.exists() else None
    if ckpt is not None and ckpt.get("fingerprint") != fingerprint:
        raise ExperimentError(
            f"{out} holds a checkpoint of another experiment or quality table "
            f"({ckpt.get('fingerprint')} != {fingerprint}); use another --out or remove it"
        )
    (out / "experiment.yaml").write_text(yaml.safe_dump(exp.to_dict(), sort_keys=False))
    sac_cfg = SACConfig.from_dict(tc.sac)
    eval_env = pybridge.parallel_env(config=exp.env)
    agents = eval_env.possible_agents
    m, k, choices = eval_env.num_users, eval_env.num_subtasks, eval_env.num_experts + 1
    agent = make_agent(eval_env, sac_cfg, seed=tc.seed)
    buffer = ReplayBuffer(sac_cfg.buffer_size, eval_env.obs_layout.size, k)
    rng = np.random.default_rng(tc.seed)
    greedy = SharedSACPolicy(agent)
    epoch_rows: list[dict[str, Any]] = []
    eval_rows: list[dict[str, Any]] = []
    start_epoch, global_step, wall = 0, 0, 0.0
    if ckpt is not None:
        agent.load_state_dict(ckpt["agent"])
        buffer.load_state_dict(ckpt["buffer"])
        rng.bit_generator.state = ckpt["rng"]
        start_epoch, global_step, wall = ckpt["epoch"], ckpt["global_step"], ckpt["wall_s"]
        epoch_rows, eval_rows = ckpt["epoch_rows"], ckpt["eval_rows"]
        log.info("resuming %s from epoch %d", out, start_epoch)

    def save(epoch: int) -> None:
        _atomic_write(pd.DataFrame(epoch_rows), out / "epochs")
        if eval_rows:
            _atomic_write(pd.DataFrame(eval_rows), out / "evals")
        state = {
            "epoch": epoch, "global_step": global_step, "wall_s": wall,
            "agent": agent.state_dict(), "buffer": buffer.state_dict(),
            "rng": rng.bit_generator.state, "epoch_rows": epoch_rows, "eval_rows": eval_rows,
            "sac": sac_cfg.to_dict(), "fingerprint": fingerprint,
        }  # fmt: skip
        torch.save(state, out / (CHECKPOINT + ".tmp"))
        os.replace(out / (CHECKPOINT + ".tmp"), ckpt_path)

    envs: list[Any] = []
    bar = tqdm(total=tc.epochs, initial=start_epoch, desc=f"shared sac seed {tc.seed}",
               unit="epoch", disable=not progress, dynamic_ncols=True)  # fmt: skip
    try:
        for epoch in range(start_epoch, tc.epochs):
            if not envs:  # first, or after a scenario died
                envs = [pybridge.parallel_env(config=exp.env) for _ in range(tc.num_envs)]
            t0 = time.perf_counter()
            rewards, metrics, rounds, crashed = [], [], 0, ""
            try:
                seeds = train_seeds(tc.seed, epoch, len(envs))
                obs = [env.reset(seed=s)[0] for env, s in zip(envs, seeds, strict=True)]
                while envs[0].agents:
                    batch = np.stack([o[a] for o in obs for a in agents])  # (E*M, obs_dim)
                    agent.observe(batch)
                    if global_step < sac_cfg.learning_starts:
                        actions = rng.integers(0, choices, size=(len(batch), k))
                    else:
                        actions = agent.act(batch)
                    next_obs, r = [], []
                    for e, env in enumerate(envs):
                        acts = dict(zip(agents, actions[e * m : (e + 1) * m], strict=True))
                        o, rew, _, _, _ = env.step(acts)
                        next_obs.append(o)
                        r.extend(rew[a] for a in agents)
                    rounds += 1
                    nxt = np.stack([o[a] for o in next_obs for a in agents])
                    r_arr = np.asarray(r, dtype=np.float32)
                    done = np.zeros(len(r_arr), dtype=np.float32)
                    buffer.add(batch, actions, r_arr, nxt, done)
                    obs = next_obs
                    global_step += len(batch)
                    rewards.append(r_arr)
                    if global_step >= sac_cfg.learning_starts and len(buffer) >= sac_cfg.batch_size:
                        # M x updates_per_step: the single-user run's updates per transition
                        for _ in range(m * sac_cfg.updates_per_step):
                            metrics.append(agent.update(buffer.sample(sac_cfg.batch_size, rng)))
            except BridgeError as exc:
                # as agents.train.train: a scenario process died mid-epoch (a simulator bug,
                # not the agent's); its transitions stay in replay, the row says so, the next
                # epoch starts fresh envs
                crashed = str(exc).splitlines()[0][:300]
                log.warning("seed %d epoch %d: scenario died, epoch cut short: %s",
                            tc.seed, epoch + 1, crashed)  # fmt: skip
                for env in envs:
                    _close_quietly(env)
                envs = []
            dt = time.perf_counter() - t0
            wall += dt
            row: dict[str, Any] = {
                "method": "sac", "seed": tc.seed, "epoch": epoch + 1, "phase": "train",
                "backend": eval_env.config.backend, "env_steps": global_step,
                "train_reward": float(np.mean(np.concatenate(rewards))) if rewards else np.nan,
                "wall_s": wall, "rounds_per_s": rounds * tc.num_envs / dt,
                "scenario_died": crashed,
            }  # fmt: skip
            for key in metrics[0] if metrics else ():
                row[key.split("/")[-1]] = float(np.mean([x[key] for x in metrics]))
            epoch_rows.append(row)
            if (epoch + 1) % tc.eval_every == 0 or epoch + 1 == tc.epochs:
                t1 = time.perf_counter()
                ev = evaluate_multi(eval_env, greedy, eval_seeds(tc.seed, tc.eval_episodes))
                eval_rows.append({"method": "sac", "seed": tc.seed, "epoch": epoch + 1,
                                  "env_steps": global_step, "wall_s": wall, **ev})  # fmt: skip
                wall += time.perf_counter() - t1
                bar.set_postfix(eval_reward=f"{ev['reward']:.3f}")
            if (epoch + 1) % tc.checkpoint_every == 0 or epoch + 1 == tc.epochs:
                save(epoch + 1)
            bar.update(1)
            if kill_after_epoch is not None and epoch + 1 == kill_after_epoch:
                os.kill(os.getpid(), signal.SIGKILL)  # a crash: nothing is flushed or closed
    finally:
        bar.close()
        for env in (*envs, eval_env):
            env.close()
    return TrainResult(out, pd.DataFrame(epoch_rows), pd.DataFrame(eval_rows), agent,
                       resumed_from=start_epoch)  # fmt: skip


def _close_quietly(env: Any) -> None:
    """Close an env whose scenario died; its error is already known."""
    try:
        env.close()
    except Exception as exc:  # noqa: BLE001 - the env is being discarded
        log.debug("closing a broken env: %s", exc)
