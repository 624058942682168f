"""The EdgeMoE Gymnasium environment: one step = one generative task over the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from pybridge.backends import Backend, Report, Task, make_backend
from pybridge.config import ConfigError, EnvConfig, config_source
from pybridge.pricing import (
    BYTES_PER_TOKEN,
    TOKENS_PER_WORD,
    load_pricing,
    network_share_s,
    offload_task,
)

# the pricing names that docs and validation/ import from here
__all__ = ["BYTES_PER_TOKEN", "TOKENS_PER_WORD", "EdgeMoEEnv", "network_share_s", "offload_task"]


class EdgeMoEEnv(gym.Env):
    """Pick, for each subtask of a prompt, the device that writes it.

    A user device splits a prompt into K subtasks (from the quality table), runs some
    itself and offloads the others to N edge experts over a wireless network simulated
    by ns-3 (``backend: ns3``) or by the paper's Shannon formula (``backend: shannon``).

    ## Action Space
    ``MultiDiscrete([N+1] * K)``: entry k is 0 to run subtask k locally, i to send it
    to expert i.

    ## Observation Space
    ``Box(float32)`` of length ``4N + 2K + K(N+1)`` (+ 2N with serving, + N with
    ``observation.snr_change``), what it knows before acting (never the future):

    | slice | feature | scaling |
    |---|---|---|
    | per expert | last SNR heard at the user device (heartbeats, replies) | dB / 40, floor -20 dB |
    | per expert | last measured goodput of a reply | Mbit/s / 100 |
    | per expert | age of that SNR (never heard: 1) | s / 10, capped at 1 |
    | per expert | link layer associated | 0 / 1 |
    | per subtask | request size | kB |
    | per subtask | expected reply length (mean over experts of the table's words) | words / 100 |
    | per subtask x device | gate's routing score | [0, 1] |
    | per expert (serving) | last queue length it reported (never: -1) | / 10 |
    | per expert (serving) | age of that report (never: 1) | s / 10, capped at 1 |
    | per expert (snr_change) | SNR now minus at the previous decision (else 0) | dB / 40 |

    ## Rewards
    ``w_quality * quality - compute_cost - tx_cost`` where quality is the judge score
    of the fused answer (0..10, from the quality table; a lost reply falls back to the
    local text), compute_cost = local_word_cost * local words + edge_word_cost * edge
    words, and tx_cost = w_time * sum of transfer times (delay minus the expert's compute
    time) + w_energy * the user device's radio energy spent with the experts it used
    (airtime, ``energy_j``) + lost_penalty * lost replies, all measured by the
    backend; minus ``w_latency * task_latency_s`` (0 by default). With
    ``scenario.serving`` the transfer time is the network's share of each reply
    (``network_share_s``: completion minus the expert's own generation time) and a
    rejected subtask is priced as a lost reply.

    ## Episode End
    Never terminates; truncates after ``tasks.episode_tasks`` steps.

    ## Info
    Per step: per-expert arrays ``snr_db``, ``goodput_mbps``, ``delay_s``,
    ``bytes_delivered``, ``energy_j`` (length N; ``snr_db`` is -inf for an expert
    not heard during the task; what it measures is the radio's, see
    ``env.config.scenario.radio.snr_meaning``: on Wi-Fi the SNR at the user device, on
    LTE the expert's uplink SINR at the eNB) and scalars ``quality``,
    ``compute_cost``, ``tx_cost``, plus ``transfer_s`` (per subtask: its delay minus its
    generation time, the deadline if lost, 0 if local), ``prompt_id``, ``assignment``,
    ``effective_assignment``, ``replies_lost``, ``ue_energy_j``, ``sim_time_s``,
    ``distance_m`` (ground truth, for analysis). With ``scenario.serving.enabled`` (ns-3):
    per subtask ``ttft_s`` (request sent -> first reply byte), ``completion_s`` (-> last
    byte), ``queue_wait_s`` (at the expert), ``subtask_rejected`` (full queue: the reply
    is lost and priced as lost); per expert ``obs_queue_len`` / ``obs_queue_age_s`` (last
    queue length an expert reported and its age; -1 / inf: none yet); scalar
    ``task_latency_s`` (task start -> last subtask, local ones included, + fusion on the
    user device). A time that never came (a lost reply's completion) is inf.

    ## Version History
    * v0: first release.
    """

    metadata = {"render_modes": []}

    def __init__(
        self, config: str | Path | dict[str, Any] | EnvConfig = "configs/default.yaml"
    ) -> None:
        # Everything is checked here, before any episode: types and structure by the
        # config, the scenario's values by its program, then the table and its writers.
        self.pricing, self.scenario_values = load_pricing(config)
        self.config, self.table = self.pricing.config, self.pricing.table
        users = len(self.config.scenario.user_nodes)
        if users > 1:
            raise ConfigError(
                f"{config_source(config)}: scenario: {users} user devices; EdgeMoEEnv drives "
                "one: use pybridge.parallel_env(config=...) or netmoe/EdgeMoEJoint-v0"
            )
        if self.config.tasks.arrival.mode == "random":
            # one task per step has no round to be offset in; the parallel env applies it
            # (even to one user), so one config would give two different episodes
            raise ConfigError(
                f"{config_source(config)}: tasks.arrival.mode: random offsets a user's task "
                "within a round of several users; EdgeMoEEnv has none: use "
                "pybridge.parallel_env(config=...)"
            )
        n, k = self.pricing.num_experts, self.pricing.num_subtasks
        self.num_experts, self.num_subtasks = n, k
        self.action_space = spaces.MultiDiscrete(np.full(k, n + 1, dtype=np.int64))
        self.obs_layout = self.pricing.obs_layout
        self.observation_space = spaces.Box(self.obs_layout.low, self.obs_layout.high)
        self._backend: Backend | None = None
        self._prompts = np.zeros(0, dtype=np.int64)
        self._t = 0
        self._last: Report | None = None
        self._previous: Report | None = None  # the report of the previous decision
        self._closed = False

    # -- Gymnasium API ---------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if self._closed:
            raise RuntimeError("environment is closed")
        cfg = self.config.tasks
        self._prompts = self.np_random.integers(0, self.table.num_prompts, cfg.episode_tasks)
        self._gaps = (
            self.np_random.exponential(cfg.gap_s, cfg.episode_tasks)
            if cfg.gap_s
            else (np.zeros(cfg.episode_tasks))
        )
        run = int(self.np_random.integers(1, 2**31 - 1))
        if self._backend is None:
            self._backend = make_backend(self.config, self.num_subtasks)
        self._t = 0
        self._last, self._previous = self._backend.start(run), None
        return self._observation(), {
            "prompt_id": self.table.prompt_ids[self._prompts[0]],
            "run": run,
            "sim_time_s": float(self._last["sim_time_s"]),
        }

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        task = self.build_task(action)
        report = self._backend.run_task(task)  # type: ignore[union-attr]  # build_task checked
        reward, info = self.pricing.outcome(self.current_prompt, task, report)
        self._previous, self._last = self._last, report
        self._t += 1
        truncated = self._t >= len(self._prompts)
        return self._observation(), reward, False, truncated, info

    def evaluate_action(self, action: Any) -> tuple[float, dict[str, Any]]:
        """Reward and info that ``step(action)`` would give now, without taking the step.

        An oracle's tool (the upper bound): the ns-3 backend runs the task in a forked
        copy of the scenario, the Shannon backend on a copy of its state. Same random
        state, so ``step(action)`` right after returns the same reward and measurements;
        the copy stops at the task's end, so the info's ``sim_time_s``, ``distance_m`` and
        ``obs_queue_*`` are the task end's (``backends.NEXT_OBSERVATION_FIELDS``).
        """
        if self._backend is None or self._last is None or self._t >= len(self._prompts):
            raise RuntimeError("evaluate_action() needs a running episode")
        task = self.build_task(action)
        report = self._backend.try_task(task)  # type: ignore[union-attr]
        return self.pricing.outcome(self.current_prompt, task, report)

    @property
    def current_prompt(self) -> int:
        """Index into ``table`` of the prompt the next ``step`` serves (read-only)."""
        if len(self._prompts) == 0:
            raise RuntimeError("call reset() first")
        return int(self._prompts[min(self._t, len(self._prompts) - 1)])

    @property
    def backend(self) -> Backend | None:
        """The network backend of the episode (None before the first ``reset`` and after
        ``close``); for measurements such as the scenario process's memory."""
        return self._backend

    def build_task(self, action: Any) -> Task:
        """The task that ``step(action)`` sends to the network: the current prompt's
        subtasks with sizes and compute times from the quality table (``action`` checked
        as ``step`` checks it). Needs a running episode."""
        if self._backend is None or self._last is None:
            raise RuntimeError("call reset() before step()")
        if self._t >= len(self._prompts):
            raise RuntimeError("episode is over (truncated): call reset()")
        target = self.pricing.check_action(action)
        return self.pricing.build_task(
            self.current_prompt, target, self._t, next_gap_s=float(self._gaps[self._t])
        )

    def price(self, task: Task, report: Report) -> tuple[float, dict[str, Any]]:
        """The reward of ``task`` (built by ``build_task`` for the current prompt) had the
        network reported ``report``, and its parts (``quality``, ``compute_cost``,
        ``tx_cost``, ``effective_assignment``, ``transfer_s``); see Rewards above.

        ``report`` may be hypothetical: only ``subtask_delivered`` (K), ``subtask_delay_s``
        (K) and ``energy_j`` (N) are read. The reward never rises with more delay or
        energy (the upper bound's pruning relies on it)."""
        return self.pricing.price(self.current_prompt, task, report)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        self._closed = True

    def _observation(self) -> np.ndarray:
        assert self._last is not None
        return self.pricing.observe(self._last, self.current_prompt, self._previous)
