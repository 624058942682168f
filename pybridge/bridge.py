"""Python end of the netmoe shared-memory bridge.

One :class:`Bridge` owns one anonymous shared-memory segment (``memfd_create``: it
has no name in ``/dev/shm``, so nothing can be left behind, whatever dies) and the
scenario process on its other end. The scenario inherits the descriptor and is told
``--bridgeFd=N``; the two sides then alternate, each writing its message and bumping
a sequence word the other waits on (see ``include/netmoe/sync.h``). A wait spins only
while the other side runs on another CPU, for at most ``spin_us``, then sleeps, so
both peers pinned to one CPU cost two context switches a round trip, not a spin.

The message layout comes from the C header through the extension's ``layout()``, so
the NumPy views here use exactly the names and offsets the scenario was compiled with.
The segment holds one action and one report slot per user device (``MAX_USERS``): a
round is every user's task (``step_round``); the round's command is user 0's slot's.

Every wait is sliced into 100 ms futex sleeps; between slices the scenario process is
polled, so a dead scenario raises :class:`ScenarioDied` within a second and a hung one
raises :class:`BridgeTimeout`.
"""

from __future__ import annotations

import logging
import mmap
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pybridge import _shm

log = logging.getLogger(__name__)

LAYOUT: dict[str, Any] = _shm.layout()
MAX_EXPERTS: int = LAYOUT["max_experts"]
MAX_SUBTASKS: int = LAYOUT["max_subtasks"]
MAX_USERS: int = LAYOUT["max_users"]

_POLL_SLICE_S = 0.1
DEFAULT_SPIN_US = 50.0


class BridgeError(RuntimeError):
    """The bridge cannot go on (dead peer, timeout, protocol violation)."""


class ScenarioDied(BridgeError):
    """The scenario process exited while Python was waiting for it."""


class BridgeTimeout(BridgeError):
    """The scenario did not answer within the bridge timeout."""


def _dtype(fields: list[tuple[str, int, str, int]], itemsize: int) -> np.dtype:
    names, formats, offsets = [], [], []
    for name, offset, code, count in fields:
        names.append(name)
        offsets.append(offset)
        if code == "S1":  # a char array is one fixed-size byte string
            formats.append(f"S{count}")
        elif count == 1:
            formats.append(code)
        else:
            formats.append((code, (count,)))
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": itemsize})


HEADER_DTYPE = _dtype(LAYOUT["header"], LAYOUT["header_size"])
ACTION_DTYPE = _dtype(LAYOUT["action"], LAYOUT["action_size"])
REPORT_DTYPE = _dtype(LAYOUT["report"], LAYOUT["report_size"])
_OFF = {name: off for name, off, _, _ in LAYOUT["header"]}
if "python_cpu" not in _OFF:  # pragma: no cover - a stale build
    raise ImportError(
        f"{_shm.__file__} predates this pybridge (no CPU words in its header): rebuild it "
        "with `pip install -e .` or `python setup.py build_ext --inplace`"
    )
# (sequence word, waiting flag, CPU word) of each side, as sync.h's NetmoeSide
_PYTHON_SIDE = (_OFF["to_python_seq"], _OFF["python_waiting"], _OFF["python_cpu"])
_SCENARIO_SIDE = (_OFF["to_scenario_seq"], _OFF["scenario_waiting"], _OFF["scenario_cpu"])


