"""Several user devices: the PettingZoo ParallelEnv, the joint wrapper and the Shannon
round API (the ns-3 round API's own tests are in the scenario's test files)."""

from __future__ import annotations

import pickle
from functools import partial

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test
from pettingzoo.utils.env import ParallelEnv
from report_checks import assert_try_measures_the_step

import pybridge
from pybridge.backends import Task
from pybridge.config import ConfigError, load_config
from pybridge.env import EdgeMoEEnv
from pybridge.paths import ScenarioNotBuiltError, program_path
from pybridge.shannon import ShannonBackend
from tests.conftest import experts_near, multi_user_env, same_nested

try:
    program_path("edge-moe")
    HAVE_NS3 = True
except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
    HAVE_NS3 = False
needs_ns3 = pytest.mark.skipif(not HAVE_NS3, reason="edge-moe is not built")


# three users, four experts, serving on, 4 rounds unless a test says otherwise
_cfg = partial(multi_user_env, users=3, experts=4, serving=True, episode_tasks=4)


def _rollout(env: ParallelEnv, seed: int, actions_seed: int = 0) -> list:
    rng = np.random.default_rng(actions_seed)
    out = [env.reset(seed=seed)]
    while env.agents:
        acts = {a: rng.integers(0, env.num_experts + 1, env.num_subtasks) for a in env.agents}
        out.append(env.step(acts))
        out.append(env.state())
    return out


# -- the PettingZoo contract -----------------------------------------------------------


def test_passes_pettingzoo_parallel_api_test(table_path) -> None:
    env = pybridge.parallel_env(config=_cfg(table_path))
    assert env.possible_agents == ["user_0", "user_1", "user_2"]
    parallel_api_test(env, num_cycles=10)
    env.close()
    env.close()


def test_passes_pettingzoo_seed_test(table_path) -> None:
    parallel_seed_test(lambda: pybridge.parallel_env(config=_cfg(table_path)), num_cycles=10)


def test_same_seed_same_rollout_other_seed_differs(table_path) -> None:
    env = pybridge.parallel_env(config=_cfg(table_path))
    first, again = _rollout(env, 7), _rollout(env, 7)
    other = _rollout(env, 8)
    env.close()
    assert same_nested(first, again)
    assert not same_nested(first, other)


def test_spaces_state_and_infos(table_path) -> None:
    env = pybridge.parallel_env(config=_cfg(table_path, users=2, experts=8))
    obs, infos = env.reset(seed=3)
    layout = env.obs_layout
    assert env.action_space("user_1").nvec.tolist() == [9, 9, 9]
    assert obs["user_1"].shape == (layout.size,)
    assert env.state().shape == env.state_space.shape == (2 * layout.size + 2 * 8 + 2 * 8,)
    assert env.state_space.contains(env.state())
    offsets = [infos[a]["start_offset_s"] for a in env.agents]
    assert all(0 <= o <= 1.0 for o in offsets) and offsets[0] != offsets[1]
    _, rewards, _, _, infos = env.step({"user_0": [1, 2, 0], "user_1": [8, 8, 8]})
    assert set(rewards) == {"user_0", "user_1"}
    assert infos["user_1"]["assignment"] == (8, 8, 8)
    assert infos["user_1"]["snr_db"].shape == (8,)
    # the state carries each user's distances and the experts' queue over the round
    n, size = 8, layout.size
    distances = env.state()[2 * size : 2 * size + 2 * n].reshape(2, n)
    assert np.all(distances > 0) and not np.allclose(distances[0], distances[1])
    queue_max = env.state()[2 * size + 2 * n + n :] * 10
    assert queue_max[7] == 3 and queue_max[0] == 1  # user 1's three subtasks at expert 8
    env.close()


# -- one user: the same numbers as EdgeMoEEnv ------------------------------------------


@pytest.mark.parametrize("serving", [False, True])
def test_one_user_equals_the_gymnasium_env_shannon(table_path, serving) -> None:
    cfg = _cfg(table_path, users=1, experts=3, serving=serving, episode_tasks=6)
    # random arrival offsets a user within a round: EdgeMoEEnv has no rounds and refuses
    # it (one config, one episode); with every task at its round's start the two agree
    with pytest.raises(ConfigError, match="tasks.arrival.mode: random.*parallel_env"):
        EdgeMoEEnv(cfg)
    cfg["tasks"]["arrival"]["mode"] = "simultaneous"
    _one_user_equal(cfg)


