"""Independent jobs (a compare's (method, seed), a sweep's cell) run in this process or in
a pool of spawned processes, with one progress bar of finished jobs.

A job whose scenario process died (``BridgeError``) can become a result of its own
(``failed``) while the others go on; any other exception stops everything at once.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any

from tqdm import tqdm

log = logging.getLogger(__name__)

Call = tuple[Any, ...]


def run_isolated(
    fn: Callable[..., Any],
    calls: list[Call],
    workers: int,
    failed: Callable[[Call, BaseException], Any] | None = None,
    name: Callable[[Call], str] = str,
    progress: bool = False,
    desc: str = "jobs",
) -> list[Any]:
    """``fn(*call)`` for every call, in this process (``workers`` <= 1) or in a pool of
    ``workers`` spawned processes; results in the order of ``calls``.

    A call whose simulation fails (``BridgeError``: a scenario process died) gives
    ``failed(call, exc)`` and the others go on (with ``failed=None`` it stops everything,
    like any other exception). ``progress`` shows a bar of finished jobs (callers whose
    jobs show their own bars in this process turn it off there).
    """
    from pybridge.bridge import BridgeError

    def outcome(call: Call, get: Callable[[], Any]) -> Any:
        try:
            return get()
        except BridgeError as exc:
            if failed is None:
                raise
            return failed(call, exc)

    results: list[Any] = [None] * len(calls)
    bar = tqdm(total=len(calls), desc=desc, unit="job", disable=not progress)

    def finished(i: int, get: Callable[[], Any]) -> None:
        results[i] = outcome(calls[i], get)
        log.info("done: %s", name(calls[i]))
        bar.set_postfix_str(name(calls[i]), refresh=False)
        bar.update()

    try:
        if workers <= 1:
            for i, call in enumerate(calls):
                finished(i, lambda call=call: fn(*call))
            return results
        # spawn: a clean interpreter per worker (no forked torch or scenario state)
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            index: dict[Future, int] = {pool.submit(fn, *c): i for i, c in enumerate(calls)}
            try:
                for fut in as_completed(index):
                    finished(index[fut], fut.result)
            except BaseException:
                for fut in index:  # a bug or Ctrl-C: do not start the jobs still queued
                    fut.cancel()
                raise
        return results
    finally:
        bar.close()
