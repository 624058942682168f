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
| ``snr_change`` (N, snr_change only) | SNR now minus at the previous decision | dB / 40 | [-2, 2] |

The queues exist only with ``scenario.serving.enabled`` (``serving=True``) and the SNR
change only with ``observation.snr_change`` (``snr_change=True``), so the paper's setting
keeps its vector (and trained policies their input size). An expert
reports its queue length in the header of each reply (``obs_queue_len``); the user
device knows it from the moment the reply's first byte arrives, and its age is measured
at the next decision (never the future).

The SNR change is what the device itself can tell of where a link is heading: the SNR it
holds now minus the one it held at its previous decision, 0 at an episode's first
decision and where either was no sample (never heard, or 10 s old or more: a jump from
the -20 dB floor says nothing). Under a random policy, 5 of the 6 replies lost just above
the 15 dB mask came after a fall of more than 3 dB (bench/loss_vs_snr.py); SAC's own
losses on the default comparison mostly did not (docs/results.md, "The default
comparison's gap by cause").
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
SNR_CHANGE_BOUND = 2.0  # +-80 dB: more than any two samples can differ


@dataclass(frozen=True)
class ObservationLayout:
    """The observation vector for N experts and K subtasks: slices, bounds, encode, decode.

    :param num_experts: N
    :param num_subtasks: K
    :param serving: add each expert's last reported queue length and its age
        (``scenario.serving.enabled``)
    :param snr_change: add each expert's SNR change since the previous decision
        (``observation.snr_change``)
    :param mobile: per expert, whether it moves (its mobility model is not
        ``constant``): not in the vector, but known to the device (a phone, not a TV),
        and read by ``usable``'s ``mobile_min_snr_db``; empty: none moves
    """

    num_experts: int
    num_subtasks: int
    serving: bool = False
    snr_change: bool = False
    mobile: tuple[bool, ...] = ()
    low: np.ndarray = field(init=False, repr=False, compare=False)
    high: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n, k = self.num_experts, self.num_subtasks
        if self.mobile and len(self.mobile) != n:
            raise ValueError(f"mobile has {len(self.mobile)} entries for {n} experts")
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
                np.full(n if self.snr_change else 0, -SNR_CHANGE_BOUND),  # snr change
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
                np.full(n if self.snr_change else 0, SNR_CHANGE_BOUND),
            ]
        )
        object.__setattr__(self, "low", low.astype(np.float32))
        object.__setattr__(self, "high", high.astype(np.float32))

    # -- slices ----------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Length of the vector: 4N + 2K + K(N+1) (+ 2N with ``serving``, + N with
        ``snr_change``)."""
        return self.snr_change_slice.stop

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

    @property
    def snr_change_slice(self) -> slice:
        """Per expert, the SNR change since the previous decision (empty without
        ``snr_change``)."""
        start = self.queue_age.stop
        return slice(start, start + (self.num_experts if self.snr_change else 0))

    # -- encode ----------------------------------------------------------------------

    def encode(
        self,
        report: Mapping[str, np.ndarray],
        request_bytes: np.ndarray,
        words: np.ndarray,
        route: np.ndarray,
        previous: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """The float32 observation from a backend report and the next prompt's table rows.

        :param report: the backend's last report (its ``obs_*`` fields)
        :param request_bytes: (K,) request size of each subtask, overhead included
        :param words: (K, N+1) the table's words per subtask and device
        :param route: (K, N+1) the gate's routing scores
        :param previous: the report the previous decision was made on (None at an
            episode's first decision); read only with ``snr_change``
        """
        snr = _snr_or_floor(report)
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
                *self._snr_change_features(report, previous),
            ]
        )
        return np.clip(obs, self.low, self.high).astype(np.float32)

    def _snr_change_features(
        self, report: Mapping[str, np.ndarray], previous: Mapping[str, np.ndarray] | None
    ) -> list[np.ndarray]:
        if not self.snr_change:
            return []
        if previous is None:
            return [np.zeros(self.num_experts)]
        heard = _heard(report) & _heard(previous)
        change = np.where(heard, _snr_or_floor(report) - _snr_or_floor(previous), 0.0)
        return [change / SNR_SCALE_DB]

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

    def snr_change_db(self, obs: Any) -> Any:
        """Per expert, the SNR now minus at the previous decision, in dB (0 where either
        was no sample; needs ``snr_change``)."""
        if not self.snr_change:
            raise ValueError("the observation has no SNR change (observation.snr_change is off)")
        return obs[..., self.snr_change_slice] * SNR_SCALE_DB

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

    def usable(
        self,
        obs: Any,
        min_snr_db: float = -np.inf,
        max_age_s: float | None = None,
        max_fall_db: float | None = None,
        fall_below_db: float = np.inf,
        mobile_min_snr_db: float | None = None,
    ) -> Any:
        """Per expert, whether the observation promises a reply: associated, last heard
        at ``min_snr_db`` or better (a mobile expert, with ``mobile_min_snr_db``, at that
        or better) and, with ``max_age_s``, no longer ago than that; with
        ``max_fall_db``, not heard below ``fall_below_db`` after its SNR fell by more than
        ``max_fall_db`` since the previous decision (needs ``snr_change``). An associated
        expert at the edge of range still loses replies, and so does one whose last sample
        is old (it did not answer the probe, or missed its heartbeats) or one that moves
        out of range while it writes (bench/loss_vs_snr.py)."""
        snr = self.snr_db(obs)
        threshold: Any = min_snr_db
        if mobile_min_snr_db is not None and any(self.mobile):
            threshold = np.where(self.mobile, max(min_snr_db, mobile_min_snr_db), min_snr_db)
            if not isinstance(snr, np.ndarray):  # a torch tensor: on its dtype and device
                threshold = snr.new_tensor(threshold)
        ok = self.associated(obs) & (snr >= threshold)
        if max_age_s is not None:
            ok = ok & (self.age_s(obs) <= max_age_s)
        if max_fall_db is not None:
            ok = ok & ~((self.snr_change_db(obs) < -max_fall_db) & (snr < fall_below_db))
        return ok


#: the mask limits ``ObservationLayout.usable`` takes (``SACConfig.mask_limits`` gives them)
MASK_LIMITS = ("min_snr_db", "max_age_s", "max_fall_db", "fall_below_db", "mobile_min_snr_db")


def check_mask_limits(limits: Mapping[str, Any]) -> None:
    """A one-line ``ValueError`` if ``limits`` names a limit ``usable`` does not take."""
    unknown = sorted(set(limits) - set(MASK_LIMITS))
    if unknown:
        raise ValueError(f"unknown mask limit(s) {unknown}; known: {list(MASK_LIMITS)}")


def _heard(report: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per expert, whether ``report`` holds a sample of its SNR younger than 10 s."""
    age = np.nan_to_num(report["obs_age_s"], nan=np.inf)
    return ~np.isnan(report["obs_snr_db"]) & (age < AGE_SCALE_S)


def _snr_or_floor(report: Mapping[str, np.ndarray]) -> np.ndarray:
    snr = report["obs_snr_db"]
    return np.where(np.isnan(snr), SNR_FLOOR_DB, snr)