def _one_user_equal(cfg: dict) -> None:
    single, multi = EdgeMoEEnv(cfg), pybridge.parallel_env(config=cfg)
    rng = np.random.default_rng(4)
    obs, info = single.reset(seed=11)
    pobs, pinfo = multi.reset(seed=11)
    assert np.array_equal(obs, pobs["user_0"])
    assert info == {k: v for k, v in pinfo["user_0"].items() if k != "start_offset_s"}
    for t in range(cfg["tasks"]["episode_tasks"]):
        action = rng.integers(0, 4, 3)
        if t == 1:
            guess = single.evaluate_action(action)
            pguess = multi.evaluate_actions({"user_0": action})
            assert guess[0] == pguess[0]["user_0"]
        obs, reward, _, truncated, info = single.step(action)
        pobs, prewards, _, ptrunc, pinfos = multi.step({"user_0": action})
        assert reward == prewards["user_0"]
        assert np.array_equal(obs, pobs["user_0"]) and truncated == ptrunc["user_0"]
        assert pinfos["user_0"].pop("start_offset_s") == 0.0
        assert same_nested(info, pinfos["user_0"])
    single.close()
    multi.close()


@needs_ns3
@pytest.mark.ns3
def test_one_user_equals_the_gymnasium_env_ns3(table_path) -> None:
    cfg = _cfg(table_path, users=1, experts=3, serving=False, episode_tasks=3, gap_s=0.5)
    cfg["backend"] = "ns3"
    cfg["scenario"]["warmup_s"] = 0.5
    cfg["tasks"]["arrival"]["mode"] = "simultaneous"
    _one_user_equal(cfg)


@needs_ns3
@pytest.mark.ns3
def test_four_users_on_ns3(table_path) -> None:
    cfg = _cfg(table_path, users=4, experts=3, serving=True)
    cfg["backend"] = "ns3"
    env = pybridge.parallel_env(config=cfg)
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step({a: np.array([1, 1, 0]) for a in env.agents})
    assert len(rewards) == 4 and all(np.isfinite(r) for r in rewards.values())
    assert max(max(i["queue_wait_s"][:2]) for i in infos.values()) > 0  # one shared queue
    env.close()


@needs_ns3
@pytest.mark.ns3
def test_eight_devices_on_a_three_writer_table_ns3(table_path) -> None:
    cfg = {
        "backend": "ns3",
        "scenario": {"experts": experts_near(8), "warmup_s": 0.5},
        "tasks": {"table": str(table_path), "episode_tasks": 2, "gap_s": 0.5},
    }
    env = EdgeMoEEnv(cfg)
    env.reset(seed=1)
    _, reward, _, _, info = env.step(np.array([8, 5, 0]))
    assert info["bytes_delivered"][[4, 7]].min() > 0 and info["bytes_delivered"][:4].sum() == 0
    assert info["snr_db"].shape == (8,) and np.isfinite(reward)
    env.close()


# -- bad input is one line -------------------------------------------------------------


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"scenario": {"users": [{}], "user": {"position": [1, 0, 1]}}}, "or users, not both"),
        ({"scenario": {"users": [{}], "num_users": 2}}, "users or num_users, not both"),
        ({"scenario": {"num_users": 0}}, "scenario.num_users"),
        ({"tasks": {"arrival": {"mode": "later"}}}, "tasks.arrival.mode"),
        ({"tasks": {"arrival": {"max_offset_s": -1}}}, "tasks.arrival.max_offset_s"),
        ({"tasks": {"expert_writers": [1, 2, 9, 1]}}, "tasks.expert_writers: writer 9"),
    ],
)
def test_bad_config_is_one_line(table_path, patch, message) -> None:
    cfg = _cfg(table_path)
    for section, values in patch.items():
        cfg[section] = {**cfg[section], **values}
    if "users" in patch.get("scenario", {}) and "num_users" not in patch["scenario"]:
        del cfg["scenario"]["num_users"]
    with pytest.raises(ConfigError, match=message) as err:
        pybridge.parallel_env(config=cfg)
    assert "\n" not in str(err.value)


def test_bad_actions_name_the_agent_and_leave_the_env_usable(table_path) -> None:
    env = pybridge.parallel_env(config=_cfg(table_path, users=2))
    env.reset(seed=0)
    good = {"user_0": [0, 1, 2], "user_1": [1, 1, 1]}
    for actions, message in [
        ({**good, "user_1": [1, 5, 0]}, r"user_1: action entries must be in 0\.\.4"),
        ({**good, "user_0": [1, 1]}, r"user_0: action must have shape \(3,\)"),
        ({"user_0": [0, 0, 0]}, "no action for user_1"),
        ({**good, "user_7": [0, 0, 0]}, "unknown agents"),
    ]:
        with pytest.raises(ValueError, match=message) as err:
            env.step(actions)
        assert "\n" not in str(err.value)
    env.step(good)
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()


def test_gymnasium_env_refuses_several_users(table_path) -> None:
    with pytest.raises(ConfigError, match="3 user devices; EdgeMoEEnv drives one"):
        EdgeMoEEnv(_cfg(table_path))


