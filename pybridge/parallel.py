"""Several user devices sharing the experts: the EdgeMoE PettingZoo ``ParallelEnv``.

One agent per user device; one ``step`` = one round, in which every user's task runs
over the same network (docs/environment.md, "Several users (PettingZoo)")::

    import pybridge
    env = pybridge.parallel_env(config="configs/scenarios/multi-user.yaml")
    observations, infos = env.reset(seed=0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from pybridge.backends import Backend, Report, Task, make_backend
from pybridge.config import ConfigError, EnvConfig, config_source
from pybridge.observation import QUEUE_SCALE
from pybridge.pricing import load_pricing

#: state(): distances in units of this (m), queue lengths in units of the observation's
#: QUEUE_SCALE requests
DISTANCE_SCALE_M = 100.0


class EdgeMoEParallelEnv(ParallelEnv):
    """M user devices, each picking for each subtask of its own prompt the device that
    writes it, over one network (ns-3 or the Shannon formula).

    ## Agents
    ``user_0 .. user_{M-1}``, one per ``scenario.user_nodes`` entry (``scenario.users``,
    or ``scenario.num_users`` copies of ``scenario.user``).

    ## Action Space (per agent)
    ``MultiDiscrete([N+1] * K)`` as ``EdgeMoEEnv``'s: 0 runs subtask k on the user's own
    device, i sends it to expert i.

    ## Observation Space (per agent)
    ``EdgeMoEEnv``'s vector (``ObservationLayout``) of that user's report: what that
    device heard (its own hop to the access point, an expert's hop only from its own
    exchanges with it, heartbeats or probe answers on ns-3 for user 0, the queue lengths
    in its replies)
    and its own next prompt. Nothing about the other users.

    ## State (``state()``, a centralised critic's view)
    Every user's observation in user order, then each user's distance to each expert
    (``distance_m`` / 100, user-major), then each expert's queue over the last round
    (``expert_queue_len_mean`` and ``expert_queue_len_max``, / 10; zeros before the first
    round and where the backend does not measure it). Length ``M * obs + M * N + 2 * N``.

    ## Rewards
    ``EdgeMoEEnv``'s reward of each user's own task (``pybridge.pricing.TaskPricing``).

    ## Rounds and Episode End
    Each round every user gets a task from its own prompt stream (drawn from the reset's
    seed); user u's starts ``start_offset_s`` after the round's start (``tasks.arrival``:
    0, or uniform in [0, max_offset_s] per user and round). The round ends when every
    reply is in or past its user's deadline, then ``tasks.gap_s`` (exponential, one per
    round) idles. Never terminates; every agent truncates after ``tasks.episode_tasks``
    rounds.

    ## Info (per agent)
    ``EdgeMoEEnv``'s info of that user's task plus ``start_offset_s``.
    """

    metadata = {"name": "netmoe_edge_moe_v0", "render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(
        self,
        config: str | Path | dict[str, Any] | EnvConfig = "configs/default.yaml",
        render_mode: str | None = None,
    ) -> None:
        source = config_source(config)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"{source}: render_mode {render_mode!r}: only 'rgb_array' or None")
        self.pricing, self.scenario_values = load_pricing(config)
        self.config, self.table = self.pricing.config, self.pricing.table
        self.render_mode = render_mode
        m = len(self.config.scenario.user_nodes)
        n, k = self.pricing.num_experts, self.pricing.num_subtasks
        self.num_users, self.num_experts, self.num_subtasks = m, n, k
        self.possible_agents = [f"user_{u}" for u in range(m)]
        self.agents: list[str] = []
        self.obs_layout = self.pricing.obs_layout
        self._action_spaces = {
            a: spaces.MultiDiscrete(np.full(k, n + 1, dtype=np.int64)) for a in self.possible_agents
        }
        self._observation_spaces = {
            a: spaces.Box(self.obs_layout.low, self.obs_layout.high) for a in self.possible_agents
        }
        low = np.concatenate(
            [np.tile(self.obs_layout.low, m), np.zeros(m * n), np.zeros(2 * n)]
        ).astype(np.float32)
        high = np.concatenate(
            [np.tile(self.obs_layout.high, m), np.full(m * n, 1e3), np.full(2 * n, 1e3)]
        ).astype(np.float32)
        self.state_space = spaces.Box(low, high)
        self._np_random: np.random.Generator | None = None
        self._backend: Backend | None = None
        self._prompts = np.zeros((m, 0), dtype=np.int64)
        self._gaps = np.zeros(0)
        self._offsets = np.zeros((0, m))
        self._t = 0
        self._last: list[Report] | None = None
        self._previous: list[Report] | None = None  # the reports of the previous decision
        self._last_round: tuple[list[Task], list[Report]] | None = None
        self._renderer: Any = None
        self._closed = False

    @property
    def np_random(self) -> np.random.Generator:
        """The episode RNG, as ``gymnasium.Env.np_random``: seeded by ``reset(seed=...)``,
        from OS entropy if used before any seed."""
        if self._np_random is None:
            self._np_random, _ = seeding.np_random()
        return self._np_random

    # -- spaces ----------------------------------------------------------------------

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.MultiDiscrete:
        return self._action_spaces[agent]

    # -- PettingZoo API --------------------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """A new episode: each user's prompt stream, the rounds' gaps and start offsets
        and the network's seed all drawn from ``seed`` (as ``EdgeMoEEnv``: the first user's
        stream, the gaps and the run number are drawn exactly as there)."""
        if self._closed:
            raise RuntimeError("environment is closed")
        if seed is not None:  # as gymnasium.Env.reset
            self._np_random, _ = seeding.np_random(seed)
        rng, cfg, m = self.np_random, self.config.tasks, self.num_users
        t = cfg.episode_tasks
        first = rng.integers(0, self.table.num_prompts, t)
        self._gaps = rng.exponential(cfg.gap_s, t) if cfg.gap_s else np.zeros(t)
        run = int(rng.integers(1, 2**31 - 1))
        others = [rng.integers(0, self.table.num_prompts, t) for _ in range(1, m)]
        self._prompts = np.stack([first, *others])
        if cfg.arrival.mode == "random":
            self._offsets = rng.uniform(0.0, cfg.arrival.max_offset_s, (t, m))
        else:
            self._offsets = np.zeros((t, m))
        if self._backend is None:
            self._backend = make_backend(self.config, self.num_subtasks)
        self._t = 0
        self._last, self._previous = self._backend.start_round(run), None
        self._last_round = None
        self.agents = list(self.possible_agents)
        infos = {
            a: {
                "prompt_id": self.table.prompt_ids[self._prompts[u, 0]],
                "run": run,
                "sim_time_s": float(self._last[u]["sim_time_s"]),
                "start_offset_s": float(self._offsets[0, u]),
            }
            for u, a in enumerate(self.agents)
        }
        return self._observations(), infos

    def step(self, actions: dict[str, Any]) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:  # fmt: skip
        """One round: every user's task with its agent's action."""
        tasks = self.build_round(actions)
        reports = self._backend.run_round(tasks)  # type: ignore[union-attr]  # build_round checked
        rewards, infos = self._outcomes(tasks, reports)
        self._previous, self._last = self._last, reports
        self._last_round = (tasks, reports)
        self._t += 1
        truncated = self._t >= self._prompts.shape[1]
        agents = list(self.agents)
        obs = self._observations()
        if truncated:
            self.agents = []
        return (
            obs,
            rewards,
            dict.fromkeys(agents, False),
            dict.fromkeys(agents, truncated),
            infos,
        )

    def evaluate_actions(
        self, actions: dict[str, Any]
    ) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
        """Rewards and infos that ``step(actions)`` would give now, without taking the step
        (a reference's tool: ns-3 runs the round in a forked copy of the scenario, the
        Shannon backend on a copy of its state; the copy stops at the round's end, as
        ``EdgeMoEEnv.evaluate_action``'s does)."""
        tasks = self.build_round(actions)
        return self._outcomes(tasks, self._backend.try_round(tasks))  # type: ignore[union-attr]

    def build_round(self, actions: dict[str, Any]) -> list[Task]:
        """The tasks that ``step(actions)`` sends to the network, one per user (actions
        checked as ``step`` checks them: one line naming the agent). Needs a running
        episode."""
        if self._backend is None or self._last is None:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            raise RuntimeError("episode is over (truncated): call reset()")
        unknown = sorted(set(actions) - set(self.agents))
        if unknown:
            raise ValueError(f"actions for unknown agents {unknown}; agents are {self.agents}")
        tasks = []
        for u, agent in enumerate(self.possible_agents):
            if agent not in actions:
                raise ValueError(f"no action for {agent}: every agent acts in every round")
            try:
                target = self.pricing.check_action(actions[agent])
            except ValueError as exc:
                raise ValueError(f"{agent}: {exc}") from None
            tasks.append(
                self.pricing.build_task(
                    self.current_prompts[u],
                    target,
                    self._t,
                    next_gap_s=float(self._gaps[self._t]),
                    start_offset_s=float(self._offsets[self._t, u]),
                )
            )
        return tasks

    @property
    def current_prompts(self) -> np.ndarray:
        """(M,) index into ``table`` of each user's prompt in the next round (read-only)."""
        if self._prompts.shape[1] == 0:
            raise RuntimeError("call reset() first")
        return self._prompts[:, min(self._t, self._prompts.shape[1] - 1)].copy()

    @property
    def backend(self) -> Backend | None:
        """The network backend of the episode (None before the first ``reset``)."""
        return self._backend

    def state(self) -> np.ndarray:
        """The global view (see the class docstring): every observation, every distance,
        the experts' queues over the last round."""
        if self._last is None:
            raise RuntimeError("call reset() first")
        n = self.num_experts
        distance = np.concatenate([r["distance_m"] for r in self._last]) / DISTANCE_SCALE_M
        first = self._last[0]
        queues = [
            np.asarray(first[name], dtype=float) if name in first else np.zeros(n)
            for name in ("expert_queue_len_mean", "expert_queue_len_max")
        ]
        observations = self._observations()
        vector = np.concatenate(
            [
                *(observations[a] for a in self.possible_agents),
                np.nan_to_num(distance, nan=0.0, posinf=1e3),
                *(np.nan_to_num(q, nan=0.0) / QUEUE_SCALE for q in queues),
            ]
        )
        return np.clip(vector, self.state_space.low, self.state_space.high).astype(np.float32)

    def render(self) -> np.ndarray | None:
        """``rgb_array``: an (H, W, 3) uint8 frame of the last round: positions,
        associations, the transfers of each user's offloaded subtasks and the experts'
        queues (``pybridge.render``). None without a render mode."""
        if self.render_mode is None:
            return None
        if self._last is None:
            raise RuntimeError("call reset() before render()")
        from pybridge.render import RoundRenderer

        if self._renderer is None:
            self._renderer = RoundRenderer(self.config)
        return self._renderer.frame(self, self._last, self._last_round)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._closed = True

    # -- internals -------------------------------------------------------------------

    def _outcomes(
        self, tasks: list[Task], reports: list[Report]
    ) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
        rewards, infos = {}, {}
        prompts = self.current_prompts
        for u, agent in enumerate(self.possible_agents):
            reward, info = self.pricing.outcome(int(prompts[u]), tasks[u], reports[u])
            info["start_offset_s"] = float(tasks[u].start_offset_s)
            rewards[agent], infos[agent] = reward, info
        return rewards, infos

    def _observations(self) -> dict[str, np.ndarray]:
        assert self._last is not None
        return {
            agent: self.pricing.observe(
                self._last[u], int(p), None if self._previous is None else self._previous[u]
            )
            for u, (agent, p) in enumerate(
                zip(self.possible_agents, self.current_prompts, strict=True)
            )
        }
