"""Several users (issue 16): the shared-parameter SAC, the per-user baselines, the
references by forked tries, and compare/sweep on multi-user experiments (Shannon)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import pybridge
from agents.baselines import RoundRobinPolicy
from agents.compare import compare
from agents.experiment import ExperimentError, load_experiment
from agents.multi import (
    MULTI_BASELINES,
    CoordinateDescentPolicy,
    ExhaustiveJointPolicy,
    SharedSACPolicy,
    UserView,
    default_methods,
    evaluate_multi,
    is_multi_user,
    per_user_baseline,
    team_value,
)
from agents.sac import DiscreteSAC
from agents.sweep import cell_baselines, cell_experiment, cells, sweep
from agents.train import train_seeds
from agents.train_multi import train_multi, user_states
from pybridge.bridge import BridgeError
from pybridge.env import EdgeMoEEnv
from pybridge.parallel import EdgeMoEParallelEnv
from tests.conftest import experts_near, multi_user_env, ns3_built, synthetic_frame


@pytest.fixture
def table22(tmp_path):
    """4 prompts, K = 2 subtasks, 2 writers."""
    path = tmp_path / "table22.parquet"
    synthetic_frame(4, 2, 2).to_parquet(path)
    return path


def _env(table, users: int = 2, experts: int = 2, serving: bool = False, tasks: int = 8) -> dict:
    return multi_user_env(table, users=users, experts=experts, serving=serving,
                          episode_tasks=tasks)  # fmt: skip


def _exp(table, train: dict | None = None, **env) -> object:
    # 2 x M = 4 updates per round with M = 2 users (updates per transition as one user)
    sac = {"learning_starts": 64, "batch_size": 64, "updates_per_step": 2, "hidden": 64}
    return load_experiment(
        {
            "env": _env(table, **env),
            "train": {
                "num_envs": 2,
                "eval_every": 100,
                "eval_episodes": 1,
                "sac": sac,
                **(train or {}),
            },
        }  # fmt: skip
    )


def test_shared_sac_learns_two_users(table22, tmp_path) -> None:
    """One agent for both users beats random by a margin after 6 short epochs; scored
    on training-stream episodes (seeds the run's evaluation never uses)."""
    exp = _exp(table22, {"epochs": 6, "seed": 3})
    res = train_multi(exp, tmp_path / "sac", progress=False)
    assert (tmp_path / "sac" / "checkpoint.pt").exists()
    # every round put M = 2 transitions per env into the one buffer
    assert res.epochs["env_steps"].iloc[-1] == 6 * 2 * 2 * 8
    env = pybridge.parallel_env(config=exp.env)
    seeds = train_seeds(3, 6, 3)  # the epochs after the run's last: training episodes
    sac = evaluate_multi(env, SharedSACPolicy(res.agent), seeds)["reward"]
    rnd = evaluate_multi(env, per_user_baseline("random", 2), seeds)["reward"]
    env.close()
    assert sac > rnd + 1.0, (sac, rnd)


def _without_times(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in ("wall_s", "rounds_per_s") if c in frame])


def test_train_multi_resumes_from_its_checkpoint_exactly(table22, tmp_path) -> None:
    """A run stopped after epoch 2 and run again to 3 in the same directory continues from
    its checkpoint (not afresh over it) and ends where an unbroken 3-epoch run ends."""
    train = {"epochs": 3, "seed": 1, "eval_every": 1, "checkpoint_every": 1}
    whole = train_multi(_exp(table22, train, tasks=4), tmp_path / "whole", progress=False)
    first = train_multi(_exp(table22, {**train, "epochs": 2}, tasks=4), tmp_path / "cut",
                        progress=False)  # fmt: skip
    assert first.resumed_from == 0
    again = train_multi(_exp(table22, train, tasks=4), tmp_path / "cut", progress=False)
    assert again.resumed_from == 2
    pd.testing.assert_frame_equal(_without_times(again.epochs), _without_times(whole.epochs))
    pd.testing.assert_frame_equal(_without_times(again.evals), _without_times(whole.evals))
    other = _exp(table22, {**train, "seed": 2}, tasks=4)
    with pytest.raises(ExperimentError, match="checkpoint of another experiment"):
        train_multi(other, tmp_path / "cut", progress=False)


