"""bench/multi_user_scaling.py on ns-3: a cell stops after the round that passes
``--cell-budget-s`` and a cell at least as large as one over the budget is skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pybridge.paths import REPO_ROOT
from tests.conftest import ns3_built


@pytest.mark.skipif(not ns3_built(), reason="edge-moe not built")
def test_cell_budget_stops_a_cell_and_skips_larger_ones(tmp_path) -> None:
    out = tmp_path / "scaling.json"
    r = subprocess.run(
        [sys.executable, "bench/multi_user_scaling.py", "--users", "1", "2", "--experts", "2",
         "--rounds", "3", "--cell-budget-s", "0", "--json", str(out), "--csv",
         str(tmp_path / "scaling.csv"), "--plot", str(tmp_path / "scaling.png")],
        cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    first, second = json.loads(out.read_text())["rows"]
    # the budget passed in the first round: one round measured, on ns-3 (events counted)
    assert (first["users"], first["experts"], first["rounds"]) == (1, 2, 1)
    assert first["events_per_round"] > 1000 and first["steps_per_s"] > 0
    assert second == {"users": 2, "experts": 2, "skipped": True}
    assert "| 2 | 2 | skipped |" in r.stdout
    assert (tmp_path / "scaling.png").stat().st_size > 0
