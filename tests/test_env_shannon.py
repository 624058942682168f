"""The environment's contract, on the closed-form Shannon backend (no ns-3 needed)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import pybridge
from pybridge.config import ConfigError
from pybridge.env import EdgeMoEEnv
from tests.conftest import experts_near


@pytest.fixture
def shannon_cfg(table_path):
    return {"backend": "shannon", "tasks": {"table": str(table_path), "episode_tasks": 5}}


def test_passes_gymnasium_check_env(shannon_cfg) -> None:
    env = EdgeMoEEnv(shannon_cfg)
    check_env(env, skip_render_check=True)
    env.close()
    env.close()


def test_registered_and_spaces(shannon_cfg) -> None:
    env = gym.make(pybridge.ENV_ID, config=shannon_cfg)
    assert env.action_space == gym.spaces.MultiDiscrete([4, 4, 4])
    assert env.observation_space.shape == (4 * 3 + 2 * 3 + 3 * 4,)
    env.close()


def test_episode_truncates_and_info_has_measurements(shannon_cfg) -> None:
    env = EdgeMoEEnv(shannon_cfg)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    steps = 0
    truncated = False
    while not truncated:
        obs, reward, terminated, truncated, info = env.step(np.array([1, 2, 0]))
        steps += 1
        assert not terminated
        for key in ("snr_db", "goodput_mbps", "delay_s", "bytes_delivered", "energy_j"):
            assert info[key].shape == (3,)
        # the reward is exactly its documented parts
        assert reward == pytest.approx(info["quality"] - info["compute_cost"] - info["tx_cost"])
    assert steps == 5
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(np.array([0, 0, 0]))
    env.close()


def test_local_only_has_no_network_cost(shannon_cfg) -> None:
    env = EdgeMoEEnv(shannon_cfg)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(3, dtype=int))
    assert info["tx_cost"] == 0.0
    assert info["bytes_delivered"].sum() == 0
    assert info["compute_cost"] > 0
    env.close()


def test_far_expert_costs_more_and_out_of_range_is_lost(table_path) -> None:
    def cost(distance: float) -> dict:
        cfg = {
            "backend": "shannon",
            "tasks": {"table": str(table_path), "episode_tasks": 2, "gap_s": 0},
            "scenario": {
                "experts": [
                    {"position": [distance, 0, 1]},
                    {"position": [5, 5, 1]},
                    {"position": [-5, 5, 1]},
                ]
            },
        }
        env = EdgeMoEEnv(cfg)
        env.reset(seed=1)
        info = env.step(np.array([1, 1, 1]))[4]
        env.close()
        return info

    near, far, gone = cost(3.0), cost(40.0), cost(2000.0)
    assert near["snr_db"][0] > far["snr_db"][0]
    assert near["tx_cost"] < far["tx_cost"]
    assert gone["replies_lost"] == 3
    assert gone["effective_assignment"] == (0, 0, 0)
    assert gone["tx_cost"] >= 3 * 2.0  # lost_penalty per reply


def test_protocol_overhead_charges_each_expert_used(shannon_cfg) -> None:
    """link_energy_j per expert used, exchange_energy_j per subtask, link_power_w per
    second its exchange is open: added to that expert's energy, so to the reward."""
    overhead = {"link_energy_j": 1e-3, "exchange_energy_j": 3e-4, "link_power_w": 7e-4}

    def step(shannon: dict, action: list[int]) -> dict:
        env = EdgeMoEEnv({**shannon_cfg, "shannon": shannon})
        env.reset(seed=3)
        info = env.step(np.array(action))[4]
        env.close()
        return info

    for action in ([1, 1, 0], [1, 2, 0], [0, 0, 0]):
        plain, extra = step({}, action), step(overhead, action)
        for i in (1, 2, 3):
            n = action.count(i)
            want = 0.0 if n == 0 else 1e-3 + 3e-4 * n + 7e-4 * plain["delay_s"][i - 1]
            assert extra["energy_j"][i - 1] - plain["energy_j"][i - 1] == pytest.approx(want)
        assert plain["tx_cost"] - extra["tx_cost"] == pytest.approx(
            -100.0 * (extra["energy_j"] - plain["energy_j"]).sum()  # reward.w_energy
        )
    with pytest.raises(ConfigError, match="shannon.link_power_w"):
        EdgeMoEEnv({**shannon_cfg, "shannon": {"link_power_w": -1}})


