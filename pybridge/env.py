"""The EdgeMoE Gymnasium environment: one step = one generative task over the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from pybridge.backends import Backend, Report, Task, make_backend
from pybridge.bridge import MAX_SUBTASKS
from pybridge.config import EnvConfig, load_config
from pybridge.tasks import QualityTable

SNR_FLOOR_DB = -20.0  # what an expert never heard from looks like
INFO_ARRAYS = ("snr_db", "goodput_mbps", "delay_s", "bytes_delivered", "energy_j")


class EdgeMoEEnv(gym.Env):
    """Pick, for each subtask of a prompt, the device that writes it.

    A user device splits a prompt into K subtasks (from the quality table), runs some
    itself and offloads the others to N edge experts over a wireless network simulated
    by ns-3 (``backend: ns3``) or by the paper's Shannon formula (``backend: shannon``).

    ## Action Space
    ``MultiDiscrete([N+1] * K)``: entry k is 0 to run subtask k locally, i to send it
    to expert i.

    ## Observation Space
    ``Box(float32)`` of length ``4N + 2K + K(N+1)``, what the user device knows
    before acting (never the future):

    | slice | feature | scaling |
    |---|---|---|
    | per expert | last SNR heard at the user device (heartbeats, replies) | dB / 40, floor -20 dB |
    | per expert | last measured goodput of a reply | Mbit/s / 100 |
    | per expert | age of that SNR (never heard: 1) | s / 10, capped at 1 |
    | per expert | link layer associated | 0 / 1 |
    | per subtask | request size | kB |
    | per subtask | expected reply length (mean over experts of the table's words) | words / 100 |
    | per subtask x device | gate's routing score | [0, 1] |

    ## Rewards
    ``w_quality * quality - compute_cost - tx_cost`` where quality is the judge score
    of the fused answer (0..10, from the quality table; a lost reply falls back to the
    local text), compute_cost = local_word_cost * local words + edge_word_cost * edge
    words, and tx_cost = w_time * sum of transfer times (delay minus the expert's compute
    time) + w_energy * the user device's radio energy spent with the experts it used
    (airtime, ``energy_j``) + lost_penalty * lost replies, all measured by the
    backend.

    ## Episode End
    Never terminates; truncates after ``tasks.episode_tasks`` steps.

    ## Info
    Per step: per-expert arrays ``snr_db``, ``goodput_mbps``, ``delay_s``,
    ``bytes_delivered``, ``energy_j`` (length N; ``snr_db`` is -inf for an expert
    not heard during the task) and scalars ``quality``,
    ``compute_cost``, ``tx_cost``, plus ``transfer_s`` (per subtask: its delay minus its
    generation time, the deadline if lost, 0 if local), ``prompt_id``, ``assignment``,
    ``effective_assignment``, ``replies_lost``, ``ue_energy_j``, ``sim_time_s``,
    ``distance_m`` (ground truth, for analysis).

    ## Version History
    * v0: first release.
    """

    metadata = {"render_modes": []}

    def __init__(
        self, config: str | Path | dict[str, Any] | EnvConfig = "configs/default.yaml"
    ) -> None:
        self.config = load_config(config)
        self.table = QualityTable.load(self.config.tasks.table_path())
        n = self.config.scenario.num_experts
        if self.table.num_experts != n:
            raise ValueError(
                f"quality table has {self.table.num_experts} experts but the scenario has {n}"
            )
        k = self.table.num_subtasks
        if k > MAX_SUBTASKS:
            raise ValueError(f"table has {k} subtasks; the bridge carries at most {MAX_SUBTASKS}")
        self.num_experts, self.num_subtasks = n, k
        self.action_space = spaces.MultiDiscrete(np.full(k, n + 1, dtype=np.int64))
        low = np.concatenate(
            [
                np.full(n, -1.0),  # snr
                np.zeros(n),  # goodput
                np.zeros(n),  # age
                np.zeros(n),  # associated
                np.zeros(k),  # request kB
                np.zeros(k),  # expected words
                np.zeros(k * (n + 1)),  # routing
            ]
        )
        high = np.concatenate(
            [
                np.full(n, 2.0),
                np.full(n, 12.0),
                np.ones(n),
                np.ones(n),
                np.full(k, 100.0),
                np.full(k, 100.0),
                np.ones(k * (n + 1)),
            ]
        )
        self.observation_space = spaces.Box(low.astype(np.float32), high.astype(np.float32))
        self._backend: Backend | None = None
        self._prompts = np.zeros(0, dtype=np.int64)
        self._t = 0
        self._last: Report | None = None
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
        self._last = self._backend.start(run)
        return self._observation(), {
            "prompt_id": self.table.prompt_ids[self._prompts[0]],
            "run": run,
            "sim_time_s": float(self._last["sim_time_s"]),
        }

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._backend is None or self._last is None:
            raise RuntimeError("call reset() before step()")
        if self._t >= len(self._prompts):
            raise RuntimeError("episode is over (truncated): call reset()")
        target = self._check_action(action)
        p = int(self._prompts[self._t])
        task = self._task(p, target)
        report = self._backend.run_task(task)
        self._last = report
        self._t += 1
        truncated = self._t >= len(self._prompts)
        reward, info = self._outcome(p, task, report)
        return self._observation(), reward, False, truncated, info

    def evaluate_action(self, action: Any) -> tuple[float, dict[str, Any]]:
        """Reward and info that ``step(action)`` would give now, without taking the step.

        An oracle's tool (the upper bound): the ns-3 backend runs the task in a forked
        copy of the scenario, the Shannon backend on a copy of its state. Same random
        state, so ``step(action)`` right after returns the same reward.
        """
        if self._backend is None or self._last is None or self._t >= len(self._prompts):
            raise RuntimeError("evaluate_action() needs a running episode")
        p = int(self._prompts[self._t])
        task = self._task(p, self._check_action(action))
        return self._outcome(p, task, self._backend.try_task(task))

    @property
    def current_prompt(self) -> int:
        """Index into ``table`` of the prompt the next ``step`` serves (read-only)."""
        if len(self._prompts) == 0:
            raise RuntimeError("call reset() first")
        return int(self._prompts[min(self._t, len(self._prompts) - 1)])

    # -- internals -------------------------------------------------------------------

    def _task(self, p: int, target: np.ndarray) -> Task:
        tb, cfg = self.table, self.config.tasks
        k = np.arange(self.num_subtasks)
        offloaded = target > 0
        return Task(
            task_id=self._t,
            target=target,
            request_bytes=np.where(offloaded, tb.subtask_bytes[p] + cfg.request_overhead_bytes, 0),
            reply_bytes=np.where(offloaded, tb.bytes[p, k, target], 0),
            compute_s=np.where(offloaded, tb.words[p, k, target] / cfg.edge_words_per_s, 0.0),
            deadline_s=cfg.deadline_s,
            next_gap_s=float(self._gaps[self._t]),
        )

    def _outcome(self, p: int, task: Task, report: Report) -> tuple[float, dict[str, Any]]:
        tb = self.table
        reward, parts = self._reward(p, task, report)
        info = {name: report[name] for name in INFO_ARRAYS}
        # no frame heard from an expert: SNR of zero signal power, -inf dB (NaN would
        # make identical episodes compare unequal)
        info["snr_db"] = np.where(np.isnan(info["snr_db"]), -np.inf, info["snr_db"])
        info.update(parts)
        info.update(
            prompt_id=tb.prompt_ids[p],
            assignment=tuple(int(a) for a in task.target),
            replies_lost=int(report["replies_lost"].sum()),
            ue_energy_j=float(report["ue_energy_j"]),
            sim_time_s=float(report["sim_time_s"]),
            distance_m=report["distance_m"],
        )
        return reward, info

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        self._closed = True

    def _check_action(self, action: Any) -> np.ndarray:
        a = np.asarray(action)
        if a.shape != (self.num_subtasks,):
            raise ValueError(f"action must have shape ({self.num_subtasks},), got {a.shape}")
        if not np.issubdtype(a.dtype, np.integer):
            if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
                raise ValueError(f"action entries must be whole numbers, got {a.tolist()}")
        a = a.astype(np.int64)
        if a.min() < 0 or a.max() > self.num_experts:
            raise ValueError(
                f"action entries must be in 0..{self.num_experts} (0 = local), got {a.tolist()}"
            )
        return a

    def _reward(self, p: int, task: Task, report: Report) -> tuple[float, dict[str, Any]]:
        rw, tb = self.config.reward, self.table
        k = np.arange(self.num_subtasks)
        offloaded = task.target > 0
        delivered = report["subtask_delivered"].astype(bool) & offloaded
        lost = offloaded & ~delivered
        # a lost reply: the user device writes that part itself after the deadline
        effective = np.where(lost, 0, task.target)
        quality = tb.quality(p, tuple(int(e) for e in effective))
        local_words = tb.words[p, k, 0][effective == 0].sum()
        edge_words = tb.words[p, k, task.target][offloaded].sum()  # generated even if lost
        compute_cost = rw.local_word_cost * local_words + rw.edge_word_cost * edge_words
        used = np.isin(np.arange(1, self.num_experts + 1), task.target)  # heartbeats aside
        transfer_s = np.where(delivered, report["subtask_delay_s"] - task.compute_s, 0.0)
        transfer_s = np.where(lost, task.deadline_s, np.maximum(transfer_s, 0.0))
        tx_cost = (
            rw.w_time * transfer_s.sum()
            + rw.w_energy * float(report["energy_j"][used].sum())
            + rw.lost_penalty * lost.sum()
        )
        reward = rw.w_quality * quality - compute_cost - tx_cost
        return float(reward), {
            "quality": float(quality),
            "compute_cost": float(compute_cost),
            "tx_cost": float(tx_cost),
            "effective_assignment": tuple(int(e) for e in effective),
            "transfer_s": transfer_s,
        }

    def _observation(self) -> np.ndarray:
        r, tb = self._last, self.table
        assert r is not None
        p = int(self._prompts[min(self._t, len(self._prompts) - 1)])
        snr = np.where(np.isnan(r["obs_snr_db"]), SNR_FLOOR_DB, r["obs_snr_db"])
        obs = np.concatenate(
            [
                snr / 40.0,
                r["obs_goodput_mbps"] / 100.0,
                np.minimum(np.nan_to_num(r["obs_age_s"], nan=10.0) / 10.0, 1.0),
                r["obs_associated"].astype(float),
                (tb.subtask_bytes[p] + self.config.tasks.request_overhead_bytes) / 1000.0,
                tb.words[p].mean(axis=1) / 100.0,
                tb.route[p].ravel(),
            ]
        )
        return np.clip(obs, self.observation_space.low, self.observation_space.high).astype(
            np.float32
        )