def test_train_multi_survives_a_dying_scenario(table22, tmp_path, monkeypatch) -> None:
    """A BridgeError mid-epoch (ns-3 died) ends that epoch, as in the single-user loop:
    the row says why and the next epoch runs on fresh envs."""
    step, calls = EdgeMoEParallelEnv.step, {"n": 0}

    def dying(self, actions):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise BridgeError("scenario process exited with code -9")
        return step(self, actions)

    monkeypatch.setattr(EdgeMoEParallelEnv, "step", dying)
    res = train_multi(_exp(table22, {"epochs": 2}, tasks=4), tmp_path, progress=False)
    assert res.epochs["scenario_died"].tolist() == ["scenario process exited with code -9", ""]
    # the 3rd env step died: the first round (2 envs x 2 users) counts, then a whole epoch
    assert res.epochs["train_reward"].notna().all()
    assert res.epochs["env_steps"].tolist() == [4, 4 + 2 * 2 * 4]


def test_central_critic_trains_on_the_state_deterministically(table22, tmp_path) -> None:
    """train.sac.critic: central on M = 2, N = 3: the critics read the env's state()
    (its length, from the acting user's side), the actor its own observation; a second
    run from the seed, stopped after epoch 2 and resumed from its checkpoint (which holds
    the states in replay and their statistics), gives the same rows and weights; local
    critics give other values."""
    train = {"epochs": 3, "seed": 5, "eval_every": 3}
    sac = {
        **_exp(table22).train.sac.model_dump(exclude_unset=True),
        "learning_starts": 16,
        "batch_size": 16,
    }
    exp = _exp(table22, {**train, "sac": {**sac, "critic": "central"}}, experts=3, tasks=4)
    env = pybridge.parallel_env(config=exp.env)
    state_dim, obs_dim = env.state_space.shape[0], env.obs_layout.size
    env.reset(seed=0)
    env.step({a: np.array([1, 2]) for a in env.possible_agents})
    rows, state = user_states(env), env.state()
    env.close()
    assert state_dim == 2 * obs_dim + 2 * 3 + 2 * 3
    np.testing.assert_array_equal(rows[0], state)  # user 0: the state as it is
    d = obs_dim  # user 1: its observation and distances first, then user 0's
    np.testing.assert_array_equal(rows[1][:d], state[d : 2 * d])
    np.testing.assert_array_equal(rows[1][d : 2 * d], state[:d])
    np.testing.assert_array_equal(rows[1][2 * d : 2 * d + 3], state[2 * d + 3 : 2 * d + 6])
    np.testing.assert_array_equal(rows[1][-6:], state[-6:])  # the experts' queues

    one = train_multi(exp, tmp_path / "one", progress=False)
    # the same seed again, stopped after epoch 2 (learning already) and resumed
    train_multi(exp.with_train(epochs=2), tmp_path / "two", progress=False)
    two = train_multi(exp, tmp_path / "two", progress=False)
    assert two.resumed_from == 2
    agent = one.agent
    assert agent.q1.net[0].in_features == state_dim and agent.q2.net[0].in_features == state_dim
    assert agent.actor.net[0].in_features == obs_dim
    assert one.epochs["qf_loss"].notna().any()  # it learned
    pd.testing.assert_frame_equal(_without_times(one.epochs), _without_times(two.epochs))
    last = two.evals.iloc[[-1]].reset_index(drop=True)  # (the cut run also evaluated at 2)
    pd.testing.assert_frame_equal(_without_times(one.evals), _without_times(last))
    for key, value in one.agent.q1.state_dict().items():
        assert torch.equal(value, two.agent.q1.state_dict()[key]), key
    local = train_multi(_exp(table22, {**train, "sac": sac}, experts=3, tasks=4),
                        tmp_path / "local", progress=False)  # fmt: skip
    assert not local.epochs["qf_loss"].equals(one.epochs["qf_loss"])


def test_central_critic_needs_several_users(table_path, tmp_path) -> None:
    """One user's run has no global state: critic: central is one line."""
    from agents.train import train

    exp = load_experiment({"env": {"backend": "shannon", "tasks": {"table": str(table_path)}},
                           "train": {"epochs": 1, "sac": {"critic": "central"}}})  # fmt: skip
    with pytest.raises(ExperimentError, match="critic: 'central' needs several users") as err:
        train(exp, tmp_path, progress=False)
    assert "\n" not in str(err.value)


