"""agents.jobs.run_isolated: results in call order, a dead scenario isolated or fatal,
a bar of finished jobs."""

from __future__ import annotations

import time

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


def test_pool_returns_results_in_call_order_and_counts_finished_jobs(capsys) -> None:
    calls = [(0, 0.6), (1, 0.0), (2, 0.0)]  # the first finishes last
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


def test_no_bar_without_progress(capsys) -> None:
    assert run_isolated(slow_echo, [(5, 0.0)], workers=1) == [5]
    assert capsys.readouterr().err == ""