# -- the Shannon round: no contention on the channel, shared expert queues ----------------


def _task(target: list[int], offset: float = 0.0) -> Task:
    k = len(target)
    t = np.array(target)
    return Task(
        0, t, np.full(k, 800), np.full(k, 3000), np.full(k, 1.0), 10.0, 0.5,
        prompt_tokens=np.full(k, 200, dtype=np.uint32), reply_tokens=np.full(k, 150, np.uint32),
        fusion_prompt_tokens=0, fusion_reply_tokens=0, start_offset_s=offset,
    )  # fmt: skip


def test_shannon_users_do_not_contend_for_the_channel(table_path) -> None:
    """Without serving, each user's task in a round is exactly its task alone."""
    cfg = load_config(_cfg(table_path, users=3, serving=False))
    together = ShannonBackend(cfg, 3)
    together.start_round(5)
    round_ = together.run_round([_task([1, 2, 0]), _task([1, 1, 3], 0.4), _task([4, 0, 0])])
    for u in range(3):
        alone = load_config(
            {**_cfg(table_path, users=1, serving=False), "scenario": {
                "user": {"position": list(cfg.scenario.user_nodes[u].position)},
                "experts": experts_near(4)}}
        )  # fmt: skip
        b = ShannonBackend(alone, 3)
        b.start(5)
        r = b.run_task(_task([[1, 2, 0], [1, 1, 3], [4, 0, 0]][u]))
        np.testing.assert_array_equal(round_[u]["subtask_delay_s"], r["subtask_delay_s"])
        np.testing.assert_array_equal(round_[u]["energy_j"], r["energy_j"])
    assert float(round_[1]["task_start_s"]) == pytest.approx(float(round_[0]["task_start_s"]) + 0.4)


def test_shannon_users_share_the_experts_queues(table_path) -> None:
    """Four users send both of their subtasks to expert 1 at once: one server (slots and
    FIFO shared), so later users wait longer than the first, and the ground truth sees
    eight requests in the system."""
    cfg = load_config(_cfg(table_path, users=4, serving=True))
    b = ShannonBackend(cfg, 2)
    b.start_round(1)
    reports = b.run_round([_task([1, 1]) for _ in range(4)])
    waits = [float(np.nanmax(r["queue_wait_s"])) for r in reports]
    assert waits[0] < waits[3] and waits[3] > 1.0
    assert reports[0]["expert_queue_len_max"][0] == 8
    assert reports[0]["expert_queue_len_mean"][0] > 1 and reports[0]["expert_queue_len_max"][1] == 0
    # the same in every user's report; a lone user waits for nothing
    assert np.array_equal(reports[2]["expert_queue_len_mean"], reports[0]["expert_queue_len_mean"])
    b.start_round(1)
    reports = b.run_round([_task([1, 1]), *(_task([0, 0]) for _ in range(3))])
    assert float(np.nanmax(reports[0]["queue_wait_s"])) < waits[3]


def _backend_state(b: ShannonBackend) -> dict:
    """Everything the Shannon backend holds: arrays, numbers, RNG states, and the bytes
    of any other object (config, link, nodes). The memo caches are left out: a try may
    fill them, but they map inputs to the answers those inputs always give (pinned by
    test_coordinate_descent_is_unchanged_by_the_memoised_tries)."""
    out = {}
    for name, value in vars(b).items():
        if name in ("serve_cache", "report_memo"):
            continue
        if isinstance(value, np.random.Generator):
            out[name] = value.bit_generator.state
        elif isinstance(value, np.ndarray):
            out[name] = value.copy()
        elif isinstance(value, (int, float, bool, str, type(None))):
            out[name] = value
        else:
            out[name] = pickle.dumps(value)
    return out


def _same_measurements(tried: list, ran: list, gap_s: float) -> None:
    """A try measures what the run does; it observes at the round's end, the run after
    the gap (``NEXT_OBSERVATION_FIELDS``)."""
    for t, r in zip(tried, ran, strict=True):
        assert_try_measures_the_step(t, r)
        assert float(t["sim_time_s"]) + gap_s == pytest.approx(float(r["sim_time_s"]))


