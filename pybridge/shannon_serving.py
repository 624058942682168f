"""The serving model's side of a Shannon round (``scenario.serving``): one user's
requests, what the experts' servers did with them, and the user's report from that.

``pybridge.shannon.ShannonBackend`` runs every user's requests through the shared servers
(``pybridge.serving_model.serve``) and calls :func:`served_report` per user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pybridge.backends import Report, Task
from pybridge.config import EnvConfig
from pybridge.serving_model import Profile, Served, profiles_for, stream_reply


def served_report(
    config: EnvConfig,
    report: Report,
    task: Task,
    p: Requests,
    served: dict[int, Served],
    local: Profile | None = None,
) -> tuple[float, dict[int, tuple[int, float]]]:
    """Fill ``report``'s delivery, timing, byte and energy fields for ``task`` from what the
    servers did (``served``, by subtask, times from the task's start) as ns-3 does
    (``transfer-report.cc``). (How long the task took, {expert: (the queue length in the
    header of the last reply whose first byte came in, when it came in)}). ``local``: the
    user device's profile (None: parsed from ``config``)."""
    sh, sv = config.shannon, config.scenario.serving
    n, k_all = len(p.rate), len(task.target)  # (N,) rates: every expert
    if local is None:
        _, local = profiles_for(sv, n)
    chunk = sv.tokens_per_chunk if sv.streaming else 0
    overhead = sv.chunk_overhead_bytes if sv.streaming else 0
    rate, latency = p.rate, p.latency
    tokens_p, tokens_r, t_up, arrive = p.tokens_p, p.tokens_r, p.t_up, p.arrive
    heard: dict[int, tuple[int, float]] = {}
    ttft, done_s = np.full(k_all, np.nan), np.full(k_all, np.nan)
    gen_s, wire, air = np.full(k_all, np.nan), np.zeros(k_all), np.zeros(k_all)
    first_send = np.full(k_all, np.nan)
    for k in range(k_all):
        i, s = int(task.target[k]) - 1, served.get(k)
        if s is None:  # an expert out of range: the request never arrives
            continue
        report["queue_wait_s"][k] = np.nan if s.rejected else s.start_s - arrive[k]
        report["subtask_rejected"][k] = int(s.rejected)
        if i < 0:  # the user device's own generation: no network
            ttft[k] = s.start_s + tokens_p[k] / local.prefill_tok_s
            done_s[k] = s.end_s
            continue
        ttft[k], done_s[k], wire[k], air[k] = stream_reply(
            s, arrive[k], rate[i], int(tokens_r[k]), int(task.reply_bytes[k]), chunk, overhead
        )
        ttft[k] += latency[i]  # the way back over a wire
        done_s[k] += latency[i] + (sh.stall_s if p.stalled[i] else 0.0)
        gen_s[k] = 0.0 if s.rejected else s.end_s - arrive[k]
        first_send[k] = arrive[k] if s.rejected else s.chunks[0][0]
    offloaded = task.target > 0
    ok = offloaded & ~report["subtask_rejected"].astype(bool) & ~p.dropped
    ok &= done_s <= task.deadline_s
    finished = np.where(offloaded, ok | (report["subtask_rejected"] > 0), True)
    finished &= done_s <= task.deadline_s
    task_s = float(task.deadline_s if not finished.all() else np.max(done_s, initial=0.0))
    report["subtask_delivered"] = np.where(offloaded, ok, True).astype(np.uint32)
    report["subtask_delay_s"] = np.where(offloaded, np.where(ok, done_s, task_s), 0.0)
    report["ttft_s"] = np.where(ttft <= task_s, ttft, np.nan)
    report["completion_s"] = np.where(finished, done_s, np.nan)
    report["generation_s"] = np.where(offloaded & finished, gen_s, np.nan)
    fusion_s = task.fusion_prompt_tokens / local.prefill_tok_s + (
        task.fusion_reply_tokens / local.decode_rate(1)
    )
    report["task_latency_s"] = np.array(
        np.max(np.where(finished, done_s, task_s), initial=0.0) + fusion_s
    )
    report["goodput_mbps"] = np.zeros(n)
    for i in range(n):
        ks = np.flatnonzero(task.target == i + 1)
        if len(ks) == 0:
            continue
        report["bytes_expected"][i] = wire[ks].sum()
        got = ks[ok[ks]]
        report["bytes_delivered"][i] = wire[got].sum()
        report["replies_lost"][i] = len(ks) - len(got)
        report["delay_s"][i] = max(np.where(ok[ks], done_s[ks], task_s))
        report["energy_j"][i] = sum(
            sh.tx_power_w * min(t_up[k], task.deadline_s)
            + sh.rx_power_w * min(air[k], task.deadline_s)
            for k in ks
        ) + (sh.link_energy_j + sh.exchange_energy_j * len(ks))
        report["energy_j"][i] += sh.link_power_w * report["delay_s"][i]
        span = np.max(done_s[got], initial=0.0) - np.min(first_send[got], initial=np.inf)
        if len(got) and span > 0:
            report["goodput_mbps"][i] = report["bytes_delivered"][i] * 8 / span / 1e6
        # the queue length in the header of the last reply whose first byte came in
        in_time = [k for k in ks if ttft[k] <= task_s]
        if in_time:
            last = max(in_time, key=lambda k: ttft[k])
            heard[i] = (served[last].queue_len, float(ttft[last]))
    return task_s, heard


@dataclass
class Requests:
    """One user's requests of a served round, before the servers run them."""

    snr_db: np.ndarray  # (N,) path SNR (dB)
    rate: np.ndarray  # (N,) end-to-end rate (bit/s)
    latency: np.ndarray  # (N,) one-way wire latency (s)
    up: np.ndarray  # (N,) the link is up
    stalled: np.ndarray  # (N,) the expert's exchanges stall
    dropped: np.ndarray  # (K,) the reply is lost on a link that is up
    tokens_p: np.ndarray  # (K,) prompt tokens
    tokens_r: np.ndarray  # (K,) reply tokens
    t_up: np.ndarray  # (K,) the request's airtime (s)
    arrive: np.ndarray  # (K,) when the request is in at its expert (s from the task's start)

    def tokens(self, k: int) -> tuple[int, int]:
        return int(self.tokens_p[k]), int(self.tokens_r[k])


def shifted(s: Served, offset_s: float, arrival_s: float) -> Served:
    """``s`` with its times from a task that started ``offset_s`` into the round; its
    start no earlier than its arrival (``arrival_s``, from the task's start), which the
    subtraction could miss by a rounding error."""
    if offset_s == 0.0:
        return s
    start = s.start_s if s.rejected else max(s.start_s - offset_s, arrival_s)
    return Served(s.rejected, start, [(t - offset_s, n) for t, n in s.chunks], s.queue_len)


def queue_truth(
    arrivals_at: list[list[tuple[float, int, int, int]]],
    served: dict[int, Served],
    round_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per expert over the round [0, round_s]: (time-average, largest) number of requests
    waiting or in service, each from its arrival to its last token (a rejected one never)."""
    mean, peak = np.zeros(len(arrivals_at)), np.zeros(len(arrivals_at))
    for i, arrivals in enumerate(arrivals_at):
        spans = [(a[0], served[a[1]].end_s) for a in arrivals if not served[a[1]].rejected]
        if not spans:
            continue
        if round_s > 0:
            mean[i] = sum(max(0.0, min(e, round_s) - s) for s, e in spans) / round_s
        events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
        level = 0
        for _, step in events:
            level += step
            peak[i] = max(peak[i], level)
    return mean, peak


class ReportMemo:
    """Each user's served report, memoised on everything it is made from: the user, its
    task and requests (by value), when it started, its last goodput (by value) and the
    servers' answers (by identity: ``ServeCache`` hands back the same objects for the
    same requests, and an entry holds on to them, so an identity is not reused while its
    entry lives). A reference's try that changes one user's action then re-prices only
    the users whose servers answered differently. Exact; forgets past ``limit``
    entries; ``limit`` 0 memoises nothing."""

    def __init__(self, limit: int = 2048) -> None:
        self.limit = limit
        self.hits = self.misses = 0
        self._memo: dict[tuple, tuple] = {}

    @staticmethod
    def key(
        u: int, task: Task, p: Requests, answers: list[object], start_s: float, goodput: np.ndarray
    ) -> tuple:
        arrays = (
            task.target, task.request_bytes, task.reply_bytes, task.compute_s, p.snr_db,
            p.rate, p.latency, p.up, p.stalled, p.dropped, p.tokens_p, p.tokens_r, p.t_up,
            p.arrive, goodput,
        )  # fmt: skip
        scalars = (
            u, task.task_id, task.deadline_s, task.next_gap_s, task.fusion_prompt_tokens,
            task.fusion_reply_tokens, task.start_offset_s, start_s,
        )  # fmt: skip
        return (*scalars, *(np.asarray(a).tobytes() for a in arrays), *map(id, answers))

    def get(self, key: tuple) -> tuple[Report, float, dict[int, tuple[int, float]]] | None:
        """(a fresh copy of the report, the task's span, {expert: (queue length, when
        heard)}) stored under ``key``, or None."""
        entry = self._memo.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        report, span, heard, _ = entry
        return {name: value.copy() for name, value in report.items()}, span, heard

    def put(
        self,
        key: tuple,
        report: Report,
        span: float,
        heard: dict[int, tuple[int, float]],
        answers: list[object],
    ) -> None:
        if self.limit <= 0:
            return
        if len(self._memo) >= self.limit:
            self._memo.clear()
        snapshot = {name: value.copy() for name, value in report.items()}
        self._memo[key] = (snapshot, span, dict(heard), answers)
