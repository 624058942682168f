"""The environment on real ns-3 simulations (the edge-moe scenario over the bridge)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from proc_utils import bridge_segments, exited
from report_checks import assert_try_measures_the_step

import pybridge
from pybridge.bridge import ScenarioDied
from pybridge.env import EdgeMoEEnv
from pybridge.paths import ScenarioNotBuiltError, program_path

try:
    program_path("edge-moe")
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(str(exc), allow_module_level=True)

pytestmark = pytest.mark.ns3


def _cfg(table_path, experts=None, **tasks) -> dict:
    scenario = {
        "user": {"position": [0, 0, 1]},
        "experts": experts
        or [
            {"position": [5, 0, 1]},
            {"position": [-10, 5, 1]},
            {"position": [0, -20, 1]},
        ],
        "propagation": {"nakagami": False},
        "warmup_s": 0.5,
    }
    return {
        "backend": "ns3",
        "scenario": scenario,
        "tasks": {"table": str(table_path), "episode_tasks": 4, "gap_s": 0.5, **tasks},
    }


def test_check_env_on_ns3(table_path) -> None:
    env = EdgeMoEEnv(_cfg(table_path))
    check_env(env, skip_render_check=True)
    env.close()


def test_step_measures_the_network(table_path) -> None:
    env = EdgeMoEEnv(_cfg(table_path))
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    # the probe before the first decision made every expert audible
    assert np.all(obs[:3] > -0.5)
    _, reward, _, _, info = env.step(np.array([1, 2, 3]))
    assert np.all(info["bytes_delivered"] > 0)
    assert np.all(info["delay_s"] > 0)
    assert np.all(np.isfinite(info["snr_db"]))
    assert info["ue_energy_j"] > 0
    assert info["tx_cost"] > 0
    assert reward == pytest.approx(info["quality"] - info["compute_cost"] - info["tx_cost"])
    env.close()


def _one_step(table_path, distance: float) -> dict:
    experts = [{"position": [distance, 0, 1]}, {"position": [5, 5, 1]}, {"position": [-5, 5, 1]}]
    env = EdgeMoEEnv(_cfg(table_path, experts=experts))
    env.reset(seed=2)
    info = env.step(np.array([1, 1, 1]))[4]
    env.close()
    return info


def test_farther_expert_lower_snr_higher_cost(table_path) -> None:
    near, far = _one_step(table_path, 3.0), _one_step(table_path, 60.0)
    assert near["snr_db"][0] > far["snr_db"][0] + 10
    # the delay is mostly compute: the two transfers differ by backoff draws (< 1 ms) more
    # than by the rate here
    assert near["delay_s"][0] <= far["delay_s"][0] + 1e-3
    assert near["tx_cost"] < far["tx_cost"]
    assert near["replies_lost"] == far["replies_lost"] == 0


def test_out_of_range_expert_is_lost_and_penalised(table_path) -> None:
    gone = _one_step(table_path, 2000.0)
    assert gone["replies_lost"] == 3
    assert gone["bytes_delivered"][0] == 0
    assert gone["effective_assignment"] == (0, 0, 0)
    assert gone["tx_cost"] >= 3 * 2.0


def test_evaluate_action_matches_the_real_step(table_path) -> None:
    env = EdgeMoEEnv(_cfg(table_path))
    env.reset(seed=4)
    env.step(np.array([1, 0, 2]))
    tried = {a: env.evaluate_action(np.array(a)) for a in [(0, 0, 0), (3, 3, 3), (1, 2, 3)]}
    _, reward, _, _, info = env.step(np.array([1, 2, 3]))
    assert reward == pytest.approx(tried[(1, 2, 3)][0])
    np.testing.assert_allclose(info["delay_s"], tried[(1, 2, 3)][1]["delay_s"])
    assert tried[(0, 0, 0)][1]["tx_cost"] == 0.0
    env.close()


def test_a_try_measures_the_step_and_stops_at_the_task_end(table_path) -> None:
    # the forked copy skips the gap after the task: same measurements, fewer events,
    # and its observation is taken at the task's end
    env = EdgeMoEEnv(_cfg(table_path))
    env.reset(seed=6)
    for action in ([1, 2, 3], [0, 0, 0], [3, 1, 1]):
        task = env.build_task(np.array(action))
        before = int(env.backend.bridge.report["sim_events"])
        tried = env.backend.try_task(task)
        stepped = env.backend.run_task(task)
        assert_try_measures_the_step(tried, stepped)
        assert float(tried["sim_time_s"]) == pytest.approx(float(stepped["task_end_s"]))
        assert float(stepped["sim_time_s"]) == pytest.approx(
            float(stepped["task_end_s"]) + task.next_gap_s
        )
        # (an all-local task needs no network: its try simulates nothing)
        assert before <= int(tried["sim_events"]) < int(stepped["sim_events"])
    env.close()


def test_same_seed_same_episode_different_seed_differs(table_path) -> None:
    cfg = _cfg(table_path)
    cfg["scenario"]["propagation"] = {"nakagami": True}

    def rollout(seed: int) -> list[float]:
        env = EdgeMoEEnv(cfg)
        env.reset(seed=seed)
        out = [float(env.step(np.array([1, 2, 3]))[4]["snr_db"][2]) for _ in range(3)]
        env.close()
        return out

    assert rollout(11) == rollout(11)
    assert rollout(11) != rollout(12)


def test_reset_forks_an_episode_equal_to_a_new_process(table_path) -> None:
    """A reset forks the running scenario process; the episode must be the one a new
    process with the same run number gives (same seed), and differ for another seed."""
    cfg = _cfg(table_path)
    cfg["scenario"]["propagation"] = {"nakagami": True}
    action = np.array([1, 2, 3])

    def rollout(env: EdgeMoEEnv, seed: int) -> list:
        obs, info = env.reset(seed=seed)
        out = [obs, info["run"], info["sim_time_s"]]
        for _ in range(3):
            obs, reward, _, _, info = env.step(action)
            out += [obs, reward, info["snr_db"], info["delay_s"], info["sim_time_s"]]
        return out

    def same(a: list, b: list) -> bool:
        return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))

    fresh = EdgeMoEEnv(cfg)
    new_process = rollout(fresh, 11)  # the first reset starts the process
    fresh.close()
    env = EdgeMoEEnv(cfg)
    try:
        other = rollout(env, 12)
        started = env.backend.bridge.process.pid
        first_episode = env.backend.bridge.scenario_pid
        forked = rollout(env, 11)
        assert env.backend.bridge.process.pid == started  # no new exec
        assert env.backend.bridge.scenario_pid != first_episode  # a new episode process
        assert exited(first_episode)
        assert same(forked, new_process)
        assert not same(forked, other)
        assert same(rollout(env, 12), other)
    finally:
        env.close()


def test_killed_episode_process_is_reported_and_the_env_recovers(table_path) -> None:
    env = EdgeMoEEnv(_cfg(table_path))
    try:
        env.reset(seed=0)
        env.reset(seed=1)  # a forked episode
        started = env.backend.bridge.process.pid
        os.kill(env.backend.bridge.scenario_pid, signal.SIGKILL)
        t0 = time.monotonic()
        with pytest.raises(ScenarioDied, match="killed by signal 9"):
            env.step(np.array([1, 0, 0]))
        assert time.monotonic() - t0 < 1.5
        assert exited(started)  # the process Python started passed the death on and went
        env.reset(seed=2)
        env.step(np.array([1, 0, 0]))
    finally:
        env.close()


def test_thirty_two_experts_end_to_end(tmp_path) -> None:
    """The bridge's most experts: config check, reset, a step and a forked reset."""
    from tests.conftest import synthetic_frame

    table = tmp_path / "t32.parquet"
    synthetic_frame(2, 3, 32).to_parquet(table)
    circle = [
        {"position": [round(8 * np.cos(a), 3), round(8 * np.sin(a), 3), 1]}
        for a in np.linspace(0, 2 * np.pi, 32, endpoint=False)
    ]
    env = EdgeMoEEnv(_cfg(table, experts=circle, gap_s=0.1))
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == env.observation_space.shape
        _, _, _, _, info = env.step(np.array([1, 17, 32]))
        assert len(info["snr_db"]) == 32
        assert np.isfinite(info["snr_db"][[0, 16, 31]]).all()
        assert info["replies_lost"] == 0
        env.reset(seed=1)
        env.step(np.array([32, 0, 2]))
    finally:
        env.close()


