"""Several users (issue 16): training the shared-parameter SAC (``train_multi``).

One ``DiscreteSAC`` (``agents.sac``) that every user's observation goes through; every
user's transition goes into one replay buffer (parameter sharing, independent learners:
no centralised critic). The policies and the scoring are in ``agents.multi``; the loop
(epochs, seeds, updates, evaluations, checkpoints and resume, a dying scenario) is
``agents.train.train_loop``, which steps the several users' envs through
``SharedRollout`` (docs/agents.md, "Several users").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

import pybridge
from agents.experiment import Experiment, ExperimentError
from agents.multi import SharedSACPolicy, evaluate_multi
from agents.train import TrainResult, train_loop

log = logging.getLogger(__name__)


class SharedRollout:
    """Several users: ``train.num_envs`` parallel envs (``pybridge.parallel_env``) stepped
    in this process, one observation row per (env, user), env-major; a round steps every
    env once and lasts as long as the episode (``episode_tasks`` rounds). Truncation is not
    terminal (the target bootstraps with ``train.sac.gamma``)."""

    label = "shared sac"

    def __init__(self, exp: Experiment) -> None:
        self.exp = exp
        self.eval_env = pybridge.parallel_env(config=exp.env)
        self.agents = self.eval_env.possible_agents
        self.users = self.eval_env.num_users
        self.heads, self.choices = self.eval_env.num_subtasks, self.eval_env.num_experts + 1
        self.obs_dim = self.eval_env.obs_layout.size
        self.envs: list[Any] = []

    def open(self, pretrain: bool) -> int:
        if not self.envs:  # first, or after a scenario died
            self.envs = [
                pybridge.parallel_env(config=self.exp.env) for _ in range(self.exp.train.num_envs)
            ]
        return len(self.envs)

    def _rows(self, obs: list[dict[str, np.ndarray]]) -> np.ndarray:
        return np.stack([o[a] for o in obs for a in self.agents])  # (E*M, obs_dim)

    def reset(self, seeds: list[int]) -> np.ndarray:
        self.rewards: list[np.ndarray] = []
        self.rounds = 0
        obs = [env.reset(seed=s)[0] for env, s in zip(self.envs, seeds, strict=True)]
        return self._rows(obs)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        m = self.users
        next_obs, r = [], []
        for e, env in enumerate(self.envs):
            acts = dict(zip(self.agents, actions[e * m : (e + 1) * m], strict=True))
            o, rew, _, _, _ = env.step(acts)
            next_obs.append(o)
            r.extend(rew[a] for a in self.agents)
        self.rounds += 1
        r_arr = np.asarray(r, dtype=np.float32)
        self.rewards.append(r_arr)
        done = np.zeros(len(r_arr), dtype=np.float32)
        return self._rows(next_obs), r_arr, done, bool(self.envs[0].agents)

    def summary(self, wall: float, seconds: float) -> dict[str, Any]:
        return {
            "train_reward": float(np.mean(np.concatenate(self.rewards)))
            if self.rewards
            else np.nan,
            "wall_s": wall,
            "rounds_per_s": self.rounds * self.exp.train.num_envs / seconds,
        }

    def evaluate(self, agent: Any, seeds: list[int]) -> dict[str, float]:
        return evaluate_multi(self.eval_env, SharedSACPolicy(agent), seeds)

    def discard(self) -> None:
        for env in self.envs:
            _close_quietly(env)
        self.envs = []

    def close(self) -> None:
        for env in (*self.envs, self.eval_env):
            env.close()


def train_multi(
    exp: Experiment,
    out: str | Path,
    *,
    resume: bool = True,
    progress: bool = True,
    kill_after_epoch: int | None = None,
) -> TrainResult:
    """Train the shared SAC on ``exp`` (a multi-user experiment), writing ``epochs.csv``,
    ``evals.csv`` (and ``.parquet``), ``experiment.yaml``, ``checkpoint.pt`` and ``tb/``
    to ``out``.

    One epoch = one episode in each of ``train.num_envs`` parallel envs, stepped in this
    process, with the single-user run's seeds (``agents.train.train_seeds``); every round
    adds M transitions per env to the one buffer. **Updates per transition are the
    single-user run's**: ``train.sac.updates_per_step`` gradient steps per M users of a
    round of all envs, i.e. M x ``updates_per_step`` per round, as one user's run takes
    ``updates_per_step`` per step of all envs; ``learning_starts`` counts transitions.

    The rest is ``agents.train.train_loop``'s, as for one user: a checkpoint every
    ``train.checkpoint_every`` epochs and at the end holds everything the run depends on,
    and a run finding one in ``out`` (of the same experiment: ``run_fingerprint``) resumes
    from it, exactly as if never stopped; a scenario that dies mid-epoch (``BridgeError``)
    ends that epoch (its row's ``scenario_died`` says why) and the next starts fresh envs.
    Not supported (one line): ``train.pretrain_backend`` and ``train.vector: async``."""
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
    return train_loop(
        exp, out, SharedRollout, resume=resume, progress=progress,
        kill_after_epoch=kill_after_epoch,
    )  # fmt: skip


def _close_quietly(env: Any) -> None:
    """Close an env whose scenario died; its error is already known."""
    try:
        env.close()
    except Exception as exc:  # noqa: BLE001 - the env is being discarded
        log.debug("closing a broken env: %s", exc)
