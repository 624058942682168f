"""bench/sac_gap.py's accounting of SAC's gap to the bound: which mask rule ruled out the
bound's expert, and the four disjoint groups of tasks docs/results.md cites."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from pybridge.observation import AGE_SCALE_S, ObservationLayout
from pybridge.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from sac_gap import RULES, masked_by, summarise  # noqa: E402


def test_each_expert_is_blamed_on_the_first_rule_that_rules_it_out() -> None:
    mobile = (False, False, True, False, False, False)
    layout = ObservationLayout(num_experts=6, num_subtasks=3, snr_change=True, mobile=mobile)
    obs = np.zeros(layout.size, np.float32)
    obs[layout.associated_slice] = [0, 1, 1, 1, 1, 1]
    obs[layout.snr] = np.array([10.0, 12.0, 16.0, 20.0, 16.0, 25.0]) / 40.0
    obs[layout.age] = np.array([2.0, 2.0, 2.0, 2.0, 0.0, 0.0]) / AGE_SCALE_S
    obs[layout.snr_change_slice] = np.array([0.0, 0.0, 0.0, 0.0, -4.0, -4.0]) / 40.0
    mask = {"min_snr_db": 15.0, "mobile_min_snr_db": 18.0, "max_age_s": 0.5,
            "max_fall_db": 3.0, "fall_below_db": 18.0}  # fmt: skip
    assert masked_by(layout, obs, mask) == ["associated", "snr", "mobile", "age", "fall", ""]
    assert masked_by(layout, obs, {"min_snr_db": 15.0}) == ["associated", "snr"] + [""] * 4


def test_every_mask_limit_belongs_to_a_named_rule() -> None:
    from pybridge.observation import MASK_LIMITS

    assert sorted(k for _, keys in RULES for k in keys) == sorted(MASK_LIMITS)


def test_the_summary_counts_a_lost_reply_before_a_stall_or_the_mask() -> None:
    rows = pd.DataFrame(
        {
            "seed": [0, 0, 0, 0],
            "sac_action": ["[1]"] * 4,
            "bound_action": ["[1]", "[2]", "[2]", "[1]"],
            "sac_reward": [0.0, 1.0, 1.0, 2.0],
            "bound_reward": [20.0, 3.0, 2.0, 2.4],
            **{
                f"{who}_{part}": [0.0] * 4
                for who in ("sac", "bound")
                for part in ("quality", "compute_cost", "tx_cost")
            },  # fmt: skip
            "sac_experts": [1] * 4,
            "bound_experts": [1] * 4,
            "stall": [True, True, False, False],
            "bound_masked": [True, True, True, False],
            "bound_masked_by": ["snr", "age", "age", ""],
            "sac_lost": [1, 0, 0, 0],
        }
    )
    text = summarise(rows)
    assert "SAC lost a reply: 1 tasks, gap 20.000 on them, 5.000 of the per-task gap" in text
    assert "else SAC's exchange stalled: 1 tasks, gap 2.000" in text
    assert "else the bound used an expert SAC's mask rules out: 1 tasks, gap 1.000" in text
    assert "ruled out by age: 1 tasks, 0.250 of the per-task gap" in text
    assert "other tasks: 1, gap 0.400 on them, 0.100 of the per-task gap" in text
