"""Round trip of one action/report exchange: netmoe's shared-memory bridge vs ZeroMQ.

Both peers are C++ programs doing the same work on the same payloads (an action of
``sizeof(NetmoeAction)`` bytes out, a report of ``sizeof(NetmoeReport)`` bytes back):
``bridge-echo`` over our bridge, ``zmq-echo`` over a ZeroMQ REQ/REP pair (the
transport of ns3-gym) on loopback TCP and on IPC. Python writes the action bytes and
copies the report bytes out in both cases.

The bridge is measured in three CPU layouts: ``free`` (the scheduler places both
peers), ``separate`` (Python pinned to one CPU, the peer to another, with ``taskset``)
and ``one-cpu`` (both pinned to the same CPU). Each row also gives the CPU time both
processes burnt per round trip. Also measured: CPU time burnt by a side that only
waits (the peer busy or idle for ``--idle-s`` seconds).

``--baseline DIR`` measures another checkout's bridge in the same run, interleaved
with this one: DIR's ``pybridge`` (with its built ``_shm`` extension) and
DIR/build's ``bridge-echo``, e.g. main's before a change.

``zmq-echo`` is built by ``netmoe build`` (against a system libzmq, or the one inside
the pyzmq wheel); without it the ZeroMQ rows are skipped with a one-line note.

    python bench/bridge_roundtrip.py [--n 20000] [--repeat 3] [--baseline ../main]
                                     [--json results/bench_bridge.json]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from pybridge.bridge import LAYOUT, Bridge
from pybridge.paths import ScenarioNotBuiltError, program_path

LAYOUTS = ("free", "separate", "one-cpu")
WARMUP = 1000


def _bridge() -> Bridge:
    """A Bridge at its default waiting policy. An older pybridge (a ``--baseline``
    from before adaptive waits) took spin iterations: use the 20,000 its benchmark used."""
    if "spin_us" in inspect.signature(Bridge).parameters:
        return Bridge()
    return Bridge(spin=20000)  # type: ignore[call-arg]


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


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _placement(layout: str) -> tuple[int | None, int | None]:
    """(Python's CPU, the peer's CPU) for a layout; None = not pinned."""
    cpus = sorted(os.sched_getaffinity(0))
    if layout == "free":
        return None, None
    if layout == "one-cpu":
        return cpus[0], cpus[0]
    if len(cpus) < 2:
        raise ValueError("the separate layout needs two CPUs")
    return cpus[0], cpus[1]


@contextmanager
def _pinned(cpu: int | None) -> Iterator[None]:
    """Pin this thread (the one that exchanges) to ``cpu`` for the block."""
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def bench_bridge(n: int, payload: bytes, layout: str) -> dict[str, float]:
    py_cpu, peer_cpu = _placement(layout)
    argv = [str(program_path("bridge-echo"))]
    if peer_cpu is not None:
        argv = ["taskset", "-c", str(peer_cpu), *argv]
    with _pinned(py_cpu), _bridge() as br:
        br.start(argv)
        assert br.process is not None
        pid = br.process.pid
        action, report = _raw(br.action), _raw(br.report)
        data = np.frombuffer(payload, np.uint8)
        out: list[int] = []
        for i in range(n + WARMUP):
            if i == WARMUP:
                c_py, c_peer = time.thread_time(), _cpu_s(pid)
            t = time.perf_counter_ns()
            action[:] = data
            br.exchange()
            report.tobytes()
            if i >= WARMUP:
                out.append(time.perf_counter_ns() - t)
        c_py, c_peer = time.thread_time() - c_py, _cpu_s(pid) - c_peer
    row = stats(out)
    row["python_cpu_us_per_rt"] = 1e6 * c_py / n
    row["peer_cpu_us_per_rt"] = 1e6 * c_peer / n
    return row


def zmq_missing() -> str | None:
    """Why the ZeroMQ rows cannot run here, or None."""
    try:
        import zmq  # noqa: F401
    except ImportError:
        return "pyzmq is not installed (pip install pyzmq, then netmoe build)"
    try:
        program_path("zmq-echo")
    except ScenarioNotBuiltError:
        return "zmq-echo is not built (netmoe build builds it when pyzmq or libzmq3-dev is present)"
    return None


def bench_zmq(n: int, payload: bytes, endpoint: str) -> dict[str, float]:
    import zmq

    peer = subprocess.Popen([str(program_path("zmq-echo")), endpoint])
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.connect(endpoint)
    try:
        out: list[int] = []
        for i in range(n + WARMUP):
            t = time.perf_counter_ns()
            sock.send(payload, copy=True)
            sock.recv(copy=True)
            if i >= WARMUP:
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


def idle_cpu(seconds: float) -> dict[str, float]:
    """CPU seconds per wall second of a waiting side, both directions."""
    with _bridge() as br:
        br.start([program_path("bridge-echo"), "--stallMs=" + str(int(seconds * 1000))])
        assert br.process is not None
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


def measure_shm(n: int, layouts: list[str], idle_s: float) -> dict[str, dict[str, float]]:
    """One pass of the bridge rows: each layout, then the waiting sides."""
    payload = _payload()
    rows: dict[str, dict[str, float]] = {}
    for layout in layouts:
        rows[layout] = bench_bridge(n, payload, layout)
    rows["waiting"] = idle_cpu(idle_s)
    return rows


def measure_baseline(checkout: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The same pass, in a child Python that imports ``checkout``'s pybridge."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, __file__, "--shm-only", "--n", str(args.n)]
        cmd += ["--layouts", ",".join(args.layouts), "--idle-s", str(args.idle_s)]
        env = dict(os.environ, PYTHONPATH=str(checkout), NETMOE_BUILD_DIR=str(checkout / "build"))
        subprocess.run([*cmd, "--json", out.name], env=env, check=True)
        return json.loads(Path(out.name).read_text())


def summary(passes: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per row and statistic, the median over repeated passes."""
    return {
        row: {k: float(np.median([p[row][k] for p in passes])) for k in passes[0][row]}
        for row in passes[0]
    }


