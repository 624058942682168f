"""Training loop for discrete SAC on EdgeMoE: evaluation, checkpoints, logs; the one loop
for one user (``VectorRollout``: a Gymnasium vector env) and several users sharing one
agent (``agents.train_multi``), which differ only in the ``Rollout`` they step
(``agents.rollout``).

One *epoch* is one episode in each of the ``num_envs`` environments (``episode_tasks``
tasks, or rounds of several users, each). With ``pretrain_backend`` set, the first
``pretrain_epochs`` epochs run on that backend (``pretrain_num_envs`` in-process envs;
same table and reward, another network model) and the ``epochs`` after them on the env's
own backend; evaluations are on the env's own backend only, the first right after
pretraining (epoch 0), and their wall time includes the pretraining. Each epoch starts
with ``reset(seed=...)`` seeds derived from the run's seed and the epoch number, so the
environment state at an epoch boundary is a function of (seed, epoch) alone. A
checkpoint at an epoch boundary holds everything else the run depends on (networks,
optimisers, alpha, observation statistics, replay buffer, random generators, the result
rows so far), so a killed run resumed from it continues exactly as if never stopped
(tests/test_cli_train.py kills one and compares).

Outputs in ``out/``: ``checkpoint.pt``, ``epochs.csv|parquet`` (one row per epoch),
``evals.csv|parquet`` (one row per evaluation), ``tb/`` (TensorBoard), ``experiment.yaml``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from tqdm import tqdm

from agents.buffers import ReplayBuffer, concat
from agents.experiment import Experiment, ExperimentError
from agents.rollout import Rollout, VectorRollout
from agents.sac import DiscreteSAC, SACConfig
from pybridge.bridge import BridgeError
from pybridge.config import ObservationConfig
from pybridge.env import EdgeMoEEnv

log = logging.getLogger(__name__)
torch.set_num_threads(1)

CHECKPOINT = "checkpoint.pt"


def train_seeds(seed: int, epoch: int, num_envs: int) -> list[int]:
    """Env seeds of one training epoch (disjoint from the evaluation seeds)."""
    return [seed * 10_000_019 + epoch * num_envs + i for i in range(num_envs)]


def eval_seeds(seed: int, episodes: int) -> list[int]:
    """Evaluation episodes of a run: fixed per seed, shared by every method of that seed."""
    return [2**31 - 1 - (seed * 1000 + j) for j in range(episodes)]


def pretrain_seeds(seed: int, epoch: int, num_envs: int) -> list[int]:
    """Env seeds of one pretraining epoch (disjoint from training and evaluation seeds)."""
    return [seed * 10_000_019 + 5_000_000 + epoch * num_envs + i for i in range(num_envs)]


def make_agent(env: Any, config: SACConfig, seed: int = 0) -> DiscreteSAC:
    """A fresh agent sized for ``env``, masking the experts that the observation says are
    not usable (``env.obs_layout.usable``). ``env`` is an ``EdgeMoEEnv`` or a several-user
    ``EdgeMoEParallelEnv`` (every user's observation and action have the same space: one
    agent that every user shares; with ``critic: central`` its critics read the several-user
    env's ``state()``, of ``env.state_space``'s length)."""
    n = env.num_experts
    if config.mask_max_fall_db is not None and not env.obs_layout.snr_change:
        raise ValueError(
            "sac.mask_max_fall_db needs the SNR change in the observation: set the env's "
            "observation.snr_change: true"
        )
    reachable = partial(env.obs_layout.usable, **config.mask_limits())
    obs_dim = env.obs_layout.size
    state_dim = env.state_space.shape[0] if config.critic == "central" else None
    return DiscreteSAC(obs_dim, env.num_subtasks, n + 1, config, seed=seed, reachable=reachable,
                       state_dim=state_dim)  # fmt: skip


def run_fingerprint(exp: Experiment) -> str:
    """What a checkpoint must match to be resumed: the env with every default filled in
    (a changed default is another scenario), the training settings except how long to
    train and how often to evaluate and save, and the quality table's bytes (a re-scored
    table at the same path is another experiment)."""
    train_cfg = {k: v for k, v in exp.train.model_dump().items()
                 if k not in ("epochs", "eval_every", "checkpoint_every")}  # fmt: skip
    env = exp.env_config().model_dump(mode="json")
    if env["observation"] == ObservationConfig().model_dump(mode="json"):
        del env["observation"]  # added after runs were saved: its default is their setting
    digest = hashlib.sha256(
        json.dumps({"env": env, "train": train_cfg}, sort_keys=True, default=str).encode()
    )
    digest.update(exp.env_config().tasks.table_path().read_bytes())
    return digest.hexdigest()[:16]


def _atomic_write(frame: pd.DataFrame, stem: Path) -> None:
    for suffix in (".csv", ".parquet"):
        tmp = stem.with_suffix(suffix + ".tmp")
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, stem.with_suffix(suffix))


@dataclass
class TrainResult:
    out: Path
    epochs: pd.DataFrame
    evals: pd.DataFrame
    agent: DiscreteSAC
    resumed_from: int  # epoch the run started at (0 = fresh)


def train(
    exp: Experiment,
    out: str | Path,
    *,
    resume: bool = True,
    progress: bool = True,
    kill_after_epoch: int | None = None,
) -> TrainResult:
    """Train SAC as ``exp`` says, writing everything to ``out``; resume if a checkpoint is
    there. ``kill_after_epoch`` SIGKILLs this process after that epoch (crash tests).
    A multi-user experiment (its env names its users) trains the shared-parameter agent
    instead (``agents.train_multi.train_multi``: this loop on several users' envs; no
    pretraining)."""
    from agents.multi import is_multi_user

    if is_multi_user(exp.env):
        from agents.train_multi import train_multi

        return train_multi(
            exp, out, resume=resume, progress=progress, kill_after_epoch=kill_after_epoch
        )
    return train_loop(
        exp, out, VectorRollout, resume=resume, progress=progress,
        kill_after_epoch=kill_after_epoch,
    )  # fmt: skip


def train_loop(
    exp: Experiment,
    out: str | Path,
    make_rollout: Callable[[Experiment], Rollout],
    *,
    resume: bool = True,
    progress: bool = True,
    kill_after_epoch: int | None = None,
) -> TrainResult:
    """The one training loop (the module's docstring: epochs, seeds, pretraining,
    evaluations, checkpoints and resume, a dying scenario) on the envs of
    ``make_rollout(exp)``."""
    tc = exp.train
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT
    fingerprint = run_fingerprint(exp)
    ckpt = torch.load(ckpt_path, weights_only=False) if resume and ckpt_path.exists() else None
    if ckpt is not None and ckpt.get("fingerprint", fingerprint) != fingerprint:
        # (checkpoints written before fingerprints existed have none and are resumed)
        raise ExperimentError(
            f"{out} holds a checkpoint of another experiment or quality table "
            f"({ckpt['fingerprint']} != {fingerprint}); use another --out or remove it"
        )
    (out / "experiment.yaml").write_text(yaml.safe_dump(exp.to_dict(), sort_keys=False))
    sac_cfg = SACConfig.from_dict(tc.sac)

    rollout = make_rollout(exp)
    eval_env = rollout.eval_env
    heads, choices, obs_dim = rollout.heads, rollout.choices, rollout.obs_dim
    # a centralised critic: each transition also stores its user's global state
    state_dim = rollout.state_dim if sac_cfg.critic == "central" else 0
    if sac_cfg.critic == "central" and not state_dim:
        rollout.close()
        raise ExperimentError(
            f"{exp.source}: train.sac.critic: 'central' needs several users (the env's state())"
        )
    agent = make_agent(eval_env, sac_cfg, seed=tc.seed)
    new_buffer = partial(ReplayBuffer, sac_cfg.buffer_size, obs_dim, heads, state_dim)
    buffer = new_buffer()
    # after the switch with pretrain_replay_share: the pretraining transitions, replayed
    # beside (not among) the env's own
    prior: ReplayBuffer | None = None
    pre = tc.pretrain_epochs if tc.pretrain_backend else 0
    share = tc.pretrain_replay_share if pre and tc.pretrain_keep_buffer else 0.0
    from_prior = round(share * sac_cfg.batch_size)
    # updates per transition are one user's: updates_per_step per step of every env
    # for each of its users
    updates = rollout.users * sac_cfg.updates_per_step
    rng = np.random.default_rng(tc.seed)
    start_epoch, global_step, wall = 0, 0, 0.0
    epoch_rows: list[dict[str, Any]] = []
    eval_rows: list[dict[str, Any]] = []

    if ckpt is not None:
        agent.load_state_dict(ckpt["agent"])
        buffer.load_state_dict(ckpt["buffer"])
        if ckpt.get("prior") is not None:
            prior = new_buffer()
            prior.load_state_dict(ckpt["prior"])
        rng.bit_generator.state = ckpt["rng"]
        start_epoch, global_step, wall = ckpt["epoch"], ckpt["global_step"], ckpt["wall_s"]
        epoch_rows, eval_rows = ckpt["epoch_rows"], ckpt["eval_rows"]
        log.info("resuming %s from epoch %d", out, start_epoch)

    def save(epoch: int) -> None:
        _atomic_write(pd.DataFrame(epoch_rows), out / "epochs")
        if eval_rows:
            _atomic_write(pd.DataFrame(eval_rows), out / "evals")
        state = {
            "epoch": epoch,
            "global_step": global_step,
            "wall_s": wall,
            "agent": agent.state_dict(),
            "buffer": buffer.state_dict(),
            "prior": prior.state_dict() if prior is not None else None,
            "rng": rng.bit_generator.state,
            "epoch_rows": epoch_rows,
            "eval_rows": eval_rows,
            "sac": sac_cfg.to_dict(),
            "fingerprint": fingerprint,
        }
        torch.save(state, out / (CHECKPOINT + ".tmp"))
        os.replace(out / (CHECKPOINT + ".tmp"), ckpt_path)

    writer = _summary_writer(out / "tb", purge_step=global_step)
    total = pre + tc.epochs
    bar = tqdm(
        total=total, initial=start_epoch, desc=f"{rollout.label} seed {tc.seed}", unit="epoch",
        disable=not progress, dynamic_ncols=True,
    )  # fmt: skip

    def run_eval(epoch: int) -> None:
        """Greedy policy on the fixed evaluation episodes (env's own backend)."""
        nonlocal wall
        t1 = time.perf_counter()
        ev = rollout.evaluate(agent, eval_seeds(tc.seed, tc.eval_episodes))
        eval_rows.append(
            {"method": "sac", "seed": tc.seed, "epoch": epoch - pre, "env_steps": global_step,
             "wall_s": wall, **ev}
        )  # fmt: skip
        wall += time.perf_counter() - t1
        writer.add_scalar("charts/eval_reward", ev["reward"], global_step)
        bar.set_postfix(eval_reward=f"{ev['reward']:.3f}")

    try:
        for epoch in range(start_epoch, total):
            pretraining = epoch < pre
            num_envs = rollout.open(pretraining)
            if pre and epoch == pre:  # the switch to the env's own backend
                agent.norm.carry(tc.pretrain_norm_carry)
                if not tc.pretrain_keep_buffer:
                    buffer.clear()
                elif from_prior:
                    prior, buffer = buffer, new_buffer()
            t0 = time.perf_counter()
            seeds = (pretrain_seeds(tc.seed, epoch, num_envs) if pretraining
                     else train_seeds(tc.seed, epoch - pre, num_envs))  # fmt: skip
            metrics: list[dict[str, float]] = []
            crashed = ""
            try:
                obs = rollout.reset(seeds)
                state = rollout.states() if state_dim else None
                running = True
                while running:
                    agent.observe(obs, state)
                    if global_step < sac_cfg.learning_starts:
                        actions = rng.integers(0, choices, size=(len(obs), heads))
                    else:
                        actions = agent.act(obs)
                    next_obs, r, terminal, running = rollout.step(actions)
                    next_state = rollout.states() if state_dim else None
                    buffer.add(obs, actions, r, next_obs, terminal, state, next_state)
                    obs, state = next_obs, next_state
                    global_step += len(obs)
                    # learn only once the buffer holds its part of a batch: right after the
                    # switch to ns-3 it holds a handful of transitions, which would be
                    # resampled over and over
                    own = sac_cfg.batch_size - (from_prior if prior is not None else 0)
                    if global_step >= sac_cfg.learning_starts and len(buffer) >= own:
                        for _ in range(updates):
                            batch = buffer.sample(own, rng)
                            if prior is not None:
                                batch = concat(prior.sample(from_prior, rng), batch)
                            metrics.append(agent.update(batch))
            except BridgeError as exc:
                # a scenario process died mid-epoch (a simulator bug, not the agent's): the
                # transitions before it stay in replay, the epoch row says so, and the next
                # epoch starts fresh scenario processes
                crashed = str(exc).splitlines()[0][:300]
                log.warning("seed %d epoch %d: scenario died, epoch cut short: %s",
                            tc.seed, epoch + 1, crashed)  # fmt: skip
                rollout.discard()
            seconds = time.perf_counter() - t0
            wall += seconds
            row: dict[str, Any] = {
                "method": "sac",
                "seed": tc.seed,
                "epoch": epoch + 1 - pre,
                "phase": "pretrain" if pretraining else "train",
                "backend": tc.pretrain_backend if pretraining else eval_env.config.backend,
                "env_steps": global_step,
                **rollout.summary(wall, seconds),
                "scenario_died": crashed,
            }
            for key in metrics[0] if metrics else ():
                row[key.split("/")[-1]] = float(np.mean([m[key] for m in metrics]))
            epoch_rows.append(row)
            writer.add_scalar("charts/train_reward", row["train_reward"], global_step)
            writer.add_scalar("charts/epoch_seconds", time.perf_counter() - t0, global_step)
            for key in metrics[0] if metrics else ():
                writer.add_scalar(key, row[key.split("/")[-1]], global_step)

            if pre and epoch + 1 == pre:
                run_eval(epoch + 1)  # the pretrained policy on the env's own backend
            elif not pretraining and ((epoch + 1 - pre) % tc.eval_every == 0 or epoch + 1 == total):
                run_eval(epoch + 1)
            if (epoch + 1) % tc.checkpoint_every == 0 or epoch + 1 in (pre, total):
                save(epoch + 1)
                writer.flush()
            bar.update(1)
            if kill_after_epoch is not None and epoch + 1 == kill_after_epoch:
                os.kill(os.getpid(), signal.SIGKILL)  # a crash: nothing is flushed or closed
    finally:
        bar.close()
        writer.close()
        rollout.close()
    return TrainResult(
        out, pd.DataFrame(epoch_rows), pd.DataFrame(eval_rows), agent, resumed_from=start_epoch
    )


def _summary_writer(path: Path, purge_step: int) -> Any:
    """TensorBoard writer; on resume, events after the checkpoint's step are purged."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(path), purge_step=purge_step or None)


def load_agent(out: str | Path) -> DiscreteSAC:
    """The agent of a finished (or checkpointed) run directory."""
    out = Path(out)
    ckpt = torch.load(out / CHECKPOINT, weights_only=False)
    exp_env = yaml.safe_load((out / "experiment.yaml").read_text())["env"]
    env = EdgeMoEEnv(exp_env)
    agent = make_agent(env, SACConfig.from_dict(ckpt["sac"]))
    env.close()
    agent.load_state_dict(ckpt["agent"])
    return agent
