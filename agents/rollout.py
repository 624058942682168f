"""What the training loop (``agents.train.train_loop``) steps: the ``Rollout`` protocol,
and one user's envs in a Gymnasium vector env (``VectorRollout``, ``make_vector_env``).
Several users' envs are ``agents.train_multi.SharedRollout``.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

import pybridge
from agents.baselines import AgentPolicy, evaluate
from agents.experiment import Experiment
from agents.sac import DiscreteSAC
from pybridge.env import EdgeMoEEnv

log = logging.getLogger(__name__)


# the entries of an env's step info that the training loop reads
TRAINING_INFO = ("quality", "tx_cost")


class _TrainingInfo:
    """A vector env batching only ``TRAINING_INFO`` of its envs' infos. Gymnasium batches
    every entry (23, most of them per-expert or per-subtask arrays), which cost ~3-5 ms
    of CPU per step of 32 Shannon envs, 10-20% of the envs' own stepping; observations,
    rewards and flags are gymnasium's own."""

    def _add_info(
        self, vector_infos: dict[str, Any], env_info: dict[str, Any], env_num: int
    ) -> dict[str, Any]:
        kept = {k: env_info[k] for k in TRAINING_INFO if k in env_info}
        return super()._add_info(vector_infos, kept, env_num)  # type: ignore[misc]


class _SyncVectorEnv(_TrainingInfo, gym.vector.SyncVectorEnv):
    pass


class _AsyncVectorEnv(_TrainingInfo, gym.vector.AsyncVectorEnv):
    pass


def make_vector_env(exp: Experiment, pretrain: bool = False) -> gym.vector.VectorEnv:
    """``num_envs`` EdgeMoE envs; 'async' runs each (and its scenario process) in its own
    process. Autoreset is off: the loop resets every env at each epoch with known seeds.
    ``pretrain``: ``pretrain_num_envs`` in-process envs on ``pretrain_backend``. Step
    infos hold only ``TRAINING_INFO``."""
    tc = exp.train
    if pretrain:
        env, num, mode = exp.with_env({"backend": tc.pretrain_backend}).env, \
            tc.pretrain_num_envs, "sync"  # fmt: skip
    else:
        env, num, mode = exp.env, tc.num_envs, tc.vector
    # what gym.make_vec builds (gym.make's wrappers around each env), with lean infos; by
    # spec, not id, so that an 'async' worker process needs no registry
    spec = gym.spec(pybridge.ENV_ID)
    env_fns = [partial(gym.make, spec, config=env) for _ in range(num)]
    vector = _SyncVectorEnv if mode == "sync" else _AsyncVectorEnv
    return vector(env_fns, autoreset_mode=gym.vector.AutoresetMode.DISABLED)


class Rollout(Protocol):
    """What the training loop (``train_loop``) steps: the envs of one epoch as one batch
    of observation rows, one row per (env, user). One user's vector env is
    ``VectorRollout``; several users sharing one agent, ``agents.train_multi.SharedRollout``.
    Constructed from the experiment, it holds the evaluation env (``eval_env``); the
    training envs are made by ``open`` and discarded after a scenario died."""

    label: str  # the progress bar's
    eval_env: Any  # the agent is sized for it; evaluations run on it
    obs_dim: int
    heads: int  # subtasks: one action head each
    choices: int  # experts + 1 (local)
    users: int  # transitions per env per round: updates per round = users x updates_per_step

    def open(self, pretrain: bool) -> int:
        """Training envs for this phase (kept if open for it); how many."""
        ...

    def reset(self, seeds: list[int]) -> np.ndarray:
        """Start an episode in each env; the observation rows. Clears the epoch's tally."""
        ...

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Act (one row per observation row): next observations, rewards, terminal flags
        (float32) and whether the episode goes on."""
        ...

    def summary(self, wall: float, seconds: float) -> dict[str, Any]:
        """The epoch row's columns from ``train_reward`` through ``wall_s`` (``wall``: the
        run's wall time; ``seconds``: this epoch's stepping)."""
        ...

    def evaluate(self, agent: DiscreteSAC, seeds: list[int]) -> dict[str, float]:
        """The greedy agent on ``eval_env``'s episodes ``seeds``."""
        ...

    def discard(self) -> None:
        """Close the training envs after a scenario died (its error is already known)."""
        ...

    def close(self) -> None: ...


class VectorRollout:
    """One user: ``num_envs`` EdgeMoE envs in a Gymnasium vector env (``make_vector_env``;
    pretraining: ``pretrain_num_envs`` on ``pretrain_backend``), ``episode_tasks`` steps."""

    label = "sac"
    users = 1

    def __init__(self, exp: Experiment) -> None:
        self.exp = exp
        self.eval_env = EdgeMoEEnv(exp.env)
        self.heads, self.choices = self.eval_env.num_subtasks, self.eval_env.num_experts + 1
        self.obs_dim = int(self.eval_env.observation_space.shape[0])
        self.episode_tasks = self.eval_env.config.tasks.episode_tasks
        self.envs: gym.vector.VectorEnv | None = None
        self.pretrain: bool | None = None

    def open(self, pretrain: bool) -> int:
        if self.envs is None or self.pretrain is not pretrain:  # first, switch, after a crash
            if self.envs is not None:
                self.envs.close()
            self.envs, self.pretrain = make_vector_env(self.exp, pretrain=pretrain), pretrain
        return self.envs.num_envs

    def reset(self, seeds: list[int]) -> np.ndarray:
        assert self.envs is not None
        self.steps, self.rewards, self.quality, self.tx = 0, [], [], []  # type: ignore[var-annotated]
        obs, _ = self.envs.reset(seed=seeds)
        return obs

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        assert self.envs is not None
        next_obs, r, terminated, _, info = self.envs.step(actions)
        self.steps += 1
        self.rewards.append(r)
        self.quality.append(info["quality"])
        self.tx.append(info["tx_cost"])
        # truncation (end of the episode's task list) is not a terminal state: the target
        # still bootstraps from next_obs
        return next_obs, r, terminated.astype(np.float32), self.steps < self.episode_tasks

    def summary(self, wall: float, seconds: float) -> dict[str, Any]:
        return {
            "train_reward": float(np.mean(self.rewards)) if self.rewards else float("nan"),
            "train_quality": float(np.mean(self.quality)) if self.quality else float("nan"),
            "train_tx_cost": float(np.mean(self.tx)) if self.tx else float("nan"),
            "wall_s": wall,
        }

    def evaluate(self, agent: DiscreteSAC, seeds: list[int]) -> dict[str, float]:
        return evaluate(self.eval_env, AgentPolicy(agent, deterministic=True), seeds)

    def discard(self) -> None:
        if self.envs is not None:
            _close_quietly(self.envs)
        self.envs, self.pretrain = None, None

    def close(self) -> None:
        if self.envs is not None:
            self.envs.close()
        self.eval_env.close()


def _close_quietly(envs: gym.vector.VectorEnv) -> None:
    """Close a vector env whose worker died; errors of the dead worker are already known."""
    try:
        envs.close(terminate=True)
    except Exception as exc:  # noqa: BLE001 - the env is being discarded
        log.debug("closing a broken vector env: %s", exc)
