"""Topologies (docs/scenario.md, Topology): the user device as the access point
(``direct``), a separate access point with two air hops (``infrastructure``), and wired
edge servers behind the access point (Wi-Fi) or the EPC's PGW (LTE). Real simulations."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from pybridge.backends import ShannonBackend, Task
from pybridge.config import ConfigError, load_config
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError, program_path
from pybridge.scenario_check import check_scenario

pytestmark = pytest.mark.ns3

# a user, one expert 20 m away, (infrastructure) the access point half-way; small
# messages and no compute, so the network is all there is in the delay
LINE = ["--nodes=0,0,1;20,0,1", "--apPosition=10,0,1", "--computeS=0", "--requestBytes=200",
        "--gap=0.5", "--deadline=5"]  # fmt: skip


INFRA = "--topology=infrastructure"


def _program(name: str) -> str:
    try:
        return str(program_path(name))
    except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
        pytest.skip(f"{name} is not built")


def run(program: str, *flags: str, tasks: int = 3) -> list[dict]:
    proc = subprocess.run(
        [_program(program), "--standalone", f"--tasks={tasks}", *flags],
        capture_output=True, text=True, timeout=120, cwd="/tmp",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def refused(program: str, *flags: str) -> str:
    proc = subprocess.run(
        [_program(program), "--check", *flags], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    return line


def test_infrastructure_crosses_the_air_twice() -> None:
    flags = [*LINE, "--replyBytes=30000", "--script=1;1;1"]
    direct = run("edge-moe", *flags)
    infra = run("edge-moe", *flags, "--topology=infrastructure")
    for d, i in zip(direct, infra, strict=True):
        assert d["bytes_delivered"] == i["bytes_delivered"] == [30000]
        # every data frame is sent once by the user or the expert, then relayed by the AP
        assert i["packets_sent"][0] >= 1.8 * d["packets_sent"][0]
        assert i["delay_s"][0] > 1.3 * d["delay_s"][0]
    # the path SNR is its weakest hop: 10 m to the AP, stronger than 20 m direct
    assert infra[0]["snr_db"][0] > direct[0]["snr_db"][0] + 5


def test_wired_server_delay_is_the_radio_hop_plus_the_wire() -> None:
    flags = [*LINE, "--replyBytes=1000", "--topology=infrastructure", "--wiredServers=1",
             "--wiredLink=p2p", "--script=2;2;2;1"]  # fmt: skip
    no_wire = run("edge-moe", *flags, "--wiredDelay=0", tasks=4)
    wire = run("edge-moe", *flags, "--wiredDelay=0.02", tasks=4)
    for a, b in zip(no_wire[:3], wire[:3], strict=True):
        assert a["bytes_delivered"] == b["bytes_delivered"] == [0, 1000]
        # SYN, SYN-ACK, ACK + request, reply: four one-way crossings of the wire
        assert b["delay_s"][1] - a["delay_s"][1] == pytest.approx(4 * 0.02, abs=0.004)
    # one air hop (user <-> AP) to the server, two to the radio expert behind the same AP
    assert no_wire[3]["delay_s"][0] > max(r["delay_s"][1] for r in no_wire[:3])


def test_standalone_json_shows_the_wired_server() -> None:
    (r,) = run("edge-moe", *LINE, "--replyBytes=1000", "--topology=infrastructure",
               "--wiredServers=2", "--wiredLink=csma", "--script=1,2,3", tasks=1)  # fmt: skip
    assert r["num_experts"] == 3 and r["subtask_delivered"] == [1, 1, 1]
    # a server stands at the access point: its distance is the user's to the AP, its
    # SNR the user's own hop, heard before the observation (its age is finite)
    assert r["distance_m"] == pytest.approx([20, 10, 10])
    assert r["obs_associated"] == [1, 1, 1]
    assert r["obs_snr_db"][1] == r["obs_snr_db"][2]
    assert all(0 <= a < 1 for a in r["obs_age_s"])
    assert r["packets_sent"][1] > 0  # its frames on the user's hop


def test_direct_ignores_the_access_point_position() -> None:
    flags = ["--nodes=0,0,1;5,0,1;12,0,1", "--script=1,2"]
    assert run("edge-moe", *flags, tasks=2) == run(
        "edge-moe", *flags, "--topology=direct", "--apPosition=3,3,3", tasks=2
    )


def test_lte_edge_server_behind_the_pgw() -> None:
    flags = ["--computeS=0", "--requestBytes=200", "--replyBytes=1000", "--gap=0.5",
             "--wiredServers=1", "--script=4,1;4"]  # fmt: skip
    near = run("edge-moe-lte", *flags, "--wiredDelay=0.001", tasks=2)
    far = run("edge-moe-lte", *flags, "--wiredDelay=0.011", tasks=2)
    for a, b in zip(near, far, strict=True):
        assert a["num_experts"] == 4 and a["bytes_delivered"][3] == 1000
        assert b["delay_s"][3] - a["delay_s"][3] > 3 * 0.01  # the wire, both ways, twice
    # one radio link (the user's) to the server, two to a UE expert, in the same task
    assert near[0]["delay_s"][3] < near[0]["delay_s"][0]
    assert near[0]["distance_m"][3] == 0 and np.isfinite(near[0]["obs_snr_db"][3])


@pytest.mark.parametrize(
    ("program", "flags", "start"),
    [
        ("edge-moe", ["--topology=mesh"], "edge-moe: --topology: must be direct or"),
        ("edge-moe", ["--apPosition=1,2"], "edge-moe: --apPosition:"),
        ("edge-moe", ["--wiredServers=1"], "edge-moe: --wiredServers: 1 wired servers need"),
        ("edge-moe", [INFRA, "--wiredServers=30"], "edge-moe: --wiredServers: | 32 experts in all"),
        ("edge-moe", ["--wiredLink=usb"], "edge-moe: --wiredLink: must be csma or p2p"),
        ("edge-moe", ["--wiredRate=fast"], "edge-moe: --wiredRate: 'fast' is not a data rate"),
        ("edge-moe", ["--wiredDelay=-1"], "edge-moe: --wiredDelay: must be in [0, 1]"),
        ("edge-moe-lte", ["--wiredRate=0bps"], "edge-moe-lte: --wiredRate: '0bps'"),
        ("edge-moe-lte", ["--wiredServers=40"], "edge-moe-lte: --wiredServers:"),
    ],
)  # fmt: skip
def test_bad_topology_values_give_one_line(program: str, flags: list[str], start: str) -> None:
    """``start``: how the line starts, then (after " | ") a part of it."""
    line = refused(program, *flags)
    assert line.startswith(start.split(" | ")[0]) and start.split(" | ")[-1] in line


@pytest.mark.parametrize(
    ("scenario", "field"),
    [
        ({"topology": {"mode": "mesh"}}, "scenario.topology.mode:"),
        ({"topology": {"wired_servers": {"count": 1}}}, "scenario.topology.wired_servers.count:"),
        (
            {"topology": {"mode": "infrastructure", "wired_servers": {"count": 1, "rate": "x"}}},
            "scenario.topology.wired_servers.rate:",
        ),
        (
            {"program": "edge-moe-lte", "edge_servers": {"count": 1, "link": "usb"}},
            "scenario.edge_servers.link:",
        ),
    ],
)
def test_bad_config_values_name_the_field(scenario: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_scenario(load_config({"scenario": scenario}))
    assert field in str(err.value) and "\n" not in str(err.value)


def test_shannon_two_hops_and_a_wire() -> None:
    cfg = load_config(REPO_ROOT / "configs" / "scenarios" / "home-gateway.yaml")
    assert cfg.scenario.num_experts == 3  # two radio experts + the wired edge box
    sh = ShannonBackend(cfg, 3)
    sh.start(0)
    task = Task(0, np.array([1, 3, 0]), np.full(3, 1000), np.full(3, 1000), np.zeros(3), 5.0, 1.0)
    first, second = sh._hops_snr_db()
    r = sh.run_task(task)
    rate = 20e6 * np.log2(1 + 10 ** (np.array([first[0], second[0], first[2]]) / 10))
    # expert 1: user -> AP -> expert, each hop at its own rate, both ways
    assert r["subtask_delay_s"][0] == pytest.approx(2 * 8000 * (1 / rate[0] + 1 / rate[1]))
    # the edge box: the user's hop, then 1 Gbit/s and 0.1 ms of wire, both ways
    assert r["subtask_delay_s"][1] == pytest.approx(2 * (8000 / rate[2] + 8000 / 1e9 + 1e-4))
    assert r["snr_db"][0] == pytest.approx(min(first[0], second[0]))


def test_wired_server_serves_as_an_llm_server() -> None:
    # the serving profiles cover every expert the action addresses, wired servers too
    (r,) = run("edge-moe", "--serving=1", INFRA, "--wiredServers=1", "--script=1,4", tasks=1)
    assert r["num_experts"] == 4 and r["subtask_delivered"] == [1, 1]
    assert 0 < r["ttft_s"][1] < r["subtask_delay_s"][1]
