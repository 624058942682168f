"""--observe=probe (configs/default.yaml's observation; the programs' own default is
heartbeat): one broadcast query before a decision, jittered answers of --probeAnswers frames.

Real standalone runs of edge-moe. Static experts without fading: the probes keep every
expert's observation younger than --probeMaxAge at each decision and measure the same SNR
as the heartbeats (the link budget), at a fraction of the events. The default scenario
(Nakagami fading, the range edge's low-ack disassociation): no expert loses its association
and every observation is fresh. LTE: no probes (the cell's reports are the observation).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from pybridge.config import load_config
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError, program_path

sys.path.insert(0, str(REPO_ROOT / "bench"))
from observe_compare import random_subsets  # noqa: E402

pytestmark = pytest.mark.ns3

try:
    EDGE_MOE = str(program_path("edge-moe"))
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(f"edge-moe is not built: {exc}", allow_module_level=True)

STATIC = ["--nodes=0,0,1;5,0,1;-8,4,1;0,-12,1", "--nakagami=0", "--gap=2", "--script=1;2;3"]


def run(program: str, *flags: str) -> tuple[list[dict], int, str]:
    proc = subprocess.run(
        [program, "--standalone", *flags], capture_output=True, text=True, timeout=120, check=True
    )
    events = int(re.search(r"(\d+) events in all", proc.stderr).group(1))
    return [json.loads(line) for line in proc.stdout.splitlines()], events, proc.stderr


def test_probes_keep_the_observation_fresh_and_the_snr_of_heartbeats() -> None:
    static = ["--tasks=6", "--computeS=0", *STATIC]
    probe, probe_events, err = run(EDGE_MOE, *static, "--observe=probe")
    beat, beat_events, _ = run(EDGE_MOE, *static)  # the default mode
    assert "probes sent" in err
    for p, h in zip(probe, beat, strict=True):
        assert p["obs_associated"] == h["obs_associated"] == [1, 1, 1]
        # every expert was asked (idle 2 s) and answered before the decision
        assert all(0 < age <= 0.1 for age in p["obs_age_s"])
        # the task's own SNR samples: the link budget's, whatever the mode
        for a, b in zip(p["snr_db"], h["snr_db"], strict=True):
            assert (a is None and b is None) or abs(a - b) < 0.01
        # the observed moving average: never above the heartbeats'. Below it only by the
        # decaying weight of one sample both modes hear: expert 1's association request,
        # which collided at t=0.12 s (SINR 6 dB); heartbeats add 10 samples a second.
        for a, b in zip(p["obs_snr_db"], h["obs_snr_db"], strict=True):
            assert b - 1.5 < a <= b + 0.01
    last = zip(probe[-1]["obs_snr_db"], beat[-1]["obs_snr_db"], strict=True)
    assert all(abs(a - b) < 0.1 for a, b in last)
    assert probe_events < beat_events / 2  # 4 frames per answer: 10,459 against 25,635


def test_an_answer_of_several_frames_gives_as_many_fresh_samples() -> None:
    static = ["--tasks=4", "--computeS=0", *STATIC, "--observe=probe"]
    one, _, err_one = run(EDGE_MOE, *static, "--probeAnswers=1")
    three, _, err_three = run(EDGE_MOE, *static, "--probeAnswers=3")
    answered = [re.search(r"probes sent (\d+), answered (\d+)", e).groups()
                for e in (err_one, err_three)]  # fmt: skip
    assert answered[0][0] == answered[1][0]  # the same queries
    assert int(answered[1][1]) == 3 * int(answered[0][1])  # three frames each
    for a, b in zip(one, three, strict=True):
        # the same jitter draws; the last of three frames leaves 2 ms after the first
        # (within the airtime its neighbours take on a shared channel)
        for age_one, age_three in zip(a["obs_age_s"], b["obs_age_s"], strict=True):
            assert 0.0015 < age_one - age_three < 0.0025
        # static links without fading: every sample is the link budget's (expert 1 aside:
        # its collided association request weighs less once more samples come in)
        assert a["obs_snr_db"][1:] == pytest.approx(b["obs_snr_db"][1:], abs=1e-6)


def test_probes_keep_the_default_scenarios_experts_associated_and_fresh() -> None:
    cfg = load_config("configs/default.yaml")
    argv = [*cfg.scenario.argv(2), "--tasks=20", "--script=1,2,3", "--gap=2"]
    rows, events, err = run(EDGE_MOE, *argv, "--observe=probe")
    assert re.search(r"probes sent [1-9]", err)
    assert all(r["obs_associated"] == [1, 1, 1] for r in rows)
    ages = [a for r in rows for a in r["obs_age_s"]]
    assert sum(a <= 0.1 for a in ages) >= 0.9 * len(ages)
    assert sum(sum(r["replies_lost"]) for r in rows) <= 1
    _, beat_events, _ = run(EDGE_MOE, *argv, "--observe=heartbeat")  # the last flag wins
    assert events < beat_events / 2


def test_probes_bring_dropped_experts_back_before_the_decision() -> None:
    # The default scenario, random subsets (bench/observe_compare.py's, seed 2), 40 tasks:
    # the user walks 30-50 m from the experts, where the access point drops them for low
    # acks. Asking a dropped expert every --probeMaxAge through the gap (and during a task
    # that waits for it), not once per gap, leaves it out at fewer decisions: measured 13
    # expert-decisions out (8 replies lost) with the repeated repair queries, 20 (9) with
    # one per gap (commit 0d37425), both with one frame per answer; 10 (7) with four (the
    # default since); heartbeats: 10 (6).
    cfg = load_config("configs/default.yaml")
    script = random_subsets(cfg.scenario.num_experts, 40, seed=2)
    argv = [*cfg.scenario.argv(2), "--tasks=40", f"--script={script}", "--gap=2"]
    rows, _, _ = run(EDGE_MOE, *argv, "--observe=probe", "--deadline=10")
    out = sum(3 - sum(r["obs_associated"]) for r in rows)
    lost = sum(sum(r["replies_lost"]) for r in rows)
    assert out <= 16, out
    assert lost <= 9, lost


def test_repair_queries_back_off_while_an_expert_stays_out_of_range() -> None:
    # Expert 3 stands 150 m away and never associates; each task waits 3 s for its reply.
    # A fixed cadence asks it every --probeLead (20 ms) through the task and every
    # --probeMaxAge (0.1 s) through the gap: measured 343 queries; doubling during the task
    # up to --probeRepairMax (0.08 s): 121, and 60% of the events. The experts in range see
    # the same thing.
    far = [
        "--nodes=0,0,1;5,0,1;-8,4,1;150,0,1",
        "--area=-200,200,-200,200",
        "--nakagami=0",
        "--gap=2",
        "--script=1,3;2,3",
        "--tasks=2",
        "--computeS=0",
        "--deadline=3",
        "--observe=probe",
    ]
    fixed, fixed_events, fixed_err = run(EDGE_MOE, *far, "--probeRepairMax=0")
    backoff, backoff_events, backoff_err = run(EDGE_MOE, *far)  # the default: 0.08 s
    sent = {
        name: int(re.search(r"probes sent (\d+)", err).group(1))
        for name, err in (("fixed", fixed_err), ("backoff", backoff_err))
    }
    # two tasks of 3 s at 50 a second and the gaps at 10: 343, the count of the fixed
    # cadence before --probeRepairMax existed (65c3e9a); doubling: under half
    assert sent["fixed"] == 343, sent
    assert sent["backoff"] < 0.5 * sent["fixed"], sent
    assert backoff_events < 0.75 * fixed_events
    for f, b in zip(fixed, backoff, strict=True):
        assert f["obs_associated"] == b["obs_associated"] == [1, 1, 0]
        assert f["replies_lost"][2] == b["replies_lost"][2] == 1
        assert f["replies_lost"][:2] == b["replies_lost"][:2] == [0, 0]


def test_probes_with_several_users() -> None:
    # Two users, the second a station of the first's hotspot (static, no fading): user 0,
    # the access point, probes before each round; user 1 learns from its own exchanges, as
    # with heartbeats (which go to user 0 only). Every reply comes in, at fewer events.
    two = [
        "--nodes=0,0,1;2,0,1;5,0,1;-8,4,1;0,-12,1",
        "--numUsers=2",
        "--nakagami=0",
        "--gap=2",
        "--script=1,2;3;2,3",
        "--tasks=4",
        "--computeS=0",
    ]
    probe, probe_events, err = run(EDGE_MOE, *two, "--observe=probe")
    beat, beat_events, _ = run(EDGE_MOE, *two, "--observe=heartbeat")
    assert re.search(r"probes sent [1-9]", err)
    assert probe_events < beat_events
    for p, h in zip(probe, beat, strict=True):
        for up, uh in zip(p["users"], h["users"], strict=True):
            assert up["obs_associated"] == uh["obs_associated"] == [1, 1, 1]
            assert sum(up["replies_lost"]) == sum(uh["replies_lost"]) == 0
        # user 0 heard every expert within --probeMaxAge of the decision
        assert all(0 < age <= 0.1 for age in p["users"][0]["obs_age_s"])


def test_repair_queries_serve_every_users_tasks() -> None:
    # Two users; expert 3 stands 150 m away. Only user 1's task waits for it (user 0 asks
    # expert 1): user 0, the access point, still asks expert 3 through user 1's task, as it
    # relays user 1's request. With nobody waiting for it, only the gaps ask.
    two = [
        "--nodes=0,0,1;2,0,1;5,0,1;-8,4,1;150,0,1",
        "--area=-200,200,-200,200",
        "--numUsers=2",
        "--nakagami=0",
        "--gap=2",
        "--tasks=1",
        "--computeS=0",
        "--deadline=3",
        "--observe=probe",
        "--probeRepairMax=0",  # the fixed cadence: 50 a second through the task
    ]
    sent = {}
    for name, script in (("waits", "--script=1;3"), ("nobody", "--script=1;2")):
        rows, _, err = run(EDGE_MOE, *two, script)
        sent[name] = int(re.search(r"probes sent (\d+)", err).group(1))
        lost = [u["replies_lost"] for u in rows[0]["users"]]
        assert lost[0] == [0, 0, 0]
        assert lost[1] == ([0, 0, 1] if name == "waits" else [0, 0, 0])
    assert sent["waits"] > sent["nobody"] + 100, sent


def test_lte_sends_no_probes_and_is_the_same_in_both_modes() -> None:
    try:
        lte = str(program_path("edge-moe-lte"))
    except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
        pytest.skip("edge-moe-lte is not built")
    flags = ["--tasks=2", "--script=1,2", "--numExperts=2", "--gap=0.5"]
    probe = run(lte, *flags, "--observe=probe")
    beat = run(lte, *flags)
    assert "probes sent" not in probe[2]
    assert probe[:2] == beat[:2]


def test_a_decision_that_waits_for_an_answer_waits_for_all_its_frames() -> None:
    # The run above: some answers are missing at the decision, which waits for them. With
    # one frame per answer the decision falls on that frame (a sample 0 s old); with four,
    # it waits for the other three, so no sample is that fresh.
    cfg = load_config("configs/default.yaml")
    script = random_subsets(cfg.scenario.num_experts, 40, seed=2)
    argv = [*cfg.scenario.argv(2), "--tasks=40", f"--script={script}", "--gap=2"]
    ages = {}
    for frames in (1, 4):
        rows, _, _ = run(EDGE_MOE, *argv, "--observe=probe", f"--probeAnswers={frames}")
        ages[frames] = [a for r in rows for a in r["obs_age_s"] if a is not None]
    assert sum(a == 0 for a in ages[1]) >= 5  # measured: 16 decisions waited
    assert min(ages[4]) > 0
