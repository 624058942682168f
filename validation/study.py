"""Pair the Shannon closed form with ns-3 on the same tasks, positions and actions.

For every task the ns-3 scenario runs the task packet by packet; the Shannon backend
predicts the same task from the same UE-expert distances (the ground truth ns-3 reports
at the task's start), with the same request/reply sizes and compute times. Each
offloaded subtask gives one row (transfer time = delay - compute time), each expert
used in a task one row (SNR, airtime energy, frames, retransmissions).

What ns-3 has and the formula has not: the TCP handshake and slow start, MAC/PHY
overheads and ACKs, contention between concurrent replies and with other networks,
retransmissions, a rate adaptation that picks a discrete MCS below capacity, fading,
and nodes that move while a transfer is on air.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pybridge.backends import Ns3Backend, ShannonBackend, Task
from pybridge.config import EnvConfig
from pybridge.env import BYTES_PER_TOKEN, TOKENS_PER_WORD, network_share_s, offload_task
from pybridge.tasks import QualityTable

log = logging.getLogger(__name__)


class StudyError(ValueError):
    """Bad input to the validation study (one line)."""


@dataclass(frozen=True)
class TaskSource:
    """Where the task stream comes from: the quality table, or synthetic sizes.

    :param table: the quality table (sizes and words per subtask and expert), or None
    :param num_subtasks: K for synthetic tasks (ignored with a table)
    :param request_overhead_bytes: added to each request, as the environment does
    :param edge_words_per_s: an expert's generation speed (compute time = words / speed)
    """

    table: QualityTable | None
    num_subtasks: int
    request_overhead_bytes: int
    edge_words_per_s: float

    @property
    def k(self) -> int:
        return self.table.num_subtasks if self.table is not None else self.num_subtasks

    def make(
        self, rng: np.random.Generator, task_id: int, target: np.ndarray, cfg: EnvConfig
    ) -> Task:
        """The task for ``target`` (one entry per subtask, 0 = local), drawn from ``rng``."""
        k = np.arange(self.k)
        if self.table is not None:
            p = int(rng.integers(0, self.table.num_prompts))
            req = self.table.subtask_bytes[p]
            reply = self.table.bytes[p, k, target]
            words = self.table.words[p, k, target]
        else:  # words ~ uniform 30..300, ~6 bytes per word (the table's typical range)
            words = rng.integers(30, 300, self.k)
            reply = words * 6
            req = rng.integers(60, 400, self.k)
        # the serving model's tokens, estimated as the environment does without token
        # columns (pybridge/env.py); the network ignores them with serving off
        request = req + self.request_overhead_bytes
        prompt_tokens = np.ceil(request / BYTES_PER_TOKEN).astype(np.uint32)
        reply_tokens = np.maximum(np.ceil(words * TOKENS_PER_WORD), 1).astype(np.uint32)
        return offload_task(
            task_id,
            target,
            req.astype(np.int64),
            reply.astype(np.int64),
            words,
            request_overhead_bytes=self.request_overhead_bytes,
            edge_words_per_s=self.edge_words_per_s,
            deadline_s=cfg.tasks.deadline_s,
            next_gap_s=float(rng.exponential(cfg.tasks.gap_s)) if cfg.tasks.gap_s else 0.0,
            prompt_tokens=prompt_tokens,
            reply_tokens=reply_tokens,
        )


def run_scenario(
    name: str,
    cfg: EnvConfig,
    source: TaskSource,
    *,
    tasks: int,
    seed: int,
    local_prob: float = 0.0,
    on_task: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``tasks`` rounds of one scenario on both models; (subtask rows, expert rows).

    A round is one task per user (``scenario.user_nodes``; one user: one task, as
    before several users). Each user's task, action and start offset (``tasks.arrival``)
    are drawn from ``seed``; ns-3 runs the round (``Ns3Backend.run_round``) and the
    Shannon backend predicts the same round with each user's experts at the distances
    ns-3 reported for that user at the round's start (``ShannonBackend.predict_round_at``).
    Rows carry ``users`` (M) and ``user`` (u).

    :param name: scenario label in the tables
    :param cfg: the environment config (its scenario, tasks and shannon sections)
    :param source: the task stream
    :param tasks: number of rounds
    :param seed: seeds the actions, the task stream and ns-3's RngRun (seed + 1)
    :param local_prob: probability that a subtask stays local (else a uniform expert)
    :param on_task: called after every round (progress bars)
    """
    n, k = cfg.scenario.num_experts, source.k
    m = len(cfg.scenario.user_nodes)
    serving = cfg.scenario.serving.enabled
    arrival = cfg.tasks.arrival
    rng = np.random.default_rng(seed)
    ns3 = Ns3Backend(cfg, k)
    sh = ShannonBackend(cfg, k)
    sub_rows: list[dict[str, object]] = []
    exp_rows: list[dict[str, object]] = []
    try:
        last = ns3.start_round(run=seed + 1)
        sh.start_round(run=seed + 1)
        for t in range(tasks):
            round_tasks = []
            for _ in range(m):  # user 0 first: one user draws exactly as before
                target = rng.integers(1, n + 1, k)
                target[rng.random(k) < local_prob] = 0
                round_tasks.append(source.make(rng, t, target, cfg))
            if arrival.mode == "random" and m > 1:
                offsets = rng.uniform(0.0, arrival.max_offset_s, m)
                round_tasks = [
                    replace(task, start_offset_s=float(o))
                    for task, o in zip(round_tasks, offsets, strict=True)
                ]
            d0 = np.array([np.asarray(r["distance_m"], float) for r in last])
            t0 = float(last[0]["sim_time_s"])
            if m == 1:
                preds = [sh.predict_at(d0[0], t0, round_tasks[0])]
            else:
                preds = sh.predict_round_at(d0, t0, round_tasks)
            reports = ns3.run_round(round_tasks)
            concurrent = int(sum((task.target > 0).sum() for task in round_tasks))
            for u, (task, meas, pred) in enumerate(zip(round_tasks, reports, preds, strict=True)):
                who = {"users": m, "user": u, "round_concurrent": concurrent}
                _rows(name, t, who, task, meas, pred, d0[u], t0, serving, sub_rows, exp_rows)
            last = reports
            if on_task is not None:
                on_task()
    finally:
        ns3.close()
        sh.close()
    return pd.DataFrame(sub_rows), pd.DataFrame(exp_rows)


