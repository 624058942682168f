"""--observe=probe: on-demand probes before each decision instead of 10 Hz heartbeats.

Real standalone runs of edge-moe (static experts, no fading): the probes keep every
expert's observation younger than --probeMaxAge at each decision, report an SNR close to
the heartbeats' (the link budget), and cost far fewer events.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from pybridge.paths import ScenarioNotBuiltError, program_path

pytestmark = pytest.mark.ns3

try:
    EDGE_MOE = str(program_path("edge-moe"))
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(f"edge-moe is not built: {exc}", allow_module_level=True)

STATIC = ["--nodes=0,0,1;5,0,1;-8,4,1;0,-12,1", "--nakagami=0", "--gap=2", "--script=1;2;3"]


def run(mode: str) -> tuple[list[dict], int, str]:
    cmd = [EDGE_MOE, "--standalone", "--tasks=6", "--computeS=0", *STATIC, f"--observe={mode}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    events = int(re.search(r"(\d+) events in all", proc.stderr).group(1))
    return [json.loads(line) for line in proc.stdout.splitlines()], events, proc.stderr


def test_probes_keep_the_observation_fresh_and_the_snr_of_heartbeats() -> None:
    probe, probe_events, err = run("probe")
    beat, beat_events, _ = run("heartbeat")
    assert "probes sent" in err
    for p, h in zip(probe, beat, strict=True):
        assert p["obs_associated"] == h["obs_associated"] == [1, 1, 1]
        # every expert was probed (idle 2 s) and answered before the decision
        assert all(0 < age <= 0.1 for age in p["obs_age_s"])
        # static experts without fading: close to the heartbeats' SNR (the link budget's).
        # Not equal: up to ~1.1 dB lower with probes, not yet explained (suspect: the
        # answers to probes sent together overlap and count as interference)
        for a, b in zip(p["obs_snr_db"], h["obs_snr_db"], strict=True):
            assert abs(a - b) < 1.5
    assert probe_events < beat_events / 3
