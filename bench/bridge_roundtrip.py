"""Round trip of one action/report exchange: netmoe's shared-memory bridge vs ZeroMQ.

Both peers are C++ programs doing the same work on the same payloads (an action of
``sizeof(NetmoeAction)`` bytes out, a report of ``sizeof(NetmoeReport)`` bytes back):
``bridge-echo`` over our bridge, ``zmq-echo`` over a ZeroMQ REQ/REP pair (the
transport of ns3-gym) on loopback TCP and on IPC. Python writes the action bytes and
copies the report bytes out in both cases.

Also measured: CPU time burnt by a side that only waits (peer idle for 2 s).

    python bench/bridge_roundtrip.py [--n 20000] [--json results/bench_bridge.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pybridge.bridge import LAYOUT, Bridge
from pybridge.paths import program_path


def _raw(struct: np.ndarray) -> np.ndarray:
    """The bytes of one message in the shared segment (the bridge's ``action`` or
    ``report`` view), as a writable uint8 array over the same memory."""
    return struct.reshape(1).view(np.uint8)


def _payload() -> bytes:
    """A realistic action: 3 subtasks, every field set."""
    with Bridge() as br:
        a = br.action
        a["command"], a["task_id"], a["num_subtasks"] = LAYOUT["cmd_step"], 1, 3
        a["target"][:3] = [1, 2, 0]
        a["reply_bytes"][:3] = [1500, 800, 0]
        a["compute_s"][:3] = [0.5, 0.3, 0.0]
        a["deadline_s"] = 2.0
        return _raw(br.action).tobytes()


def stats(ns: list[int]) -> dict[str, float]:
    us = np.asarray(ns) / 1e3
    return {
        "median_us": float(np.median(us)),
        "p90_us": float(np.percentile(us, 90)),
        "p99_us": float(np.percentile(us, 99)),
        "mean_us": float(us.mean()),
    }


def bench_bridge(n: int, payload: bytes) -> dict[str, float]:
    with Bridge(spin=20000) as br:
        br.start([program_path("bridge-echo")])
        action, report = _raw(br.action), _raw(br.report)
        data = np.frombuffer(payload, np.uint8)
        out: list[int] = []
        for i in range(n + 1000):
            t = time.perf_counter_ns()
            action[:] = data
            br.exchange()
            report.tobytes()
            if i >= 1000:  # warm-up
                out.append(time.perf_counter_ns() - t)
    return stats(out)


def bench_zmq(n: int, payload: bytes, endpoint: str) -> dict[str, float]:
    import zmq

    peer = subprocess.Popen([str(program_path("zmq-echo")), endpoint])
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.connect(endpoint)
    try:
        out: list[int] = []
        for i in range(n + 1000):
            t = time.perf_counter_ns()
            sock.send(payload, copy=True)
            sock.recv(copy=True)
            if i >= 1000:
                out.append(time.perf_counter_ns() - t)
        stop = bytearray(payload)
        stop[0:4] = LAYOUT["cmd_stop"].to_bytes(4, "little")
        sock.send(bytes(stop))
        sock.recv()
    finally:
        sock.close(linger=0)
        ctx.term()
        peer.wait(timeout=5)
    return stats(out)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(seconds: float = 2.0) -> dict[str, float]:
    """CPU seconds per wall second of a waiting side, both directions."""
    with Bridge() as br:
        br.start([program_path("bridge-echo"), "--stallMs=" + str(int(seconds * 1000))])
        # Python waits while the scenario "simulates" for `seconds`
        c0 = time.process_time()
        br.step({"task_id": 1})
        python_waiting = (time.process_time() - c0) / seconds
        # the scenario waits while Python "thinks" for `seconds`
        pid = br.process.pid
        s0 = _cpu_s(pid)
        time.sleep(seconds)
        scenario_waiting = (_cpu_s(pid) - s0) / seconds
    return {"python_waiting_cpu": python_waiting, "scenario_waiting_cpu": scenario_waiting}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="round trips per transport")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    payload = _payload()
    results: dict[str, object] = {
        "round_trips": args.n,
        "action_bytes": LAYOUT["action_size"],
        "report_bytes": LAYOUT["report_size"],
        "netmoe_shm": bench_bridge(args.n, payload),
    }
    ipc = Path(tempfile.mkdtemp()) / "netmoe-bench.ipc"
    results["zmq_ipc"] = bench_zmq(args.n, payload, f"ipc://{ipc}")
    results["zmq_tcp"] = bench_zmq(args.n, payload, "tcp://127.0.0.1:5757")
    results.update(idle_cpu())
    ours = results["netmoe_shm"]["median_us"]  # type: ignore[index]
    results["speedup_vs_zmq_ipc"] = results["zmq_ipc"]["median_us"] / ours  # type: ignore[index]
    results["speedup_vs_zmq_tcp"] = results["zmq_tcp"]["median_us"] / ours  # type: ignore[index]
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
