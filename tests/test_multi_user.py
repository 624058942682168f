"""Several user devices in one ns-3 scenario (edge-moe --numUsers, bridge rounds).

Real simulations: the standalone program (one JSON line per round with several users) and
the bridge (``Bridge.step_round`` / ``try_round``). One user must be exactly what it was
before users existed: the bridge path is checked against the standalone path.
"""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pytest
from report_checks import assert_try_measures_the_step

from pybridge.bridge import Bridge
from pybridge.paths import ScenarioNotBuiltError, program_path

pytestmark = pytest.mark.ns3

try:
    EDGE_MOE = str(program_path("edge-moe"))
    EDGE_MOE_LTE = str(program_path("edge-moe-lte"))
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(f"edge-moe is not built: {exc}", allow_module_level=True)

SERVING = ["--serving=1", "--heartbeatInterval=0.1"]


def standalone(*flags: str, tasks: int = 1, program: str = EDGE_MOE) -> list[dict]:
    cmd = [program, "--standalone", f"--tasks={tasks}", *flags]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-2000:]}"
    lines = proc.stdout.splitlines()
    assert len(lines) == tasks
    return [json.loads(line) for line in lines]


def task(targets: list[int], deadline_s: float = 5.0, offset_s: float = 0.0, gap_s: float = 1.0):
    k = len(targets)
    return {
        "task_id": 0,
        "num_subtasks": k,
        "target": targets,
        "request_bytes": [200] * k,
        "reply_bytes": [1500] * k,
        "compute_s": [0.2] * k,
        "prompt_tokens": [64] * k,
        "reply_tokens": [128] * k,
        "deadline_s": deadline_s,
        "next_gap_s": gap_s,
        "start_offset_s": offset_s,
    }


def same(a: dict, b: dict) -> None:
    """Two reports are equal in every field (NaN equals NaN)."""
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(np.asarray(a[name]), np.asarray(b[name]), err_msg=name)


def test_one_user_bridge_equals_standalone() -> None:
    """The round machinery with one user: the bridge's reports are the standalone JSON."""
    flags = ["--numExperts=3", "--RngRun=3", "--warmup=1"]
    script = [[1, 2, 3], [0, 1, 1], [3, 3, 2]]
    lines = standalone(
        *flags, "--script=" + ";".join(",".join(map(str, t)) for t in script), tasks=3
    )
    with Bridge(timeout_s=60) as bridge:
        bridge.start([EDGE_MOE, *flags])
        for i, (line, targets) in enumerate(zip(lines, script, strict=True)):
            fields = task(targets) | {"task_id": i}
            fields.pop("start_offset_s")
            r = bridge.step(fields)
            for name, value in line.items():
                got = r[name] if np.ndim(value) == 0 else r[name][: len(value)]
                # the JSON has 10 significant digits; None is NaN
                np.testing.assert_allclose(
                    np.asarray(got, dtype=float),
                    np.asarray(value, dtype=float),
                    rtol=1e-9,
                    equal_nan=True,
                    err_msg=name,
                )


def test_explicit_one_user_prints_what_no_flag_prints() -> None:
    base = ["--numExperts=2", "--script=1,2;0,2", *SERVING]
    assert standalone(*base, tasks=2) == standalone(*base, "--numUsers=1", tasks=2)


def test_four_users_on_one_expert_queue_up() -> None:
    """Every user sends all three subtasks to expert 1 at once: its FIFO is shared."""
    (line,) = standalone("--numUsers=4", "--numExperts=3", "--script=1,1,1", *SERVING)
    users = line["users"]
    assert line["round"] == 0 and len(users) == 4
    first_wait = [min(w for w in u["queue_wait_s"] if w is not None) for u in users if
                  any(w is not None for w in u["queue_wait_s"])]  # fmt: skip
    assert len(first_wait) >= 2
    assert max(first_wait) > min(first_wait) + 0.5  # later users wait behind earlier ones
    for u in users:  # ground truth, the same in every user's report
        assert u["expert_queue_len_max"] == users[0]["expert_queue_len_max"]
        assert u["expert_queue_len_mean"] == users[0]["expert_queue_len_mean"]
    assert users[0]["expert_queue_len_max"][0] >= 2
    assert users[0]["expert_queue_len_max"][1:] == [0, 0]  # nobody else was asked
    assert users[0]["expert_queue_len_mean"][0] > 1
    # each user's own observation: the queue length it read in its replies' headers
    assert any(u["obs_queue_len"][0] is not None for u in users)
    assert all(u["obs_queue_len"][1] is None for u in users)