def _rows(
    name: str,
    t: int,
    who: dict[str, int],
    task: Task,
    meas: dict,
    pred: dict,
    d0: np.ndarray,
    t0: float,
    serving: bool,
    sub_rows: list[dict[str, object]],
    exp_rows: list[dict[str, object]],
) -> None:
    """One user's subtask and expert rows of round ``t`` (appended); ``who``: the
    round's users, the user and every user's offloaded subtasks in the round."""
    target = task.target
    d1, t1 = np.asarray(meas["distance_m"], float), float(meas["sim_time_s"])
    duration = float(meas["task_end_s"] - meas["task_start_s"])
    # radial speed over start -> next report, times the task's duration
    moved = np.abs(d1 - d0) / max(t1 - t0, 1e-9) * duration
    concurrent = int((target > 0).sum())
    # the network's share of each reply: delay - compute time, or with serving,
    # completion - the expert's own generation time (as the reward charges it)
    net_m = network_share_s(task, meas, serving)
    net_p = network_share_s(task, pred, serving)
    for s in np.flatnonzero(target > 0):
        i = int(target[s]) - 1
        ok_m, ok_p = bool(meas["subtask_delivered"][s]), bool(pred["subtask_delivered"][s])
        c = float(task.compute_s[s])
        sub_rows.append(
            dict(
                scenario=name, task=t, **who, subtask=int(s), expert=i + 1,
                distance_m=d0[i], moved_m=moved[i], concurrent=concurrent,
                request_bytes=int(task.request_bytes[s]),
                reply_bytes=int(task.reply_bytes[s]), compute_s=c,
                snr_pred_db=float(pred["snr_db"][i]),  # at the task's start, as d0
                delivered_ns3=ok_m, delivered_shannon=ok_p,
                transfer_ns3_s=float(net_m[s]) if ok_m else np.nan,
                transfer_shannon_s=float(net_p[s]) if ok_p else np.nan,
                retx_ns3=int(meas["retransmissions"][i]),
                frames_ns3=int(meas["packets_sent"][i]),
                **(_serving_columns(meas, pred, s) if serving else {}),
            )
        )  # fmt: skip
    for i in np.unique(target[target > 0]) - 1:
        exp_rows.append(
            dict(
                scenario=name, task=t, **who, expert=int(i) + 1, distance_m=d0[i],
                moved_m=moved[i], concurrent=concurrent,
                snr_ns3_db=float(meas["snr_db"][i]),
                snr_pred_db=float(pred["snr_db"][i]),  # at the task's start, as d0
                energy_ns3_j=float(meas["energy_j"][i]),
                energy_shannon_j=float(pred["energy_j"][i]),
                goodput_ns3_mbps=float(meas["goodput_mbps"][i]),
                rate_shannon_mbps=float(pred["goodput_mbps"][i]),
                frames_ns3=int(meas["packets_sent"][i]),
                retx_ns3=int(meas["retransmissions"][i]),
                lost_ns3=int(meas["replies_lost"][i]),
                lost_shannon=int(pred["replies_lost"][i]),
                bytes_expected=int(meas["bytes_expected"][i]),
            )
        )  # fmt: skip


