"""The paper's closed-form network model (``backend: shannon``), for one or several users.

It answers the same calls as ``Ns3Backend`` (``pybridge.backends.Backend``) with a formula
instead of packets; docs/validation.md compares the two.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import re

import numpy as np

from pybridge.backends import Report, Task, _trim
from pybridge.bridge import MAX_SUBTASKS, REPORT_DTYPE
from pybridge.config import ConfigError, EnvConfig
from pybridge.scenario_defaults import mobility_default
from pybridge.serving_model import ServeCache, Served, profiles_for
from pybridge.shannon_serving import (
    ReportMemo,
    Requests,
    queue_truth,
    served_report,
    shifted,
)

#: per-expert ground truth of a round (same in every user's report): the time-average
#: and the largest number of requests waiting or in service at the expert's server
QUEUE_TRUTH = ("expert_queue_len_mean", "expert_queue_len_max")


class ShannonBackend:
    """The paper's closed-form model: rate = efficiency * B * log2(1 + SNR).

    SNR comes from the same path-loss settings at the current distance (or is drawn
    at random, as in the paper's demo). Nodes move by a simple kinematic model:
    constant-velocity exactly, the random models as a random walk at their speed.
    No contention, no retransmissions, no protocol overhead: that is the point of
    comparing it with ns-3. Optionally (``shannon.link_energy_j``, ``exchange_energy_j``,
    ``link_power_w``; all 0 by default) a fixed energy per expert used, per subtask and
    per second an expert's exchange is open is added, (``stall_prob``, ``stall_s``) an
    expert's exchanges may stall, and (``loss_snr50_db``, ``loss_width_db``) a reply may
    be lost with a logistic probability in the SNR, to pretrain on an offloading cost of
    ns-3's size (bench/fit_shannon_overhead.py measures them).

    The channel is the scenario radio's closed-form link (``pybridge.radios``): for
    Wi-Fi the SNR at the user device from the scenario's path loss; for LTE each
    expert's uplink to the eNB at full UE power, distances measured from the eNB.

    Several users (``scenario.user_nodes``): a round runs every user's task, user u's
    starting ``task.start_offset_s`` after the round's start; each user has its own
    position, mobility and link to each expert (measured at the round's start) and its
    own radio, with no contention between users on the channel (the formula's
    assumption; ns-3 has it). With ``scenario.serving`` the experts' LLM servers are
    shared: every user's requests queue in the same FIFO within a round (as in ns-3);
    a server starts each round empty. The round lasts until the last user's task ends;
    then the first user's ``next_gap_s`` idles. With one user every number is the
    single-user model's.
    """

    def __init__(self, config: EnvConfig, num_subtasks: int) -> None:
        self.config = config
        self.num_subtasks = num_subtasks
        sc = config.scenario
        self.link = sc.radio.shannon_link(sc, config.shannon)
        users = sc.user_nodes
        self.num_users = len(users)
        self.num_experts = sc.num_experts  # every expert the action addresses
        # distances are from the link's origin: the user device itself on Wi-Fi (each
        # user from its own position), a fixed node (the eNB) otherwise
        at_user = self.at_user = self.link.origin is sc.user
        self.nodes = [users[0] if at_user else self.link.origin, *sc.experts]
        # Topology: a relay (an access point every radio path goes through: two hops)
        # and wired servers (experts after the radio ones: the user's hop + the wire).
        self.num_radio = len(sc.experts)
        relay = sc.radio.relay(sc)
        self.relay = None if relay is None else np.array(relay[:2], dtype=float)
        wired = sc.radio.wired(sc)
        self.wire_bps = _data_rate_bps(wired.rate) if wired and wired.count else math.inf
        self.wire_delay_s = wired.delay_s if wired and wired.count else 0.0
        # each user's position index (and its link's origin): the user's position sets its
        # own hop; follow it when it is not the origin. Users 1.. come after every other
        # node, so one user moves and draws exactly as before.
        self.origin_index = [0] * self.num_users
        self.user_index = [0] * self.num_users
        if (self.relay is not None or sc.num_wired) and not at_user:
            self.nodes.append(users[0])
            self.user_index[0] = len(self.nodes) - 1
        for u in range(1, self.num_users):
            self.nodes.append(users[u])
            self.user_index[u] = len(self.nodes) - 1
            if at_user:
                self.origin_index[u] = self.user_index[u]
        self.bandwidth_hz = self.link.bandwidth_hz
        self.rng = np.random.default_rng(0)
        self.pos = np.zeros((len(self.nodes), 2))
        self.heading = np.zeros(len(self.nodes))
        self.time = 0.0
        self.last_goodput = np.zeros((self.num_users, sc.num_experts))
        # predict_round_at: each user's own node positions (None: everyone's ``pos``)
        self._user_pos: list[np.ndarray] | None = None
        # the servers' profiles, parsed once; their answers memoised (a reference's forked
        # tries re-run rounds where most servers see the same requests)
        self.profiles = profiles_for(sc.serving, sc.num_experts) if sc.serving.enabled else None
        self.serve_cache, self.report_memo = ServeCache(), ReportMemo()
        self._reset_queue_reports()

    def _pos_for(self, u: int) -> np.ndarray:
        """The node positions user ``u``'s links are measured in."""
        return self.pos if self._user_pos is None else self._user_pos[u]

    # -- channel ---------------------------------------------------------------------

    def _hops_snr_db(self, u: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Per expert, the SNR (dB) of user ``u``'s path's first and second radio hop
        (NaN: none). Direct: one hop, origin <-> expert. Through a relay: user <-> relay,
        relay <-> expert. A wired server: the user's hop to the gateway (relay, else
        origin) only."""
        sh = self.config.shannon
        n, m = self.num_radio, self.num_experts
        if sh.snr == "random":
            lo, hi = sh.random_snr_db
            return self.rng.uniform(lo, hi, m), np.full(m, np.nan)  # one draw per path
        pos = self._pos_for(u)
        origin, user = pos[self.origin_index[u]], pos[self.user_index[u]]
        experts = pos[1 : 1 + n]
        if self.relay is None:
            first = self.link.snr_db(np.linalg.norm(experts - origin, axis=1))
            second = np.full(n, np.nan)
            gateway = origin
        else:
            first = self.link.snr_db(np.full(n, np.linalg.norm(user - self.relay)))
            second = self.link.snr_db(np.linalg.norm(experts - self.relay, axis=1))
            gateway = self.relay
        user_hop = self.link.snr_db(np.full(m - n, np.linalg.norm(user - gateway)))
        return np.concatenate([first, user_hop]), np.concatenate([second, np.full(m - n, np.nan)])

    def _snr_db(self, u: int = 0) -> np.ndarray:
        """Each expert's path SNR for user ``u``: its weakest radio hop (as ns-3 reports it)."""
        return np.fmin(*self._hops_snr_db(u))

    def _distances(self, u: int = 0) -> np.ndarray:
        """From user ``u``'s origin to each radio expert; a wired server stands at its
        gateway."""
        n, m = self.num_radio, self.num_experts
        pos = self._pos_for(u)
        origin = pos[self.origin_index[u]]
        radio = np.linalg.norm(pos[1 : 1 + n] - origin, axis=1)
        gateway = self.relay if self.relay is not None else origin
        return np.concatenate([radio, np.full(m - n, np.linalg.norm(gateway - origin))])

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """(M, 2) the users' and (N radio, 2) the experts' positions now (x, y in m); a
        user the formula does not follow (LTE: user 0 without a relay or a wire) stands
        where the config put it."""
        users = self.pos[self.user_index].copy()
        if self.user_index[0] == 0 and not self.at_user:
            users[0] = self.config.scenario.user_nodes[0].position[:2]
        return users, self.pos[1 : 1 + self.num_radio].copy()

    # -- mobility --------------------------------------------------------------------

    def _move(self, dt: float) -> None:
        xmin, xmax, ymin, ymax = self.config.scenario.bounds
        for i, node in enumerate(self.nodes):
            if node.mobility in ("constant", "ns2") or dt <= 0:
                continue  # ns2: the trace is not replayed here; the node stays put
            param = node.params.get
            if node.mobility == "constant-velocity":
                v = np.array(
                    [
                        param("vx", mobility_default(node.mobility, "vx")),
                        param("vy", mobility_default(node.mobility, "vy")),
                    ]
                )
            else:  # the random models: a random walk at the model's speed
                speed = param("speed", mobility_default(node.mobility, "speed"))
                self.heading[i] += self.rng.normal(0.0, 0.5)
                v = speed * np.array([math.cos(self.heading[i]), math.sin(self.heading[i])])
            self.pos[i] = np.clip(self.pos[i] + v * dt, [xmin, ymin], [xmax, ymax])

    # -- backend calls ---------------------------------------------------------------

    def start_round(self, run: int) -> list[Report]:
        """Begin an episode with this seed; every user's first observation."""
        self.rng = np.random.default_rng(run)
        self.pos = np.array([n.position[:2] for n in self.nodes], dtype=float)
        self.heading = self.rng.uniform(0, 2 * math.pi, len(self.nodes))
        self.time = self.config.scenario.warmup_s
        self.last_goodput = np.zeros((self.num_users, self.num_experts))
        self._reset_queue_reports()
        reports = []
        for u in range(self.num_users):
            report = self._empty()
            report["status"] = np.array(1)
            self._observe(report, u)
            reports.append(report)
        return reports

    def start(self, run: int) -> Report:
        self._single()
        return self.start_round(run)[0]

    def run_round(self, tasks: list[Task]) -> list[Report]:
        """Run one task per user (a round); every user's measurements and next observation."""
        if len(tasks) != self.num_users:
            raise ValueError(
                f"a round needs {self.num_users} tasks (one per user), got {len(tasks)}"
            )
        if self.config.scenario.serving.enabled:
            reports, spans = self._served_round(tasks)
        else:
            t0 = self.time
            reports, spans = [], []
            for u, task in enumerate(tasks):
                report, span = self._plain_task(u, task, t0 + task.start_offset_s)
                reports.append(report)
                spans.append(span)
            n = self.num_experts
            for report in reports:  # without serving the experts hold no queue
                for name in QUEUE_TRUTH:
                    report[name] = np.zeros(n)
        return self._end_round(tasks, reports, spans)

    def run_task(self, task: Task) -> Report:
        self._single()
        return self.run_round([task])[0]

    def try_round(self, tasks: list[Task]) -> list[Report]:
        """What run_round(tasks) would measure, leaving the backend's state unchanged;
        as ns-3's forked copy, without the gap after the round (``Backend.try_round``)."""
        saved = copy.deepcopy((self.rng, self.pos, self.heading, self.time, self.last_goodput))
        queues = (self.queue_len.copy(), self.queue_heard_s.copy())
        try:
            return self.run_round([dataclasses.replace(t, next_gap_s=0.0) for t in tasks])
        finally:
            self.rng, self.pos, self.heading, self.time, self.last_goodput = saved
            self.queue_len, self.queue_heard_s = queues

    def try_task(self, task: Task) -> Report:
        self._single()
        return self.try_round([task])[0]

    def _single(self) -> None:
        if self.num_users != 1:
            raise ValueError(
                f"the scenario has {self.num_users} users: use the round API (run_round)"
            )

    def _empty(self) -> Report:
        """A report of zeros, cut to N experts and K subtasks (fresh arrays each call)."""
        return {name: value.copy() for name, value in self._zeros.items()}

    @functools.cached_property
    def _zeros(self) -> Report:
        zero = np.zeros((), REPORT_DTYPE)
        raw = {name: zero[name] for name in REPORT_DTYPE.names}  # _trim copies
        return _trim(raw, self.num_experts, self.num_subtasks)

    def _observe(self, report: Report, u: int) -> None:
        snr = self._snr_db(u)
        report["obs_snr_db"] = snr
        report["obs_goodput_mbps"] = self.last_goodput[u].copy()
        report["obs_age_s"] = np.zeros_like(snr)
        report["obs_associated"] = (snr >= self.config.shannon.min_snr_db).astype(np.uint32)
        report["distance_m"] = self._distances(u)
        report["sim_time_s"] = np.array(self.time)
        report["obs_queue_len"] = self.queue_len[u].copy()
        report["obs_queue_age_s"] = self.time - self.queue_heard_s[u]  # NaN: never reported

    def _reset_queue_reports(self) -> None:
        """No expert has reported its queue to any user yet (``scenario.serving``)."""
        shape = (self.num_users, self.num_experts)
        self.queue_len, self.queue_heard_s = np.full(shape, np.nan), np.full(shape, np.nan)

    def _end_round(
        self, tasks: list[Task], reports: list[Report], spans: list[float]
    ) -> list[Report]:
        """Close the round: each task's end, the round's time and idle gap (the first
        user's), the nodes' moves, then every user's next observation."""
        t0 = self.time
        round_s = max(task.start_offset_s + span for task, span in zip(tasks, spans, strict=True))
        for task, span, report in zip(tasks, spans, reports, strict=True):
            report["task_end_s"] = np.array(t0 + task.start_offset_s + span)
        self.time += round_s
        gap = tasks[0].next_gap_s
        self._move(round_s + gap)
        self.time += gap
        for u, report in enumerate(reports):
            self._observe(report, u)
        return reports

    def _paths(self, u: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per expert now, for user ``u``: (path SNR dB, end-to-end rate bit/s, one-way
        wire latency s).

        Hops in series: each at its own Shannon rate (a relay stores and forwards); a
        wired server adds the wire's rate in series and its delay once per direction."""
        sh, n = self.config.shannon, self.num_experts
        first, second = self._hops_snr_db(u)
        shannon = sh.efficiency * self.bandwidth_hz
        rate = shannon * np.log2(1 + 10 ** (first / 10))  # bit/s
        with np.errstate(invalid="ignore"):
            rate2 = shannon * np.log2(1 + 10 ** (second / 10))
        rate = np.where(np.isnan(second), rate, 1 / (1 / rate + 1 / rate2))
        latency = np.zeros(n)
        if n > self.num_radio:
            rate[self.num_radio :] = 1 / (1 / rate[self.num_radio :] + 1 / self.wire_bps)
            latency[self.num_radio :] = self.wire_delay_s
        return np.fmin(first, second), rate, latency

    def _draws(self, task: Task, snr_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(stalled per expert, dropped per subtask): drawn for every expert, used or not,
        so the random stream does not depend on the action."""
        sh, n = self.config.shannon, self.num_experts
        stalled = self.rng.random(n) < sh.stall_prob if sh.stall_prob > 0 else np.zeros(n, bool)
        dropped = np.zeros(len(task.target), bool)  # a reply lost on a link that is up
        if sh.loss_snr50_db is not None:
            x = (snr_db[np.maximum(task.target, 1) - 1] - sh.loss_snr50_db) / sh.loss_width_db
            dropped = self.rng.random(len(task.target)) < 1.0 / (1.0 + np.exp(np.clip(x, -50, 50)))
        return stalled, dropped

    def _plain_task(self, u: int, task: Task, start_s: float) -> tuple[Report, float]:
        """User ``u``'s task without the serving model, started at ``start_s``: its report
        (but the end and the next observation) and how long it took."""
        sh = self.config.shannon
        n = self.num_experts
        report = self._empty()
        report["status"] = np.array(2)
        report["task_id"] = np.array(task.task_id)
        report["task_start_s"] = np.array(start_s)
        snr_db, rate, latency = self._paths(u)
        up = snr_db >= sh.min_snr_db
        nan = np.full(n, np.nan)
        report["snr_db"] = np.where(task.addresses(n), snr_db, nan)
        report["goodput_mbps"] = np.zeros(n)
        report["subtask_delivered"] = np.zeros(len(task.target), dtype=np.uint32)
        report["subtask_delay_s"] = np.zeros(len(task.target))
        stalled, dropped = self._draws(task, snr_db)
        longest = 0.0
        for k, target in enumerate(task.target):
            if target == 0:
                continue
            i = int(target) - 1
            t_up = task.request_bytes[k] * 8 / rate[i] + latency[i]
            t_down = task.reply_bytes[k] * 8 / rate[i] + latency[i]
            delay = t_up + task.compute_s[k] + t_down + (sh.stall_s if stalled[i] else 0.0)
            report["bytes_expected"][i] += task.reply_bytes[k]
            # the radio is on while sending the request and receiving the reply
            energy = sh.tx_power_w * min(t_up, task.deadline_s) + sh.rx_power_w * min(
                t_down, task.deadline_s
            )
            report["energy_j"][i] += energy
            if up[i] and not dropped[k] and delay <= task.deadline_s:
                report["subtask_delivered"][k] = 1
                report["subtask_delay_s"][k] = delay
                report["bytes_delivered"][i] += task.reply_bytes[k]
                report["delay_s"][i] = max(report["delay_s"][i], delay)
                report["goodput_mbps"][i] = rate[i] / 1e6
                longest = max(longest, delay)
            else:
                report["subtask_delay_s"][k] = task.deadline_s
                report["replies_lost"][i] += 1
                report["delay_s"][i] = task.deadline_s
                longest = task.deadline_s
        for expert in np.unique(task.target[task.target > 0]):
            i, subtasks = int(expert) - 1, int(np.sum(task.target == expert))
            # its longest exchange; a lost reply keeps it open until the deadline (ns-3 goes
            # on retrying and hearing heartbeats until then; the fit used delivered ones)
            open_s = report["delay_s"][i]
            report["energy_j"][i] += (
                sh.link_energy_j + sh.exchange_energy_j * subtasks + sh.link_power_w * open_s
            )
        report["ue_energy_j"] = np.array(report["energy_j"].sum())
        report["task_latency_s"] = np.array(longest)  # as ns-3 without --serving: no fusion
        used = report["bytes_expected"] > 0
        self.last_goodput[u] = np.where(used, report["goodput_mbps"], self.last_goodput[u])
        return report, longest

    def _served_round(self, tasks: list[Task]) -> tuple[list[Report], list[float]]:
        """A round with the experts as LLM servers (``scenario.serving``): the serving
        model of ``pybridge.serving_model`` over each user's Shannon rate, every user's
        requests in the experts' shared queues, filling the report's serving fields as
        ns-3 does (``transfer-report.cc``)."""
        sv = self.config.scenario.serving
        n = self.num_experts
        assert self.profiles is not None  # serving on
        experts, local = self.profiles
        serve = self.serve_cache.serve
        chunk = sv.tokens_per_chunk if sv.streaming else 0
        t0 = self.time
        # each user's requests: when each arrives at its expert (round time)
        prepared = [self._served_requests(u, task) for u, task in enumerate(tasks)]
        served_all: dict[int, Served] = {}
        arrivals_at: list[list[tuple[float, int, int, int]]] = []
        for i in range(n):
            arrivals = [
                (float(task.start_offset_s + p.arrive[k]), u * MAX_SUBTASKS + k, *p.tokens(k))
                for u, (task, p) in enumerate(zip(tasks, prepared, strict=True))
                for k in range(len(task.target))
                if task.target[k] == i + 1 and p.up[i]
            ]
            served_all.update(serve(experts[i], arrivals, chunk))
            arrivals_at.append(arrivals)
        reports, spans = [], []
        for u, (task, p) in enumerate(zip(tasks, prepared, strict=True)):
            ks = [k for k in range(len(task.target)) if task.target[k] == 0]
            on_device = serve(local, [(0.0, k, *p.tokens(k)) for k in ks], 0, False)
            answers = [served_all.get(u * MAX_SUBTASKS + k) for k in range(len(task.target))]
            answers.append(on_device)
            start_s = t0 + task.start_offset_s
            key = self.report_memo.key(u, task, p, answers, start_s, self.last_goodput[u])
            memo = self.report_memo.get(key)
            if memo is None:
                served = {
                    k: shifted(s, task.start_offset_s, p.arrive[k])
                    for k, s in enumerate(answers[:-1])
                    if s is not None
                }
                served.update(on_device)
                report, span, heard = self._served_task(task, p, served, start_s)
                self.report_memo.put(key, report, span, heard, answers)
            else:
                report, span, heard = memo
            for i, (queue_len, heard_s) in heard.items():
                self.queue_len[u, i], self.queue_heard_s[u, i] = queue_len, heard_s
            used = report["bytes_expected"] > 0
            self.last_goodput[u] = np.where(used, report["goodput_mbps"], self.last_goodput[u])
            reports.append(report)
            spans.append(span)
        round_s = max(task.start_offset_s + span for task, span in zip(tasks, spans, strict=True))
        truth = queue_truth(arrivals_at, served_all, round_s)
        for report in reports:
            report.update(
                {name: value.copy() for name, value in zip(QUEUE_TRUTH, truth, strict=True)}
            )
        return reports, spans

    def _served_requests(self, u: int, task: Task) -> Requests:
        sh = self.config.shannon
        snr_db, rate, latency = self._paths(u)
        stalled, dropped = self._draws(task, snr_db)
        k_all = len(task.target)
        tokens_p = np.zeros(k_all, int) if task.prompt_tokens is None else task.prompt_tokens
        tokens_r = np.ones(k_all, int) if task.reply_tokens is None else task.reply_tokens
        t_up = np.where(task.target > 0, task.request_bytes * 8 / rate[task.target - 1], 0.0)
        # the user device's one radio sends the requests one after another, in subtask
        # order (as ns-3's user device launches them): request k is in at arrive[k],
        # after a wired server's wire too
        arrive = np.cumsum(t_up) + np.where(task.target > 0, latency[task.target - 1], 0.0)
        return Requests(
            snr_db, rate, latency, snr_db >= sh.min_snr_db, stalled, dropped, tokens_p,
            tokens_r, t_up, arrive,
        )  # fmt: skip

    def _served_task(
        self, task: Task, p: Requests, served: dict[int, Served], start_s: float
    ) -> tuple[Report, float, dict[int, tuple[int, float]]]:
        """A user's served task from what the servers did (times from its start): its
        report, how long it took, {expert: (the queue length it heard, when)}."""
        n = self.num_experts
        report = self._empty()
        report["status"] = np.array(2)
        report["task_id"] = np.array(task.task_id)
        report["task_start_s"] = np.array(start_s)
        report["queue_wait_s"][:] = np.nan
        nan = np.full(n, np.nan)
        report["snr_db"] = np.where(task.addresses(n), p.snr_db, nan)
        assert self.profiles is not None  # serving on
        task_s, heard = served_report(self.config, report, task, p, served, self.profiles[1])
        report["ue_energy_j"] = np.array(report["energy_j"].sum())
        heard_at = {i: (queue_len, start_s + ttft) for i, (queue_len, ttft) in heard.items()}
        return report, task_s, heard_at

    def predict_at(self, distance_m: np.ndarray, time_s: float, task: Task) -> Report:
        """What ``task`` would report with expert i at ``distance_m[i]`` from the link's
        origin (a non-finite distance: 1e6 m) at simulated time ``time_s``; the state of
        the episode is left unchanged. The closed-form model's answer to "what would the
        formula say at the distances ns-3 measured" (``netmoe validate``; one user)."""
        saved = (self.pos, self.time)
        pos = np.zeros((len(self.nodes), 2))  # a followed user (LTE) stays at the origin
        radio = distance_m[: self.num_radio]  # wired servers stand at their gateway
        pos[1 : 1 + self.num_radio, 0] = np.where(np.isfinite(radio), radio, 1e6)
        self.pos, self.time = pos, time_s
        try:
            return self.try_task(task)
        finally:
            self.pos, self.time = saved

    def predict_round_at(
        self, distance_m: np.ndarray, time_s: float, tasks: list[Task]
    ) -> list[Report]:
        """``predict_at`` for a round of several users: user u's expert i at
        ``distance_m[u, i]`` from u's link origin (each user in its own geometry, as the
        formula has no contention between users), the experts' queues shared as in
        ``run_round``; the episode's state is left unchanged (``netmoe validate --users``).
        With one user it is ``[predict_at(distance_m[0], time_s, tasks[0])]``."""
        distance_m = np.asarray(distance_m, dtype=float)
        if distance_m.shape != (self.num_users, self.num_experts):
            raise ValueError(
                f"distance_m: need shape ({self.num_users}, "
                f"{self.num_experts}), got {distance_m.shape}"
            )
        geometry = []
        for d in distance_m:  # as predict_at: the user's origin at 0, expert i at (d_i, 0)
            pos = np.zeros((len(self.nodes), 2))
            radio = d[: self.num_radio]
            pos[1 : 1 + self.num_radio, 0] = np.where(np.isfinite(radio), radio, 1e6)
            geometry.append(pos)
        saved = (self.pos, self.time, self._user_pos)
        self.pos, self.time, self._user_pos = geometry[0], time_s, geometry
        try:
            return self.try_round(tasks)
        finally:
            self.pos, self.time, self._user_pos = saved

    def close(self) -> None:
        pass


_RATE_UNITS = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}


def _data_rate_bps(text: str) -> float:
    """An ns-3 DataRate text in bit/s: ``1Gbps``, ``100Mbps``, ``500kb/s``, ``10MBps``
    (bytes). The scenario program checks the value; the formula needs it as a number."""
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([kKMG]?)(bps|b/s|Bps|B/s)\s*", text)
    if m is None:
        raise ConfigError(f"wired rate {text!r}: the Shannon backend reads <number>[k|M|G]bps")
    scale = 8.0 if m.group(3) in ("Bps", "B/s") else 1.0
    return float(m.group(1)) * _RATE_UNITS[m.group(2)] * scale