def test_shannon_try_round_changes_nothing(table_path) -> None:
    """A try leaves the backend's whole state as it was (queues and queue reports, last
    goodput, RNG, positions and headings, time), before and after a run; the run after
    a try reports what the try did."""
    raw = _cfg(table_path, users=2, serving=True)
    raw["scenario"]["user"] = {"mobility": "random-walk"}
    cfg = load_config(raw)
    b = ShannonBackend(cfg, 3)
    b.start_round(2)
    tasks = [_task([1, 2, 0]), _task([2, 2, 2], 0.3)]
    before = _backend_state(b)
    tried = b.try_round(tasks)
    assert same_nested(_backend_state(b), before)
    ran = b.run_round(tasks)
    _same_measurements(tried, ran, tasks[0].next_gap_s)
    after = _backend_state(b)
    assert not same_nested(after, before)  # a run does move the state on
    again = [_task([3, 1, 1]), _task([0, 2, 4], 0.1)]
    tried = b.try_round(again)
    assert same_nested(_backend_state(b), after)
    _same_measurements(tried, b.run_round(again), again[0].next_gap_s)
    with pytest.raises(ValueError, match="needs 2 tasks"):
        b.run_round(tasks[:1])
    with pytest.raises(ValueError, match="use the round API"):
        b.run_task(tasks[0])


#: Shannon: what another user's action may change in a user's observation. serving: the
#: experts' shared queues (the reply's timing, so its goodput, and the queue reports);
#: the round lasts as long as its longest task, which sets when the next round starts
#: (the reports' ages) and, when nodes move, where they are (SNR, goodput, association)
COUPLED = {
    (False, "constant"): (),
    (True, "constant"): ("goodput", "queue", "queue_age"),
    (True, "random-walk"): ("snr", "goodput", "age", "associated_slice", "queue", "queue_age"),
}


@pytest.mark.parametrize("serving, mobility", list(COUPLED))
def test_shannon_observation_depends_on_others_only_through_the_couplings(
    table_path, serving, mobility
) -> None:
    cfg = _cfg(table_path, users=2, experts=3, serving=serving)
    cfg["scenario"]["user"] = {"mobility": mobility}
    slices = ("snr", "goodput", "age", "associated_slice", "request", "expected_words",
              "routing", "queue", "queue_age")  # fmt: skip
    seen = []
    for other in ([0, 0, 0], [1, 1, 1], [2, 3, 1], [3, 3, 3]):
        env = pybridge.parallel_env(config=cfg)
        env.reset(seed=3)
        rounds = [env.step({"user_0": mine, "user_1": other})[0]["user_0"]
                  for mine in ([1, 2, 0], [1, 1, 0], [3, 0, 2])]  # fmt: skip
        seen.append(np.stack(rounds))
        env.close()
    layout, coupled, changed = env.obs_layout, COUPLED[(serving, mobility)], set()
    for obs in seen[1:]:
        for name in slices:
            if not np.array_equal(obs[:, getattr(layout, name)], seen[0][:, getattr(layout, name)]):
                changed.add(name)
    assert changed <= set(coupled), changed
    assert changed or not coupled  # where the couplings exist, this setting shows them


# -- one controller for every user (Gymnasium, SB3) ---------------------------------------


def test_joint_env_passes_sb3_check_env_and_sums_rewards(table_path) -> None:
    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env as gym_check_env

    check_env = pytest.importorskip("stable_baselines3.common.env_checker").check_env

    cfg = _cfg(table_path, users=2, experts=3)
    env = gym.make(pybridge.JOINT_ENV_ID, config=cfg)
    assert env.action_space == gym.spaces.MultiDiscrete([4] * 6)
    check_env(env.unwrapped)
    gym_check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=5)
    assert env.observation_space.contains(obs) and len(info["users"]) == 2
    action = np.array([1, 2, 0, 3, 3, 1])
    guess, _ = env.unwrapped.evaluate_action(action)
    obs, reward, _, _, info = env.step(action)
    assert reward == guess == pytest.approx(sum(info["rewards"]))
    assert info["users"][1]["assignment"] == (3, 3, 1)
    # the same round as the parallel env's
    par = pybridge.parallel_env(config=cfg)
    par.reset(seed=5)
    _, rewards, _, _, _ = par.step({"user_0": [1, 2, 0], "user_1": [3, 3, 1]})
    assert [rewards["user_0"], rewards["user_1"]] == info["rewards"]
    with pytest.raises(ValueError, match=r"shape \(6,\) \(users x subtasks\)"):
        env.step(np.zeros(3, dtype=int))
    env.close()
    par.close()


def test_rgb_array_frames_change_between_rounds(table_path) -> None:
    env = pybridge.parallel_env(config=_cfg(table_path, users=2), render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    env.step({"user_0": [1, 2, 0], "user_1": [3, 3, 4]})
    after = env.render()
    assert before.ndim == 3 and before.shape[2] == 3 and before.dtype == np.uint8
    assert after.shape == before.shape and (after != before).mean() > 0.01
    env.close()
    assert pybridge.parallel_env(config=_cfg(table_path)).render() is None
    with pytest.raises(ConfigError, match="render_mode 'human'"):
        pybridge.parallel_env(config=_cfg(table_path), render_mode="human")