def _serving_columns(meas: dict, pred: dict, s: int) -> dict[str, float]:
    """Subtask ``s``'s TTFT, completion and queue wait on both models (NaN: never)."""
    return {
        f"{name}_{model}_s": float(report[f"{name}_s"][s])
        for name in ("ttft", "completion", "queue_wait")
        for model, report in (("ns3", meas), ("shannon", pred))
    }


DISTANCE_BINS = [0, 5, 10, 20, 40, 80, 160, np.inf]
SNR_BINS = [-np.inf, 10, 20, 30, 40, 50, np.inf]


def _ratio_stats(df: pd.DataFrame) -> dict[str, float]:
    both = df.dropna(subset=["transfer_ns3_s", "transfer_shannon_s"])
    ratio = both["transfer_ns3_s"] / both["transfer_shannon_s"].clip(lower=1e-9)
    return dict(
        subtasks=len(df),
        delay_ns3_ms=1e3 * both["transfer_ns3_s"].median() if len(both) else np.nan,
        delay_shannon_ms=1e3 * both["transfer_shannon_s"].median() if len(both) else np.nan,
        ratio_median=float(ratio.median()) if len(both) else np.nan,
        ratio_p10=float(ratio.quantile(0.1)) if len(both) else np.nan,
        ratio_p90=float(ratio.quantile(0.9)) if len(both) else np.nan,
        abs_err_ms=(
            1e3 * float((both["transfer_ns3_s"] - both["transfer_shannon_s"]).abs().median())
            if len(both)
            else np.nan
        ),
        lost_ns3=float(1 - df["delivered_ns3"].mean()) if len(df) else np.nan,
        lost_shannon=float(1 - df["delivered_shannon"].mean()) if len(df) else np.nan,
        **_serving_stats(df),
    )


def _serving_stats(df: pd.DataFrame) -> dict[str, float]:
    """With the serving model: median TTFT and completion on both models, and the median
    |ns-3 - Shannon| of each, over subtasks where both have the time (else nothing)."""
    out: dict[str, float] = {}
    for name in ("ttft", "completion"):
        a, b = f"{name}_ns3_s", f"{name}_shannon_s"
        if a not in df.columns:
            continue
        both = df.dropna(subset=[a, b])
        some = len(both) > 0
        out[f"{name}_ns3_ms"] = 1e3 * float(both[a].median()) if some else np.nan
        out[f"{name}_shannon_ms"] = 1e3 * float(both[b].median()) if some else np.nan
        out[f"{name}_err_ms"] = 1e3 * float((both[a] - both[b]).abs().median()) if some else np.nan
    return out


