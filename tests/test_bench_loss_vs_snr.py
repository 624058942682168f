"""bench/loss_vs_snr.py's trend table: replies just above the mask, counted by how the
observed SNR moved since the previous decision, the evidence docs/results.md cites."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from pybridge.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
from loss_vs_snr import by_trend  # noqa: E402


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
