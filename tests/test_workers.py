"""``llm_pipeline.workers.map_in_processes``: state made once per process, results in the
items' order, one process (or one item) in the caller, an error in a process's state
raised in the caller, no item and no state."""

from __future__ import annotations

import os

import pytest

from llm_pipeline.workers import map_in_processes


def _state(tag: str) -> dict:
    return {"tag": tag, "pid": os.getpid(), "calls": 0}


def _work(state: dict, x: int) -> tuple[str, int, int, int]:
    state["calls"] += 1
    return state["tag"], state["pid"], state["calls"], x * x


def test_two_processes_keep_the_order_and_keep_their_state():
    out = list(map_in_processes(_state, ("t",), _work, range(8), 2))
    assert [r[3] for r in out] == [i * i for i in range(8)]
    pids = {r[1] for r in out}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    # each process's state is made once and lives across its items
    for pid in pids:
        calls = sorted(r[2] for r in out if r[1] == pid)
        assert calls == list(range(1, len(calls) + 1))


def test_one_process_or_one_item_runs_in_the_caller():
    assert list(map_in_processes(_state, ("a",), _work, [3], 2)) == [("a", os.getpid(), 1, 9)]
    out = list(map_in_processes(_state, ("b",), _work, [1, 2], 1))
    assert out == [("b", os.getpid(), 1, 1), ("b", os.getpid(), 2, 4)]


def _fails(path: str) -> None:
    raise FileNotFoundError(f"{path}: no such model file")


def test_a_state_that_fails_in_a_process_reaches_the_caller():
    # (a multiprocessing.Pool whose initializer raises restarts it forever: a hang)
    with pytest.raises(FileNotFoundError, match="m.gguf: no such model file"):
        list(map_in_processes(_fails, ("m.gguf",), _work, range(4), 2))


def test_no_item_makes_no_state():
    def never(*_: object) -> None:
        raise AssertionError("state made for no work")

    assert list(map_in_processes(never, (), _work, [], 2)) == []
