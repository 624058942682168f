"""Experts at the edge of range (ns3_scenarios/range-edge.h, docs/scenario.md).

Two ns-3 3.44 Wi-Fi behaviours broke mobile scenarios: a departed station drew a flood
of BlockAckRequests that starved the other experts, and a station whose association
the access point had dropped stayed cut off (and, its ARP cache flushed, unreachable
for 100 s after one failed ARP exchange). Each test runs a reproduction found in the
validation study twice: with ``--keepStaticArp=0 --lowAckThreshold=0 --synTimeout=3``
(ns-3's own behaviour) and with the defaults (both fixes on, the 1 s SYN timeout).
``bench/range_edge.py`` measures each fix alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from pybridge.config import load_config
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError, program_path

sys.path.insert(0, str(REPO_ROOT / "bench"))
from lost_reply_causes import parse_drops  # noqa: E402

try:
    EDGE_MOE: str | None = str(program_path("edge-moe"))
except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
    EDGE_MOE = None

pytestmark = [pytest.mark.ns3, pytest.mark.skipif(EDGE_MOE is None, reason="edge-moe not built")]

SUMMARY = re.compile(r"range edge, per expert, low-ack disassociations / deauthentications:"
                     r"((?: \d+/\d+)+)")  # fmt: skip


def _flags(scenario: str, rng_run: int) -> list[str]:
    cfg = load_config(REPO_ROOT / "configs" / "scenarios" / f"{scenario}.yaml")
    argv = cfg.scenario.argv(rng_run)
    own = ("--lowAckThreshold", "--keepStaticArp", "--synTimeout", "--observe")
    # the reproductions were found with the experts' heartbeats (the default then): their
    # traffic is what drew the BlockAckRequest flood and what the deauthentication acts on
    return [*(f for f in argv if not f.startswith(own)), "--observe=heartbeat"]


NS3_OWN = ["--keepStaticArp=0", "--lowAckThreshold=0", "--synTimeout=3"]
FIXED = ["--keepStaticArp=1", "--lowAckThreshold=50", "--synTimeout=1"]


def _run(
    flags: list[str], switches: list[str], *extra: str, env: dict | None = None
) -> tuple[list[dict], str]:
    assert EDGE_MOE is not None
    proc = subprocess.run(
        [EDGE_MOE, *flags, *switches, "--standalone", *extra],
        capture_output=True, text=True, timeout=300, cwd="/tmp", env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def _summary(stderr: str) -> list[tuple[int, int]]:
    """(low-ack disassociations, deauthentications) per expert, from the last stderr line."""
    match = SUMMARY.search(stderr)
    assert match, stderr[-500:]
    return [tuple(int(v) for v in p.split("/")) for p in match.group(1).split()]


def test_departed_expert_no_longer_starves_the_others() -> None:
    # vehicular: the user's car (with the in-car expert 3 beside it) drives away from
    # roadside unit 1. Subtask 0 goes to the in-car expert, 1 to the roadside unit.
    flags = _flags("vehicular", 1)
    script = ["--script=3,1,2", "--computeS=1.0", "--replyBytes=300", "--requestBytes=300",
              "--tasks=10"]  # fmt: skip
    raw, raw_err = _run(flags, NS3_OWN, *script)
    fixed, fixed_err = _run(flags, FIXED, *script)

    # ns-3's own behaviour: once the roadside unit is far behind, the in-car expert's
    # replies (1 m away) are lost too, and the access point still counts it associated.
    assert sum(1 - r["subtask_delivered"][0] for r in raw[4:]) >= 4
    assert all(r["obs_associated"][0] == 1 for r in raw[4:])
    assert "range edge" not in raw_err

    # With the model: the in-car expert delivers every reply; the roadside unit is
    # disassociated by the user device once it is out of range.
    assert all(r["subtask_delivered"][0] == 1 for r in fixed)
    assert all(r["obs_associated"][0] == 0 for r in fixed if r["distance_m"][0] > 300)
    assert _summary(fixed_err)[0][0] >= 1


def test_returning_expert_is_deauthenticated_and_served_again() -> None:
    # campus, RngRun=1: pedestrians drift to the edge of range and back. Without the
    # model, experts the access point dropped stay cut off while close by.
    flags = _flags("campus", 1)

    def lost_within(reports: list[dict], metres: float) -> tuple[int, int]:
        pairs = [(r["replies_lost"][e], 1) for r in reports for e in range(3)
                 if r["distance_m"][e] < metres and r["bytes_expected"][e] > 0]  # fmt: skip
        return sum(p[0] for p in pairs), len(pairs)

    raw, _ = _run(flags, NS3_OWN, "--tasks=60")
    log_drops = {**os.environ, "NS_LOG": "NetmoeRangeEdge=info|prefix_time"}
    fixed, err = _run(flags, FIXED, "--tasks=60", env=log_drops)
    raw_lost, raw_n = lost_within(raw, 40.0)
    fixed_lost, fixed_n = lost_within(fixed, 40.0)
    assert raw_n > 50 and fixed_n > 50
    assert raw_lost / raw_n > 0.08  # measured: 20 of 117
    assert fixed_lost / fixed_n < 0.02  # measured: 0 of 119 (0 of 116 with a 3 s SYN timeout)

    assert sum(deauth for _, deauth in _summary(err)) >= 1
    # Far away, replies are still lost: the model repairs association, not physics.
    far_lost, _ = lost_within(fixed, 1e9)
    assert far_lost > fixed_lost

    # ns-3's log names every drop with its time (bench/lost_reply_causes.py reads it)
    drops = parse_drops(err)
    per_expert = [
        tuple(sum(k == kind and x == e for _, k, x in drops) for kind in ("disassoc", "deauth"))
        for e in range(3)
    ]
    assert per_expert == _summary(err)
    times = [t for t, _, _ in drops]
    assert times == sorted(times) and times[0] > 0  # simulation seconds, in order


def test_bad_threshold_is_a_one_line_error() -> None:
    from pybridge.config import ConfigError
    from pybridge.scenario_check import check_scenario

    cfg = load_config(REPO_ROOT / "configs" / "default.yaml").model_dump()
    assert "--lowAckThreshold=50" in load_config(cfg).scenario.argv(1)
    cfg["scenario"]["wifi"]["low_ack_threshold"] = -1
    with pytest.raises(ConfigError, match="scenario.wifi.low_ack_threshold"):
        check_scenario(load_config(cfg))
    assert EDGE_MOE is not None
    proc = subprocess.run([EDGE_MOE, "--lowAckThreshold=-1", "--standalone", "--tasks=1"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode != 0
    assert "--lowAckThreshold: must be a whole number in 0..1000000" in proc.stderr.splitlines()[0]
