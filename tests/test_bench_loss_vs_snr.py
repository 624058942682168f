"""bench/loss_vs_snr.py's trend table: replies just above the mask, counted by how the
observed SNR moved since the previous decision, the evidence docs/results.md cites."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from pybridge.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from loss_vs_snr import by_trend, snr_change  # noqa: E402


def _rows(snr, trend, moved, lost, associated=True) -> pd.DataFrame:
    n = len(snr)
    return pd.DataFrame(
        {
            "associated": [associated] * n,
            "observed_snr_db": snr,
            "observed_trend_db": trend,
            "moved_m": moved,
            "sent": [1] * n,
            "lost": lost,
        }
    )


def test_trend_table_counts_the_band_only_by_trend_and_by_distance_moved() -> None:
    rows = pd.concat(
        [
            # in the 15-18 dB band: a falling one lost, a steady one delivered
            _rows([16.0, 17.0], [-4.0, 0.0], [12.0, 1.0], [1, 0]),
            # out of the band (below the mask, far above it): not counted
            _rows([14.0, 25.0], [-4.0, -4.0], [12.0, 12.0], [1, 1]),
            # unassociated, or the episode's first decision (no trend yet): not counted
            _rows([16.0], [-4.0], [12.0], [1], associated=False),
            _rows([16.0], [np.nan], [np.nan], [1]),
        ],
        ignore_index=True,
    )
    table = by_trend(rows)
    trend = table[table.by == "trend_bin"].set_index("bin")
    assert trend.sent.sum() == 2 and trend.lost.sum() == 1
    falling = trend.loc[[b for b in trend.index if b.right == -3.0][0]]
    assert (falling.sent, falling.lost, falling.loss_rate) == (1, 1, 1.0)
    moved = table[table.by == "moved_bin"].set_index("bin")
    far = moved.loc[[b for b in moved.index if b.left == 10.0][0]]
    assert (far.sent, far.lost) == (1, 1)


def test_snr_change_is_only_taken_between_two_real_samples() -> None:
    snr = np.array([16.0, 16.0, 20.0])
    # the episode's first decision: no previous observation
    assert np.isnan(snr_change(None, None, snr)).all()
    # expert 1 fell 4 dB; expert 2 was never heard (floor, age 10 s): not a +36 dB rise;
    # expert 3's sample was not refreshed: no change
    prev = np.array([20.0, -20.0, 20.0])
    age = np.array([0.01, 10.0, 3.0])
    change = snr_change(prev, age, snr)
    assert change[0] == -4.0 and np.isnan(change[1]) and change[2] == 0.0