@pytest.mark.parametrize("topology", ["direct", "infrastructure"])
def test_users_measure_their_own_links(topology: str) -> None:
    """Users 0 and 1 offload to different experts: each report counts its own frames."""
    (line,) = standalone(
        "--numUsers=2", "--numExperts=2", f"--topology={topology}", "--script=1;2",
        "--computeS=0",
    )  # fmt: skip
    u0, u1 = line["users"]
    assert u0["bytes_delivered"] == [1500, 0] and u1["bytes_delivered"] == [0, 1500]
    assert u0["packets_sent"][0] > 0 and u1["packets_sent"][1] > 0
    assert u1["packets_sent"][0] == 0  # user 0's traffic (relayed or not) is not user 1's
    assert u0["ue_energy_j"] > 0 and u1["ue_energy_j"] > 0
    assert u0["distance_m"] != u1["distance_m"]  # they stand apart


@pytest.mark.parametrize("topology", ["direct", "infrastructure"])
def test_a_users_observation_of_an_expert_ages_while_another_user_uses_it(topology: str) -> None:
    """Each user observes an expert's radio hop only through its own exchanges with it.

    User 1 sends to expert 1 every round; user 2 does once, then computes locally; user 0
    always computes locally; nobody uses expert 2. No heartbeats, so an exchange is the
    only way to measure an expert's hop. User 2's observation of expert 1 must age by the
    rounds' lengths (no sample from user 1's traffic), and a user that never exchanged with
    an expert knows nothing of its hop (NaN), except the hotspot (user 0 in direct mode),
    whose own radio receives every frame the experts send.
    """
    flags = ["--numUsers=3", "--numExperts=2", f"--topology={topology}", "--RngRun=2",
             "--heartbeatBytes=0"]  # fmt: skip
    rounds = []
    with Bridge(timeout_s=60) as bridge:
        bridge.start([EDGE_MOE, *flags])
        for r in range(4):
            mine = [1] if r == 0 else [0]
            rounds.append(bridge.step_round([task([0], gap_s=0.1), task([1]), task(mine)]))
    for users in rounds:
        assert users[1]["subtask_delivered"][0] == 1  # user 1 reached expert 1
        assert users[1]["obs_age_s"][0] < 0.3  # and measured it this round
        assert math.isnan(users[1]["obs_age_s"][1]) and math.isnan(users[2]["obs_age_s"][1])
        assert math.isnan(users[1]["obs_snr_db"][1]) and math.isnan(users[2]["obs_snr_db"][1])
    assert rounds[0][2]["obs_age_s"][0] < 0.3  # user 2's own exchange in round 0
    for before, after in zip(rounds[:-1], rounds[1:], strict=True):
        elapsed = float(after[2]["sim_time_s"] - before[2]["sim_time_s"])
        assert elapsed > 0.1
        # no new sample of expert 1's hop for user 2: its age grows by the round's length
        assert after[2]["obs_age_s"][0] == pytest.approx(
            before[2]["obs_age_s"][0] + elapsed, abs=1e-9
        )
    if topology == "infrastructure":  # user 0 is a station that never used an expert
        assert np.isnan(rounds[-1][0]["obs_age_s"][:2]).all()
    else:  # user 0 is the hotspot: its radio receives user 1's exchanges with expert 1
        assert rounds[-1][0]["obs_age_s"][0] < 0.3


def test_random_offsets_start_each_user_late_and_try_round_equals_step_round() -> None:
    flags = ["--numUsers=3", "--numExperts=2", "--RngRun=5", *SERVING]
    offsets = [0.0, 0.35, 1.1]
    with Bridge(timeout_s=60) as bridge:
        bridge.start([EDGE_MOE, *flags])
        round_tasks = [task([1, 2, 0], offset_s=o) for o in offsets]
        tried = bridge.try_round(round_tasks)
        stepped = bridge.step_round(round_tasks)
        for a, b in zip(tried, stepped, strict=True):
            assert_try_measures_the_step(a, b)
            # the try's copy stops at the round's end; the step simulates the 1 s gap
            end = max(float(r["task_end_s"]) for r in stepped)
            assert math.isclose(float(a["sim_time_s"]), end, abs_tol=1e-9)
            assert math.isclose(float(b["sim_time_s"]), end + 1.0, abs_tol=1e-9)
            assert a["sim_events"] < b["sim_events"]
        start0 = stepped[0]["task_start_s"]
        for r, o in zip(stepped, offsets, strict=True):
            assert math.isclose(r["task_start_s"] - start0, o, abs_tol=1e-9)
            assert r["task_end_s"] > r["task_start_s"]
            assert r["replies_lost"].sum() == 0
        # the round ends for everyone together: the same observation time
        assert len({float(r["sim_time_s"]) for r in stepped}) == 1
        # a wrong number of users is refused by the scenario (one line)
        with pytest.raises(Exception, match="num_users 1, but the scenario has 3"):
            bridge.step_round([task([1])])