def test_train_multi_refuses_what_it_does_not_run(table22, tmp_path) -> None:
    for train, message in [
        ({"vector": "async"}, "train.vector: async envs"),
        ({"pretrain_backend": "shannon"}, "train.pretrain_backend"),
    ]:
        with pytest.raises(ExperimentError, match=message) as err:
            train_multi(_exp(table22, train), tmp_path, progress=False)
        assert "\n" not in str(err.value)


def test_train_multi_updates_per_transition_as_one_user(table22, tmp_path, monkeypatch) -> None:
    """updates_per_step counts per M users of a round: M = 2 users, 2 envs, 4 rounds, 4
    transitions a round; learning from the 2nd round (8 transitions): 3 rounds x 2 x 1."""
    update, count = DiscreteSAC.update, {"n": 0}

    def counted(self, batch):  # type: ignore[no-untyped-def]
        count["n"] += 1
        return update(self, batch)

    monkeypatch.setattr(DiscreteSAC, "update", counted)
    sac = {"learning_starts": 8, "batch_size": 8, "updates_per_step": 1, "hidden": 16}
    train_multi(_exp(table22, {"epochs": 1, "sac": sac}, tasks=4), tmp_path, progress=False)
    assert count["n"] == 3 * 2 * 1


def test_upper_bound_is_the_exhaustive_search_only(table22, tmp_path) -> None:
    """Past compare.oracle_candidates, upper-bound is one line pointing to
    coordinate-descent (never coordinate descent under the bound's name); the default
    methods take whichever reference runs."""
    exp = _exp(table22)  # M = 2, N = 2, K = 2: 81 joint actions
    too_big = exp.with_compare(methods=["random", "upper-bound"], oracle_candidates=80)
    with pytest.raises(ExperimentError, match="81 joint actions > .*use coordinate-descent"):
        compare(too_big, tmp_path, progress=False)
    assert default_methods(exp.with_compare(oracle_candidates=81))[-1] == "upper-bound"
    assert default_methods(exp.with_compare(oracle_candidates=80))[-1] == "coordinate-descent"


def test_per_user_baselines_act_validly(table_path) -> None:
    env = pybridge.parallel_env(config=_env(table_path, users=3, experts=4, tasks=3))
    obs, _ = env.reset(seed=1)
    for name in MULTI_BASELINES:
        policy = per_user_baseline(name, 3, seed=0)
        actions = policy.act(env, obs)
        assert set(actions) == set(env.agents)
        for agent, a in actions.items():
            assert env.action_space(agent).contains(np.asarray(a, dtype=np.int64)), (name, a)
    # each user acts from its own prompt: quality-greedy reads that user's table row
    qg = per_user_baseline("quality-greedy", 3).act(env, obs)
    for u, agent in enumerate(env.possible_agents):
        best = env.table.score[int(env.current_prompts[u])].argmax(axis=-1)
        assert np.array_equal(qg[agent], best)
    # random users draw from their own streams; round-robin users start apart
    rnd = per_user_baseline("random", 3, seed=0)
    draws = [p.rng.integers(0, 1000, 5).tolist() for p in rnd.policies]
    assert draws[0] != draws[1]
    rr = per_user_baseline("round-robin", 3).act(env, obs)
    assert [int(rr[a][0]) for a in env.possible_agents] == [1, 2, 3]
    assert evaluate_multi(env, per_user_baseline("local", 3), [5])["tasks"] == 9.0
    env.close()


def test_round_robin_cycles_and_skips_unusable_experts(table_path) -> None:
    env = EdgeMoEEnv(
        {"backend": "shannon", "scenario": {"experts": experts_near(3)},
         "tasks": {"table": str(table_path)}}
    )  # fmt: skip
    obs, _ = env.reset(seed=0)
    rr = RoundRobinPolicy()
    seq = np.concatenate([rr.act(env, obs) for _ in range(3)]).tolist()
    assert seq == [1, 2, 3, 1, 2, 3, 1, 2, 3]
    # an expert the observation marks as not usable is skipped; none usable: local
    rr = RoundRobinPolicy(min_snr_db=1e9)
    assert rr.act(env, obs).tolist() == [0, 0, 0]
    env.close()


