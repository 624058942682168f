"""What the env benchmarks measure the same way: the scenario's peak memory and the
wall time spent inside the bridge (waiting for ns-3). Imported by env_step.py and
env_scaling.py (run as ``python bench/<script>.py``, so this directory is on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pybridge.bridge import Bridge


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of process ``pid`` in MiB; NaN if not reported."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class BridgeClock:
    """Seconds spent in ``Bridge.exchange`` (one action out, its report back) while the
    ``timed_bridge`` block runs: the scenario's share of a step, as Python waits for it."""

    def __init__(self) -> None:
        self.seconds = 0.0


@contextmanager
def timed_bridge() -> Iterator[BridgeClock]:
    """Count the wall time of every bridge exchange in the block (every Bridge instance)."""
    clock = BridgeClock()
    original = Bridge.exchange

    def exchange(self: Bridge):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return original(self)
        finally:
            clock.seconds += time.perf_counter() - t

    Bridge.exchange = exchange  # type: ignore[method-assign]
    try:
        yield clock
    finally:
        Bridge.exchange = original  # type: ignore[method-assign]