def test_reset_to_the_same_run_repeats_a_round_of_several_users() -> None:
    flags = ["--numUsers=3", "--numExperts=2", "--RngRun=4", *SERVING]
    round_tasks = [task([1, 2], offset_s=0.1 * u) for u in range(3)]
    with Bridge(timeout_s=60) as bridge:
        bridge.start([EDGE_MOE, *flags])
        first = bridge.step_round(round_tasks)
        bridge.reset(4)
        ready = bridge.copy_reports(3)
        again = bridge.step_round(round_tasks)
    assert [int(r["status"]) for r in ready] == [1, 1, 1]
    for a, b in zip(first, again, strict=True):
        same(a, b)


def test_a_users_deadline_loses_only_its_own_replies() -> None:
    flags = ["--numUsers=2", "--numExperts=2", "--RngRun=2", *SERVING]
    with Bridge(timeout_s=60) as bridge:
        bridge.start([EDGE_MOE, *flags])
        short, long = bridge.step_round([task([1, 2], deadline_s=0.05), task([1, 2])])
    assert short["replies_lost"][:2].sum() == 2
    assert math.isclose(short["task_end_s"] - short["task_start_s"], 0.05, abs_tol=1e-9)
    assert long["replies_lost"][:2].sum() == 0
    assert long["subtask_delivered"][:2].tolist() == [1, 1]


def test_lte_users_are_ues_of_the_cell_with_their_own_radio_hop() -> None:
    """Two users near and far from the eNB reach a wired edge server up their own links."""
    (line,) = standalone(
        "--numUsers=2", "--nodes=10,0,1.5;300,0,1.5;50,50,1.5;-50,50,1.5", "--wiredServers=1",
        "--script=1,3;2,3", *SERVING[:1], program=EDGE_MOE_LTE,
    )  # fmt: skip
    near, far = line["users"]
    assert near["bytes_delivered"][:2] == [34524, 0] and far["bytes_delivered"][:2] == [0, 34524]
    assert near["replies_lost"] == far["replies_lost"] == [0, 0, 0]
    # the wired server's path SNR is each user's own uplink: the far user's is lower
    assert far["snr_db"][2] < near["snr_db"][2] - 10
    assert far["obs_snr_db"][2] < near["obs_snr_db"][2] - 10
    # both asked the wired server at once: its FIFO saw their requests
    assert near["expert_queue_len_max"] == far["expert_queue_len_max"]
    assert near["expert_queue_len_max"][2] == 2


@pytest.mark.slow
def test_sixteen_users_thirty_two_experts_run_a_round() -> None:
    (line,) = standalone(
        "--numUsers=16", "--numExperts=32", "--radius=8", "--area=-20,20,-20,20",
        "--script=1,9;25,0", "--userOffsets=0,0.2", "--warmup=0.5", "--deadline=3", "--gap=0",
        *SERVING,
    )  # fmt: skip
    users = line["users"]
    assert len(users) == 16
    assert all(len(u["expert_queue_len_max"]) == 32 for u in users)
    delivered = sum(sum(u["subtask_delivered"]) for u in users)
    assert delivered > 0
    assert max(users[0]["expert_queue_len_max"]) >= 2


@pytest.mark.parametrize(
    ("program", "flag", "problem"),
    [
        (EDGE_MOE, "--numUsers=0", "--numUsers: "),
        (EDGE_MOE, "--numUsers=17", "--numUsers: "),
        (EDGE_MOE, "--numUsers=two", "--numUsers: "),
        (EDGE_MOE, "--numUsers=3 --nodes=0,0,1;1,0,1;2,0,1", "--nodes: lists 3 nodes"),
        (EDGE_MOE_LTE, "--numUsers=20", "--numUsers: "),
    ],
)
def test_bad_num_users_is_one_line_exit_2(program: str, flag: str, problem: str) -> None:
    proc = subprocess.run(
        [program, "--standalone", "--tasks=1", *flag.split()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and problem in lines[0], proc.stderr
