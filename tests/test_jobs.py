"""agents.jobs.run_isolated: results in call order, a dead scenario isolated or fatal,
no job started after an error, a bar of finished jobs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.jobs import run_isolated
from pybridge.bridge import ScenarioDied


def slow_echo(value: int, delay_s: float) -> int:
    time.sleep(delay_s)
    return value


def dies_on(value: int, bad: int) -> int:
    if value == bad:
        raise ScenarioDied(f"scenario of job {value} exited")
    return value


def marks_then_fails_first(value: int, marks: str) -> int:
    """Job 0 is a bug; every other job leaves a file saying it started, then works."""
    if value == 0:
        raise ValueError("a bug in job 0")
    Path(marks, f"started{value}").touch()
    time.sleep(0.5)
    return value


def test_pool_returns_results_in_call_order_and_counts_finished_jobs(capsys) -> None:
    calls = [(0, 2.0), (1, 0.0), (2, 0.0)]  # the first finishes last
    results = run_isolated(slow_echo, calls, workers=2, progress=True, desc="demo")
    assert results == [0, 1, 2]
    err = capsys.readouterr().err
    assert "demo: 100%" in err and "3/3" in err


@pytest.mark.parametrize("workers", [1, 2])
def test_a_dead_scenario_is_a_result_of_its_own_or_stops_everything(workers) -> None:
    calls = [(0, 1), (1, 1), (2, 1)]
    isolated = run_isolated(dies_on, calls, workers, failed=lambda call, exc: f"failed: {exc}")
    assert isolated == [0, "failed: scenario of job 1 exited", 2]
    with pytest.raises(ScenarioDied, match="job 1"):
        run_isolated(dies_on, calls, workers)


def test_after_an_error_no_queued_job_starts(tmp_path) -> None:
    calls = [(i, str(tmp_path)) for i in range(6)]
    with pytest.raises(ValueError, match="a bug in job 0"):
        run_isolated(marks_then_fails_first, calls, workers=2)
    # job 1 was running beside job 0 and finishes; jobs 2-5 were never handed out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["started1"]


def test_the_bar_in_this_process_and_none_without_progress(capsys) -> None:
    assert run_isolated(slow_echo, [(5, 0.0), (6, 0.0)], workers=1, progress=True) == [5, 6]
    assert "2/2" in capsys.readouterr().err
    assert run_isolated(slow_echo, [(5, 0.0)], workers=1) == [5]
    assert capsys.readouterr().err == ""
