"""The EdgeMoE Gymnasium environment: one step = one generative task over the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from pybridge.backends import Backend, Report, Task, make_backend
from pybridge.bridge import MAX_SUBTASKS
from pybridge.config import ConfigError, EnvConfig, config_source, load_config
from pybridge.observation import SNR_FLOOR_DB, ObservationLayout
from pybridge.scenario_check import check_for_backend
from pybridge.tasks import QualityTable

__all__ = ["SNR_FLOOR_DB", "EdgeMoEEnv", "ObservationLayout", "offload_task"]

INFO_ARRAYS = ("snr_db", "goodput_mbps", "delay_s", "bytes_delivered", "energy_j")
#: what the ns-3 serving model (scenario.serving) measures; zeros/NaN with serving off
SERVING_INFO = (
    "ttft_s",
    "completion_s",
    "queue_wait_s",
    "generation_s",
    "subtask_rejected",
    "obs_queue_len",
    "obs_queue_age_s",
)

#: Token estimates when the quality table has no token columns: OpenAI's rules of thumb,
#: about 4 characters (UTF-8 bytes of English) per token and 0.75 words per token.
BYTES_PER_TOKEN = 4.0
TOKENS_PER_WORD = 1.0 / 0.75


class EdgeMoEEnv(gym.Env):
    """Pick, for each subtask of a prompt, the device that writes it.

    A user device splits a prompt into K subtasks (from the quality table), runs some
    itself and offloads the others to N edge experts over a wireless network simulated
    by ns-3 (``backend: ns3``) or by the paper's Shannon formula (``backend: shannon``).

    ## Action Space
    ``MultiDiscrete([N+1] * K)``: entry k is 0 to run subtask k locally, i to send it
    to expert i.

    ## Observation Space
    ``Box(float32)`` of length ``4N + 2K + K(N+1)`` (+ 2N with serving), what it knows
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
    | per expert (serving) | last queue length it reported (never: -1) | / 10 |
    | per expert (serving) | age of that report (never: 1) | s / 10, capped at 1 |

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
        # config, the scenario's values by its program, then the table.
        source = config_source(config)
        self.config = load_config(config)
        self.scenario_values = check_for_backend(self.config, source)
        try:
            self.table = QualityTable.load(self.config.tasks.table_path())
        except ValueError as exc:
            raise ConfigError(f"{source}: tasks.table: {exc}") from None
        n = self.config.scenario.num_experts
        if self.table.num_experts != n:
            raise ConfigError(
                f"{source}: scenario.experts: the quality table has {self.table.num_experts} "
                f"experts but the scenario has {n}"
            )
        k = self.table.num_subtasks
        if k > MAX_SUBTASKS:
            raise ConfigError(
                f"{source}: tasks.table: the table has {k} subtasks; the bridge carries at "
                f"most {MAX_SUBTASKS}"
            )
        self.num_experts, self.num_subtasks = n, k
        self.action_space = spaces.MultiDiscrete(np.full(k, n + 1, dtype=np.int64))
        self.obs_layout = ObservationLayout(n, k, self.config.scenario.serving.enabled)
        self.observation_space = spaces.Box(self.obs_layout.low, self.obs_layout.high)
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
        task = self.build_task(action)
        report = self._backend.run_task(task)  # type: ignore[union-attr]  # build_task checked
        reward, info = self._outcome(task, report)
        self._last = report
        self._t += 1
        truncated = self._t >= len(self._prompts)
        return self._observation(), reward, False, truncated, info

    def evaluate_action(self, action: Any) -> tuple[float, dict[str, Any]]:
        """Reward and info that ``step(action)`` would give now, without taking the step.

        An oracle's tool (the upper bound): the ns-3 backend runs the task in a forked
        copy of the scenario, the Shannon backend on a copy of its state. Same random
        state, so ``step(action)`` right after returns the same reward.
        """
        if self._backend is None or self._last is None or self._t >= len(self._prompts):
            raise RuntimeError("evaluate_action() needs a running episode")
        task = self.build_task(action)
        return self._outcome(task, self._backend.try_task(task))  # type: ignore[union-attr]

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
        target = self._check_action(action)
        tb, cfg = self.table, self.config.tasks
        p, k = self.current_prompt, np.arange(self.num_subtasks)
        prompt_tokens, reply_tokens = self.subtask_tokens(p, target)
        return offload_task(
            self._t,
            target,
            tb.subtask_bytes[p],
            tb.bytes[p, k, target],
            tb.words[p, k, target],
            request_overhead_bytes=cfg.request_overhead_bytes,
            edge_words_per_s=cfg.edge_words_per_s,
            deadline_s=cfg.deadline_s,
            next_gap_s=float(self._gaps[self._t]),
            prompt_tokens=prompt_tokens,
            reply_tokens=reply_tokens,
        )

    def subtask_tokens(self, prompt: int, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(prompt tokens, reply tokens) of each subtask of ``prompt`` on its ``target``:
        the table's ``prompt_tokens`` / ``completion_tokens`` columns when it has them,
        else estimates: the request's bytes (text + ``tasks.request_overhead_bytes``) /
        ``BYTES_PER_TOKEN`` and the reply's words x ``TOKENS_PER_WORD``."""
        tb, k = self.table, np.arange(self.num_subtasks)
        if tb.prompt_tokens is not None:
            prompt_tokens = tb.prompt_tokens[prompt, k, target]
        else:
            request = tb.subtask_bytes[prompt] + self.config.tasks.request_overhead_bytes
            prompt_tokens = np.ceil(request / BYTES_PER_TOKEN)
        if tb.completion_tokens is not None:
            reply_tokens = tb.completion_tokens[prompt, k, target]
        else:
            reply_tokens = np.ceil(tb.words[prompt, k, target] * TOKENS_PER_WORD)
        return prompt_tokens.astype(np.uint32), np.maximum(reply_tokens, 1).astype(np.uint32)

    def price(self, task: Task, report: Report) -> tuple[float, dict[str, Any]]:
        """The reward of ``task`` (built by ``build_task`` for the current prompt) had the
        network reported ``report``, and its parts (``quality``, ``compute_cost``,
        ``tx_cost``, ``effective_assignment``, ``transfer_s``); see Rewards above.

        ``report`` may be hypothetical: only ``subtask_delivered`` (K), ``subtask_delay_s``
        (K) and ``energy_j`` (N) are read. The reward never rises with more delay or
        energy (the upper bound's pruning relies on it)."""
        rw, tb, p = self.config.reward, self.table, self.current_prompt
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
        serving = self.config.scenario.serving.enabled
        transfer_s = np.where(delivered, network_share_s(task, report, serving), 0.0)
        transfer_s = np.where(lost, task.deadline_s, np.maximum(transfer_s, 0.0))
        tx_cost = (
            rw.w_time * transfer_s.sum()
            + rw.w_energy * float(report["energy_j"][used].sum())
            + rw.lost_penalty * lost.sum()
        )
        # a hypothetical report without it (the table oracles' bounds): no latency, so a
        # bound stays a bound
        latency_s = float(report.get("task_latency_s", 0.0))
        latency_cost = rw.w_latency * latency_s
        reward = rw.w_quality * quality - compute_cost - tx_cost - latency_cost
        return float(reward), {
            "quality": float(quality),
            "compute_cost": float(compute_cost),
            "tx_cost": float(tx_cost),
            "latency_cost": float(latency_cost),
            "effective_assignment": tuple(int(e) for e in effective),
            "transfer_s": transfer_s,
        }

    # -- internals -------------------------------------------------------------------

    def _outcome(self, task: Task, report: Report) -> tuple[float, dict[str, Any]]:
        reward, parts = self.price(task, report)
        info = {name: report[name] for name in INFO_ARRAYS}
        # no frame heard from an expert: SNR of zero signal power, -inf dB (NaN would
        # make identical episodes compare unequal)
        info["snr_db"] = np.where(np.isnan(info["snr_db"]), -np.inf, info["snr_db"])
        info.update(parts)
        info.update(
            prompt_id=self.table.prompt_ids[self.current_prompt],
            assignment=tuple(int(a) for a in task.target),
            replies_lost=int(report["replies_lost"].sum()),
            ue_energy_j=float(report["ue_energy_j"]),
            sim_time_s=float(report["sim_time_s"]),
            distance_m=report["distance_m"],
        )
        # the serving model's measurements (scenario.serving; both backends)
        # NaN ("never") would make identical episodes compare unequal: a time that never
        # came is +inf, a queue length never reported -1
        for name in SERVING_INFO:
            if name in report:
                never = -1.0 if name == "obs_queue_len" else np.inf
                value = report[name]
                info[name] = (
                    np.where(np.isnan(value), never, value) if value.dtype.kind == "f" else value
                )
        info["task_latency_s"] = float(report.get("task_latency_s", 0.0))
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

    def _observation(self) -> np.ndarray:
        assert self._last is not None
        tb, p = self.table, self.current_prompt
        return self.obs_layout.encode(
            self._last,
            tb.subtask_bytes[p] + self.config.tasks.request_overhead_bytes,
            tb.words[p],
            tb.route[p],
        )


def network_share_s(task: Task, report: Report, serving: bool) -> np.ndarray:
    """(K,) the time the network added to each delivered reply (what ``w_time`` charges).

    Without the serving model: the reply's delay minus the expert's compute time (the
    task's ``compute_s``, which the expert waited). With it (``serving`` and a report
    carrying ``generation_s``): completion minus the expert's own time from the whole request in
    to the last token out (queue wait + prefill + decode), which the expert sends in its
    reply's last chunk the way llama.cpp's final streamed chunk carries its ``timings``.
    What is left is what packets cost: connection set-up and the request's upload, plus
    the wait of the last token's bytes for the link. TTFT minus queue wait minus prefill
    was the other candidate; it misses the stream's tail and, without streaming, charges
    the whole decode to the network.
    """
    generation = report.get("generation_s")
    if not serving or generation is None or "completion_s" not in report:
        return report["subtask_delay_s"] - task.compute_s
    served = np.isfinite(generation)
    return np.where(served, report["completion_s"] - np.where(served, generation, 0.0), 0.0)


def offload_task(
    task_id: int,
    target: np.ndarray,
    request_bytes: np.ndarray,
    reply_bytes: np.ndarray,
    words: np.ndarray,
    *,
    request_overhead_bytes: int,
    edge_words_per_s: float,
    deadline_s: float,
    next_gap_s: float,
    prompt_tokens: np.ndarray | None = None,
    reply_tokens: np.ndarray | None = None,
) -> Task:
    """The task the network sees when subtask k goes to device ``target[k]`` (0 = local:
    nothing is sent for it).

    :param task_id: the task's number in the episode
    :param target: (K,) 0 = local, i = expert i
    :param request_bytes: (K,) each subtask's text size
    :param reply_bytes: (K,) the reply size of each subtask on its target
    :param words: (K,) the words its target writes
    :param request_overhead_bytes: added to each request (``tasks.request_overhead_bytes``)
    :param edge_words_per_s: an expert's generation speed: compute time = words / speed
    :param deadline_s: a reply later than this is lost
    :param next_gap_s: idle time after the task
    :param prompt_tokens: (K,) each subtask's prompt tokens (the serving model's prefill)
    :param reply_tokens: (K,) the tokens its target writes (the serving model's decode);
        the fusion reads every reply and writes as many tokens again (an estimate: the
        fused answer's length is not in the table)
    """
    offloaded = target > 0
    fusion = 0 if reply_tokens is None else int(np.sum(reply_tokens))
    return Task(
        task_id=task_id,
        target=target,
        request_bytes=np.where(offloaded, request_bytes + request_overhead_bytes, 0),
        reply_bytes=np.where(offloaded, reply_bytes, 0),
        compute_s=np.where(offloaded, words / edge_words_per_s, 0.0),
        deadline_s=deadline_s,
        next_gap_s=next_gap_s,
        prompt_tokens=prompt_tokens,
        reply_tokens=reply_tokens,
        fusion_prompt_tokens=fusion,
        fusion_reply_tokens=fusion,
    )
