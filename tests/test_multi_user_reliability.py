"""Reliability with eight users on real ns-3 (issue 16): a scenario killed mid-round,
a thousand resets of the parallel env, a bad per-user value at construction."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest
from proc_utils import bridge_segments

import pybridge
from pybridge.bridge import ScenarioDied
from pybridge.config import ConfigError
from pybridge.paths import ScenarioNotBuiltError, program_path

try:
    program_path("edge-moe")
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(str(exc), allow_module_level=True)

pytestmark = pytest.mark.ns3

M = 8


def _cfg(table_path, **scenario) -> dict:  # noqa: ANN001
    return {
        "backend": "ns3",
        "scenario": {
            "num_users": M,
            "experts": [
                {"position": [5, 0, 1]},
                {"position": [-10, 5, 1]},
                {"position": [0, -20, 1]},
            ],
            "propagation": {"nakagami": False},
            "warmup_s": 0.5,
            **scenario,
        },
        "tasks": {"table": str(table_path), "episode_tasks": 4, "gap_s": 0.5},
    }


def _netmoe_shm() -> list[str]:
    return [n for n in os.listdir("/dev/shm") if "netmoe" in n]


@pytest.mark.parametrize("which", ["started", "episode"])
def test_eight_users_killed_mid_round_is_one_line_within_a_second(table_path, which) -> None:  # noqa: ANN001
    """Either process: the one Python started, or the episode's forked simulation."""
    before = bridge_segments()
    env = pybridge.parallel_env(config=_cfg(table_path))
    try:
        env.reset(seed=0)
        env.reset(seed=2)  # a forked episode: the simulation is not the started process
        bridge = env.backend.bridge
        pid = bridge.process.pid if which == "started" else bridge.scenario_pid
        assert (pid == bridge.process.pid) == (which == "started")
        killed_at: list[float] = []

        def kill() -> None:
            killed_at.append(time.monotonic())
            os.kill(pid, signal.SIGKILL)

        threading.Timer(0.3, kill).start()
        # 2 MB replies from every user to every expert keep ns-3 busy for seconds of
        # wall time: the round is on when the kill lands
        user = {
            "num_subtasks": 3,
            "target": [1, 2, 3],
            "request_bytes": [100] * 3,
            "reply_bytes": [2 * 10**6] * 3,
            "deadline_s": 60.0,
        }
        with pytest.raises(ScenarioDied, match="killed by signal 9") as err:
            env.backend.bridge.step_round([user] * M)
        noticed = time.monotonic() - killed_at[0]
        assert noticed < 1.0, f"noticed {noticed:.2f} s after the kill"
        assert "\n" not in str(err.value)
        # the environment recovers with a reset and runs a round of every user
        env.reset(seed=1)
        _, rewards, _, _, _ = env.step({a: np.array([1, 2, 3]) for a in env.agents})
        assert len(rewards) == M
    finally:
        env.close()
    assert bridge_segments() == before
    assert not _netmoe_shm()


#: The issue's 1000 resets take ~220 s here (~200 ms each with a 0.1 s warm-up on a busy
#: 2-core machine: building eight more Wi-Fi stations and warming up), too long for the
#: default suite; it runs 100, and all 1000 with NETMOE_LONG_TESTS=1.
RESETS = 1000 if os.environ.get("NETMOE_LONG_TESTS") == "1" else 100


@pytest.mark.slow
def test_eight_users_a_thousand_resets(table_path) -> None:  # noqa: ANN001
    """RESETS resets in a row leave no segment behind and every round still runs
    (1000 with ``NETMOE_LONG_TESTS=1 python3 -m pytest tests/test_multi_user_reliability.py``)."""
    before = bridge_segments()
    env = pybridge.parallel_env(config=_cfg(table_path, warmup_s=0.1))
    try:
        for i in range(RESETS):
            env.reset(seed=i)
            if i % 100 == 0:
                _, rewards, _, _, _ = env.step({a: np.array([1, 2, 3]) for a in env.agents})
                assert len(rewards) == M
    finally:
        env.close()
    assert bridge_segments() == before
    assert not _netmoe_shm()


@pytest.mark.parametrize(
    ("user", "field"),
    [
        # user 3's random walk at a negative speed (the program's mobility rule)
        ({"mobility": "random-walk", "params": {"speed": -1.0}}, "scenario.users.3"),
        # user 3 walks but starts outside the scenario's area (which bounds its walk)
        ({"position": [500, 0, 1], "mobility": "random-walk"}, "scenario.users.3"),
    ],
)
def test_a_bad_value_of_one_user_fails_at_construction(table_path, user, field) -> None:  # noqa: ANN001
    users = [{"position": [float(u), 0.0, 1.0]} for u in range(M)]
    users[3] = {"position": [3.0, 0.0, 1.0], **user}
    cfg = _cfg(table_path, users=users)
    del cfg["scenario"]["num_users"]
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as err:
        pybridge.parallel_env(config=cfg)
    assert f": {field}: " in str(err.value), str(err.value)
    assert "\n" not in str(err.value)
    assert time.monotonic() - t0 < 10  # the program's check, no episode started