class Bridge:
    """A shared-memory segment plus the scenario process attached to it.

    :param spin_us: longest busy-poll of a wait before it sleeps in futex, in
        microseconds (0 = sleep at once); it spins only while the scenario runs on
        another CPU
    :param timeout_s: longest wait for one scenario answer before BridgeTimeout
    """

    def __init__(self, spin_us: float = DEFAULT_SPIN_US, timeout_s: float = 60.0) -> None:
        self.spin_us = float(spin_us)
        self.timeout_s = float(timeout_s)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None
        self._fd = os.memfd_create("netmoe-bridge", os.MFD_CLOEXEC)
        try:
            os.ftruncate(self._fd, LAYOUT["segment_size"])
            self._mm = mmap.mmap(self._fd, LAYOUT["segment_size"])
        except BaseException:
            os.close(self._fd)
            raise
        self.header = np.ndarray((), HEADER_DTYPE, buffer=self._mm, offset=0)
        # user u's slots at index u; action/report: user 0's (the one-user API)
        self.actions = np.ndarray(
            (MAX_USERS,), ACTION_DTYPE, buffer=self._mm, offset=LAYOUT["action_offset"]
        )
        self.reports = np.ndarray(
            (MAX_USERS,), REPORT_DTYPE, buffer=self._mm, offset=LAYOUT["report_offset"]
        )
        self.action = np.ndarray((), ACTION_DTYPE, buffer=self._mm, offset=LAYOUT["action_offset"])
        self.report = np.ndarray((), REPORT_DTYPE, buffer=self._mm, offset=LAYOUT["report_offset"])
        self._closed = False
        self._last_report_seq = 0

    # -- lifecycle -------------------------------------------------------------------

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The running scenario process, if any."""
        return self._proc

    def start(self, argv: Sequence[str]) -> np.ndarray:
        """Start a scenario program attached to this segment; return its first report.

        Any scenario still attached is stopped first. ``argv[0]`` is the program.
        """
        self._check_open()
        self.stop()
        self._mm[:] = bytes(LAYOUT["segment_size"])
        h = self.header
        h["magic"] = LAYOUT["magic"]
        h["version"] = LAYOUT["version"]
        h["action_size"] = LAYOUT["action_size"]
        h["report_size"] = LAYOUT["report_size"]
        h["python_pid"] = os.getpid()
        self._last_report_seq = 0
        self.action["command"] = LAYOUT["cmd_step"]  # stop() is the only writer of STOP
        self._stderr = tempfile.TemporaryFile(prefix="netmoe-scenario-")
        cmd = [str(a) for a in argv] + [f"--bridgeFd={self._fd}"]
        log.debug("starting scenario: %s", " ".join(cmd))
        try:
            self._proc = subprocess.Popen(
                cmd,
                pass_fds=(self._fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                # own session: Ctrl-C reaches Python, which then stops the scenario itself
                start_new_session=True,
            )
        except OSError as exc:
            raise BridgeError(f"cannot start scenario {cmd[0]}: {exc.strerror}") from exc
        self._await_report()
        return self.report

    def reset(self, run: int) -> np.ndarray:
        """End the episode and start a new one with ns-3 run number ``run``; its first report.

        The scenario process forks a fresh copy of itself as it was before building
        anything, so the new episode is the one ``start`` with ``--RngRun=run`` would give,
        without a new exec and library load. Only scenario programs serve this (not the
        test peer ``bridge-echo``).
        """
        self._check_running()
        if not 0 <= run < 2**32:
            raise ValueError(f"run must be in 0..{2**32 - 1} for a reset, got {run}")
        self._send({"rng_run": run}, LAYOUT["cmd_reset"])
        return self.report

    @property
    def scenario_pid(self) -> int | None:
        """The process serving the current episode (a scenario program forks one per
        episode; ``process`` is the one Python started), None if none is running."""
        if self._proc is None:
            return None
        return int(self.header["scenario_pid"]) or self._proc.pid

    def exchange(self) -> np.ndarray:
        """Publish the action already written to ``self.action``; wait for the report.

        The returned view is overwritten by the next exchange: copy what you keep.
        """
        self._check_running()
        seq = _shm.exchange(
            self._mm,
            _PYTHON_SIDE,
            _SCENARIO_SIDE,
            self._last_report_seq,
            self.spin_us * 1e-6,
            _POLL_SLICE_S,
        )
        if seq >= 0:
            self._last_report_seq = seq
        else:  # slow answer: keep waiting in slices, watching the process
            self._await_report(spin_us=0.0)
        return self.report

    def step(self, fields: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Write an action from ``fields`` (unset fields are zero), exchange, copy the report.

        One user device (user 0): ``step_round([fields])[0]``.
        """
        return self._send(fields, LAYOUT["cmd_step"])

    def try_step(self, fields: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Like step(), but in a forked copy of the scenario: the real one does not advance.

        What the action *would* measure from the current simulator state (for oracles).
        The copy skips the gap (``next_gap_s``) after the task: its observation fields
        are the task's end's (``backends.NEXT_OBSERVATION_FIELDS``).
        """
        return self._send(fields, LAYOUT["cmd_try"])

    def step_round(self, users: Sequence[Mapping[str, Any]]) -> list[dict[str, np.ndarray]]:
        """Run one round: user u's task from ``users[u]`` (unset fields are zero).

        ``len(users)`` must be the scenario's number of user devices (``--numUsers``); the
        round's ``next_gap_s`` is ``users[0]``'s. Returns a copy of every user's report.
        """
        return self._send_round(users, LAYOUT["cmd_step"])

    def try_round(self, users: Sequence[Mapping[str, Any]]) -> list[dict[str, np.ndarray]]:
        """Like step_round(), in a forked copy of the scenario: the real one does not advance.
        The copy skips the round's gap, as ``try_step`` does."""
        return self._send_round(users, LAYOUT["cmd_try"])

    def _send(self, fields: Mapping[str, Any], command: int) -> dict[str, np.ndarray]:
        return self._send_round([fields], command)[0]

    def _send_round(
        self, users: Sequence[Mapping[str, Any]], command: int
    ) -> list[dict[str, np.ndarray]]:
        m = len(users)
        if not 1 <= m <= MAX_USERS:
            raise ValueError(f"a round has 1..{MAX_USERS} users, got {m}")
        self.actions[:m] = np.zeros(m, ACTION_DTYPE)
        for u, fields in enumerate(users):
            slot = self.actions[u : u + 1]
            for name, value in fields.items():
                if name not in ACTION_DTYPE.names:
                    raise KeyError(f"unknown action field {name!r}")
                if slot.dtype[name].shape:
                    value = np.asarray(value)
                    slot[name][0, : value.shape[0]] = value
                else:
                    slot[name] = value
            slot["num_users"] = m
        self.actions[0:1]["command"] = command
        self.exchange()
        return self.copy_reports(m)

    def copy_report(self) -> dict[str, np.ndarray]:
        """A copy of the current report (user 0's), safe to keep across exchanges."""
        return {name: np.array(self.report[name]) for name in REPORT_DTYPE.names}

    def copy_reports(self, num_users: int) -> list[dict[str, np.ndarray]]:
        """Copies of users 0..num_users-1's current reports, safe to keep across exchanges."""
        return [
            {name: np.array(self.reports[name][u]) for name in REPORT_DTYPE.names}
            for u in range(num_users)
        ]

    def stop(self, grace_s: float = 5.0) -> int | None:
        """Ask the scenario to finish; kill it if it does not within ``grace_s``.

        Returns its exit code (None if none was running). Safe to call repeatedly.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            self.action["command"] = LAYOUT["cmd_stop"]
            _shm.post(self._mm, _OFF["to_scenario_seq"], _OFF["scenario_waiting"])
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                log.warning("scenario pid %d ignored stop; killing it", proc.pid)
                proc.kill()
                proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return proc.returncode

    def close(self) -> None:
        """Stop the scenario and release the segment. Idempotent."""
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            # views keep exported buffers alive; drop them before closing the map
            del self.header, self.action, self.report, self.actions, self.reports
            self._mm.close()
            os.close(self._fd)

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    # -- internals ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BridgeError("bridge is closed")

    def _check_running(self) -> None:
        self._check_open()
        if self._proc is None:
            raise BridgeError("no scenario is running: call start() (env.reset()) first")

    def _await_report(self, spin_us: float | None = None) -> None:
        """Wait until the scenario bumps to_python_seq, watching the process."""
        assert self._proc is not None
        deadline = time.monotonic() + self.timeout_s
        last = self._last_report_seq
        spin_s = (self.spin_us if spin_us is None else spin_us) * 1e-6
        while not _shm.wait(self._mm, _PYTHON_SIDE, _SCENARIO_SIDE, last, spin_s, _POLL_SLICE_S):
            spin_s = 0.0  # spun once already; from now on just sleep between polls
            if self._proc.poll() is not None:
                raise self._died()
            if time.monotonic() > deadline:
                proc, self._proc = self._proc, None
                proc.kill()
                proc.wait()
                raise BridgeTimeout(
                    f"scenario pid {proc.pid} gave no answer within {self.timeout_s:g} s; killed it"
                )
        self._last_report_seq = _shm.load(self._mm, _OFF["to_python_seq"])

    def _died(self) -> ScenarioDied:
        proc, self._proc = self._proc, None
        assert proc is not None
        code = proc.returncode
        why = bytes(self.header["error"]).split(b"\0", 1)[0].decode(errors="replace")
        if not why and self._stderr is not None:
            self._stderr.seek(0)
            lines = [ln for ln in self._stderr.read().decode(errors="replace").splitlines() if ln]
            # "terminate called ..." follows the real message (NS_FATAL_ERROR, an exception)
            lines = [ln for ln in lines if not ln.startswith("terminate called")] or lines
            why = " | ".join(lines[-2:])
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        return ScenarioDied(
            f"scenario process {proc.pid} died ({how})" + (f": {why}" if why else "")
        )