def test_default_model_unchanged_by_the_optional_terms() -> None:
    """With every optional term at its default, an episode gives what the backend gave
    before they existed (values recorded with commit 4a00efc, on the v1 table, the
    default then): same rewards, same random stream (mobility), same observations."""
    from pybridge.paths import REPO_ROOT

    moving = {"mobility": "random-waypoint", "params": {"speed": 1.5, "pause": 2}}
    cfg = {
        "backend": "shannon",
        "tasks": {"table": str(REPO_ROOT / "data/quality_table_v1.parquet"), "episode_tasks": 12},
        "scenario": {
            "experts": [
                {"position": [4, 3, 1]},
                {"position": [-12, 6, 1]},
                {"position": [18, -22, 1], **moving},
            ],
            "user": {"position": [0, 0, 1], "mobility": "random-walk", "params": {"speed": 1.0}},
        },
    }
    env = EdgeMoEEnv(cfg)
    obs, _ = env.reset(seed=7)
    rng = np.random.default_rng(1)
    total = 0.0
    for _ in range(12):
        obs, reward, _, _, info = env.step(rng.integers(0, 4, 3))
        total += reward
    env.close()
    assert total == pytest.approx(57.756807945, abs=1e-6)
    np.testing.assert_allclose(obs[:3], [0.61897802, 0.70340902, 0.70692199], atol=1e-6)
    assert info["sim_time_s"] == pytest.approx(27.248755487, abs=1e-6)


def test_stalls_delay_an_experts_exchanges_at_the_set_rate(shannon_cfg) -> None:
    """stall_prob: the share of (task, expert used) exchanges that take stall_s longer;
    0 (the default) leaves the model and its random stream as they were."""

    def delays(shannon: dict) -> np.ndarray:
        cfg = {**shannon_cfg, "shannon": shannon}
        cfg["tasks"] = {**cfg["tasks"], "episode_tasks": 200, "gap_s": 0}
        env = EdgeMoEEnv(cfg)
        env.reset(seed=5)
        out = [env.step(np.array([1, 2, 0]))[4]["delay_s"][:2] for _ in range(200)]
        env.close()
        return np.array(out)

    plain, same = delays({}), delays({"stall_prob": 0.0, "stall_s": 9.0})
    np.testing.assert_array_equal(plain, same)
    stalled = delays({"stall_prob": 0.25, "stall_s": 3.0})
    extra = stalled - plain
    assert set(np.round(extra.ravel(), 3)) == {0.0, 3.0}  # transfers take microseconds
    assert 0.18 < (extra > 1).mean() < 0.32  # 400 draws at 0.25
    with pytest.raises(ConfigError, match="shannon.stall_prob"):
        EdgeMoEEnv({**shannon_cfg, "shannon": {"stall_prob": 1.5}})


def test_reply_loss_follows_the_logistic_in_snr(shannon_cfg) -> None:
    """loss_snr50_db: each reply is lost with 1 / (1 + exp((snr - mid) / width)), at the
    SNR of the task (the one the report gives); a lost reply is lost to the reward too."""

    def run(extra: dict) -> tuple[np.ndarray, np.ndarray]:
        shannon = {"snr": "random", "random_snr_db": (5.0, 25.0), **extra}
        cfg = {**shannon_cfg, "shannon": shannon}
        cfg["tasks"] = {**cfg["tasks"], "episode_tasks": 300}
        env = EdgeMoEEnv(cfg)
        env.reset(seed=2)
        snr, lost = [], []
        for _ in range(300):
            info = env.step(np.array([1, 1, 1]))[4]
            snr.append(info["snr_db"][0])
            lost.append(info["replies_lost"])
        env.close()
        return np.array(snr), np.array(lost)

    assert run({})[1].sum() == 0
    assert run({"loss_snr50_db": -100.0})[1].sum() == 0
    assert (run({"loss_snr50_db": 100.0})[1] == 3).all()
    env = EdgeMoEEnv({**shannon_cfg, "shannon": {"loss_snr50_db": 100.0}})
    env.reset(seed=2)
    info = env.step(np.array([1, 1, 1]))[4]
    env.close()
    assert info["effective_assignment"] == (0, 0, 0)  # every part falls back to local
    assert info["tx_cost"] >= 3 * 2.0  # lost_penalty per reply
    snr, lost = run({"loss_snr50_db": 15.0, "loss_width_db": 2.0})
    want = 3 / (1 + np.exp((snr - 15.0) / 2.0))
    assert abs(lost.sum() - want.sum()) < 4 * np.sqrt(want.sum())
    assert lost[snr < 12].mean() > 2.0 and lost[snr > 18].mean() < 1.0
    with pytest.raises(ConfigError, match="shannon.loss_width_db"):
        EdgeMoEEnv({**shannon_cfg, "shannon": {"loss_width_db": 0}})


@pytest.mark.parametrize(
    "action, message",
    [
        ([0, 1], r"shape \(3,\)"),
        ([0, 1, 4], r"0\.\.3"),
        ([0, -1, 1], r"0\.\.3"),
        ([0.5, 1, 1], "whole numbers"),
    ],
)
def test_bad_actions_are_one_line_errors(shannon_cfg, action, message) -> None:
    env = EdgeMoEEnv(shannon_cfg)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(np.array(action))
    # the environment is still usable after a rejected action
    env.step(np.array([1, 0, 2]))
    env.close()


