"""The scenario catalogue (configs/scenarios/*.yaml): configs, and their ns-3 physics."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pybridge.backends import ShannonBackend
from pybridge.config import ConfigError, load_config
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError, program_path
from pybridge.scenario_check import check_scenario

SCENARIOS = sorted((REPO_ROOT / "configs" / "scenarios").glob("*.yaml"))
TRACE = REPO_ROOT / "tests" / "fixtures" / "mobility" / "walk.ns2"

try:
    EDGE_MOE: str | None = str(program_path("edge-moe"))
except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
    EDGE_MOE = None
_built = pytest.mark.skipif(EDGE_MOE is None, reason="edge-moe is not built")


def needs_ns3(test):  # noqa: ANN001, ANN201 - a test decorator
    """Mark a test as running ns-3 (``-m ns3``) and skip it when edge-moe is not built."""
    return pytest.mark.ns3(_built(test))


def _scenario(name: str, **override: object) -> dict:
    cfg = load_config(REPO_ROOT / "configs" / "scenarios" / f"{name}.yaml").model_dump()
    cfg["scenario"].update(override)
    return cfg


def _run(*flags: str, tasks: int = 2) -> tuple[list[dict], str]:
    assert EDGE_MOE is not None
    proc = subprocess.run(
        [EDGE_MOE, "--standalone", f"--tasks={tasks}", *flags],
        capture_output=True, text=True, timeout=300, cwd="/tmp",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def _fails(*flags: str) -> str:
    assert EDGE_MOE is not None
    proc = subprocess.run(
        [EDGE_MOE, "--standalone", "--tasks=1", *flags], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    return proc.stderr.splitlines()[0]


# -- configs ------------------------------------------------------------------------


def test_catalogue_is_complete() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {
        "smart-home",
        "campus",
        "vehicular",
        "interference",
        "ns2-trace",
        "cellular-edge",
    } <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_loads_and_builds_flags(path: Path) -> None:
    cfg = load_config(path)
    argv = cfg.scenario.argv(rng_run=3)
    assert f"--numExperts={len(cfg.scenario.experts)}" in argv  # + wired servers: num_experts
    assert "--RngRun=3" in argv


def test_feature_flags_follow_the_config() -> None:
    home = load_config(REPO_ROOT / "configs/scenarios/smart-home.yaml").scenario.argv(1)
    assert "--propagation=buildings" in home
    assert "--building=-10,10,-6,6,0,3" in home and "--rooms=3,2" in home
    load = load_config(REPO_ROOT / "configs/scenarios/interference.yaml").scenario.argv(1)
    assert "--bgStations=3" in load and "--bgLoadMbps=10" in load
    ns2 = load_config(REPO_ROOT / "configs/scenarios/ns2-trace.yaml").scenario.argv(1)
    assert f"--ns2Trace={TRACE}" in ns2
    assert ns2[1].startswith("--nodes=") and "|ns2" in ns2[1]
    # a default scenario passes none of the new flags (older programs keep working)
    plain = load_config({}).scenario.argv(1)
    assert not any(a.split("=")[0] in {"--building", "--bgStations", "--ns2Trace"} for a in plain)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"building": {"bounds": [0, 10, 0, 10, 0, 3]}}, "scenario.building.bounds: needs"),
        ({"user": {"mobility": "ns2"}}, "scenario.ns2_trace: not given"),
        ({"ns2_trace": str(TRACE)}, "scenario.ns2_trace:"),
        (
            {"user": {"mobility": "ns2"}, "ns2_trace": "no/such/trace.ns2"},
            "scenario.ns2_trace: cannot read",
        ),
        ({"background": {"stations": 2}}, "scenario.background.load_mbps:"),
        ({"background": {"stations": 99, "load_mbps": 1}}, "scenario.background.stations:"),
        (
            {"building": {"bounds": [0, -1, 0, 10, 0, 3]}, "propagation": {"model": "buildings"}},
            "scenario.building.bounds:",
        ),
    ],
)
def test_bad_scenario_values_give_one_line(override: dict, message: str) -> None:
    # the program owns the value rules: asked through --check when an env is built
    with pytest.raises(ConfigError) as err:
        check_scenario(load_config({"scenario": override}))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_shannon_buildings_loss_is_itu_p1238() -> None:
    cfg = load_config(
        {
            "scenario": {
                "propagation": {"model": "buildings"},
                "building": {"bounds": [-20, 20, -20, 20, 0, 3], "type": "office"},
            }
        }
    )
    sh = ShannonBackend(cfg, 1)
    # ITU-R P.1238 at 5 GHz (f in MHz), office N = 30, same floor: 20 log f + N log d - 28
    loss = sh.link.path_loss_db(np.array([10.0]))[0]
    assert loss == pytest.approx(20 * math.log10(5000) + 30 * 1 - 28)


# -- the ns-3 physics of each feature ------------------------------------------------


@needs_ns3
def test_walls_cost_exactly_their_loss() -> None:
    # UE and expert 1 in one room, expert 2 two rooms along x (walls at x = -3.33, 3.33)
    base = [
        "--propagation=buildings", "--building=-10,10,-6,6,0,3", "--rooms=3,1",
        "--shadowSigmaDb=0", "--txPowerDbm=16", "--nodes=-8,0,1;-6,0,1;5,0,1",
    ]  # fmt: skip
    free, _ = _run(*base, "--wallLossDb=0", tasks=1)
    walls, _ = _run(*base, "--wallLossDb=7", tasks=1)
    s0, s1 = free[0]["snr_db"], walls[0]["snr_db"]
    assert s1[0] == pytest.approx(s0[0], abs=0.01)  # same room: no wall
    assert s0[1] - s1[1] == pytest.approx(14.0, abs=0.3)  # two walls x 7 dB
    # and without walls ns-3 hears ITU-R P.1238 (residential) as the Shannon backend has it
    cfg = load_config(
        {"scenario": {"propagation": {"model": "buildings"}, "wifi": {"tx_power_dbm": 16}}}
    )
    sh = ShannonBackend(cfg, 1)
    loss = sh.link.path_loss_db(np.array([2.0, 13.0]))
    expected = 16 - loss + 94.0  # noise: -174 dBm/Hz + 73 dB (20 MHz) + 7 dB figure
    assert s0 == pytest.approx(list(expected), abs=1.0)


@needs_ns3
def test_neighbouring_bss_loads_the_channel() -> None:
    flags = ["--nodes=0,0,1;5,0,1;-8,4,1;3,-9,1", "--gap=2", "--replyBytes=20000"]
    quiet, _ = _run(*flags, tasks=3)
    busy, err = _run(*flags, "--bgStations=3", "--bgLoadMbps=8", "--bgAp=10,0,1", tasks=3)
    line = next(ln for ln in err.splitlines() if "neighbouring BSS delivered" in ln)
    delivered, seconds = float(line.split()[4]), float(line.split()[7])
    # Poisson load of 8 Mbit/s from the first datagram (after association) on
    assert delivered * 8 / seconds / 1e6 == pytest.approx(8.0, rel=0.25)

    # contention: the same replies take longer on air (measured: +20 % at 8 Mbit/s)
    def on_air(reports: list[dict]) -> float:
        return sum(sum(d - 0.2 for d in r["delay_s"]) for r in reports)  # minus compute_s

    assert on_air(busy) > 1.1 * on_air(quiet)


def _frames(pcap: Path) -> list[bytes]:
    """The 802.11 frames (radiotap header removed) of an ns-3 pcap file."""
    data, frames, at = pcap.read_bytes(), [], 24  # after the pcap file header
    while at + 16 <= len(data):
        size = int.from_bytes(data[at + 8 : at + 12], "little")
        packet = data[at + 16 : at + 16 + size]
        frames.append(packet[int.from_bytes(packet[2:4], "little") :])
        at += 16 + size
    return frames


@needs_ns3
def test_neighbouring_bss_colour_filters_its_payloads_at_the_user(tmp_path: Path) -> None:
    # 802.11ax: each BSS has its colour, so the user device (the access point of its BSS)
    # stops receiving the neighbour's HE data PPDUs after HE-SIG-A, as a real HE radio
    # does, while the neighbour's legacy frames (beacons, ACKs) are still decoded; the
    # medium stays busy either way (test_neighbouring_bss_loads_the_channel).
    prefix = tmp_path / "em"
    _run("--nodes=0,0,1;5,0,1", "--bgStations=2", "--bgLoadMbps=4", "--bgAp=10,0,1",
         f"--pcap={prefix}", tasks=1)  # fmt: skip
    frames = _frames(sorted(tmp_path.glob("em-*.pcap"))[0])  # the user device's radio

    def kind(f: bytes) -> tuple[int, int]:  # 802.11 (type, subtype)
        return (f[0] >> 2) & 3, f[0] >> 4

    beacons = {f[16:22] for f in frames if kind(f) == (0, 8) and b"netmoe-neighbour" in f}
    assert len(beacons) == 1  # its beacons are heard (legacy PPDUs carry no colour)
    bssid = beacons.pop()
    data = [f for f in frames if kind(f)[0] == 2]
    theirs = [f for f in data if bssid in (f[4:10], f[10:16], f[16:22])]
    unicast = [f for f in theirs if not f[4] & 1]  # group-addressed ones go at a legacy rate
    assert len(data) > len(theirs)  # the user's own data frames are received
    assert unicast == []  # ~250 neighbour datagrams (HE PPDUs) were sent, none decoded here


@needs_ns3
def test_ns2_trace_moves_the_user() -> None:
    reports, _ = _run("--nodes=0,0,1|ns2;5,0,1;0,0,1|ns2;-10,0,1", f"--ns2Trace={TRACE}",
                      "--gap=3", tasks=4)  # fmt: skip
    for r in reports:
        t = r["sim_time_s"]
        x = 1.5 * (t - 0.5)  # the user walks east at 1.5 m/s from t = 0.5 s
        assert r["distance_m"][2] == pytest.approx(10 + x, abs=0.05)  # expert 3 is static
        y = -10 + max(0.0, t - 2.0)  # expert 2 walks north at 1 m/s from t = 2 s
        assert r["distance_m"][1] == pytest.approx(math.hypot(x - 10, y), abs=0.05)


@needs_ns3
def test_bad_feature_flags_stop_with_one_line() -> None:
    assert "--ns2Trace" in _fails("--nodes=0,0,1|ns2;5,0,1", "--ns2Trace=/no/such.ns2")
    assert "is not in" in _fails("--nodes=0,0,1|ns2;5,0,1|ns2;0,0,1|ns2", f"--ns2Trace={TRACE}")
    assert "set it to ns2" in _fails("--nodes=0,0,1|ns2;5,0,1;0,0,1", f"--ns2Trace={TRACE}")
    assert "--building: needs --propagation=buildings" in _fails("--building=0,1,0,1,0,1")
    assert "--bgLoadMbps" in _fails("--bgStations=2")
    assert "--buildingType" in _fails(
        "--propagation=buildings", "--building=0,1,0,1,0,1", "--buildingType=castle"
    )


@needs_ns3
def test_pcap_and_flowmonitor_outputs(tmp_path: Path) -> None:
    prefix, xml = tmp_path / "em", tmp_path / "flows.xml"
    _run("--numExperts=2", f"--pcap={prefix}", f"--flowmonXml={xml}", tasks=1)
    pcaps = sorted(tmp_path.glob("em-*.pcap"))
    assert len(pcaps) == 3  # UE + 2 experts
    assert all(p.stat().st_size > 24 for p in pcaps)  # more than the pcap file header
    text = xml.read_text()
    assert "<FlowMonitor>" in text and text.count("<Flow ") >= 4  # probe answers + 2 TCP x 2


# -- each scenario through the environment ------------------------------------------


def _table(tmp_path: Path) -> Path:
    from tests.conftest import synthetic_frame

    path = tmp_path / "table.parquet"
    synthetic_frame(3, 2, 3).to_parquet(path)
    return path


@needs_ns3
@pytest.mark.parametrize("name", [p.stem for p in SCENARIOS])
def test_scenario_runs_through_the_environment(name: str, tmp_path: Path) -> None:
    from pybridge.env import EdgeMoEEnv

    over: dict[str, object] = {"warmup_s": 0.5}
    if name == "interference":  # the catalogue's 10 Mbit/s is slow for a unit test
        over["background"] = {"stations": 2, "load_mbps": 2, "ap_position": [12, 0, 1]}
    cfg = _scenario(name, **over)
    if name == "cellular-edge":  # likewise its 6 loading UEs
        cfg["scenario"]["lte"].update(cell_load_ues=2, cell_load_mbps=2)
    try:
        program_path(cfg["scenario"]["program"])
    except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
        pytest.skip(f"{cfg['scenario']['program']} is not built")
    cfg["tasks"].update(table=str(_table(tmp_path)), episode_tasks=3, gap_s=1.0)
    if len(load_config(cfg).scenario.user_nodes) > 1:
        _runs_with_several_users(cfg)
        return
    env = EdgeMoEEnv(cfg)
    try:
        obs, _ = env.reset(seed=2)
        assert env.observation_space.contains(obs)
        for _ in range(3):
            obs, reward, _, _, info = env.step(np.array([1, 2]))
            _plausible(reward, info, cfg)
    finally:
        env.close()


def _runs_with_several_users(cfg: dict) -> None:
    import pybridge

    env = pybridge.parallel_env(config=cfg)
    try:
        observations, _ = env.reset(seed=2)
        assert all(env.observation_space(a).contains(o) for a, o in observations.items())
        for _ in range(3):
            _, rewards, _, _, infos = env.step({a: np.array([1, 2]) for a in env.agents})
            for agent, reward in rewards.items():
                _plausible(reward, infos[agent], cfg)
    finally:
        env.close()


def _plausible(reward: float, info: dict, cfg: dict) -> None:
    assert math.isfinite(reward)
    d = info["distance_m"]
    assert np.all(np.isfinite(d)) and np.all(d > 0)
    snr = info["snr_db"][:2]
    delivered = info["bytes_delivered"][:2] > 0
    # an expert that delivered was heard, at a plausible SNR, in a plausible time
    assert np.all(np.isfinite(snr[delivered])) and np.all(snr[delivered] > 0)
    assert np.all(snr[delivered] < 100)
    assert np.all(info["delay_s"][:2][delivered] < cfg["tasks"]["deadline_s"])
