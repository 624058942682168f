"""Discrete SAC maths on hand-worked numbers, the replay buffer, baselines and bounds,
and a Stable-Baselines3 PPO run to show any Gymnasium agent works."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from agents.baselines import (
    GreedySNRPolicy,
    LocalOnlyPolicy,
    QualityGreedyPolicy,
    RandomPolicy,
    UpperBoundPolicy,
    make_baseline,
    run_episode,
)
from agents.buffers import ReplayBuffer
from agents.sac import (
    DiscreteSAC,
    SACConfig,
    actor_loss,
    alpha_loss,
    critic_loss,
    critic_target,
    joint_q,
    soft_state_value,
    target_entropy,
)
from pybridge.env import EdgeMoEEnv


@pytest.fixture
def env(table_path):
    e = EdgeMoEEnv({"backend": "shannon", "tasks": {"table": str(table_path), "episode_tasks": 4}})
    yield e
    e.close()


# -- SAC maths -----------------------------------------------------------------------


def test_critic_target_hand_worked() -> None:
    # one head, two devices; target critics q1' = [1, 3], q2' = [2, 2]; pi(.|s') = [.25, .75]
    q1 = torch.tensor([[[1.0, 3.0]]])
    q2 = torch.tensor([[[2.0, 2.0]]])
    probs = torch.tensor([[[0.25, 0.75]]])
    v = soft_state_value(q1, q2, probs, probs.log(), alpha=0.5)
    # V = .25 (min(1,2) - .5 ln .25) + .75 (min(3,2) - .5 ln .75)
    #   = .25 (1 + 0.693147) + .75 (2 + 0.143841) = 0.423287 + 1.607881 = 2.031168
    assert v.item() == pytest.approx(2.031168, abs=1e-5)
    y = critic_target(torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0]), 0.5, v.repeat(2))
    # y = r + gamma (1 - done) V = 1 + .5 * 2.031168; a terminal next state gives just r
    assert y.tolist() == pytest.approx([2.015584, 1.0], abs=1e-5)


def test_state_value_sums_over_heads() -> None:
    q = torch.tensor([[[1.0, 3.0], [0.0, 0.0]]])  # second head: zero values, uniform policy
    probs = torch.tensor([[[0.25, 0.75], [0.5, 0.5]]])
    v = soft_state_value(q, q, probs, probs.log(), alpha=0.5)
    head1 = 0.25 * (1 + 0.5 * math.log(4)) + 0.75 * (3 - 0.5 * math.log(0.75))
    head2 = 0.5 * math.log(2)  # alpha times the entropy ln 2
    assert v.item() == pytest.approx(head1 + head2, abs=1e-5)


def test_joint_q_and_critic_loss_hand_worked() -> None:
    q = torch.tensor([[[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]])
    actions = torch.tensor([[2, 0]])
    assert joint_q(q, actions).item() == 13.0  # q[0, 2] + q[1, 0]
    loss = critic_loss(q, q + 1.0, actions, torch.tensor([12.0]))
    assert loss.item() == pytest.approx(1.0**2 + 3.0**2)  # (13-12)^2 + (15-12)^2


def test_actor_loss_moves_probability_to_the_better_device() -> None:
    logits = torch.zeros(1, 1, 2, requires_grad=True)
    q = torch.tensor([[[0.0, 1.0]]])
    probs = torch.softmax(logits, -1)
    actor_loss(probs, torch.log_softmax(logits, -1), q, q, alpha=0.1).backward()
    assert logits.grad[0, 0, 1] < 0 < logits.grad[0, 0, 0]  # descent raises device 1


def test_alpha_loss_direction_and_target_entropy() -> None:
    assert target_entropy(3, 4, 0.5) == pytest.approx(0.5 * 3 * math.log(4))
    uniform = torch.full((1, 1, 4), 0.25)
    for tgt, sign in ((0.1, 1), (2.0, -1)):  # entropy ln 4 = 1.386 above / below target
        log_alpha = torch.tensor(0.0, requires_grad=True)
        alpha_loss(log_alpha, uniform, uniform.log(), tgt).backward()
        assert np.sign(log_alpha.grad.item()) == sign  # above target: descent lowers alpha


def test_sac_config_rejects_unknown_and_mistyped() -> None:
    assert SACConfig.from_dict({"gamma": 0}).gamma == 0.0
    with pytest.raises(ValueError, match="sac: gama: Extra inputs"):
        SACConfig.from_dict({"gama": 0.9})
    with pytest.raises(ValueError, match="sac: batch_size: Input should be a valid integer"):
        SACConfig.from_dict({"batch_size": "big"})


def test_sac_learns_a_contextual_bandit() -> None:
    # 2 heads, 3 devices; the best device of head k is (context + k) % 3
    rng = np.random.default_rng(0)
    cfg = SACConfig(hidden=32, batch_size=64, q_lr=3e-3, policy_lr=3e-3, gamma=0.0)
    agent = DiscreteSAC(obs_dim=3, heads=2, choices=3, config=cfg, seed=0)
    buf = ReplayBuffer(2000, 3, 2)
    ctx = rng.integers(0, 3, 2000)
    obs = np.eye(3, dtype=np.float32)[ctx]
    acts = rng.integers(0, 3, (2000, 2))
    best = np.stack([(ctx + k) % 3 for k in range(2)], 1)
    rew = (acts == best).sum(1).astype(np.float32)
    buf.add(obs, acts, rew, obs, np.zeros(2000, np.float32))
    for _ in range(400):
        agent.update(buf.sample(64, rng))
    greedy = agent.act(np.eye(3, dtype=np.float32), deterministic=True)
    assert greedy.tolist() == [[0, 1], [1, 2], [2, 0]]


def _non_additive_bandit(head: str) -> tuple[float, float]:
    """Two subtasks x 3 devices, 2 contexts. Context c's table: every pair pays 0.6 except
    the pairs that use device d_c = 2c % 3 in one entry only (0.1) and (d_c, d_c) (1.0).
    Fitted additively on uniform data, device d_c looks worse (row mean 0.40 vs 0.43), so
    a factored critic prefers a 0.6 pair; only a joint critic finds (d_c, d_c).
    Returns (mean reward of the greedy action, best possible)."""
    rng = np.random.default_rng(0)

    def table(c: int) -> np.ndarray:
        d = 2 * c % 3
        t = np.full((3, 3), 0.6)
        t[d, :] = t[:, d] = 0.1
        t[d, d] = 1.0
        return t

    n = 3000
    ctx = rng.integers(0, 2, n)
    obs = np.eye(2, dtype=np.float32)[ctx]
    acts = rng.integers(0, 3, (n, 2))
    rew = np.array([table(c)[a0, a1] for c, (a0, a1) in zip(ctx, acts, strict=True)], np.float32)
    cfg = SACConfig(hidden=32, batch_size=64, q_lr=3e-3, policy_lr=3e-3, gamma=0.0,
                    action_head=head, obs_norm=False)  # fmt: skip
    agent = DiscreteSAC(obs_dim=2, heads=2, choices=3, config=cfg, seed=0)
    assert agent.joint == (head == "joint")
    buf = ReplayBuffer(n, 2, 2)
    buf.add(obs, acts, rew, obs, np.zeros(n, np.float32))
    for _ in range(600):
        agent.update(buf.sample(64, rng))
    greedy = agent.act(np.eye(2, dtype=np.float32), deterministic=True)
    return float(np.mean([table(c)[a0, a1] for c, (a0, a1) in enumerate(greedy)])), 1.0


def test_joint_head_learns_a_non_additive_bandit_the_factored_head_cannot() -> None:
    joint, best = _non_additive_bandit("joint")
    factored, _ = _non_additive_bandit("factored")
    assert joint == best  # (d_c, d_c) in both contexts
    assert factored <= 0.6  # the additive fit settles on a 0.6 pair


def test_joint_action_encoding_and_auto_choice() -> None:
    agent = DiscreteSAC(5, 3, 4, SACConfig(hidden=8))  # auto: 4^3 = 64 <= 256 -> joint
    assert agent.joint and (agent.groups, agent.group_choices) == (1, 64)
    every = torch.tensor(list(itertools.product(range(4), repeat=3)))
    index = agent.encode(every)
    assert index.squeeze(-1).tolist() == list(range(64))  # itertools.product order
    assert torch.equal(agent.decode(index), every)
    assert not DiscreteSAC(5, 5, 4, SACConfig(hidden=8)).joint  # 4^5 = 1024 > 256
    assert not DiscreteSAC(5, 3, 4, SACConfig(hidden=8, action_head="factored")).joint
    with pytest.raises(ValueError, match="action_head"):
        SACConfig.from_dict({"action_head": "both"})


@pytest.mark.parametrize("head", ["joint", "factored"])
def test_unreachable_experts_are_never_chosen(head) -> None:
    from pybridge.observation import ObservationLayout

    associated = ObservationLayout(num_experts=3, num_subtasks=3).associated
    cfg = SACConfig(hidden=8, action_head=head, batch_size=8)
    agent = DiscreteSAC(30, 3, 4, cfg, seed=0, reachable=associated)
    obs = np.zeros((300, 30), np.float32)
    obs[:, 9:12] = 1.0  # entries 9..11: experts 1..3 associated
    obs[:100, 9] = 0.0  # expert 1 unreachable
    obs[100:200, 9:12] = 0.0  # none reachable
    acts = agent.act(obs)
    assert not (acts[:100] == 1).any() and (acts[100:200] == 0).all()
    assert (acts[200:] == 1).any()  # reachable again: expert 1 is drawn
    # the masked choices have probability 0, also inside the losses (no NaN)
    buf = ReplayBuffer(300, 30, 3)
    buf.add(obs, acts, np.ones(300, np.float32), obs, np.zeros(300, np.float32))
    metrics = agent.update(buf.sample(8, np.random.default_rng(0)))
    assert all(np.isfinite(v) for v in metrics.values())
    off = DiscreteSAC(30, 3, 4, SACConfig(hidden=8, mask_unreachable=False), seed=0,
                      reachable=associated)  # fmt: skip
    assert (off.act(obs[100:200]) > 0).any()  # without the mask they are drawn


def test_experts_heard_below_the_mask_snr_are_never_chosen() -> None:
    from functools import partial

    import torch

    from pybridge.observation import ObservationLayout

    usable = ObservationLayout(num_experts=3, num_subtasks=3).usable
    obs = np.zeros((200, 30), np.float32)
    obs[:, 9:12] = 1.0  # all associated
    obs[:, 0:3] = 20.0 / 40.0  # all heard at 20 dB ...
    obs[:100, 1] = 14.0 / 40.0  # ... but expert 2 at 14 dB in the first half
    ok = usable(obs, min_snr_db=15.0)
    assert ok.tolist() == [[True, False, True]] * 100 + [[True, True, True]] * 100
    assert (usable(torch.as_tensor(obs), 15.0).numpy() == ok).all()
    assert usable(obs).all()  # default threshold -inf: association alone
    cfg = SACConfig(hidden=8, batch_size=8)
    assert cfg.mask_min_snr_db == 15.0
    agent = DiscreteSAC(30, 3, 4, cfg, seed=0,
                        reachable=partial(usable, min_snr_db=15.0))  # fmt: skip
    acts = agent.act(obs)
    assert not (acts[:100] == 2).any() and (acts[100:] == 2).any()


def test_experts_heard_too_long_ago_are_never_chosen() -> None:
    from functools import partial

    from pybridge.observation import AGE_SCALE_S, ObservationLayout

    layout = ObservationLayout(num_experts=3, num_subtasks=3)
    obs = np.zeros((200, 30), np.float32)
    obs[:, layout.associated_slice] = 1.0
    obs[:, layout.snr] = 20.0 / 40.0  # all heard at 20 dB ...
    obs[:, layout.age] = 0.02 / AGE_SCALE_S  # ... just now (a probe's answer) ...
    obs[:100, layout.age.start + 2] = 2.5 / AGE_SCALE_S  # ... but expert 3 2.5 s ago
    assert np.allclose(layout.age_s(obs[0]), [0.02, 0.02, 2.5])
    ok = layout.usable(obs, 15.0, max_age_s=0.5)
    assert ok.tolist() == [[True, True, False]] * 100 + [[True, True, True]] * 100
    assert layout.usable(obs, 15.0).all()  # no age limit by default
    assert SACConfig().mask_max_age_s is None
    cfg = SACConfig(hidden=8, batch_size=8, mask_max_age_s=0.5)
    reachable = partial(layout.usable, min_snr_db=15.0, max_age_s=0.5)
    agent = DiscreteSAC(30, 3, 4, cfg, seed=0, reachable=reachable)
    acts = agent.act(obs)
    assert not (acts[:100] == 3).any() and (acts[100:] == 3).any()


def test_observation_normaliser_standardises() -> None:
    agent = DiscreteSAC(2, 1, 2, SACConfig(hidden=8))
    x = np.random.default_rng(0).normal([5.0, 0.5], [2.0, 0.03], size=(4000, 2))
    for chunk in np.split(x.astype(np.float32), 8):  # batch-wise, as the training loop does
        agent.observe(chunk)
    z = agent.normalize(x).numpy()
    assert np.allclose(z.mean(0), 0, atol=1e-3) and np.allclose(z.std(0), 1, atol=1e-3)


def test_agent_state_round_trip() -> None:
    a = DiscreteSAC(4, 2, 3, SACConfig(hidden=8), seed=1)
    b = DiscreteSAC(4, 2, 3, SACConfig(hidden=8), seed=2)
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    assert (a.act(x) == b.act(x)).all()  # same weights and same sampling generator


def test_update_gives_the_weights_of_pytorchs_per_tensor_loop() -> None:
    """The update steps every tensor at once (foreach Adam, one Polyak call for both
    critics) to save time; the weights must be bit for bit those of the per-tensor loop,
    so that results do not move."""
    cfg = SACConfig(hidden=16, batch_size=32)
    fast, ref = DiscreteSAC(6, 3, 4, cfg, seed=0), DiscreteSAC(6, 3, 4, cfg, seed=0)
    critics = [*ref.q1.parameters(), *ref.q2.parameters()]
    ref.q_opt = torch.optim.Adam(critics, cfg.q_lr, foreach=False)
    ref.actor_opt = torch.optim.Adam(ref.actor.parameters(), cfg.policy_lr, foreach=False)
    ref.alpha_opt = torch.optim.Adam([ref.log_alpha], cfg.alpha_lr, foreach=False)
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(500, 6, 3)
    obs = rng.normal(size=(500, 6)).astype(np.float32)
    buf.add(obs, rng.integers(0, 4, (500, 3)), rng.normal(size=500).astype(np.float32),
            np.roll(obs, 1, axis=0), np.zeros(500, np.float32))  # fmt: skip
    fast.observe(obs)
    ref.observe(obs)
    for _ in range(30):
        batch = buf.sample(32, rng)
        targets = [p.detach().clone() for p in [*fast.q1_target.parameters(),
                                                 *fast.q2_target.parameters()]]  # fmt: skip
        fast.update(batch)
        ref.update(batch)
        online = [*fast.q1.parameters(), *fast.q2.parameters()]
        polyak = [t.mul_(1.0 - cfg.tau).add_(p.detach(), alpha=cfg.tau)
                  for t, p in zip(targets, online, strict=True)]  # fmt: skip
        after = [*fast.q1_target.parameters(), *fast.q2_target.parameters()]
        assert all(torch.equal(x, y) for x, y in zip(polyak, after, strict=True))
    for name in ("actor", "q1", "q2", "q1_target", "q2_target"):
        a, b = getattr(fast, name).state_dict(), getattr(ref, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert torch.equal(fast.log_alpha, ref.log_alpha)
    assert fast.update(buf.sample(32, rng))["losses/qf_loss"] > 0  # it did learn something


def test_training_vector_env_steps_as_gymnasiums_and_keeps_the_infos_it_reads(
    table_path,
) -> None:
    """``make_vector_env`` batches only the infos the training loop reads (faster);
    observations, rewards and flags are gymnasium's own."""
    import gymnasium as gym

    import pybridge
    from agents.experiment import load_experiment
    from agents.rollout import TRAINING_INFO, make_vector_env

    env = {"backend": "shannon", "tasks": {"table": str(table_path), "episode_tasks": 4}}
    exp = load_experiment({"env": env, "train": {"pretrain_backend": "shannon",
                                                 "pretrain_num_envs": 3}})  # fmt: skip
    ours = make_vector_env(exp, pretrain=True)
    theirs = gym.make_vec(pybridge.ENV_ID, num_envs=3, vectorization_mode="sync",
                          vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.DISABLED},
                          config=exp.env)  # fmt: skip
    try:
        a, _ = ours.reset(seed=[1, 2, 3])
        b, _ = theirs.reset(seed=[1, 2, 3])
        assert np.array_equal(a, b)
        actions = np.random.default_rng(0).integers(0, 4, (4, 3, 3))
        for act in actions:
            *mine, info = ours.step(act)
            *ref, ref_info = theirs.step(act)
            assert all(np.array_equal(x, y) for x, y in zip(mine, ref, strict=True))
            assert set(info) == {*TRAINING_INFO, *(f"_{k}" for k in TRAINING_INFO)}
            for k in TRAINING_INFO:
                assert np.array_equal(info[k], ref_info[k])
    finally:
        ours.close()
        theirs.close()


