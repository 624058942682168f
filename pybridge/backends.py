"""Who measures the network for the environment: ns-3 (packets) or Shannon (a formula).

Both answer the same two calls and return the same report: a dict of the fields of
``NetmoeReport`` (messages.h), per-expert arrays cut to N and per-subtask ones to K.
So a policy trained on one backend can be evaluated on the other.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pybridge.bridge import REPORT_DTYPE, Bridge
from pybridge.config import ConfigError, EnvConfig
from pybridge.paths import program_path
from pybridge.scenario_defaults import mobility_default
from pybridge.serving_model import Served, profiles_for, serve, stream_reply

PER_EXPERT = [n for n in REPORT_DTYPE.names if REPORT_DTYPE[n].shape == (32,)]
PER_SUBTASK = [n for n in REPORT_DTYPE.names if REPORT_DTYPE[n].shape == (16,)]


@dataclass(frozen=True)
class Task:
    """One generative task as the network sees it (index k = subtask)."""

    task_id: int
    target: np.ndarray  # (K,) 0 = local, i = expert i
    request_bytes: np.ndarray  # (K,)
    reply_bytes: np.ndarray  # (K,)
    compute_s: np.ndarray  # (K,) the expert's generation time
    deadline_s: float
    next_gap_s: float
    # LLM-server serving (scenario.serving): tokens the network's servers generate
    prompt_tokens: np.ndarray | None = None  # (K,) the subtask's prompt on its target
    reply_tokens: np.ndarray | None = None  # (K,) its reply
    fusion_prompt_tokens: int = 0  # the user device's fusion of the replies
    fusion_reply_tokens: int = 0
    start_offset_s: float = 0.0  # the task starts this long after its round starts


Report = dict[str, np.ndarray]


class Backend(Protocol):
    def start(self, run: int) -> Report:
        """Begin an episode with this ns-3 run number / RNG seed; the first observation."""
        ...

    def run_task(self, task: Task) -> Report:
        """Run one task; its measurements and the next observation."""
        ...

    def try_task(self, task: Task) -> Report:
        """What run_task(task) would report, leaving the backend's state unchanged."""
        ...

    def close(self) -> None: ...


def _trim(raw: dict[str, np.ndarray], n: int, k: int) -> Report:
    out: Report = {}
    for name, value in raw.items():
        if name.startswith("pad"):
            continue
        if name in PER_EXPERT:
            out[name] = np.array(value[:n])
        elif name in PER_SUBTASK:
            out[name] = np.array(value[:k])
        else:
            out[name] = np.array(value)
    return out