def test_killed_scenario_mid_step_is_a_clear_error(table_path) -> None:
    before = bridge_segments()
    env = EdgeMoEEnv(_cfg(table_path))
    env.reset(seed=0)
    pid = env.backend.bridge.process.pid
    threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()
    t0 = time.monotonic()
    with pytest.raises(ScenarioDied, match="killed by signal 9"):
        # 10 MB replies keep ns-3 busy for seconds of wall time: killed mid-step
        env.backend.bridge.step(
            {
                "num_subtasks": 3,
                "target": [1, 2, 3],
                "request_bytes": [100] * 3,
                "reply_bytes": [10**7] * 3,
                "deadline_s": 60.0,
            }
        )
    assert time.monotonic() - t0 < 1.5
    # the environment recovers with a reset
    env.reset(seed=0)
    env.step(np.array([1, 0, 0]))
    env.close()
    assert bridge_segments() == before
    assert not [n for n in os.listdir("/dev/shm") if "netmoe" in n]


def test_scenario_exits_when_python_dies(table_path) -> None:
    code = textwrap.dedent(
        f"""
        import time
        from pybridge.env import EdgeMoEEnv
        env = EdgeMoEEnv({_cfg(table_path)!r})
        env.reset(seed=0)
        print(env.backend.bridge.process.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 3.0
    while not exited(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exited(pid), "edge-moe outlived its Python parent"


def test_vector_envs_run_side_by_side(table_path) -> None:
    envs = gym.make_vec(
        pybridge.ENV_ID, num_envs=2, vectorization_mode="async", config=_cfg(table_path)
    )
    obs, _ = envs.reset(seed=[1, 2])
    assert obs.shape[0] == 2
    _, rewards, _, _, _ = envs.step(np.array([[1, 2, 3], [0, 0, 0]]))
    assert rewards.shape == (2,)
    envs.close()


#: Resets in a row: 100 in the default suite, 1000 with NETMOE_LONG_TESTS=1 (about 50 s).
RESETS = 1000 if os.environ.get("NETMOE_LONG_TESTS") == "1" else 100


@pytest.mark.slow
def test_a_thousand_resets(table_path) -> None:
    """Many resets leave no bridge segment behind (``RESETS`` of them: all 1000 with
    ``NETMOE_LONG_TESTS=1 python3 -m pytest tests/test_env_ns3.py -k thousand``)."""
    before = bridge_segments()
    env = EdgeMoEEnv(_cfg(table_path))
    for i in range(RESETS):
        env.reset(seed=i)
        if i % 100 == 0:
            env.step(np.array([1, 2, 3]))
    env.close()
    assert bridge_segments() == before


def test_aborted_transfers_with_moving_experts_never_crash_tcp(tmp_path) -> None:
    """Regression: short deadlines (most transfers cut), 20-200 KB replies, experts
    coming into and going out of range. Before the experts' listeners dropped stray
    segments, each of these 5 episodes, run on its own, killed ns-3's TCP (3, 8, 14:
    NS_ASSERT m_connected in TcpSocketBase::DoForwardUp; 13, 16: SIGSEGV in
    PersistTimeout); see docs/scenario.md."""
    from tests.conftest import synthetic_frame

    frame = synthetic_frame(4, 3, 3)
    frame["bytes"] = np.random.default_rng(1).integers(20_000, 200_001, len(frame))
    table = tmp_path / "big.parquet"
    frame.to_parquet(table)
    config = {
        "backend": "ns3",
        "scenario": {
            "user": {"position": [0, 0, 1], "mobility": "random-walk",
                     "params": {"speed": 3.0, "distance": 10}},
            "experts": [
                {"position": [4, 3, 1]},
                {"position": [140, 0, 1], "mobility": "constant-velocity",
                 "params": {"vx": -6.0}},
                {"position": [60, -60, 1], "mobility": "random-waypoint",
                 "params": {"speed": 15, "pause": 0.5}},
            ],
            "area": [-150, 150, -150, 150],
            "wifi": {"tx_power_dbm": 16},
            "propagation": {"exponent": 3.5, "nakagami": True, "nakagami_m": 2},
        },
        "tasks": {"table": str(table), "episode_tasks": 12, "deadline_s": 0.5, "gap_s": 2.0},
    }  # fmt: skip
    env = EdgeMoEEnv(config)
    try:
        for seed in (3, 8, 13, 14, 16):
            env.reset(seed=seed)
            rng = np.random.default_rng(seed)
            done = False
            while not done:
                _, _, terminated, truncated, _ = env.step(rng.integers(0, 4, 3))
                done = terminated or truncated
    finally:
        env.close()


def test_observation_is_finite_with_an_expert_never_heard(table_path) -> None:
    experts = [{"position": [2000, 0, 1]}, {"position": [5, 5, 1]}, {"position": [-5, 5, 1]}]
    env = EdgeMoEEnv(_cfg(table_path, experts=experts))
    obs, _ = env.reset(seed=0)
    assert np.all(np.isfinite(obs)) and env.observation_space.contains(obs)
    assert obs[0] == pytest.approx(-20 / 40)  # the SNR floor
    assert obs[6] == 1.0  # age: never heard
    assert obs[9] == 0.0  # not associated
    obs, *_ = env.step(np.array([1, 2, 0]))
    assert np.all(np.isfinite(obs))
    env.close()