def table(results: dict[str, object]) -> str:
    """The rows as a Markdown table (what the docs quote)."""
    lines = [
        "| bridge | layout | median us | p90 us | p99 us | mean us | CPU us/rt Python | peer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label in ("this", "baseline"):
        if label not in results:
            continue
        rows = results[label]["summary"]  # type: ignore[index]
        for layout, r in rows.items():
            if layout == "waiting":
                continue
            lines.append(
                f"| {label} | {layout} | {r['median_us']:.2f} | {r['p90_us']:.2f} | "
                f"{r['p99_us']:.2f} | {r['mean_us']:.2f} | {r['python_cpu_us_per_rt']:.2f} | "
                f"{r['peer_cpu_us_per_rt']:.2f} |"
            )
    for name in ("zmq_ipc", "zmq_tcp"):
        if name in results:
            r = results[name]  # type: ignore[assignment]
            lines.append(
                f"| {name} | free | {r['median_us']:.2f} | {r['p90_us']:.2f} | "
                f"{r['p99_us']:.2f} | {r['mean_us']:.2f} | | |"
            )
    lines += [
        "",
        "| bridge | Python waiting, CPU s/s | scenario waiting, CPU s/s |",
        "|---|---|---|",
    ]
    for label in ("this", "baseline"):
        if label in results:
            w = results[label]["summary"]["waiting"]  # type: ignore[index]
            lines.append(
                f"| {label} | {w['python_waiting_cpu']:.4f} | {w['scenario_waiting_cpu']:.4f} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="round trips per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the bridge rows")
    parser.add_argument(
        "--layouts",
        type=lambda s: s.split(","),
        default=list(LAYOUTS),
        help=f"comma-separated CPU layouts of the bridge rows ({', '.join(LAYOUTS)})",
    )
    parser.add_argument("--idle-s", type=float, default=2.0, help="length of a waiting-side run")
    parser.add_argument("--baseline", type=Path, help="also measure this checkout's bridge")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--shm-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    bad = [x for x in args.layouts if x not in LAYOUTS]
    if bad:
        parser.error(f"--layouts: unknown layout {bad[0]!r} (choose from {', '.join(LAYOUTS)})")
    if len(os.sched_getaffinity(0)) < 2 and "separate" in args.layouts:
        print("note: one CPU available; the separate layout is skipped", file=sys.stderr)
        args.layouts.remove("separate")

    if args.shm_only:  # a --baseline child: one pass, JSON only
        args.json.write_text(json.dumps(measure_shm(args.n, args.layouts, args.idle_s)))
        return 0

    load_before = os.getloadavg()
    ours: list[dict[str, dict[str, float]]] = []
    theirs: list[dict[str, dict[str, float]]] = []
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        ours.append(measure_shm(args.n, args.layouts, args.idle_s))
        if args.baseline:
            theirs.append(measure_baseline(args.baseline.resolve(), args))
    results: dict[str, object] = {
        "round_trips": args.n,
        "repeats": args.repeat,
        "action_bytes": LAYOUT["action_size"],
        "report_bytes": LAYOUT["report_size"],
        "this": {"summary": summary(ours), "passes": ours},
    }
    if theirs:
        results["baseline"] = {
            "checkout": str(args.baseline),
            "summary": summary(theirs),
            "passes": theirs,
        }
    why = zmq_missing()
    if why:
        print(f"note: ZeroMQ rows skipped: {why}", file=sys.stderr)
    else:
        payload = _payload()
        ipc = Path(tempfile.mkdtemp()) / "netmoe-bench.ipc"
        results["zmq_ipc"] = bench_zmq(args.n, payload, f"ipc://{ipc}")
        results["zmq_tcp"] = bench_zmq(args.n, payload, "tcp://127.0.0.1:5757")
        if "free" in args.layouts:
            ref = results["this"]["summary"]["free"]["median_us"]  # type: ignore[index]
            results["speedup_vs_zmq_ipc"] = results["zmq_ipc"]["median_us"] / ref  # type: ignore[index]
            results["speedup_vs_zmq_tcp"] = results["zmq_tcp"]["median_us"] / ref  # type: ignore[index]
    results["load_average_before_after"] = [load_before[0], os.getloadavg()[0]]
    print(table(results))
    print(f"load average (1 min) before/after: {load_before[0]:.2f} / {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