class Ns3Backend:
    """Each episode is one run of the scenario program, stepped over the bridge.

    The program is started once; each later episode is a reset over the bridge (the
    program forks a fresh copy of itself with the new run number: ``Bridge.reset``).
    With ``scenario.num_users`` = M user devices a step is a round of M tasks
    (``run_round``); the one-task calls are the round calls with one user."""

    def __init__(self, config: EnvConfig, num_subtasks: int) -> None:
        self.config = config
        self.num_subtasks = num_subtasks
        self.num_users: int = len(config.scenario.user_nodes)
        self.program = program_path(config.scenario.program)
        self.bridge = Bridge(spin_us=config.bridge.spin_us, timeout_s=config.bridge.timeout_s)

    def start_round(self, run: int) -> list[Report]:
        """Begin an episode with ns-3 run number ``run``: every user's first observation."""
        if self.bridge.process is not None and self.bridge.process.poll() is None:
            self.bridge.reset(run)
        else:
            self.bridge.start([str(self.program), *self.config.scenario.argv(rng_run=run)])
        return [self._trim(r) for r in self.bridge.copy_reports(self.num_users)]

    def run_round(self, tasks: list[Task]) -> list[Report]:
        """Run one round (user u's task ``tasks[u]``): every user's measurements and next
        observation. The round's gap is ``tasks[0].next_gap_s``."""
        return [self._trim(r) for r in self.bridge.step_round(self._round(tasks))]

    def try_round(self, tasks: list[Task]) -> list[Report]:
        """What run_round(tasks) would report, in a forked copy of the scenario."""
        # same RNG state in the copy, so identical to run_round
        return [self._trim(r) for r in self.bridge.try_round(self._round(tasks))]

    def start(self, run: int) -> Report:
        return self.start_round(run)[0]

    def run_task(self, task: Task) -> Report:
        return self.run_round([task])[0]

    def try_task(self, task: Task) -> Report:
        return self.try_round([task])[0]

    def _round(self, tasks: list[Task]) -> list[dict[str, object]]:
        if len(tasks) != self.num_users:
            raise ValueError(
                f"a round of this scenario has {self.num_users} tasks (one per user device), "
                f"got {len(tasks)}"
            )
        return [self._fields(task) for task in tasks]

    @staticmethod
    def _fields(task: Task) -> dict[str, object]:
        k = len(task.target)
        zeros = np.zeros(k, dtype=np.uint32)
        return {
            "prompt_tokens": zeros if task.prompt_tokens is None else task.prompt_tokens,
            "reply_tokens": zeros if task.reply_tokens is None else task.reply_tokens,
            "fusion_prompt_tokens": task.fusion_prompt_tokens,
            "fusion_reply_tokens": task.fusion_reply_tokens,
            "task_id": task.task_id,
            "num_subtasks": len(task.target),
            "target": task.target,
            "request_bytes": task.request_bytes,
            "reply_bytes": task.reply_bytes,
            "compute_s": task.compute_s,
            "deadline_s": task.deadline_s,
            "next_gap_s": task.next_gap_s,
            "start_offset_s": task.start_offset_s,
        }

    def _trim(self, raw: dict[str, np.ndarray]) -> Report:
        return _trim(raw, self.config.scenario.num_experts, self.num_subtasks)

    def close(self) -> None:
        self.bridge.close()


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
    """

    def __init__(self, config: EnvConfig, num_subtasks: int) -> None:
        self.config = config
        self.num_subtasks = num_subtasks
        sc = config.scenario
        self.link = sc.radio.shannon_link(sc, config.shannon)
        self.nodes = [self.link.origin, *sc.experts]  # distances are from the link's origin
        # Topology: a relay (an access point every radio path goes through: two hops)
        # and wired servers (experts after the radio ones: the user's hop + the wire).
        self.num_radio = len(sc.experts)
        relay = sc.radio.relay(sc)
        self.relay = None if relay is None else np.array(relay[:2], dtype=float)
        wired = sc.radio.wired(sc)
        self.wire_bps = _data_rate_bps(wired.rate) if wired and wired.count else math.inf
        self.wire_delay_s = wired.delay_s if wired and wired.count else 0.0
        # the user's position sets the user's own hop; follow it when it is not the origin
        self.user_index = 0
        if (self.relay is not None or sc.num_wired) and self.link.origin is not sc.user:
            self.nodes.append(sc.user)
            self.user_index = len(self.nodes) - 1
        self.bandwidth_hz = self.link.bandwidth_hz
        self.rng = np.random.default_rng(0)
        self.pos = np.zeros((len(self.nodes), 2))
        self.heading = np.zeros(len(self.nodes))
        self.time = 0.0
        self.last_goodput = np.zeros(sc.num_experts)
        self._reset_queue_reports()

    # -- channel ---------------------------------------------------------------------

    def _hops_snr_db(self) -> tuple[np.ndarray, np.ndarray]:
        """Per expert, the SNR (dB) of its path's first and second radio hop (NaN: none).
        Direct: one hop, origin <-> expert. Through a relay: user <-> relay, relay <->
        expert. A wired server: the user's hop to the gateway (relay, else origin) only."""
        sh = self.config.shannon
        n, m = self.num_radio, self.config.scenario.num_experts
        if sh.snr == "random":
            lo, hi = sh.random_snr_db
            return self.rng.uniform(lo, hi, m), np.full(m, np.nan)  # one draw per path
        origin, user, experts = self.pos[0], self.pos[self.user_index], self.pos[1 : 1 + n]
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

    def _snr_db(self) -> np.ndarray:
        """Each expert's path SNR: its weakest radio hop (as ns-3 reports it)."""
        return np.fmin(*self._hops_snr_db())

    def _distances(self) -> np.ndarray:
        """From the origin to each radio expert; a wired server stands at its gateway."""
        n, m = self.num_radio, self.config.scenario.num_experts
        radio = np.linalg.norm(self.pos[1 : 1 + n] - self.pos[0], axis=1)
        gateway = self.relay if self.relay is not None else self.pos[0]
        return np.concatenate([radio, np.full(m - n, np.linalg.norm(gateway - self.pos[0]))])

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

    def start(self, run: int) -> Report:
        self.rng = np.random.default_rng(run)
        self.pos = np.array([n.position[:2] for n in self.nodes], dtype=float)
        self.heading = self.rng.uniform(0, 2 * math.pi, len(self.nodes))
        self.time = self.config.scenario.warmup_s
        self.last_goodput = np.zeros(self.config.scenario.num_experts)
        self._reset_queue_reports()
        report = self._empty()
        report["status"] = np.array(1)
        self._observe(report)
        return report

    def _empty(self) -> Report:
        zero = np.zeros((), REPORT_DTYPE)
        raw = {name: zero[name] for name in REPORT_DTYPE.names}  # _trim copies
        return _trim(raw, self.config.scenario.num_experts, self.num_subtasks)

    def _observe(self, report: Report) -> None:
        snr = self._snr_db()
        report["obs_snr_db"] = snr
        report["obs_goodput_mbps"] = self.last_goodput.copy()
        report["obs_age_s"] = np.zeros_like(snr)
        report["obs_associated"] = (snr >= self.config.shannon.min_snr_db).astype(np.uint32)
        report["distance_m"] = self._distances()
        report["sim_time_s"] = np.array(self.time)
        report["obs_queue_len"] = self.queue_len.copy()
        report["obs_queue_age_s"] = self.time - self.queue_heard_s  # NaN: never reported

    def _reset_queue_reports(self) -> None:
        """No expert has reported its queue yet (``scenario.serving``)."""
        n = self.config.scenario.num_experts
        self.queue_len, self.queue_heard_s = np.full(n, np.nan), np.full(n, np.nan)

    def _paths(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per expert now: (path SNR dB, end-to-end rate bit/s, one-way wire latency s).

        Hops in series: each at its own Shannon rate (a relay stores and forwards); a
        wired server adds the wire's rate in series and its delay once per direction."""
        sh, n = self.config.shannon, self.config.scenario.num_experts
        first, second = self._hops_snr_db()
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

    def run_task(self, task: Task) -> Report:
        if self.config.scenario.serving.enabled:
            return self._run_served_task(task)
        sh = self.config.shannon
        n = self.config.scenario.num_experts
        report = self._empty()
        report["status"] = np.array(2)
        report["task_id"] = np.array(task.task_id)
        report["task_start_s"] = np.array(self.time)
        snr_db, rate, latency = self._paths()
        up = snr_db >= sh.min_snr_db
        nan = np.full(n, np.nan)
        report["snr_db"] = np.where(np.isin(np.arange(1, n + 1), task.target), snr_db, nan)
        report["goodput_mbps"] = np.zeros(n)
        report["subtask_delivered"] = np.zeros(len(task.target), dtype=np.uint32)
        report["subtask_delay_s"] = np.zeros(len(task.target))
        # drawn for every expert, used or not, so the random stream does not depend on the action
        stalled = self.rng.random(n) < sh.stall_prob if sh.stall_prob > 0 else np.zeros(n, bool)
        dropped = np.zeros(len(task.target), bool)  # a reply lost on a link that is up
        if sh.loss_snr50_db is not None:
            x = (snr_db[np.maximum(task.target, 1) - 1] - sh.loss_snr50_db) / sh.loss_width_db
            dropped = self.rng.random(len(task.target)) < 1.0 / (1.0 + np.exp(np.clip(x, -50, 50)))
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
        self.last_goodput = np.where(used, report["goodput_mbps"], self.last_goodput)
        self.time += longest
        report["task_end_s"] = np.array(self.time)
        self._move(longest + task.next_gap_s)
        self.time += task.next_gap_s
        self._observe(report)
        return report

    def _run_served_task(self, task: Task) -> Report:
        """``run_task`` with the experts as LLM servers (``scenario.serving``): the serving
        model of ``pybridge.serving_model`` over the Shannon rate, filling the report's
        serving fields as ns-3 does (``transfer-report.cc``)."""
        sh, sv = self.config.shannon, self.config.scenario.serving
        n, k_all = self.config.scenario.num_experts, len(task.target)
        experts, local = profiles_for(sv, n)
        chunk = sv.tokens_per_chunk if sv.streaming else 0
        overhead = sv.chunk_overhead_bytes if sv.streaming else 0
        report = self._empty()
        report["status"] = np.array(2)
        report["task_id"] = np.array(task.task_id)
        report["task_start_s"] = np.array(self.time)
        report["queue_wait_s"][:] = np.nan
        snr_db, rate, latency = self._paths()
        up = snr_db >= sh.min_snr_db
        nan = np.full(n, np.nan)
        report["snr_db"] = np.where(np.isin(np.arange(1, n + 1), task.target), snr_db, nan)
        stalled = self.rng.random(n) < sh.stall_prob if sh.stall_prob > 0 else np.zeros(n, bool)
        dropped = np.zeros(k_all, bool)
        if sh.loss_snr50_db is not None:
            x = (snr_db[np.maximum(task.target, 1) - 1] - sh.loss_snr50_db) / sh.loss_width_db
            dropped = self.rng.random(k_all) < 1.0 / (1.0 + np.exp(np.clip(x, -50, 50)))
        tokens_p = np.zeros(k_all, int) if task.prompt_tokens is None else task.prompt_tokens
        tokens_r = np.ones(k_all, int) if task.reply_tokens is None else task.reply_tokens
        t_up = np.where(task.target > 0, task.request_bytes * 8 / rate[task.target - 1], 0.0)
        # the user device's one radio sends the requests one after another, in subtask
        # order (as ns-3's user device launches them): request k is in at arrive[k],
        # after a wired server's wire too
        arrive = np.cumsum(t_up) + np.where(task.target > 0, latency[task.target - 1], 0.0)
        # every expert's server over the requests it received, then the local one
        served: dict[int, Served] = {}
        for i in range(n):
            ks = [k for k in range(k_all) if task.target[k] == i + 1 and up[i]]
            arrivals = [(float(arrive[k]), k, int(tokens_p[k]), int(tokens_r[k])) for k in ks]
            served.update(serve(experts[i], arrivals, chunk))
        ks = [k for k in range(k_all) if task.target[k] == 0]
        served.update(
            serve(local, [(0.0, k, int(tokens_p[k]), int(tokens_r[k])) for k in ks], 0, False)
        )
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
            done_s[k] += latency[i] + (sh.stall_s if stalled[i] else 0.0)
            gen_s[k] = 0.0 if s.rejected else s.end_s - arrive[k]
            first_send[k] = arrive[k] if s.rejected else s.chunks[0][0]
        offloaded = task.target > 0
        ok = offloaded & ~report["subtask_rejected"].astype(bool) & ~dropped
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
            heard = [k for k in ks if ttft[k] <= task_s]
            if heard:
                last = max(heard, key=lambda k: ttft[k])
                self.queue_len[i] = served[last].queue_len
                self.queue_heard_s[i] = self.time + ttft[last]
        report["ue_energy_j"] = np.array(report["energy_j"].sum())
        used = report["bytes_expected"] > 0
        self.last_goodput = np.where(used, report["goodput_mbps"], self.last_goodput)
        self.time += task_s
        report["task_end_s"] = np.array(self.time)
        self._move(task_s + task.next_gap_s)
        self.time += task.next_gap_s
        self._observe(report)
        return report

    def try_task(self, task: Task) -> Report:
        saved = copy.deepcopy((self.rng, self.pos, self.heading, self.time, self.last_goodput))
        queues = (self.queue_len.copy(), self.queue_heard_s.copy())
        try:
            return self.run_task(task)
        finally:
            self.rng, self.pos, self.heading, self.time, self.last_goodput = saved
            self.queue_len, self.queue_heard_s = queues

    def predict_at(self, distance_m: np.ndarray, time_s: float, task: Task) -> Report:
        """What ``task`` would report with expert i at ``distance_m[i]`` from the link's
        origin (a non-finite distance: 1e6 m) at simulated time ``time_s``; the state of
        the episode is left unchanged. The closed-form model's answer to "what would the
        formula say at the distances ns-3 measured" (``netmoe validate``)."""
        saved = (self.pos, self.time)
        pos = np.zeros((len(self.nodes), 2))  # a followed user (LTE) stays at the origin
        radio = distance_m[: self.num_radio]  # wired servers stand at their gateway
        pos[1 : 1 + self.num_radio, 0] = np.where(np.isfinite(radio), radio, 1e6)
        self.pos, self.time = pos, time_s
        try:
            return self.try_task(task)
        finally:
            self.pos, self.time = saved

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


def make_backend(config: EnvConfig, num_subtasks: int) -> Backend:
    if config.backend == "shannon":
        return ShannonBackend(config, num_subtasks)
    return Ns3Backend(config, num_subtasks)
