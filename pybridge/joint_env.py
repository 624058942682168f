"""One controller for every user device: the several-user env as one Gymnasium env.

``gym.make("netmoe/EdgeMoEJoint-v0", config=...)`` wraps ``EdgeMoEParallelEnv`` so that
single-agent libraries (Stable-Baselines3) can learn a joint policy over all users.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from pybridge.config import EnvConfig
from pybridge.parallel import EdgeMoEParallelEnv


class JointEnv(gym.Env):
    """Pick, for every user's every subtask, the device that writes it.

    ## Action Space
    ``MultiDiscrete([N+1] * (M*K))``: user u's action is entries ``u*K .. u*K+K-1``
    (``EdgeMoEEnv``'s action for that user).

    ## Observation Space
    Every user's ``EdgeMoEEnv`` observation, concatenated in user order (``Box`` of
    length ``M * obs``; ``obs_layout`` decodes each user's slice).

    ## Rewards
    The sum over users of each user's ``EdgeMoEEnv`` reward.

    ## Episode End
    Never terminates; truncates after ``tasks.episode_tasks`` rounds.

    ## Info
    ``users``: each user's info (``EdgeMoEParallelEnv``'s, in user order);
    ``rewards``: each user's reward.

    ## Version History
    * v0: first release.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(
        self,
        config: str | Path | dict[str, Any] | EnvConfig = "configs/default.yaml",
        render_mode: str | None = None,
    ) -> None:
        self.parallel = EdgeMoEParallelEnv(config, render_mode=render_mode)
        self.render_mode = render_mode
        p = self.parallel
        self.config, self.obs_layout = p.config, p.obs_layout
        self.num_users, self.num_experts, self.num_subtasks = m, n, k = (
            p.num_users,
            p.num_experts,
            p.num_subtasks,
        )
        self.action_space = spaces.MultiDiscrete(np.full(m * k, n + 1, dtype=np.int64))
        self.observation_space = spaces.Box(
            np.tile(p.obs_layout.low, m), np.tile(p.obs_layout.high, m)
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        obs, infos = self.parallel.reset(seed=seed, options=options)
        return self._joint(obs), {"users": [infos[a] for a in self.parallel.possible_agents]}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, rewards, _, truncated, infos = self.parallel.step(self._split(action))
        agents = self.parallel.possible_agents
        info = {"users": [infos[a] for a in agents], "rewards": [rewards[a] for a in agents]}
        return self._joint(obs), float(sum(info["rewards"])), False, truncated[agents[0]], info

    def evaluate_action(self, action: Any) -> tuple[float, dict[str, Any]]:
        """Reward and info that ``step(action)`` would give now, without taking the step."""
        rewards, infos = self.parallel.evaluate_actions(self._split(action))
        agents = self.parallel.possible_agents
        info = {"users": [infos[a] for a in agents], "rewards": [rewards[a] for a in agents]}
        return float(sum(info["rewards"])), info

    def render(self) -> np.ndarray | None:
        return self.parallel.render()

    def close(self) -> None:
        self.parallel.close()

    def _split(self, action: Any) -> dict[str, np.ndarray]:
        a = np.asarray(action)
        m, k = self.num_users, self.num_subtasks
        if a.shape != (m * k,):
            raise ValueError(f"action must have shape ({m * k},) (users x subtasks), got {a.shape}")
        return {
            agent: a[u * k : (u + 1) * k] for u, agent in enumerate(self.parallel.possible_agents)
        }

    def _joint(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([obs[a] for a in self.parallel.possible_agents])
