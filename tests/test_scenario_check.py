"""`--check` of the scenario programs: they own every value rule of their flags.

`edge-moe --check ...` and `edge-moe-lte --check ...` parse and validate every flag as a
run would, build nothing, and print one JSON line of resolved values (exit 0), or one
stderr line `<program>: --<flag>: <problem>` (exit 2). See docs/scenario.md.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from pybridge.config import ScenarioConfig
from pybridge.paths import ScenarioNotBuiltError, program_path
from pybridge.scenario_defaults import DEFAULTS, default_layout

pytestmark = pytest.mark.ns3


def _program(name: str) -> str | None:
    try:
        return str(program_path(name))
    except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
        return None


PROGRAMS = {name: _program(name) for name in ("edge-moe", "edge-moe-lte")}


def check(program: str, *flags: str) -> subprocess.CompletedProcess:
    path = PROGRAMS[program]
    if path is None:
        pytest.skip(f"{program} is not built")
    return subprocess.run(
        [path, "--check", *flags], capture_output=True, text=True, timeout=60, cwd="/tmp"
    )


def resolved(program: str, *flags: str) -> dict:
    proc = check(program, *flags)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    (line,) = proc.stdout.splitlines()
    return json.loads(line)


def refused(program: str, flag: str, *flags: str) -> str:
    """The one stderr line of a refused value; it names the program and the flag."""
    proc = check(program, *flags)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{program}: --{flag}: "), lines[0]
    return lines[0]


def test_defaults_resolve_to_json() -> None:
    r = resolved("edge-moe")
    assert r["program"] == "edge-moe"
    assert r["numExperts"] == 3 and r["nodes"].count(";") == 3
    assert r["standard"] == "80211ax" and r["band"] == 5 and r["channelWidth"] == 20
    assert r["referenceLoss"] == 46.67 and r["dataMode"] == "HeMcs4"
    assert r["rateManagerTypeId"] == "ns3::IdealWifiManager"
    assert r["deadline"] == 5 and r["gap"] == 1 and r["RngRun"] == 1
    lte = resolved("edge-moe-lte")
    assert lte["program"] == "edge-moe-lte" and lte["scheduler"] == "ns3::PfFfMacScheduler"
    assert lte["referenceLoss"] == 15.3 and lte["bandwidthRbs"] == 25 and lte["enb"] == "0,0,30"


def test_an_answers_frames_must_come_back_before_the_decision() -> None:
    # --probeJitter 0.01 + 9 x 1 ms is below --probeLead 0.02; + 10 x 1 ms is not
    assert resolved("edge-moe", "--observe=probe", "--probeAnswers=10")["probeAnswers"] == 10
    line = refused("edge-moe", "probeAnswers", "--observe=probe", "--probeAnswers=11")
    assert "got 11" in line
    assert resolved("edge-moe", "--observe=probe", "--probeAnswers=11", "--probeLead=0.03")
    # the rule binds only when probing
    assert resolved("edge-moe", "--observe=heartbeat", "--probeAnswers=16")["probeAnswers"] == 16


def test_resolved_values_follow_the_flags() -> None:
    r = resolved("edge-moe", "--standard=80211g", "--rateManager=aarf", "--RngRun=7")
    assert r["band"] == 2.4 and r["dataMode"] == "ErpOfdmRate24Mbps" and r["RngRun"] == 7
    assert r["rateManagerTypeId"] == "ns3::AarfWifiManager"
    r = resolved("edge-moe", "--nodes=0,0,1|random-walk;5,0,1", "--deadline=10", "--gap=0")
    assert r["numExperts"] == 1 and r["deadline"] == 10 and r["gap"] == 0
    assert r["nodes"] == "0,0,1|random-walk|distance=5,speed=1;5,0,1|constant"


def test_header_defaults_are_the_programs_defaults() -> None:
    d = DEFAULTS  # the header as pybridge reads it
    wifi, lte = resolved("edge-moe"), resolved("edge-moe-lte")
    for name in ("channelWidth", "txPowerDbm", "exponent", "referenceLoss", "nakagamiM",
                 "heartbeatInterval", "warmup", "synTimeout", "bgPacketBytes", "area",
                 "observe", "probeMaxAge", "probeLead", "probeJitter",
                 "probeAnswers", "probeRepairMax"):  # fmt: skip
        assert wifi[name] == d[name], name
    assert wifi["keepStaticArp"] is bool(d["keepStaticArp"])
    assert wifi["band"] == d[f"band{wifi['standard']}"]
    for name in ("bandwidthRbs", "earfcn", "rlcBufferBytes", "cellLoadRadius", "ueTxW", "enb"):
        assert lte[name] == d[name], name
    assert lte["exponent"] == d["lteExponent"] and lte["area"] == d["lteArea"]


def _positions(nodes: str) -> list[tuple[float, ...]]:
    return [tuple(float(v) for v in n.split("|")[0].split(",")) for n in nodes.split(";")]


def _flat(positions) -> list[float]:
    return [v for p in positions for v in p]


@pytest.mark.parametrize(("program", "prefix"), [("edge-moe", ""), ("edge-moe-lte", "lte")])
def test_default_layout_is_the_programs(program: str, prefix: str) -> None:
    """scenario_defaults.default_layout and the config's default experts are where the
    program puts the nodes without --nodes (a drift in either fails here)."""
    program_nodes = _positions(resolved(program)["nodes"])
    assert _flat(program_nodes) == pytest.approx(_flat(default_layout(prefix)), abs=1e-6)
    sc = ScenarioConfig(program=program)
    experts = _flat(e.position for e in sc.experts)
    assert _flat(program_nodes[1:]) == pytest.approx(experts, abs=1e-6)
    if program == "edge-moe":  # edge-moe-lte's user stands at its --height, 1.5 m
        assert program_nodes[0] == pytest.approx(sc.user.position)


def test_users_stand_where_the_program_spreads_them() -> None:
    """Without --nodes, --numUsers=M copies of the user stand on a circle of userSpread
    (scenario-defaults.h) where the config's num_users puts them (its user_spread_m
    default is read from the header: one owner)."""
    program_nodes = _positions(resolved("edge-moe", "--numUsers=3")["nodes"])
    sc = ScenarioConfig(num_users=3)
    assert sc.user_spread_m == DEFAULTS["userSpread"]
    users = _flat(u.position for u in sc.user_nodes)
    assert _flat(program_nodes[:3]) == pytest.approx(users, abs=1e-6)


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("exponent", "nan"), ("exponent", "-1"), ("exponent", "0"), ("exponent", "1e12"),
        ("exponent", ""), ("txPowerDbm", "inf"), ("referenceLoss", "abc"),
        ("nakagamiM", "0"), ("heartbeatInterval", "0"), ("warmup", "1e12"),
        ("synTimeout", "0"), ("tasks", "1.5"), ("numExperts", "33"), ("bgStations", "-1"),
        ("channelWidth", "30"), ("band", "2.4"), ("standard", ""), ("rateManager", "ns3::Node"),
        ("dataMode", "HeMcs99"), ("area", "nan,1,0,1"), ("area", "-1e12,1,0,1"),
        ("bgAp", "1,2"), ("replyBytes", "1,,2"), ("computeS", "-1"), ("deadline", "0"),
        ("deadline", "1e12"), ("gap", "-1"), ("gap", "nan"), ("lowAckThreshold", "-1"),
        ("keepStaticArp", "maybe"), ("floors", "0"), ("observe", "poll"),
        ("probeJitter", "-1"), ("probeJitter", "0.02"), ("probeLead", "0"),
        ("probeAnswers", "0"), ("probeAnswers", "1.5"), ("probeAnswers", "12"),
        ("probeRepairMax", "-1"), ("probeRepairMax", "61"),
    ],
)  # fmt: skip
def test_bad_wifi_values_are_refused_in_one_line(flag: str, value: str) -> None:
    extra = ["--standard=80211ac"] if flag == "band" else []
    if flag.startswith("probe"):
        extra.append("--observe=probe")  # the probe rules bind only when probing
    line = refused("edge-moe", flag, f"--{flag}={value}", *extra)
    assert value.split(",")[0] in line or flag in ("standard", "exponent", "replyBytes")


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ("0,0,1;1e12,0,1", "node 1 (expert 1): x: must be in [-100000, 100000]"),
        ("nan,0,1;5,0,1", "node 0 (user): x: 'nan' is not a finite number"),
        ("0,0,1;5,0,1;0,0,1|random-walk|speed=0", "node 2 (expert 2): speed: must be in (0, 100]"),
        ("0,0,1|random-waypoint|speed=1e12;5,0,1", "node 0 (user): speed"),
        ("0,0,1|random-waypoint|pause=1e9;5,0,1", "pause: must be in [0, 3600]"),
        ("0,0,1|gauss-markov|alpha=2;5,0,1", "alpha: must be in [0, 1]"),
        ("0,0,1|teleport;5,0,1", "node 0 (user): unknown mobility model 'teleport'"),
        ("0,0,1;;5,0,1", "node 1 (expert 1): expected x,y,z"),
        ("0,0,1|random-walk;500,0,1|random-walk", "node 1 (expert 1): starts at (500,0)"),
    ],
)
def test_bad_nodes_name_the_node(nodes: str, message: str) -> None:
    assert message in refused("edge-moe", "nodes", f"--nodes={nodes}")


def test_no_underground_node_with_the_buildings_model() -> None:
    # ns-3's HybridBuildingsPropagationLossModel asserts on z < 0 (found by the full
    # config-mutation sweep: smart-home.yaml with the user at z = -1)
    line = refused("edge-moe", "nodes", "--propagation=buildings", "--nodes=0,0,-1;5,0,1")
    assert "node 0 (user): z must be >= 0" in line


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("earfcn", "1e12"), ("earfcn", "600"), ("bandwidthRbs", "30"), ("scheduler", "fastest"),
        ("rlcMode", "tm"), ("enb", "1,2"), ("enb", "nan,0,30"), ("cellLoadMbps", "nan"),
        ("ueTxW", "-1"), ("rlcBufferBytes", "0"), ("ueTxPowerDbm", "99"),
    ],
)  # fmt: skip
def test_bad_lte_values_are_refused_in_one_line(flag: str, value: str) -> None:
    assert value.split(",")[0] in refused("edge-moe-lte", flag, f"--{flag}={value}")


def test_bad_values_stop_real_runs_the_same_way() -> None:
    path = PROGRAMS["edge-moe"]
    if path is None:
        pytest.skip("edge-moe is not built")
    proc = subprocess.run(
        [path, "--standalone", "--tasks=1", "--nodes=0,0,1;5,0,1|random-walk|speed=0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "edge-moe: --nodes: node 1 (expert 1): speed: must be in (0, 100], got 0"
    ]
