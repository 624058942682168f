"""From an assignment to the network's task, and from the network's report to a reward.

One owner for what a task is worth: the single-user env (``EdgeMoEEnv``), the several-user
env (``EdgeMoEParallelEnv``) and every reference that prices a hypothetical report call
:class:`TaskPricing`, so the reward is written once (docs/environment.md, Rewards).

:func:`load_pricing` is the construction both envs share: the config's types, the
scenario's values (asked of its program), the quality table laid out by device
(``tasks.expert_writers``), its tasks composed to ``tasks.subtasks_per_task`` subtasks,
and the subtask count the bridge can carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pybridge.backends import Report, Task
from pybridge.bridge import MAX_SUBTASKS
from pybridge.config import ConfigError, EnvConfig, config_source, load_config
from pybridge.observation import ObservationLayout
from pybridge.scenario_check import check_for_backend
from pybridge.tasks import QualityTable, expert_writers

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


@dataclass(frozen=True)
class TaskPricing:
    """Tasks and rewards for one config and its quality table (laid out by device).

    :param config: the environment's config (tasks, reward, serving)
    :param table: the quality table, columns = devices (``QualityTable.for_devices``)
    """

    config: EnvConfig
    table: QualityTable

    @property
    def num_experts(self) -> int:
        return self.table.num_experts

    @property
    def num_subtasks(self) -> int:
        return self.table.num_subtasks

    @cached_property
    def obs_layout(self) -> ObservationLayout:
        """The observation vector of this config (``scenario.serving`` adds the queues,
        ``observation.snr_change`` the SNR change) and which experts move."""
        scenario = self.config.scenario
        return ObservationLayout(
            self.num_experts,
            self.num_subtasks,
            serving=scenario.serving.enabled,
            snr_change=self.config.observation.snr_change,
            # the radio experts by their mobility model; wired servers (after them) stay put
            mobile=tuple(e.mobility != "constant" for e in scenario.experts)
            + (False,) * scenario.num_wired,
        )

    def observe(self, report: Report, prompt: int, previous: Report | None = None) -> np.ndarray:
        """What a user device observes before its next task, ``prompt``: the backend's
        ``report`` of it and that prompt's table rows, encoded by ``obs_layout`` (one
        encoding for both envs); ``previous`` is the report its previous decision was
        made on (None at an episode's first)."""
        tb = self.table
        request = tb.subtask_bytes[prompt] + self.config.tasks.request_overhead_bytes
        return self.obs_layout.encode(report, request, tb.words[prompt], tb.route[prompt], previous)

    def check_action(self, action: Any) -> np.ndarray:
        """``action`` as int64 targets (K,), or a one-line ``ValueError``."""
        n, k = self.num_experts, self.num_subtasks
        a = np.asarray(action)
        if a.shape != (k,):
            raise ValueError(f"action must have shape ({k},), got {a.shape}")
        if not np.issubdtype(a.dtype, np.integer):
            if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
                raise ValueError(f"action entries must be whole numbers, got {a.tolist()}")
        a = a.astype(np.int64)
        if a.min() < 0 or a.max() > n:
            raise ValueError(f"action entries must be in 0..{n} (0 = local), got {a.tolist()}")
        return a

    def build_task(
        self,
        prompt: int,
        target: np.ndarray,
        task_id: int,
        next_gap_s: float,
        start_offset_s: float = 0.0,
    ) -> Task:
        """The task the network sees when ``prompt``'s subtask k goes to ``target[k]``:
        sizes and compute times from the table (``target`` already checked)."""
        tb, cfg = self.table, self.config.tasks
        k = np.arange(self.num_subtasks)
        prompt_tokens, reply_tokens = self.subtask_tokens(prompt, target)
        return offload_task(
            task_id,
            target,
            tb.subtask_bytes[prompt],
            tb.bytes[prompt, k, target],
            tb.words[prompt, k, target],
            request_overhead_bytes=cfg.request_overhead_bytes,
            edge_words_per_s=cfg.edge_words_per_s,
            deadline_s=cfg.deadline_s,
            next_gap_s=next_gap_s,
            prompt_tokens=prompt_tokens,
            reply_tokens=reply_tokens,
            start_offset_s=start_offset_s,
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

    def price(self, prompt: int, task: Task, report: Report) -> tuple[float, dict[str, Any]]:
        """The reward of ``task`` (built for ``prompt``) had the network reported
        ``report``, and its parts (``quality``, ``compute_cost``, ``tx_cost``,
        ``latency_cost``, ``effective_assignment``, ``transfer_s``).

        ``report`` may be hypothetical: only ``subtask_delivered`` (K), ``subtask_delay_s``
        (K) and ``energy_j`` (N) are read. The reward never rises with more delay or
        energy (the upper bound's pruning relies on it)."""
        rw, tb, p = self.config.reward, self.table, prompt
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
        used = task.addresses(self.num_experts)  # heartbeats aside
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

    def outcome(self, prompt: int, task: Task, report: Report) -> tuple[float, dict[str, Any]]:
        """The reward and the info dict of a real report (docs/environment.md, Info)."""
        reward, parts = self.price(prompt, task, report)
        info = {name: report[name] for name in INFO_ARRAYS}
        # no frame heard from an expert: SNR of zero signal power, -inf dB (NaN would
        # make identical episodes compare unequal)
        info["snr_db"] = np.where(np.isnan(info["snr_db"]), -np.inf, info["snr_db"])
        info.update(parts)
        info.update(
            prompt_id=self.table.prompt_ids[prompt],
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


def load_pricing(
    config: str | Path | dict[str, Any] | EnvConfig,
) -> tuple[TaskPricing, dict[str, Any] | None]:
    """Check everything an environment needs before any episode: types and structure
    (the config), the scenario's values (its program), the table and the writer each
    device runs. (pricing, the scenario's resolved values or None if unchecked);
    one-line :class:`ConfigError` on any problem."""
    source = config_source(config)
    cfg = load_config(config)
    scenario_values = check_for_backend(cfg, source)
    try:
        table = QualityTable.load(cfg.tasks.table_path())
    except ValueError as exc:
        raise ConfigError(f"{source}: tasks.table: {exc}") from None
    try:
        writers = expert_writers(
            cfg.tasks.expert_writers, cfg.scenario.num_experts, table.num_experts
        )
    except ValueError as exc:
        raise ConfigError(f"{source}: tasks.expert_writers: {exc}") from None
    if table.num_subtasks > MAX_SUBTASKS:
        raise ConfigError(
            f"{source}: tasks.table: the table has {table.num_subtasks} subtasks; the bridge "
            f"carries at most {MAX_SUBTASKS}"
        )
    k = cfg.tasks.subtasks_per_task
    if k is not None:
        if k > MAX_SUBTASKS:
            raise ConfigError(
                f"{source}: tasks.subtasks_per_task: {k} subtasks; the bridge carries at "
                f"most {MAX_SUBTASKS}"
            )
        try:
            table = table.compose(k)
        except ValueError as exc:
            raise ConfigError(f"{source}: tasks.subtasks_per_task: {exc}") from None
    return TaskPricing(cfg, table.for_devices(writers)), scenario_values


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
    start_offset_s: float = 0.0,
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
    :param start_offset_s: the task's start after its round's start (several users)
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
        start_offset_s=start_offset_s,
    )
