"""Independent jobs (a compare's (method, seed), a sweep's cell) run in this process or in
a pool of spawned processes, with one progress bar of finished jobs.

A job whose scenario process died (``BridgeError``) can become a result of its own
(``failed``) while the others go on; any other exception stops everything at once.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from tqdm import tqdm

log = logging.getLogger(__name__)

Call = tuple[Any, ...]
T = TypeVar("T")


def run_isolated(
    fn: Callable[..., T],
    calls: list[Call],
    workers: int,
    failed: Callable[[Call, BaseException], T] | None = None,
    name: Callable[[Call], str] = str,
    progress: bool = False,
    desc: str = "jobs",
) -> list[T]:
    """``fn(*call)`` for every call, in this process (``workers`` <= 1) or in a pool of
    ``workers`` spawned processes; results in the order of ``calls``.

    A call whose simulation fails (``BridgeError``: a scenario process died) gives
    ``failed(call, exc)`` and the others go on (with ``failed=None`` it stops everything,
    like any other exception). A pool holds only ``workers`` jobs at a time, so after an
    error (or Ctrl-C) no further job starts. ``progress`` shows a bar of finished jobs
    (callers whose jobs show their own bars in this process turn it off there).
    """
    from pybridge.bridge import BridgeError

    def outcome(call: Call, get: Callable[[], T]) -> T:
        try:
            return get()
        except BridgeError as exc:
            if failed is None:
                raise
            return failed(call, exc)

    results: list[Any] = [None] * len(calls)
    bar = tqdm(total=len(calls), desc=desc, unit="job", disable=not progress)

    def finished(i: int, get: Callable[[], T]) -> None:
        results[i] = outcome(calls[i], get)
        if progress:
            bar.set_postfix_str(name(calls[i]), refresh=False)
            bar.update()
        else:  # a log line would break the bar's line
            log.info("done: %s", name(calls[i]))

    try:
        if workers <= 1:
            for i, call in enumerate(calls):
                finished(i, lambda call=call: fn(*call))
            return results
        # spawn: a clean interpreter per worker (no forked torch or scenario state)
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            queued = iter(enumerate(calls))
            running: dict[Future[T], int] = {}

            def submit_next() -> None:
                for i, call in queued:
                    running[pool.submit(fn, *call)] = i
                    return

            for _ in range(workers):  # fill the workers; the next job when one finishes
                submit_next()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    finished(running.pop(fut), fut.result)
                    submit_next()
        return results
    finally:
        bar.close()