def test_coordinate_descent_reaches_the_exhaustive_optimum(table22) -> None:
    """M = 2, N = 2, K = 2: the exhaustive joint search tries all 81 joint actions; coordinate
    descent over users, from local-only, reaches the same sum of rewards in every round.
    A check on this one setting (fixed seeds, Shannon: deterministic), not a guarantee:
    coordinate descent stops at a joint action no single user can improve, which in
    general may fall short of the exhaustive optimum."""
    env = pybridge.parallel_env(config=_env(table22, tasks=3))
    obs, _ = env.reset(seed=11)
    while env.agents:
        ex = ExhaustiveJointPolicy(max_candidates=81)
        best = ex.act(env, obs)
        assert ex.evaluations == 81
        cd = CoordinateDescentPolicy(start="local")
        found = cd.act(env, obs)
        assert cd.evaluations < 81
        assert team_value(env, found) == pytest.approx(team_value(env, best), abs=1e-9)
        obs, *_ = env.step(best)
    with pytest.raises(ValueError, match="joint actions > 80"):
        env.reset(seed=0)
        ExhaustiveJointPolicy(max_candidates=80).act(env, obs)
    env.close()


def test_coordinate_descent_is_unchanged_by_the_memoised_tries(tmp_path) -> None:
    """M = 3, N = 4, K = 3 with the serving model (subtask-by-subtask tries, shared
    queues): coordinate descent's actions and rewards are exactly those measured before
    the Shannon backend memoised its servers' answers and users' reports (commit d045e88,
    the same episode); with both memos off the same; and the memos are used."""
    from pybridge.serving_model import ServeCache
    from pybridge.shannon_serving import ReportMemo

    path = tmp_path / "table43.parquet"
    synthetic_frame(4, 3, 2).to_parquet(path)
    before = [  # (actions per user, rewards per user) per round, at d045e88
        ([[2, 1, 1], [1, 2, 1], [1, 1, 2]],
         [5.370296998923847, 6.142975005880714, 6.228088783285054]),
        ([[2, 1, 2], [2, 1, 1], [1, 2, 1]],
         [6.442725755207419, 5.324259877658592, 6.127730095249354]),
        ([[2, 1, 2], [2, 1, 1], [2, 1, 1]],
         [6.442725755207419, 5.324259877658592, 5.318064644554118]),
    ]  # fmt: skip
    runs = []
    for memo in (True, False):
        env = pybridge.parallel_env(config=_env(path, users=3, experts=4, serving=True, tasks=3))
        obs, _ = env.reset(seed=7)
        if not memo:
            env.backend.serve_cache, env.backend.report_memo = ServeCache(0), ReportMemo(0)
        cd, rounds, infos = CoordinateDescentPolicy(), [], []
        while env.agents:
            a = cd.act(env, obs)
            obs, r, _, _, info = env.step(a)
            rounds.append(([a[x].tolist() for x in env.possible_agents],
                           [r[x] for x in env.possible_agents]))  # fmt: skip
            infos.append([np.nan_to_num(info[x]["completion_s"], nan=-1.0).tolist()
                          for x in env.possible_agents])  # fmt: skip
        runs.append((rounds, infos, cd.evaluations))
        if memo:
            assert env.backend.serve_cache.hits > env.backend.serve_cache.misses
            assert env.backend.report_memo.hits > 0
        env.close()
    assert runs[0][0] == before and runs[0][2] == 223
    assert runs[0] == runs[1]


def test_compare_on_a_multi_user_experiment_writes_the_files(table22, tmp_path) -> None:
    exp = _exp(table22, {"epochs": 1}, tasks=2).with_compare(
        seeds=2, workers=1,
        methods=["sac", "random", "round-robin", "upper-bound", "coordinate-descent"],
        oracle_candidates=81,
    )  # fmt: skip
    summary = compare(exp, tmp_path, progress=False)
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == 10 and "error" not in runs
    for col in ("p50_latency_s", "p95_latency_s", "replies_lost", "user_0_reward",
                "user_1_reward"):  # fmt: skip
        assert runs[col].notna().all(), col
        assert col in summary
    ub = runs[runs["method"] == "upper-bound"]
    assert ub["oracle_exhaustive"].all() and (ub["oracle_evaluations"] == 81 * 2).all()
    cd = runs[runs["method"] == "coordinate-descent"]
    assert not cd["oracle_exhaustive"].any()
    # the exhaustive joint search is the best of the methods on every seed
    best = runs.groupby("seed")["final_reward"].max()
    assert np.allclose(ub.set_index("seed")["final_reward"], best)
    ratio = summary.set_index("method")["final_vs_best_reference"]
    assert ratio["upper-bound"] == 1.0 and ratio["coordinate-descent"] <= 1.0
    for name in ("summary.csv", "curves.csv", "training.csv", "reward_vs_epoch.png"):
        assert (tmp_path / name).exists()


