"""bench/mask_evidence.py: the per-expert loss table and the pooled paired difference
that docs/results.md's "three masks on training seeds" cites."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from pybridge.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from mask_evidence import losses_by_expert, pooled  # noqa: E402


def test_losses_are_counted_per_band_and_expert_for_associated_experts_only() -> None:
    rows = pd.DataFrame({
        "associated": [True, True, True, False],
        "observed_snr_db": [16.0, 16.5, 19.0, 16.0],
        "expert": [3, 1, 3, 3],
        "sent": [2, 1, 1, 5],
        "lost": [1, 0, 0, 5],
    })  # fmt: skip
    table = losses_by_expert(rows)
    band = pd.Interval(16.0, 17.0, closed="left")
    assert table.loc[band, ("sent", 3)] == 2 and table.loc[band, ("lost", 3)] == 1
    assert table.loc[band, ("sent", 1)] == 1
    assert table.loc[pd.Interval(18.0, 20.0, closed="left"), ("lost", 3)] == 0


def test_pooled_difference_is_seed_by_seed_over_every_pair(tmp_path) -> None:  # noqa: ANN001
    def probe(name: str, rewards: list[float], seeds: list[int]) -> str:
        d = tmp_path / name
        d.mkdir()
        pd.DataFrame({"seed": seeds * 2, "epoch": [5] * len(seeds) + [10] * len(seeds),
                      "reward": [0.0] * len(seeds) + rewards, "quality": 7.0,
                      "tx_cost": 0.2}).to_csv(d / "evals.csv", index=False)  # fmt: skip
        return d

    pairs = [(probe("v1", [2.0, 3.0], [8, 9]), probe("d1", [1.0, 3.0], [8, 9])),
             (probe("v2", [5.0], [16]), probe("d2", [4.0], [16]))]  # fmt: skip
    text = pooled(pairs)
    # differences 1, 0, 1 at the last epoch only: mean 0.667, 2 of 3 up
    assert text.startswith("variant - default over 3 seeds: +0.667 ±") and "(2 up)" in text
    with pytest.raises(ValueError):
        pooled([])
