"""Work spread over spawned processes that each load their heavy state once (llama.cpp,
MiniLM, the judge's LM).

``map_in_processes(make_state, state_args, work, items, processes)`` calls
``make_state(*state_args)`` once per process and yields ``work(state, item)`` for every
item. With one process (or one item) it runs in the caller: the same functions on the
same items, so one process and many share every line but the pool. Processes are
spawned, not forked: forking a process that already runs llama.cpp's or torch's threads
is unsafe. ``make_state``, ``work``, the arguments and the results must pickle
(module-level functions, plain data or pydantic models). An error in ``make_state``
reaches the caller as itself, from the first item (``multiprocessing.Pool`` would
otherwise start the failed process again and again, and the caller would wait forever)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

State = TypeVar("State")
Item = TypeVar("Item")
Result = TypeVar("Result")

_PROCESS: dict[str, Any] = {}
"""In a spawned process: its state and work function, set once by ``_start``."""


def _start(make_state: Callable[..., Any], state_args: tuple, work: Callable) -> None:
    _PROCESS["work"] = work
    try:
        _PROCESS["state"] = make_state(*state_args)
    except Exception as exc:  # noqa: BLE001 - handed to the caller by _run
        _PROCESS["error"] = exc


def _run(item: Any) -> Any:
    if "error" in _PROCESS:
        raise _PROCESS["error"]
    return _PROCESS["work"](_PROCESS["state"], item)


def map_in_processes(
    make_state: Callable[..., State],
    state_args: tuple,
    work: Callable[[State, Item], Result],
    items: Iterable[Item],
    processes: int,
    ordered: bool = True,
) -> Iterator[Result]:
    """``work(state, item)`` for every item, in ``processes`` processes; results in the
    items' order when ``ordered``, else as they finish. No item: no state is made."""
    todo = list(items)
    if not todo:
        return
    if processes <= 1 or len(todo) == 1:
        state = make_state(*state_args)
        for item in todo:
            yield work(state, item)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(min(processes, len(todo)), _start, (make_state, state_args, work)) as pool:
        yield from (pool.imap if ordered else pool.imap_unordered)(_run, todo)
