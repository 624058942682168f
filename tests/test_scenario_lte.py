"""The LTE scenario (edge-moe-lte): its config, its physics, and the same contract as edge-moe.

The ns-3 tests run the compiled program (standalone, over the bridge and through the
environment) and are skipped when it is not built; see docs/scenario-lte.md.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from report_checks import assert_report_matches

from pybridge.backends import ShannonBackend
from pybridge.config import ConfigError, load_config
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError, program_path
from pybridge.scenario_check import check_scenario

CONFIG = REPO_ROOT / "configs" / "scenarios" / "cellular-edge.yaml"

try:
    LTE: str | None = str(program_path("edge-moe-lte"))
except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
    LTE = None


def needs_lte(test):  # noqa: ANN001, ANN201 - a test decorator
    """Mark a test as running ns-3 (``-m ns3``) and skip it when edge-moe-lte is not built."""
    skip = pytest.mark.skipif(LTE is None, reason="edge-moe-lte is not built")
    return pytest.mark.ns3(skip(test))


def _run(*flags: str, tasks: int = 1) -> tuple[list[dict], str]:
    assert LTE is not None
    proc = subprocess.run(
        [LTE, "--standalone", f"--tasks={tasks}", *flags],
        capture_output=True, text=True, timeout=300, cwd="/tmp",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == tasks
    return [json.loads(line) for line in lines], proc.stderr


def _fails(*flags: str) -> str:
    assert LTE is not None
    proc = subprocess.run(
        [LTE, "--standalone", "--tasks=1", *flags], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and proc.stdout == ""  # stopped before any simulation
    return proc.stderr.splitlines()[0]


def _lte(**over: object) -> dict:
    return {"scenario": {"program": "edge-moe-lte", "lte": over}}


# -- config (no ns-3) ---------------------------------------------------------------


def test_lte_flags_only_for_the_lte_program() -> None:
    lte = load_config(CONFIG).scenario.argv(rng_run=4)
    assert "--scheduler=pf" in lte and "--cellLoadUes=6" in lte and "--cellLoadMbps=6" in lte
    assert "--enb=0,0,30" in lte and "--bandwidthRbs=25" in lte and "--RngRun=4" in lte
    # the Wi-Fi flags are not passed to the LTE program, and vice versa
    names = {a.split("=")[0] for a in lte}
    assert not names & {"--standard", "--band", "--rateManager", "--heartbeatInterval"}
    wifi = {a.split("=")[0] for a in load_config({}).scenario.argv(1)}
    assert not wifi & {"--scheduler", "--cellLoadUes", "--enb", "--bandwidthRbs"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_lte(scheduler="fastest"), "scenario.lte.scheduler:"),
        (_lte(cell_load_ues=4), "scenario.lte.cell_load_mbps:"),
        (_lte(bandwidth_rbs=30), "scenario.lte.bandwidth_rbs:"),
    ],
)
def test_bad_lte_values_give_one_line(data: dict, message: str) -> None:
    # the program owns the value rules: asked through --check when an env is built
    with pytest.raises(ConfigError) as err:
        check_scenario(load_config(data))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_wifi_setting_on_the_lte_program_is_refused() -> None:
    data = {"scenario": {"program": "edge-moe-lte", "background": {"stations": 1}}}
    with pytest.raises(
        ConfigError,
        match="background is a wifi setting, but scenario.program 'edge-moe-lte' is lte",
    ):
        load_config(data)


def test_shannon_uses_the_expert_uplink_at_its_enb_distance() -> None:
    cfg = load_config(
        {
            "scenario": {
                "program": "edge-moe-lte",
                "user": {"position": [900, 0, 1.5]},  # the user's own link is not modelled
                "experts": [{"position": [100, 0, 1.5]}, {"position": [0, 600, 1.5]}],
                "lte": {"enb_position": [0, 0, 30], "bandwidth_rbs": 25},
            }
        }
    )
    sh = ShannonBackend(cfg, 1)
    report = sh.start(run=0)
    assert list(report["distance_m"]) == pytest.approx([100.0, 600.0])
    # 23 dBm - (15.3 + 37.6 log10 d) - (-174 + 10 log10(25 x 180 kHz) + 5 dB)
    noise = -174 + 10 * math.log10(4.5e6) + 5
    expected = [23 - 15.3 - 37.6 * math.log10(d) - noise for d in (100, 600)]
    assert list(report["obs_snr_db"]) == pytest.approx(expected)
    assert sh.bandwidth_hz == pytest.approx(4.5e6)


# -- ns-3 standalone ----------------------------------------------------------------

NODES = "--nodes=50,0,1.5;100,0,1.5;600,0,1.5"


@needs_lte
def test_farther_expert_has_lower_sinr_as_the_path_loss_says() -> None:
    (r,), _ = _run(NODES, "--replyBytes=20000", "--script=1,2")
    assert r["num_experts"] == 2 and r["status"] == 2
    d = np.array(r["distance_m"])  # expert to eNB (30 m mast), 3-D
    assert d == pytest.approx([math.hypot(100, 28.5), math.hypot(600, 28.5)], abs=0.01)
    snr = np.array(r["snr_db"])
    assert snr[0] > snr[1] + 20
    # ns-3's uplink SINR at the eNB is the closed-form path loss at that distance (single
    # cell, no fading: SINR = SNR; the UE at its 23 dBm maximum)
    noise = -174 + 10 * math.log10(25 * 180e3) + 5
    expected = 23 - 15.3 - 37.6 * np.log10(d) - noise
    assert snr == pytest.approx(expected, abs=1.0)
    assert r["obs_snr_db"] == pytest.approx(list(snr), abs=0.5)
    # both replies delivered; the far one is slower (lower MCS)
    assert r["bytes_delivered"] == [20000, 20000] and r["replies_lost"] == [0, 0]
    assert r["goodput_mbps"][0] > r["goodput_mbps"][1] > 0
    assert r["delay_s"][0] < r["delay_s"][1]
    assert all(p > 10 for p in r["packets_sent"])  # TBs both ways (20 kB = 14 segments)
    # HARQ: failed TBs are counted among the TBs of the link
    assert all(0 <= x <= p for x, p in zip(r["retransmissions"], r["packets_sent"], strict=True))
    assert r["obs_associated"] == [1, 1]
    assert all(0 <= a < 0.2 for a in r["obs_age_s"])  # SRS reports every few tens of ms
    # energy: RRC-connected base for the task + airtime; experts share the airtime part
    task_s = r["task_end_s"] - r["task_start_s"]
    assert r["ue_energy_j"] > 1.0 * task_s
    assert 0 < sum(r["energy_j"]) < r["ue_energy_j"] - 1.0 * task_s + 1e-9


@needs_lte
def test_expert_out_of_coverage_loses_its_reply() -> None:
    (r,), _ = _run("--nodes=50,0,1.5;100,0,1.5;3000,0,1.5", "--deadline=3", "--script=1,2")
    assert r["subtask_delivered"] == [1, 0] and r["replies_lost"] == [0, 1]
    assert r["delay_s"][1] == pytest.approx(3.0) and r["bytes_delivered"][1] == 0
    assert r["snr_db"][1] < -10


@needs_lte
def test_cell_load_makes_the_same_replies_slower() -> None:
    flags = [NODES, "--replyBytes=20000", "--script=1,2", "--gap=0.5"]
    quiet, _ = _run(*flags, tasks=2)
    busy, err = _run(*flags, "--cellLoadUes=4", "--cellLoadMbps=8", tasks=2)
    line = next(ln for ln in err.splitlines() if "cell load delivered" in ln)
    words = line.split()
    dl, ul, seconds = float(words[4]), float(words[8]), float(words[12])
    # the offered 8 Mbit/s (4 DL + 4 UL) gets through, from attach on
    assert (dl + ul) * 8 / seconds / 1e6 == pytest.approx(8.0, rel=0.25)

    def on_air(reports: list[dict]) -> float:
        return sum(sum(d - 0.2 for d in r["delay_s"]) for r in reports)  # minus compute_s

    # the scheduler shares the resource blocks: measured +65 % at 8 Mbit/s
    assert on_air(busy) > 1.3 * on_air(quiet)
    assert all(r["replies_lost"] == [0, 0] for r in busy)


@needs_lte
def test_scheduler_is_selectable_and_same_run_same_output() -> None:
    flags = [NODES, "--replyBytes=8000", "--cellLoadUes=3", "--cellLoadMbps=4", "--RngRun=3"]
    pf, _ = _run(*flags, "--scheduler=pf", tasks=2)
    again, _ = _run(*flags, "--scheduler=ns3::PfFfMacScheduler", tasks=2)
    assert pf == again  # short name = TypeId; same RngRun = same reports
    rr, _ = _run(*flags, "--scheduler=rr", tasks=2)
    assert rr != pf and all(r["replies_lost"] == [0, 0] for r in rr)
    other, _ = _run(*flags[:-1], "--RngRun=4", tasks=2)  # Poisson load drawn differently
    assert other != pf


@needs_lte
def test_bad_flags_stop_with_one_line() -> None:
    assert "--scheduler: 'fastest' is not an ns-3 LTE MAC scheduler" in _fails(
        "--scheduler=fastest"
    )
    assert "--bandwidthRbs: must be 6, 15, 25, 50, 75 or 100" in _fails("--bandwidthRbs=30")
    assert "--cellLoadUes and --cellLoadMbps" in _fails("--cellLoadUes=3")
    assert "--enb: must be x,y,z" in _fails("--enb=1,2")
    assert "--rlcMode: must be am or um" in _fails("--rlcMode=tm")
    assert "--script: target 4 is out of range 0..3" in _fails("--script=1,4")


# -- over the bridge and through the environment --------------------------------------

BRIDGE_FLAGS = [NODES, "--warmup=1", "--RngRun=2", "--cellLoadUes=2", "--cellLoadMbps=2"]


@needs_lte
def test_bridge_step_equals_standalone_and_try_equals_step() -> None:
    from pybridge.bridge import Bridge, ScenarioDied

    action = dict(
        task_id=0, num_subtasks=3, target=[1, 2, 0], request_bytes=[200] * 3,
        reply_bytes=[3000] * 3, compute_s=[0.2] * 3, deadline_s=5.0, next_gap_s=1.0,
    )  # fmt: skip
    (standalone,), _ = _run(*BRIDGE_FLAGS, "--script=1,2,0", "--replyBytes=3000")
    assert LTE is not None
    with Bridge(timeout_s=60) as br:
        ready = br.start([LTE, *BRIDGE_FLAGS])
        assert ready["status"] == 1 and ready["num_experts"] == 2
        assert list(ready["obs_associated"][:2]) == [1, 1]
        assert all(math.isfinite(v) for v in ready["obs_snr_db"][:2])
        r = br.step(action)
        assert_report_matches(r, standalone)
        # TRY (a forked copy of the cell runs the task) reports what STEP then does
        nxt = {**action, "task_id": 1, "target": [2, 1, 2]}
        tried = br.try_step(nxt)
        stepped = br.step(nxt)
        for name in ("delay_s", "snr_db", "packets_sent", "retransmissions", "ue_energy_j"):
            assert np.array_equal(tried[name], stepped[name], equal_nan=True), name
        assert stepped["task_start_s"] == pytest.approx(r["sim_time_s"])
        with pytest.raises(ScenarioDied, match="target 3 is out of range 0..2"):
            br.step({**action, "target": [1, 3, 0]})


def _table(tmp_path: Path) -> Path:
    from tests.conftest import synthetic_frame

    path = tmp_path / "table.parquet"
    synthetic_frame(3, 2, 3).to_parquet(path)
    return path


@needs_lte
@pytest.mark.parametrize("backend", ["ns3", "shannon"])
def test_cellular_edge_runs_through_the_environment(backend: str, tmp_path: Path) -> None:
    from pybridge.env import EdgeMoEEnv

    cfg = load_config(CONFIG).model_dump()
    cfg["backend"] = backend
    cfg["scenario"]["warmup_s"] = 0.5
    cfg["scenario"]["lte"].update(cell_load_ues=2, cell_load_mbps=2)  # lighter, faster
    cfg["tasks"].update(table=str(_table(tmp_path)), episode_tasks=3, gap_s=1.0)
    env = EdgeMoEEnv(cfg)
    try:
        obs, _ = env.reset(seed=2)
        assert env.observation_space.contains(obs)
        for _ in range(3):
            obs, reward, _, _, info = env.step(np.array([1, 2]))
            assert math.isfinite(reward) and env.observation_space.contains(obs)
            d = info["distance_m"]
            assert np.all(np.isfinite(d)) and np.all(d > 100)  # experts to the eNB
            delivered = info["bytes_delivered"][:2] > 0
            assert delivered.all()
            snr = info["snr_db"][:2]
            assert np.all(np.isfinite(snr)) and np.all((snr > 0) & (snr < 60))
            assert snr[0] > snr[1]  # the home server (150 m) hears better than the laptop
            assert np.all(info["delay_s"][:2] < cfg["tasks"]["deadline_s"])
    finally:
        env.close()
