"""Who measures the network for the environment: ns-3 (packets) or Shannon (a formula,
``pybridge.shannon``).

Both answer the same calls and return the same report: a dict of the fields of
``NetmoeReport`` (messages.h), per-expert arrays cut to N and per-subtask ones to K.
So a policy trained on one backend can be evaluated on the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pybridge.bridge import REPORT_DTYPE, Bridge
from pybridge.config import EnvConfig
from pybridge.paths import program_path

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

    def addresses(self, num_experts: int) -> np.ndarray:
        """(N,) whether each expert 1..N gets a subtask of this task: ``np.isin(np.arange(1,
        N + 1), target)`` without its sorting (every step and every reference's try)."""
        used = np.zeros(num_experts, bool)
        t = self.target
        used[t[(t >= 1) & (t <= num_experts)] - 1] = True
        return used


Report = dict[str, np.ndarray]


class Backend(Protocol):
    """A network for M user devices (``scenario.user_nodes``). A round runs one task per
    user (user u's starts ``task.start_offset_s`` after the round's start) and ends when
    every user's replies are in or past its deadline; then the first task's
    ``next_gap_s`` idles. Reports come one per user, in user order. The single-user calls
    are the round calls with one user."""

    num_users: int

    def start_round(self, run: int) -> list[Report]:
        """Begin an episode with this ns-3 run number / RNG seed; each user's first
        observation."""
        ...

    def run_round(self, tasks: list[Task]) -> list[Report]:
        """Run one task per user; each user's measurements and next observation."""
        ...

    def try_round(self, tasks: list[Task]) -> list[Report]:
        """What run_round(tasks) would measure, leaving the backend's state unchanged.
        The gap after the round is not simulated (nothing priced depends on it), so the
        ``NEXT_OBSERVATION_FIELDS`` are the round end's, not the next decision's."""
        ...

    def start(self, run: int) -> Report:
        """``start_round(run)[0]`` with one user."""
        ...

    def run_task(self, task: Task) -> Report:
        """``run_round([task])[0]`` with one user."""
        ...

    def try_task(self, task: Task) -> Report:
        """``try_round([task])[0]`` with one user."""
        ...

    def close(self) -> None: ...


#: A report's observation for the next decision, taken after the round's gap by a step
#: and at the round's end by a try (``try_round``); the other fields measure the round.
NEXT_OBSERVATION_FIELDS = (
    "sim_time_s",
    "sim_events",
    "obs_snr_db",
    "obs_goodput_mbps",
    "obs_age_s",
    "obs_associated",
    "distance_m",
    "obs_queue_len",
    "obs_queue_age_s",
)


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
        """What run_round(tasks) would measure, in a forked copy of the scenario: every
        field but ``NEXT_OBSERVATION_FIELDS``, which the copy takes at the round's end
        (it does not simulate the gap after it, which nothing priced depends on)."""
        # same RNG state in the copy, so the same measurements as run_round
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


def make_backend(config: EnvConfig, num_subtasks: int) -> Backend:
    if config.backend == "shannon":
        from pybridge.shannon import ShannonBackend

        return ShannonBackend(config, num_subtasks)
    return Ns3Backend(config, num_subtasks)


def __getattr__(name: str) -> object:
    # ShannonBackend lives in pybridge.shannon (which imports this module)
    if name == "ShannonBackend":
        from pybridge.shannon import ShannonBackend

        return ShannonBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