def test_methods_that_need_one_or_several_users_fail_in_one_line(table22, tmp_path) -> None:
    multi = _exp(table22).with_compare(methods=["table-oracle"])
    with pytest.raises(ExperimentError, match=r"\['table-oracle'\] need one user"):
        compare(multi, tmp_path, progress=False)
    single = load_experiment({"env": {"backend": "shannon", "tasks": {"table": str(table22)}}})
    assert not is_multi_user(single.env) and is_multi_user(multi.env)
    with pytest.raises(ExperimentError, match="need several users"):
        compare(single.with_compare(methods=["coordinate-descent"]), tmp_path, progress=False)


def test_sweep_over_users_and_experts(table22, tmp_path) -> None:
    exp = load_experiment(
        {
            "env": _env(table22, users=1, tasks=2),
            "train": {
                "epochs": 1,
                "num_envs": 1,
                "eval_episodes": 1,
                "sac": {"learning_starts": 1000},
            },
            "sweep": {
                "seeds": [0],
                "users": [1, 2],
                "experts": [2],
                "baselines": ["round-robin", "least-loaded"],
                "max_users": {"least-loaded": 1},
            },  # not in the 2-user cell
        }  # fmt: skip
    )
    assert [c.scenario for c in cells(exp)] == ["default-m1-n2", "default-m2-n2"]
    table = sweep(exp, tmp_path, workers=1, progress=False)
    assert sorted(zip(table["users"], table["method"], strict=True)) == [
        (1, "least-loaded"), (1, "round-robin"), (1, "sac"),
        (2, "round-robin"), (2, "sac")]  # fmt: skip
    assert table.loc[table["method"] == "sac", "train_rounds_per_s"].gt(0).all()
    assert (tmp_path / "vs_users_n2.png").exists() and (tmp_path / "rounds_per_s.png").exists()
    bad = {"env": _env(table22), "sweep": {"baselines": ["round-robin"], "max_users": {"local": 1}}}
    with pytest.raises(ExperimentError, match=r"sweep.*max_users: \['local'\] not in baselines"):
        load_experiment(bad)


def test_the_vs_users_experiment_evaluates_coordinate_descent_up_to_two_users() -> None:
    from pybridge.paths import REPO_ROOT

    exp = load_experiment(REPO_ROOT / "configs" / "experiment_multi_user_vs_users.yaml")
    grid = cells(exp)
    assert len(grid) == 5 * 3  # M in {16, 8, 4, 2, 1} x 3 seeds
    for cell in grid:
        cexp = cell_experiment(exp, cell)
        m = len(cexp.env_config().scenario.user_nodes)
        assert cexp.env_config().scenario.num_experts == 8 and cell.scenario == f"default-m{m}"
        assert ("coordinate-descent" in cell_baselines(cexp)) == (m <= 2)
        assert len(cell_baselines(cexp)) == (7 if m <= 2 else 6)


def test_user_view_is_the_users_prompt(table_path) -> None:
    env = pybridge.parallel_env(config=_env(table_path, users=3, experts=3, tasks=2))
    env.reset(seed=4)
    assert [UserView(env, u).current_prompt for u in range(3)] == list(env.current_prompts)
    env.close()


@pytest.mark.slow
@pytest.mark.skipif(not ns3_built(), reason="edge-moe is not built")
def test_compare_on_a_multi_user_ns3_experiment(table22, tmp_path) -> None:
    """The same pipeline on ns-3: shared SAC trains on real rounds of two users, the
    coordinate descent forks whole rounds of the scenario."""
    env = _env(table22, tasks=2) | {"backend": "ns3"}
    exp = load_experiment(
        {
            "env": env,
            "train": {
                "epochs": 1,
                "num_envs": 1,
                "eval_episodes": 1,
                "sac": {"learning_starts": 1000},
            },
            "compare": {
                "seeds": 1,
                "workers": 1,
                "methods": ["sac", "round-robin", "coordinate-descent"],
            },
        }  # fmt: skip
    )
    compare(exp, tmp_path, progress=False)
    runs = pd.read_csv(tmp_path / "runs.csv").set_index("method")
    assert "error" not in runs and len(runs) == 3
    assert runs["p95_latency_s"].gt(0).all() and runs["user_1_reward"].notna().all()
    # per round: the start, then each user's 8 other actions (9 <= 16: all of them)
    assert runs.loc["coordinate-descent", "oracle_evaluations"] >= 2 * (1 + 2 * 8)
