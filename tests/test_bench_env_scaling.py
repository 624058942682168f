"""bench/env_scaling.py's barrier bound: what a synchronous vector of workers can reach
given one environment's step times, the number the docs set beside the measured
speed-up of ``AsyncVectorEnv``."""

from __future__ import annotations

import sys

import pytest

from pybridge.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from env_scaling import barrier_bound  # noqa: E402


def test_equal_steps_lose_nothing_at_the_barrier() -> None:
    assert barrier_bound([0.1] * 50, 2, seed=0) == pytest.approx(2.0)
    assert barrier_bound([0.1] * 50, 4, seed=0) == pytest.approx(4.0)


def test_unequal_steps_wait_for_the_slower_worker() -> None:
    # steps of 1 s and 3 s, equally likely: mean 2 s; the slower of two draws is 3 s
    # with probability 3/4, so E[max] = 2.5 s and two workers reach 2 x 2 / 2.5 = 1.6x
    assert barrier_bound([1.0, 3.0], 2, seed=0) == pytest.approx(1.6, abs=0.01)
    # one worker has no barrier
    assert barrier_bound([1.0, 3.0], 1, seed=0) == pytest.approx(1.0, abs=0.01)
