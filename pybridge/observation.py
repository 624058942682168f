"""What the user device observes before each task: the layout of EdgeMoEEnv's vector.

One owner for the observation's slices, scales and bounds: the env encodes with it and
every reader (baselines, the SAC action mask, analysis) decodes with it, so no other
file writes ``obs[:N] * 40`` or ``obs[3N:4N]``.

| slice | feature | scaling | bounds |
|---|---|---|---|
| ``snr`` (N) | last SNR heard at the user device | dB / 40, floor -20 dB | [-1, 2] |
| ``goodput`` (N) | last measured goodput of a reply | Mbit/s / 100 | [0, 12] |
| ``age`` (N) | age of that SNR (never heard: 1) | s / 10, capped at 1 | [0, 1] |
| ``associated`` (N) | link layer associated | 0 / 1 | [0, 1] |
| ``request`` (K) | request size | kB | [0, 100] |
| ``expected_words`` (K) | mean over devices of the table's words | words / 100 | [0, 100] |
| ``routing`` (K x (N+1)) | gate's routing score | [0, 1] | [0, 1] |
| ``queue`` (N, serving) | last queue length reported (never: -1) | / 10 | [-0.1, 10] |
| ``queue_age`` (N, serving only) | age of that report (never: 1) | s / 10, capped at 1 | [0, 1] |

The last two exist only with ``scenario.serving.enabled`` (``serving=True``), so the
paper's setting keeps its vector (and trained policies their input size). An expert
reports its queue length in the header of each reply (``obs_queue_len``); the user
device knows it from the moment the reply's first byte arrives, and its age is measured
at the next decision (never the future).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SNR_FLOOR_DB = -20.0  # what an expert never heard from looks like
SNR_SCALE_DB = 40.0
GOODPUT_SCALE_MBPS = 100.0
AGE_SCALE_S = 10.0  # an age of 10 s or more (or never heard) reads 1
REQUEST_SCALE_BYTES = 1000.0
WORDS_SCALE = 100.0
QUEUE_SCALE = 10.0  # requests; a report of 100 or more reads 10


@dataclass(frozen=True)
class ObservationLayout:
    """The observation vector for N experts and K subtasks: slices, bounds, encode, decode.

    :param num_experts: N
    :param num_subtasks: K
    :param serving: add each expert's last reported queue length and its age
        (``scenario.serving.enabled``)
    """

    num_experts: int
    num_subtasks: int
    serving: bool = False
    low: np.ndarray = field(init=False, repr=False, compare=False)
    high: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n, k = self.num_experts, self.num_subtasks
        low = np.concatenate(
            [
                np.full(n, -1.0),  # snr
                np.zeros(n),  # goodput
                np.zeros(n),  # age
                np.zeros(n),  # associated
                np.zeros(k),  # request kB
                np.zeros(k),  # expected words
                np.zeros(k * (n + 1)),  # routing
                np.full(n if self.serving else 0, -1.0 / QUEUE_SCALE),  # queue
                np.zeros(n if self.serving else 0),  # queue age
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
                np.full(n if self.serving else 0, 10.0),
                np.ones(n if self.serving else 0),
            ]
        )
        object.__setattr__(self, "low", low.astype(np.float32))
        object.__setattr__(self, "high", high.astype(np.float32))

    # -- slices ----------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Length of the vector: 4N + 2K + K(N+1) (+ 2N with ``serving``)."""
        n, k = self.num_experts, self.num_subtasks
        return 4 * n + 2 * k + k * (n + 1) + (2 * n if self.serving else 0)

    @property
    def snr(self) -> slice:
        return slice(0, self.num_experts)

    @property
    def goodput(self) -> slice:
        n = self.num_experts
        return slice(n, 2 * n)

    @property
    def age(self) -> slice:
        n = self.num_experts
        return slice(2 * n, 3 * n)

    @property
    def associated_slice(self) -> slice:
        n = self.num_experts
        return slice(3 * n, 4 * n)

    @property
    def request(self) -> slice:
        n, k = self.num_experts, self.num_subtasks
        return slice(4 * n, 4 * n + k)

    @property
    def expected_words(self) -> slice:
        n, k = self.num_experts, self.num_subtasks
        return slice(4 * n + k, 4 * n + 2 * k)

    @property
    def routing(self) -> slice:
        n, k = self.num_experts, self.num_subtasks
        return slice(4 * n + 2 * k, 4 * n + 2 * k + k * (n + 1))

    @property
    def queue(self) -> slice:
        """Per expert, the last reported queue length (empty without ``serving``)."""
        start = self.routing.stop
        return slice(start, start + (self.num_experts if self.serving else 0))

    @property
    def queue_age(self) -> slice:
        """Per expert, the age of that report (empty without ``serving``)."""
        start = self.queue.stop
        return slice(start, start + (self.num_experts if self.serving else 0))

    # -- encode ----------------------------------------------------------------------

    def encode(
        self,
        report: Mapping[str, np.ndarray],
        request_bytes: np.ndarray,
        words: np.ndarray,
        route: np.ndarray,
    ) -> np.ndarray:
        """The float32 observation from a backend report and the next prompt's table rows.

        :param report: the backend's last report (its ``obs_*`` fields)
        :param request_bytes: (K,) request size of each subtask, overhead included
        :param words: (K, N+1) the table's words per subtask and device
        :param route: (K, N+1) the gate's routing scores
        """
        snr = np.where(np.isnan(report["obs_snr_db"]), SNR_FLOOR_DB, report["obs_snr_db"])
        obs = np.concatenate(
            [
                snr / SNR_SCALE_DB,
                report["obs_goodput_mbps"] / GOODPUT_SCALE_MBPS,
                np.minimum(np.nan_to_num(report["obs_age_s"], nan=AGE_SCALE_S) / AGE_SCALE_S, 1.0),
                report["obs_associated"].astype(float),
                request_bytes / REQUEST_SCALE_BYTES,
                words.mean(axis=1) / WORDS_SCALE,
                route.ravel(),
                *self._queue_features(report),
            ]
        )
        return np.clip(obs, self.low, self.high).astype(np.float32)

    def _queue_features(self, report: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        if not self.serving:
            return []
        length = report["obs_queue_len"]
        never = ~np.isfinite(length) | (length < 0)  # NaN from a backend, -1 in info
        age = np.nan_to_num(report["obs_queue_age_s"], nan=AGE_SCALE_S, posinf=AGE_SCALE_S)
        return [
            np.where(never, -1.0, length) / QUEUE_SCALE,
            np.where(never, 1.0, np.minimum(age / AGE_SCALE_S, 1.0)),
        ]

    # -- decode (NumPy arrays or torch tensors of shape (..., size)) -------------------

    def snr_db(self, obs: Any) -> Any:
        """Per expert, the SNR (dB) last heard, scaled back (floor -20 dB; the dtype of
        ``obs`` is kept)."""
        return obs[..., self.snr] * SNR_SCALE_DB

    def age_s(self, obs: Any) -> Any:
        """Per expert, how old its last signal sample was at the decision, in s (10 or
        more, or never heard: 10)."""
        return obs[..., self.age] * AGE_SCALE_S

    def queue_len(self, obs: Any) -> Any:
        """Per expert, the queue length it last reported (-1: never; needs ``serving``)."""
        if not self.serving:
            raise ValueError("the observation has no queue lengths (serving is off)")
        return obs[..., self.queue] * QUEUE_SCALE

    def queue_age_s(self, obs: Any) -> Any:
        """Per expert, the age of that report in s (10 or more, or never: 10)."""
        if not self.serving:
            raise ValueError("the observation has no queue lengths (serving is off)")
        return obs[..., self.queue_age] * AGE_SCALE_S

    def associated(self, obs: Any) -> Any:
        """Per expert, whether the link layer can reach it (bool)."""
        return obs[..., self.associated_slice] > 0.5

    def usable(self, obs: Any, min_snr_db: float = -np.inf, max_age_s: float | None = None) -> Any:
        """Per expert, whether the observation promises a reply: associated, last heard
        at ``min_snr_db`` or better and, with ``max_age_s``, no longer ago than that. An
        associated expert at the edge of range still loses replies, and so does one whose
        last sample is old: it did not answer the probe, or missed its heartbeats
        (bench/loss_vs_snr.py)."""
        ok = self.associated(obs) & (self.snr_db(obs) >= min_snr_db)
        return ok if max_age_s is None else ok & (self.age_s(obs) <= max_age_s)
