"""The shared-memory bridge against its C++ stand-in peer (bridge-echo, no ns-3).

Covers the contract the scenarios rely on: messages arrive intact, a dead or hung
peer is noticed instead of hanging, nothing is left behind, and restarts are cheap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from proc_utils import bridge_segments, exited

from pybridge import bridge as B
from pybridge.paths import ScenarioNotBuiltError, program_path

try:
    ECHO = str(program_path("bridge-echo"))
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(str(exc), allow_module_level=True)


def test_layout_matches_the_c_header() -> None:
    # offsets come from the compiled extension; sanity-check the parts sync.h relies on
    assert B.HEADER_DTYPE.fields["to_scenario_seq"][1] % 64 == 0
    assert B.HEADER_DTYPE.fields["to_python_seq"][1] % 64 == 0
    assert B.ACTION_DTYPE.itemsize == B.LAYOUT["action_size"]
    assert B.REPORT_DTYPE["snr_db"].shape == (B.MAX_EXPERTS,)
    assert B.ACTION_DTYPE["target"].shape == (B.MAX_SUBTASKS,)


def test_round_trip_carries_the_action_and_report() -> None:
    with B.Bridge() as br:
        first = br.start([ECHO, "--experts=4"])
        assert first["status"] == B.LAYOUT["status_ready"]
        assert first["num_experts"] == 4
        rep = br.step(
            {
                "task_id": 41,
                "num_subtasks": 3,
                "target": [2, 0, 2],
                "reply_bytes": [1000, 7, 234],
                "compute_s": [0.5, 0.25, 0.125],
            }
        )
        assert rep["status"] == B.LAYOUT["status_stepped"]
        assert rep["task_id"] == 41
        # expert 2 (index 1) got subtasks 0 and 2: 1000 + 234 bytes
        np.testing.assert_array_equal(rep["bytes_delivered"][:4], [0, 1234, 0, 0])
        np.testing.assert_allclose(rep["subtask_delay_s"][:3], [0.501, 0.250007, 0.125234])
        # a copied report survives the next exchange
        br.step({"task_id": 42, "num_subtasks": 1, "target": [1], "reply_bytes": [5]})
        assert rep["task_id"] == 41
        assert br.report["task_id"] == 42


def test_stop_is_clean_and_close_is_idempotent() -> None:
    br = B.Bridge()
    br.start([ECHO])
    proc = br.process
    assert br.stop() == 0
    assert proc.returncode == 0
    assert br.stop() is None
    br.close()
    br.close()
    with pytest.raises(B.BridgeError, match="closed"):
        br.start([ECHO])


def test_exchange_without_a_scenario_is_a_clear_error() -> None:
    with B.Bridge() as br, pytest.raises(B.BridgeError, match="no scenario is running"):
        br.exchange()


def test_killed_scenario_raises_quickly_and_leaks_nothing() -> None:
    before = bridge_segments()
    br = B.Bridge()
    br.start([ECHO, "--stallMs=5000"])
    pid = br.process.pid
    threading_kill = subprocess.Popen(
        [sys.executable, "-c", f"import os,time,signal; time.sleep(0.3); os.kill({pid}, 9)"]
    )
    t0 = time.monotonic()
    with pytest.raises(B.ScenarioDied, match="killed by signal 9"):
        br.step({"num_subtasks": 1, "target": [1], "reply_bytes": [10]})
    elapsed = time.monotonic() - t0
    threading_kill.wait()
    assert elapsed < 1.5, f"noticed the dead scenario only after {elapsed:.2f} s"
    # the bridge is reusable after a crash
    br.start([ECHO])
    assert br.step({"task_id": 3})["task_id"] == 3
    br.close()
    assert bridge_segments() == before
    assert not [n for n in os.listdir("/dev/shm") if "netmoe" in n]


def test_scenario_error_message_reaches_python() -> None:
    with B.Bridge() as br, pytest.raises(B.ScenarioDied, match="unknown argument --bogus"):
        br.start([ECHO, "--bogus=1"])


def test_missing_program_is_a_clear_error() -> None:
    with B.Bridge() as br, pytest.raises(B.BridgeError, match="cannot start scenario"):
        br.start(["/nonexistent/edge-moe"])


def test_hung_scenario_times_out() -> None:
    with B.Bridge(timeout_s=0.5) as br:
        br.start([ECHO, "--stallMs=10000"])
        proc = br.process
        t0 = time.monotonic()
        with pytest.raises(B.BridgeTimeout, match="no answer within 0.5 s"):
            br.step({"task_id": 1})
        assert time.monotonic() - t0 < 1.5
        assert proc.poll() is not None  # killed, not left running


def test_scenario_exits_when_python_parent_dies() -> None:
    code = textwrap.dedent(
        f"""
        import sys, time
        from pybridge.bridge import Bridge
        br = Bridge()
        br.start([{ECHO!r}])
        print(br.process.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    scenario_pid = int(parent.stdout.readline())
    assert not exited(scenario_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 3.0
    while not exited(scenario_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exited(scenario_pid), "scenario outlived its Python parent"


def test_many_restarts_do_not_leak() -> None:
    before = bridge_segments()
    with B.Bridge() as br:
        br.start([ECHO])
        with_one = bridge_segments()
        children_before = len(os.listdir("/proc/self/task"))
        for i in range(200):
            br.start([ECHO])
            assert br.step({"task_id": i})["task_id"] == i
        assert bridge_segments() == with_one  # still just the one segment
        assert len(os.listdir("/proc/self/task")) == children_before
    assert bridge_segments() == before


def test_bridges_run_side_by_side() -> None:
    bridges = [B.Bridge() for _ in range(4)]
    try:
        for br in bridges:
            br.start([ECHO])
        for i, br in enumerate(bridges):
            assert br.step({"task_id": 100 + i})["task_id"] == 100 + i
    finally:
        for br in bridges:
            br.close()


def test_try_step_runs_in_a_forked_copy() -> None:
    with B.Bridge() as br:
        br.start([ECHO])
        pid = br.process.pid
        assert br.step({"task_id": 1})["sim_time_s"] == 1.0
        # each TRY is answered by a fork that counts one more step and vanishes
        for _ in range(3):
            tried = br.try_step(
                {"task_id": 9, "num_subtasks": 1, "target": [1], "reply_bytes": [5]}
            )
            assert tried["sim_time_s"] == 2.0
            assert tried["bytes_delivered"][0] == 5
        # the real scenario did not move
        assert br.step({"task_id": 2})["sim_time_s"] == 2.0
        assert br.process.pid == pid


def _cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_one_cpu_layout_does_not_spin() -> None:
    # Both peers pinned to one CPU, each allowed a full second of spinning: a waiter
    # that spun would hold the CPU its peer needs until the scheduler preempted it
    # (milliseconds a round trip). Each side sees the other publish the same CPU and
    # sleeps at once, so 300 round trips cost both processes next to no CPU.
    cpu = min(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})  # this thread; the scenario inherits it
    try:
        with B.Bridge(spin_us=1e6) as br:
            br.start(["taskset", "-c", str(cpu), ECHO, "--spinUs=1000000"])
            pid = br.process.pid
            py0, peer0 = time.thread_time(), _cpu_s(pid)
            for i in range(300):
                assert br.step({"task_id": i})["task_id"] == i
            py_cpu, peer_cpu = time.thread_time() - py0, _cpu_s(pid) - peer0
            # both sides said where they run, and it is the one CPU
            assert br.header["python_cpu"] == cpu + 1
            assert br.header["scenario_cpu"] == cpu + 1
    finally:
        os.sched_setaffinity(0, before)
    assert peer_cpu < 0.3, f"scenario burnt {peer_cpu:.2f} CPU-s in 300 round trips"
    assert py_cpu < 0.3, f"Python burnt {py_cpu:.2f} CPU-s in 300 round trips"


def test_roundtrip_benchmark_skips_zeromq_without_its_peer(tmp_path) -> None:
    # A build tree with bridge-echo but no zmq-echo (a machine without libzmq): the
    # documented benchmark still runs, and says in one line why ZeroMQ is missing.
    (tmp_path / "bridge-echo").symlink_to(ECHO)
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, NETMOE_BUILD_DIR=str(tmp_path), PYTHONPATH=str(repo))
    out = subprocess.run(
        [sys.executable, str(repo / "bench" / "bridge_roundtrip.py"), "--n", "300"]
        + ["--repeat", "1", "--idle-s", "0.2", "--json", str(tmp_path / "b.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    notes = [ln for ln in out.stderr.splitlines() if "ZeroMQ rows skipped" in ln]
    assert notes == [
        "note: ZeroMQ rows skipped: zmq-echo is not built (netmoe build builds it "
        "when pyzmq or libzmq3-dev is present)"
    ]
    res = json.loads((tmp_path / "b.json").read_text())
    assert "zmq_ipc" not in res
    assert set(res["this"]["summary"]) >= {"free", "one-cpu", "waiting"}
    assert res["this"]["summary"]["one-cpu"]["median_us"] > 0
