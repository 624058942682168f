"""``tasks.subtasks_per_task``: tasks of K subtasks composed from consecutive table prompts.

K = the table's split (3) is today's env exactly; other K compose a task from the subtasks
of ceil(K / 3) prompts, its quality the subtask-weighted sum of theirs (docs/environment.md,
"Subtasks per task"). K = 8 runs on both backends (ns-3: a real, short episode).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pybridge
from netmoe_table import DEFAULT_TABLE, resolve_path
from pybridge.config import ConfigError
from pybridge.env import EdgeMoEEnv
from pybridge.tasks import QualityTable
from tests.conftest import experts_near, same_nested, synthetic_frame

try:
    from pybridge.scenario_check import ScenarioNotBuiltError, program_path

    program_path("edge-moe")
    HAVE_NS3 = True
except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
    HAVE_NS3 = False
needs_ns3 = pytest.mark.skipif(not HAVE_NS3, reason="edge-moe is not built")


def _cfg(table_path, k: int | None, experts: int = 3, backend: str = "shannon") -> dict:
    tasks = {"table": str(table_path), "episode_tasks": 6, "gap_s": 0.5}
    if k is not None:
        tasks["subtasks_per_task"] = k
    return {
        "backend": backend,
        "scenario": {"experts": experts_near(experts), "warmup_s": 0.5},
        "tasks": tasks,
    }


def _rollout(env: EdgeMoEEnv, seed: int) -> list:
    rng = np.random.default_rng(7)
    out: list = [env.reset(seed=seed)]
    truncated = False
    while not truncated:
        step = env.step(rng.integers(0, env.num_experts + 1, env.num_subtasks))
        truncated = step[3]
        out.append(step)
    return out


def test_k_equal_to_the_table_split_is_todays_env(table_path) -> None:
    table = QualityTable.load(table_path)
    assert table.compose(3) is table
    today, explicit = EdgeMoEEnv(_cfg(table_path, None)), EdgeMoEEnv(_cfg(table_path, 3))
    assert today.observation_space == explicit.observation_space
    a, b = _rollout(today, 4), _rollout(explicit, 4)
    assert len(a) == 7 and same_nested(a, b)  # observations, rewards and infos
    assert len({step[1] for step in a[1:]}) > 1
    today.close()
    explicit.close()


def test_composed_rows_and_quality_by_hand() -> None:
    table = QualityTable.load(resolve_path(DEFAULT_TABLE))  # every fused answer judged
    last = table.num_prompts - 1
    eight = table.compose(8)  # prompts p, p+1, p+2; the last cut to its subtasks 0 and 1
    assert eight.num_prompts == table.num_prompts and eight.num_subtasks == 8
    ids = table.prompt_ids
    assert eight.prompt_ids[last] == f"{ids[last]}+{ids[0]}+{ids[1]}"  # wraps around
    for name in ("words", "bytes", "score", "route", "completion_tokens", "prompt_tokens"):
        a, b = getattr(table, name), getattr(eight, name)
        if a is None:
            assert b is None
            continue
        np.testing.assert_array_equal(b[last], np.concatenate([a[last], a[0], a[1, :2]]))
    np.testing.assert_array_equal(
        eight.subtask_bytes[1], np.concatenate([table.subtask_bytes[p] for p in (1, 2, 3)])[:8]
    )
    # two whole prompts: the fused scores (in the table) of each, added up
    a, b, c = (1, 2, 3), (0, 3, 3), (2, 0)
    want = (
        table.fused[(last, a)]
        + table.fused[(0, b)]
        + 2 / 3 * float(np.mean([table.score[1, 0, 2], table.score[1, 1, 0]]))
    )
    assert eight.quality(last, a + b + c) == pytest.approx(want, abs=1e-12)
    six = table.compose(6)
    assert six.quality(2, a + b) == pytest.approx(table.quality(2, a) + table.quality(3, b))
    # laid out by device: devices 1..4 run writers 3, 3, 1, 2
    devices = eight.for_devices(np.array([3, 3, 1, 2]))
    assert devices.quality(0, (1, 4, 2, 0, 0, 3, 2, 4)) == pytest.approx(
        eight.quality(0, (3, 2, 3, 0, 0, 1, 3, 2)), abs=1e-12
    )


def test_k8_episode_on_shannon_with_32_experts(tmp_path) -> None:
    path = tmp_path / "t.parquet"
    synthetic_frame(6, 3, 3).to_parquet(path)
    env = EdgeMoEEnv(_cfg(path, 8, experts=32))
    assert env.action_space == gym.spaces.MultiDiscrete([33] * 8)
    assert env.observation_space.shape == (4 * 32 + 2 * 8 + 8 * 33,)
    steps = _rollout(env, 1)
    assert len(steps) == 7
    for obs, reward, _, _, info in steps[1:]:
        assert env.observation_space.contains(obs) and np.isfinite(reward)
        assert len(info["effective_assignment"]) == 8 and info["prompt_id"].count("+") == 2
    env.close()


@needs_ns3
@pytest.mark.ns3
def test_k8_short_episode_on_ns3(tmp_path) -> None:
    path = tmp_path / "t.parquet"
    synthetic_frame(6, 3, 3).to_parquet(path)
    cfg = _cfg(path, 8, experts=4, backend="ns3")
    cfg["tasks"]["episode_tasks"] = 2
    env = EdgeMoEEnv(cfg)
    env.reset(seed=3)
    action = np.array([1, 2, 3, 4, 0, 1, 2, 0])
    _, reward, _, _, info = env.step(action)
    assert np.isfinite(reward) and info["assignment"] == tuple(action)
    assert info["transfer_s"].shape == (8,) and info["bytes_delivered"].min() > 0
    assert info["replies_lost"] == 0
    _, _, _, truncated, _ = env.step(np.array([4] * 8))
    assert truncated
    env.close()


def test_k8_parallel_env_two_users(tmp_path) -> None:
    path = tmp_path / "t.parquet"
    synthetic_frame(6, 3, 3).to_parquet(path)
    cfg = _cfg(path, 8, experts=8)
    cfg["scenario"]["num_users"] = 2
    env = pybridge.parallel_env(config=cfg)
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step({a: np.arange(8) for a in env.agents})
    assert len(rewards) == 2 and all(len(i["transfer_s"]) == 8 for i in infos.values())
    env.close()


@pytest.mark.parametrize(
    "k, message",
    [
        (0, r"tasks\.subtasks_per_task"),
        (17, r"tasks\.subtasks_per_task: 17 subtasks; the bridge carries at most 16"),
        (13, r"tasks\.subtasks_per_task: 13 subtasks per task need 5 prompts .* has 4"),
    ],
)
def test_bad_k_is_one_line(table_path, k, message) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        EdgeMoEEnv(_cfg(table_path, k))
    assert "\n" not in str(err.value)


def test_exhaustive_search_counts_the_composed_subtasks(table_path) -> None:
    from agents.experiment import load_experiment
    from agents.multi import joint_actions

    cfg = _cfg(table_path, 8, experts=2)
    cfg["scenario"]["num_users"] = 2
    assert joint_actions(load_experiment({"env": cfg})) == 3 ** (2 * 8)