def _step_async_envs(exp) -> tuple[int, ...]:
    from agents.rollout import make_vector_env

    envs = make_vector_env(exp)
    try:
        obs, _ = envs.reset(seed=[1, 2])
        envs.step(np.zeros((2, 3), dtype=np.int64))
        return obs.shape
    finally:
        envs.close()


def test_async_vector_env_starts_from_a_spawned_process(table_path) -> None:
    """A compare job runs in a spawned process, whose env workers are spawned too: they
    must make the env without the registry of the process that asked for them."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from agents.experiment import load_experiment

    env = {"backend": "shannon", "tasks": {"table": str(table_path), "episode_tasks": 4}}
    exp = load_experiment({"env": env, "train": {"num_envs": 2, "vector": "async"}})
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        assert pool.submit(_step_async_envs, exp).result(timeout=120)[0] == 2


# -- replay buffer -------------------------------------------------------------------


def test_replay_buffer_wraps_and_round_trips() -> None:
    buf = ReplayBuffer(3, 2, 1)
    for i in range(4):
        buf.add(np.full((1, 2), i), np.array([[i]]), np.array([i]), np.full((1, 2), i + 1),
                np.array([0.0]))  # fmt: skip
    assert len(buf) == 3 and buf.full
    assert sorted(buf.rewards.tolist()) == [1.0, 2.0, 3.0]  # the oldest (0) was overwritten
    sample = buf.sample(8, np.random.default_rng(0))
    assert sample.obs.shape == (8, 2) and sample.actions.dtype == np.int64
    assert (sample.next_obs[:, 0] == sample.obs[:, 0] + 1).all()
    other = ReplayBuffer(3, 2, 1)
    other.load_state_dict(buf.state_dict())
    assert (other.obs == buf.obs).all() and other.pos == buf.pos
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(5, 2, 1).load_state_dict(buf.state_dict())


# -- baselines and the bound -----------------------------------------------------------


def test_simple_baselines_follow_their_rules(env) -> None:
    obs, _ = env.reset(seed=0)
    assert (LocalOnlyPolicy().act(env, obs) == 0).all()
    p = env.current_prompt
    assert QualityGreedyPolicy().act(env, obs).tolist() == env.table.score[p].argmax(-1).tolist()
    snr = obs[:3] * 40.0
    assert (GreedySNRPolicy().act(env, obs) == int(np.argmax(snr)) + 1).all()
    blind = obs.copy()
    blind[9:12] = 0.0  # nobody associated: run everything locally
    assert (GreedySNRPolicy().act(env, blind) == 0).all()
    a = RandomPolicy(seed=3).act(env, obs)
    assert env.action_space.contains(a)
    with pytest.raises(ValueError, match="unknown baseline"):
        make_baseline("oracle")


def test_upper_bound_is_best_of_all_candidates(env) -> None:
    obs, _ = env.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        ub = UpperBoundPolicy(prune=False)
        best = ub.act(env, obs)
        assert ub.exhaustive and ub.evaluations == 4**3
        best_r = env.evaluate_action(best)[0]
        for a in rng.integers(0, 4, (10, 3)):
            assert env.evaluate_action(a)[0] <= best_r + 1e-9
        obs, r, *_ = env.step(best)
        assert r == pytest.approx(best_r)  # evaluate_action predicted the step exactly


def test_branch_and_bound_finds_the_exhaustive_optimum_with_fewer_simulations(env) -> None:
    obs, _ = env.reset(seed=5)
    saved = 0
    for _ in range(4):
        full, pruned = UpperBoundPolicy(prune=False), UpperBoundPolicy()
        a_full, a_pruned = full.act(env, obs), pruned.act(env, obs)
        assert env.evaluate_action(a_pruned)[0] == pytest.approx(env.evaluate_action(a_full)[0])
        saved += full.evaluations - pruned.evaluations
        obs = env.step(a_pruned)[0]
    assert saved > 0


def test_coordinate_search_when_the_action_space_is_large(env) -> None:
    env.reset(seed=1)
    ub = UpperBoundPolicy(max_candidates=10)
    obs = env.reset(seed=1)[0]
    a = ub.act(env, obs)
    assert ub.exhaustive is False and ub.evaluations < 4**3
    exact = UpperBoundPolicy().act(env, obs)
    assert env.evaluate_action(a)[0] <= env.evaluate_action(exact)[0] + 1e-9


def test_table_oracle_maximises_the_free_network_reward(env) -> None:
    from agents.baselines import TableOraclePolicy, free_network_reward

    obs, _ = env.reset(seed=3)
    oracle = TableOraclePolicy()
    for _ in range(3):
        a = tuple(oracle.act(env, obs).tolist())
        every = itertools.product(range(env.num_experts + 1), repeat=env.num_subtasks)
        values = [free_network_reward(env, c) for c in every]
        assert free_network_reward(env, a) == max(values)
        # on a free network it is exactly the env's reward with every reply delivered
        task = env.build_task(np.array(a))
        delivered = {
            "subtask_delivered": (np.array(a) > 0).astype(np.uint32),
            "subtask_delay_s": task.compute_s,
            "energy_j": np.zeros(env.num_experts),
        }
        assert free_network_reward(env, a) == pytest.approx(env.price(task, delivered)[0])
        obs, *_ = env.step(np.array(a))


def test_masked_table_oracle_keeps_to_the_usable_experts(env) -> None:
    from agents.baselines import MaskedTableOraclePolicy, TableOraclePolicy

    obs, _ = env.reset(seed=3)
    checked = 0
    for _ in range(3):
        full = TableOraclePolicy().act(env, obs)
        checked += int((full > 0).any())
        assert (MaskedTableOraclePolicy(min_snr_db=-np.inf).act(env, obs) == full).all()
        deaf = obs.copy()
        deaf[full[full > 0][:1] - 1] = 0.0  # the first expert the oracle uses: heard at 0 dB
        masked = MaskedTableOraclePolicy(min_snr_db=15.0).act(env, deaf)
        allowed = np.concatenate([[True], env.obs_layout.usable(deaf, 15.0)])
        assert allowed[masked].all()
        assert (
            make_baseline("table-oracle-masked", min_snr_db=15.0).act(env, deaf) == masked
        ).all()
        obs, *_ = env.step(full)


def test_masked_upper_bound_is_the_best_action_within_the_mask(env) -> None:
    from agents.baselines import MaskedUpperBoundPolicy

    obs, _ = env.reset(seed=3)
    for _ in range(3):
        full = UpperBoundPolicy().act(env, obs)
        # no mask: the upper bound itself
        assert env.evaluate_action(MaskedUpperBoundPolicy(min_snr_db=-np.inf).act(env, obs))[
            0
        ] == pytest.approx(env.evaluate_action(full)[0])
        deaf = obs.copy()
        deaf[:3] = 0.0  # every expert heard at 0 dB: nothing passes a 15 dB mask
        ub = make_baseline("upper-bound-masked", min_snr_db=15.0)
        assert (ub.act(env, deaf) == 0).all() and ub.exhaustive and ub.evaluations == 1
        if (full > 0).any():
            # the first expert the bound uses heard at 0 dB: the best action without it
            e = int(full[full > 0][0])
            deaf = obs.copy()
            deaf[e - 1] = 0.0
            ub = MaskedUpperBoundPolicy(min_snr_db=15.0, prune=False)
            masked = ub.act(env, deaf)
            allowed = np.concatenate([[True], env.obs_layout.usable(deaf, 15.0)])
            assert allowed[masked].all() and e not in masked
            assert ub.evaluations == int(allowed.sum()) ** 3
            best = max(
                env.evaluate_action(np.array(a))[0]
                for a in itertools.product(np.flatnonzero(allowed), repeat=3)
            )
            assert env.evaluate_action(masked)[0] == pytest.approx(best)
        obs, *_ = env.step(full)


def test_upper_bound_beats_every_baseline_on_average(env) -> None:
    scores = {
        name: np.mean(
            [run_episode(env, make_baseline(name, seed=0), s)["reward"] for s in range(3)]
        )
        for name in ("random", "local", "greedy-snr", "quality-greedy", "upper-bound")
    }
    assert max(scores, key=scores.get) == "upper-bound"


# -- any Gymnasium agent ----------------------------------------------------------------


def test_stable_baselines3_ppo_runs_on_the_env(table_path) -> None:
    sb3 = pytest.importorskip("stable_baselines3")
    import gymnasium as gym

    import pybridge

    cfg = {"backend": "shannon", "tasks": {"table": str(table_path), "episode_tasks": 8}}
    env = gym.make(pybridge.ENV_ID, config=cfg)
    model = sb3.PPO("MlpPolicy", env, n_steps=32, batch_size=16, n_epochs=1, seed=0,
                    policy_kwargs={"net_arch": [16]}, device="cpu")  # fmt: skip
    model.learn(total_timesteps=64)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action)
    _, reward, *_ = env.step(action)
    assert np.isfinite(reward)
    env.close()


def test_every_job_makes_baselines_with_the_experiments_settings(table_path) -> None:
    # compare, cross-model and sweep all go through agents.run: the sweep's baselines
    # get the oracle's candidates and SAC's mask too (they once lost them)
    from agents.experiment import load_experiment
    from agents.run import policy_for

    exp = load_experiment({
        "env": {"backend": "shannon", "tasks": {"table": str(table_path)},
                "observation": {"snr_change": True}},
        "train": {"sac": {"mask_min_snr_db": 7.0, "mask_max_age_s": 0.3,
                          "mask_max_fall_db": 2.0, "mask_fall_below_db": 20.0}},
        "compare": {"oracle_candidates": 9},
    })  # fmt: skip
    assert policy_for(exp, "upper-bound", 0).max_candidates == 9
    limits = {"min_snr_db": 7.0, "max_age_s": 0.3, "max_fall_db": 2.0, "fall_below_db": 20.0}
    assert policy_for(exp, "table-oracle-masked", 0).limits == limits
    masked_bound = policy_for(exp, "upper-bound-masked", 0)
    assert (masked_bound.limits, masked_bound.max_candidates) == (limits, 9)
    with pytest.raises(ValueError, match="trained agent"):
        policy_for(exp, "sac", 0)


def test_masked_references_leave_out_an_expert_heard_too_long_ago(table_path) -> None:
    from agents.baselines import MaskedTableOraclePolicy, MaskedUpperBoundPolicy, usable_devices
    from pybridge.env import EdgeMoEEnv
    from pybridge.observation import AGE_SCALE_S

    env = EdgeMoEEnv({"backend": "shannon", "tasks": {"table": str(table_path)}})
    obs, _ = env.reset(seed=0)
    layout = env.obs_layout
    obs[layout.associated_slice] = 1.0
    obs[layout.age] = [2.5 / AGE_SCALE_S, 0.0, 0.0]  # expert 1 last heard 2.5 s ago
    assert usable_devices(env, obs, min_snr_db=-np.inf) == [0, 1, 2, 3]
    assert usable_devices(env, obs, min_snr_db=-np.inf, max_age_s=0.5) == [0, 2, 3]
    oracle = MaskedTableOraclePolicy(min_snr_db=-np.inf, max_age_s=0.5)
    bound = MaskedUpperBoundPolicy(min_snr_db=-np.inf, max_age_s=0.5, max_candidates=64)
    assert 1 not in oracle.act(env, obs) and 1 not in bound.act(env, obs)
    assert bound.evaluations <= 27  # only the 3^3 actions without expert 1 were candidates
    env.close()


def test_heartbeat_experiment_is_the_default_with_heartbeats() -> None:
    """configs/experiment_heartbeat.yaml is the default recipe but for the observation, the
    Shannon overhead fitted for it and the age mask: nothing else drifts apart."""
    from agents.experiment import load_experiment
    from pybridge.paths import REPO_ROOT

    default = load_experiment(REPO_ROOT / "configs" / "experiment_default.yaml").to_dict()
    beat = load_experiment(REPO_ROOT / "configs" / "experiment_heartbeat.yaml").to_dict()
    assert beat["env"]["scenario"].pop("observe") == "heartbeat"
    assert default["env"]["scenario"].pop("observe") == "probe"
    for key in ("link_energy_j", "exchange_energy_j", "link_power_w"):
        assert beat["env"]["shannon"].pop(key) != default["env"]["shannon"].pop(key)
    assert default["train"]["sac"].pop("mask_max_age_s") == 0.5
    assert beat["train"]["sac"].pop("mask_max_age_s", None) is None  # (as written)
    assert beat == default


def test_ns3_only_experiment_is_the_default_without_pretraining() -> None:
    """configs/experiment_ns3_only.yaml trains the default SAC on the default env with no
    Shannon pretraining (2,400 ns-3 tasks instead): the env (but for the Shannon overhead,
    which only pretraining reads), the SAC settings, seeds and evaluation stay the default's."""
    from agents.experiment import load_experiment
    from pybridge.paths import REPO_ROOT

    default = load_experiment(REPO_ROOT / "configs" / "experiment_default.yaml").to_dict()
    only = load_experiment(REPO_ROOT / "configs" / "experiment_ns3_only.yaml").to_dict()
    assert default["train"].pop("pretrain_backend") == "shannon"
    assert only["train"].pop("pretrain_backend") == ""
    assert only["train"].pop("pretrain_epochs") == 0 < default["train"].pop("pretrain_epochs")
    for key in ("pretrain_num_envs", "pretrain_keep_buffer"):
        default["train"].pop(key), only["train"].pop(key)
    assert only["train"].pop("epochs") == 60 and default["train"].pop("epochs") == 10
    for key in ("eval_every", "checkpoint_every"):
        assert only["train"].pop(key) == 10 and default["train"].pop(key) == 5
    only["env"].pop("shannon", None), default["env"].pop("shannon", None)
    assert set(only["compare"].pop("methods")) < set(default["compare"].pop("methods"))
    only.pop("sweep"), default.pop("sweep")  # the default's grid; this file runs none
    assert only == default


def test_load_env_reads_an_env_config_or_an_experiment_files_env() -> None:
    from agents.experiment import load_env
    from pybridge.paths import REPO_ROOT

    plain = load_env(REPO_ROOT / "configs" / "default.yaml")
    beat = load_env(REPO_ROOT / "configs" / "experiment_heartbeat.yaml")
    assert plain.scenario.observe == "probe" and beat.scenario.observe == "heartbeat"
    # the experiment's env is its env_base with its own env over it, and nothing else
    assert beat.shannon.link_energy_j == 9.85e-4 != plain.shannon.link_energy_j
    assert beat.model_copy(update={"scenario": plain.scenario, "shannon": plain.shannon}) == plain
