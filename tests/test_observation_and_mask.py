"""The observation's optional SNR change (``observation.snr_change``), which experts move
(``ObservationLayout.mobile``) and the SAC mask rules that read them (``sac.mask_*``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.sac_config import SACConfig
from pybridge.observation import AGE_SCALE_S, ObservationLayout

NAN = float("nan")
REPO = Path(__file__).resolve().parents[1]


def _report(snr: list[float], age: list[float]) -> dict[str, np.ndarray]:
    n = len(snr)
    return {
        "obs_snr_db": np.array(snr),
        "obs_goodput_mbps": np.zeros(n),
        "obs_age_s": np.array(age),
        "obs_associated": np.ones(n, dtype=np.uint8),
    }


def _encode(layout: ObservationLayout, report: dict, previous: dict | None) -> np.ndarray:
    n, k = layout.num_experts, layout.num_subtasks
    return layout.encode(report, np.full(k, 300.0), np.ones((k, n + 1)), np.zeros((k, n + 1)),
                         previous)  # fmt: skip


def test_the_change_is_now_minus_the_previous_decision_where_both_were_samples() -> None:
    plain = ObservationLayout(num_experts=4, num_subtasks=3)
    layout = ObservationLayout(num_experts=4, num_subtasks=3, snr_change=True)
    assert layout.size == plain.size + 4
    assert layout.snr_change_slice == slice(plain.size, layout.size)
    previous = _report([20.0, NAN, 30.0, 18.0], [0.1, NAN, AGE_SCALE_S, 0.0])
    now = _report([16.5, 25.0, 22.0, 21.0], [0.0, 0.0, 0.0, 3.0])
    obs = _encode(layout, now, previous)
    # expert 1 fell 3.5 dB; 2 was never heard before; 3's previous sample was 10 s old
    # (no sample either); 4's sample rose 3 dB (its age does not matter while under 10 s)
    assert np.allclose(layout.snr_change_db(obs), [-3.5, 0.0, 0.0, 3.0], atol=1e-5)
    assert np.allclose(layout.snr_change_db(_encode(layout, now, None)), 0.0)  # first decision
    # the features the two layouts share are the same numbers
    assert np.array_equal(obs[: plain.size], _encode(plain, now, previous))
    with pytest.raises(ValueError, match="observation.snr_change"):
        plain.snr_change_db(obs[: plain.size])


def test_the_mask_leaves_out_an_expert_falling_below_the_band_only() -> None:
    layout = ObservationLayout(num_experts=4, num_subtasks=3, snr_change=True)
    # heard at 16 dB after a 4 dB fall | 16 dB after a 2 dB fall | 20 dB after a 6 dB fall |
    # 16 dB, first heard (no change)
    previous = _report([20.0, 18.0, 26.0, NAN], [0.0] * 3 + [NAN])
    obs = _encode(layout, _report([16.0, 16.0, 20.0, 16.0], [0.0] * 4), previous)
    limits = {"min_snr_db": 15.0, "max_fall_db": 3.0, "fall_below_db": 18.0}
    assert layout.usable(obs, **limits).tolist() == [False, True, True, True]
    assert layout.usable(obs, 15.0).all()  # off unless asked
    batch = np.stack([obs, obs])
    assert layout.usable(batch, **limits).tolist() == [[False, True, True, True]] * 2
    plain = ObservationLayout(num_experts=4, num_subtasks=3)
    with pytest.raises(ValueError, match="observation.snr_change"):
        plain.usable(obs[: plain.size], **limits)


def test_sac_config_hands_the_fall_limits_to_every_mask() -> None:
    assert "max_fall_db" not in SACConfig().mask_limits()  # the default mask is unchanged
    limits = SACConfig(mask_max_fall_db=3.0).mask_limits()
    assert limits["max_fall_db"] == 3.0 and limits["fall_below_db"] == 18.0


@pytest.fixture
def shannon_cfg(table_path):
    """The default scenario (a walking user, a walking expert) on the Shannon backend."""
    from pybridge.config import read_yaml

    env = read_yaml(REPO / "configs" / "default.yaml")["env"]
    return {
        **env,
        "backend": "shannon",
        "observation": {"snr_change": True},
        "tasks": {**env["tasks"], "table": str(table_path), "episode_tasks": 6},
    }


def test_the_env_reports_each_decisions_change_from_the_one_before(shannon_cfg) -> None:
    from pybridge.env import EdgeMoEEnv

    env = EdgeMoEEnv(shannon_cfg)
    layout = env.obs_layout
    obs, _ = env.reset(seed=4)
    assert env.observation_space.shape == (layout.size,) and layout.snr_change
    assert np.all(layout.snr_change_db(obs) == 0.0)
    changes = []
    for _ in range(5):
        prev = obs
        obs, *_ = env.step(np.array([1, 2, 3]))
        assert env.observation_space.contains(obs)
        heard = (layout.age_s(prev) < AGE_SCALE_S) & (layout.snr_db(prev) > -20.0)
        expected = np.where(heard, layout.snr_db(obs) - layout.snr_db(prev), 0.0)
        assert np.allclose(layout.snr_change_db(obs), expected, atol=1e-4)
        changes.append(layout.snr_change_db(obs))
    assert np.any(np.abs(changes) > 0.1)  # the SNR does move in this scenario
    obs, _ = env.reset(seed=5)
    assert np.all(layout.snr_change_db(obs) == 0.0)  # a new episode has no previous decision
    env.close()


def test_each_user_of_the_several_user_env_sees_its_own_change(table_path) -> None:
    import pybridge
    from tests.conftest import multi_user_env

    cfg = multi_user_env(table_path, users=2, experts=3, serving=False, episode_tasks=3)
    walker = {"position": [0, 0, 1], "mobility": "random-walk",
              "params": {"speed": 3.0, "distance": 5}}  # fmt: skip
    cfg["scenario"]["user"] = walker  # every user walks on its own
    env = pybridge.parallel_env(config={**cfg, "observation": {"snr_change": True}})
    layout = env.obs_layout
    obs, _ = env.reset(seed=2)
    assert all(np.all(layout.snr_change_db(o) == 0.0) for o in obs.values())
    actions = {a: np.array([1, 2, 3]) for a in env.agents}
    new, *_ = env.step(actions)
    changes = []
    for agent in env.possible_agents:
        expected = layout.snr_db(new[agent]) - layout.snr_db(obs[agent])
        assert np.allclose(layout.snr_change_db(new[agent]), expected, atol=1e-4)
        changes.append(layout.snr_change_db(new[agent]))
    assert np.abs(changes).max() > 0.1  # the users moved ...
    assert not np.allclose(changes[0], changes[1])  # ... each its own way
    env.close()


def test_a_mask_on_a_change_the_env_does_not_observe_is_refused(table_path) -> None:
    from agents.train import make_agent
    from pybridge.env import EdgeMoEEnv

    env = EdgeMoEEnv({"backend": "shannon", "tasks": {"table": str(table_path)}})
    with pytest.raises(ValueError, match="observation.snr_change: true"):
        make_agent(env, SACConfig(hidden=8, mask_max_fall_db=3.0))
    env.close()


def test_the_masked_table_oracle_keeps_off_a_falling_expert(shannon_cfg) -> None:
    from agents.baselines import MaskedTableOraclePolicy, MaskedUpperBoundPolicy
    from pybridge.env import EdgeMoEEnv

    env = EdgeMoEEnv(shannon_cfg)
    layout = env.obs_layout
    obs, _ = env.reset(seed=0)
    obs[layout.associated_slice] = 1.0
    obs[layout.age] = 0.0
    obs[layout.snr] = 16.0 / 40.0  # every expert at 16 dB ...
    obs[layout.snr_change_slice] = [-4.0 / 40.0, 0.0, 0.0]  # ... expert 1 after a 4 dB fall
    limits = SACConfig(mask_max_fall_db=3.0).mask_limits()
    oracle = MaskedTableOraclePolicy(**limits)
    bound = MaskedUpperBoundPolicy(max_candidates=64, **limits)
    assert 1 not in oracle.act(env, obs) and 1 not in bound.act(env, obs)
    unmasked = MaskedTableOraclePolicy(**SACConfig().mask_limits())
    assert 1 in unmasked.act(env, obs)  # without the fall limit expert 1 is the oracle's pick
    env.close()


def test_a_moving_expert_needs_the_mobile_snr_the_static_ones_the_usual() -> None:
    import torch

    layout = ObservationLayout(num_experts=3, num_subtasks=3, mobile=(False, False, True))
    obs = _encode(layout, _report([16.0, 16.0, 16.0], [0.0] * 3), None)
    assert layout.usable(obs, 15.0, mobile_min_snr_db=18.0).tolist() == [True, True, False]
    assert layout.usable(obs, 15.0).all()  # off unless asked
    obs[layout.snr.start + 2] = 18.0 / 40.0  # at 18 dB the moving expert is usable again
    assert layout.usable(obs, 15.0, mobile_min_snr_db=18.0).all()
    batch = torch.as_tensor(np.stack([obs, _encode(layout, _report([16.0] * 3, [0.0] * 3), None)]))
    assert layout.usable(batch, 15.0, mobile_min_snr_db=18.0).tolist() == [
        [True, True, True],
        [True, True, False],
    ]
    # a mobile limit below the usual one does not lower the usual one
    assert layout.usable(obs, 17.0, mobile_min_snr_db=10.0).tolist() == [
        False,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="2 entries for 3 experts"):
        ObservationLayout(num_experts=3, num_subtasks=3, mobile=(True, False))


def test_the_env_knows_which_experts_move_from_the_scenario(shannon_cfg) -> None:
    from pybridge.env import EdgeMoEEnv

    env = EdgeMoEEnv(shannon_cfg)  # configs/default.yaml: the phone walks, TV and speaker stay
    assert env.obs_layout.mobile == (False, False, True)
    env.close()
    limits = SACConfig(mask_mobile_min_snr_db=18.0).mask_limits()
    assert (
        limits["mobile_min_snr_db"] == 18.0 and "mobile_min_snr_db" not in SACConfig().mask_limits()
    )


def test_checkpoints_of_the_default_observation_keep_their_fingerprint(table_path) -> None:
    # the observation section came after runs were saved: while it is the default it is
    # left out of the fingerprint, so those runs still resume
    from agents.experiment import load_experiment
    from agents.train import run_fingerprint

    env = {"backend": "shannon", "tasks": {"table": str(table_path)}}
    plain = run_fingerprint(load_experiment({"env": env}))
    same = run_fingerprint(load_experiment({"env": {**env, "observation": {"snr_change": False}}}))
    other = run_fingerprint(load_experiment({"env": {**env, "observation": {"snr_change": True}}}))
    assert plain == same != other
    # the default experiment's fingerprint as 3226597 (before the section) computed it
    default = load_experiment(REPO / "configs" / "experiment_default.yaml")
    assert run_fingerprint(default) == "4f95043a829ac361"


def test_a_fall_mask_without_the_change_is_a_one_line_experiment_error(table_path) -> None:
    from agents.experiment import ExperimentError, load_experiment

    env = {"backend": "shannon", "tasks": {"table": str(table_path)}}
    bad = {"env": env, "train": {"sac": {"mask_max_fall_db": 3.0}}}
    with pytest.raises(ExperimentError, match="observation.snr_change: true") as err:
        load_experiment(bad)
    assert "\n" not in str(err.value)
    load_experiment({**bad, "env": {**env, "observation": {"snr_change": True}}})


def test_a_misspelt_mask_limit_is_refused_when_the_reference_is_made() -> None:
    from agents.baselines import MaskedTableOraclePolicy, MaskedUpperBoundPolicy

    with pytest.raises(ValueError, match="unknown mask limit"):
        MaskedUpperBoundPolicy(max_candidates=9, max_age=0.5)
    with pytest.raises(ValueError, match="unknown mask limit"):
        MaskedTableOraclePolicy(mobile_snr_db=18.0)