def test_same_seed_same_episode(shannon_cfg) -> None:
    def rollout(seed: int) -> list[float]:
        env = EdgeMoEEnv(shannon_cfg)
        env.reset(seed=seed)
        out = [env.step(np.array([1, 2, 3]))[1] for _ in range(5)]
        env.close()
        return out

    assert rollout(7) == rollout(7)
    assert rollout(7) != rollout(8)


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"backend": "omnet"}, "backend"),
        ({"reward": {"w_time": "fast"}}, "reward.w_time"),
        ({"scenario": {"experts": []}}, "scenario.experts: .*at least one expert"),
        ({"scenario": {"user": {"mobility": "random-walk", "params": {"sped": 1}}}}, "sped"),
        ({"tasks": {"deadline_s": -1}}, "tasks.deadline_s"),
        ({"typo": 1}, "typo"),
    ],
)
def test_bad_config_values_are_one_line_errors(shannon_cfg, patch, message) -> None:
    cfg = {**shannon_cfg, **patch}
    with pytest.raises(ConfigError, match=message) as err:
        EdgeMoEEnv(cfg)
    assert "\n" not in str(err.value)


def test_missing_table(table_path) -> None:
    with pytest.raises(ValueError, match="quality table not found"):
        EdgeMoEEnv({"backend": "shannon", "tasks": {"table": "/nope.parquet"}})


def test_devices_run_writers_eight_on_a_three_writer_table(table_path) -> None:
    """N = 8 devices on a table of W = 3 writers: device i runs writer ((i-1) mod 3) + 1
    by default, so two devices of one writer have the same texts and fused scores."""
    cfg = {
        "backend": "shannon",
        "tasks": {"table": str(table_path), "episode_tasks": 3},
        "scenario": {"experts": experts_near(8)},
    }
    env = EdgeMoEEnv(cfg)
    assert env.action_space == gym.spaces.MultiDiscrete([9, 9, 9])
    assert env.table.num_experts == 8
    assert env.table.writers.tolist() == [0, 1, 2, 3, 1, 2, 3, 1, 2]
    np.testing.assert_array_equal(env.table.words[:, :, 4], env.table.words[:, :, 1])
    p = 0
    assert env.table.quality(p, (4, 8, 0)) == env.table.quality(p, (1, 2, 0))
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.array([8, 4, 0]))
    assert np.isfinite(reward) and info["snr_db"].shape == (8,)
    env.close()
    # an explicit mapping: every device runs writer 2
    cfg["tasks"]["expert_writers"] = [2] * 8
    env = EdgeMoEEnv(cfg)
    assert env.table.quality(p, (1, 5, 8)) == env.table.quality(p, (2, 2, 2))
    env.close()


def test_default_mapping_keeps_the_table_when_devices_are_writers(table_path) -> None:
    from pybridge.tasks import QualityTable

    table = QualityTable.load(table_path)
    env = EdgeMoEEnv({"backend": "shannon", "tasks": {"table": str(table_path)}})
    for name in ("words", "bytes", "score", "route"):
        np.testing.assert_array_equal(getattr(env.table, name), getattr(table, name))
    assert env.table.quality(1, (1, 2, 3)) == table.quality(1, (1, 2, 3))
    env.close()


@pytest.mark.parametrize(
    "writers, message",
    [
        ([0, 1, 2], r"tasks\.expert_writers: writers are numbered from 1"),
        ([1, 2, 4], r"tasks\.expert_writers: writer 4 is not in 1\.\.3"),
        ([1, 2], r"tasks\.expert_writers: names 2 writers for 3 expert devices"),
    ],
)
def test_bad_expert_writers_are_one_line_errors(table_path, writers, message) -> None:
    cfg = {"backend": "shannon", "tasks": {"table": str(table_path), "expert_writers": writers}}
    with pytest.raises(ConfigError, match=message) as err:
        EdgeMoEEnv(cfg)
    assert "\n" not in str(err.value)


def test_yaml_errors(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: {backend: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        EdgeMoEEnv(bad)
    with pytest.raises(ConfigError, match="no such config file"):
        EdgeMoEEnv(tmp_path / "missing.yaml")


def test_evaluate_action_predicts_step_without_advancing(shannon_cfg) -> None:
    env = EdgeMoEEnv(shannon_cfg)
    env.reset(seed=5)
    env.step(np.array([1, 1, 1]))
    guesses = {a: env.evaluate_action(np.array(a))[0] for a in [(0, 0, 0), (1, 2, 3), (3, 3, 3)]}
    _, reward, _, _, _ = env.step(np.array([1, 2, 3]))
    assert reward == pytest.approx(guesses[(1, 2, 3)])
    env.close()


def test_configuration_reference_is_current() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "config_reference.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_default_config_loads() -> None:
    from pathlib import Path

    from pybridge.config import load_config

    root = Path(__file__).resolve().parent.parent
    cfg = load_config(root / "configs" / "default.yaml")
    assert cfg.backend == "ns3" and cfg.scenario.num_experts == 3
    argv = cfg.scenario.argv(rng_run=5)
    assert "--RngRun=5" in argv and "--numExperts=3" in argv
    assert any(a.startswith("--nodes=0,0,1|random-walk|distance=5,speed=1;") for a in argv)