def summarize(sub: pd.DataFrame, exp: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and per distance / predicted-SNR bin: how far ns-3 is from Shannon.

    One group per scenario and number of users (``users``). ``ratio`` = ns-3 transfer
    time / Shannon transfer time of the same subtask (both delivered); ``lost_*`` = share
    of subtasks lost; ``energy_ratio`` = ns-3 airtime energy / Shannon energy of the
    experts used; ``snr_err_db`` = ns-3 SNR - path-loss SNR; ``goodput_ratio`` = ns-3
    goodput / Shannon rate per expert used (both > 0).
    """
    sub, exp = _with_users(sub), _with_users(exp)
    sub = sub.assign(
        distance_bin=pd.cut(sub["distance_m"], DISTANCE_BINS, right=False).astype(str),
        snr_bin=pd.cut(sub["snr_pred_db"], SNR_BINS, right=False).astype(str),
    )
    exp = exp.assign(
        distance_bin=pd.cut(exp["distance_m"], DISTANCE_BINS, right=False).astype(str),
        snr_bin=pd.cut(exp["snr_pred_db"], SNR_BINS, right=False).astype(str),
    )
    rows = []
    for kind, col in (("all", None), ("distance", "distance_bin"), ("snr", "snr_bin")):
        keys = ["scenario", "users"] + ([col] if col else [])
        for key, group in sub.groupby(keys, sort=True):
            e = exp
            for c, v in zip(keys, key, strict=True):
                e = e[e[c] == v]
            energy = e[e["energy_shannon_j"] > 0]
            rate = e[(e["rate_shannon_mbps"] > 0) & (e["goodput_ns3_mbps"] > 0)]
            rows.append(
                dict(
                    scenario=key[0], users=int(key[1]), binning=kind,
                    bin=key[2] if col else "all",
                    **_ratio_stats(group),
                    energy_ratio=float(
                        (energy["energy_ns3_j"] / energy["energy_shannon_j"]).median()
                    ) if len(energy) else np.nan,
                    snr_err_db=float((e["snr_ns3_db"] - e["snr_pred_db"]).median())
                    if len(e) else np.nan,
                    retx_per_frame=float(e["retx_ns3"].sum() / max(e["frames_ns3"].sum(), 1)),
                    goodput_ratio=float(
                        (rate["goodput_ns3_mbps"] / rate["rate_shannon_mbps"]).median()
                    ) if len(rate) else np.nan,
                )
            )  # fmt: skip
    return pd.DataFrame(rows)


def _with_users(df: pd.DataFrame) -> pd.DataFrame:
    """Tables from before several users (no ``users`` column) are one user's."""
    return df if "users" in df.columns else df.assign(users=1)


def attribute(sub: pd.DataFrame) -> pd.DataFrame:
    """Where the divergence comes from: the median ratio with and without each effect.

    Effects: a retransmission on the expert's link during the task; concurrent subtasks
    in the task (contention between replies); the node moved more than 0.5 m during the
    task; a short reply (< 1448 B, one TCP segment: handshake and ACKs dominate).
    """
    both = _with_users(sub).dropna(subset=["transfer_ns3_s", "transfer_shannon_s"]).copy()
    both["ratio"] = both["transfer_ns3_s"] / both["transfer_shannon_s"].clip(lower=1e-9)
    effects = {
        "retransmissions": both["retx_ns3"] > 0,
        "concurrent_replies": both["concurrent"] > 1,
        # several users: other users' subtasks in the same round (contention ns-3 has)
        "other_users_in_round": both.get("round_concurrent", both["concurrent"])
        > both["concurrent"],
        "moved_over_0.5m": both["moved_m"] > 0.5,
        "single_segment_reply": both["reply_bytes"] < 1448,
    }
    rows = []
    for (scenario, users), g in both.groupby(["scenario", "users"]):
        for effect, mask in effects.items():
            m = mask.loc[g.index]
            rows.append(
                dict(
                    scenario=scenario, users=int(users), effect=effect,
                    n_with=int(m.sum()), n_without=int((~m).sum()),
                    ratio_with=float(g.loc[m, "ratio"].median()) if m.any() else np.nan,
                    ratio_without=float(g.loc[~m, "ratio"].median()) if (~m).any() else np.nan,
                )
            )  # fmt: skip
    return pd.DataFrame(rows)


def with_users(cfg: EnvConfig, m: int) -> EnvConfig:
    """``cfg`` with ``m`` user devices (``netmoe validate --users``).

    With ``scenario.users`` the first ``m`` of them; beyond the list, user u is user
    ``u mod L``'s copy moved ``user_spread_m * ring`` along angle 2 pi u / m (ring =
    u div L). Otherwise ``scenario.num_users = m`` (copies of ``scenario.user`` on a
    circle, as the config does it). One user from ``num_users`` is the plain config.
    Every m observes as the config says (probes or heartbeats).
    """
    data = cfg.model_dump(mode="python")
    sc = data["scenario"]
    if cfg.scenario.users is None:
        sc["num_users"] = m if m > 1 else None
        return EnvConfig.model_validate(data)
    listed = sc["users"]
    users = []
    for u in range(m):
        node = dict(listed[u % len(listed)])
        ring = u // len(listed)
        if ring:
            x, y, z = node["position"]
            r, a = cfg.scenario.user_spread_m * ring, 2 * math.pi * u / m
            node["position"] = (round(x + r * math.cos(a), 9), round(y + r * math.sin(a), 9), z)
        users.append(node)
    sc["users"] = users
    return EnvConfig.model_validate(data)


def by_users(sub: pd.DataFrame, exp: pd.DataFrame) -> pd.DataFrame:
    """How the Shannon backend's error grows with the number of users: summarize's
    whole-scenario rows (one per scenario and M) and ``lost_gap`` = lost_ns3 -
    lost_shannon."""
    s = summarize(sub, exp)
    s = s[s["binning"] == "all"].drop(columns=["binning", "bin"]).reset_index(drop=True)
    return s.assign(lost_gap=s["lost_ns3"] - s["lost_shannon"])


def write_tables(out: Path, sub: pd.DataFrame, exp: pd.DataFrame) -> dict[str, Path]:
    """Write subtasks.csv, experts.csv, summary.csv, attribution.csv and users.csv (the
    error per scenario and number of users) under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "subtasks": out / "subtasks.csv",
        "experts": out / "experts.csv",
        "summary": out / "summary.csv",
        "attribution": out / "attribution.csv",
        "users": out / "users.csv",
    }
    sub.to_csv(paths["subtasks"], index=False)
    exp.to_csv(paths["experts"], index=False)
    summarize(sub, exp).to_csv(paths["summary"], index=False, float_format="%.4g")
    attribute(sub).to_csv(paths["attribution"], index=False, float_format="%.4g")
    by_users(sub, exp).to_csv(paths["users"], index=False, float_format="%.4g")
    return paths
