"""Where a reset's time goes, and what a reset costs: a new scenario process (exec)
against a fork of the running one (``Bridge.reset``, the environment's way).

    python bench/env_reset.py [--config configs/default.yaml] [--repeats 20] [--json out.json]

Phases of a new scenario process, each run standalone ``--repeats`` times (CPU time of
the child from ``wait4``, steadier than wall time on a shared machine; wall medians too):

- ``exec_load_parse``: ``<program> --check``: exec, loading the ns-3 libraries, their
  static set-up (type registry), parsing and checking the flags;
- ``build``: ``--standalone --tasks=0 --warmup=0`` minus the above: building the nodes
  and the network (and tearing it down);
- ``warmup``: ``--warmup=<config's>`` minus the above: the simulated warm-up (its ns-3
  event count is printed by the program).

Then ``env.reset()`` itself, ``--repeats`` times each way: CPU is the scenario side's
(``RUSAGE_CHILDREN`` over the environment's whole life), wall is the median reset.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pybridge.config import load_config
from pybridge.env import EdgeMoEEnv
from pybridge.paths import program_path


def _run(argv: list[str]) -> tuple[float, float, str]:
    """Wall s, child CPU s, stderr of one run."""
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {err}")
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime, err


def _phases(program: str, flags: list[str], warmup: float, repeats: int) -> dict[str, object]:
    cases = {
        "exec_load_parse": [program, *flags, "--check"],
        "to_build": [program, *flags, "--standalone", "--tasks=0", "--warmup=0"],
        "to_warmup": [program, *flags, "--standalone", "--tasks=0", f"--warmup={warmup:g}"],
    }
    out: dict[str, object] = {}
    for name, argv in cases.items():
        runs = [_run(argv) for _ in range(repeats)]
        out[name] = {
            "cpu_ms": 1e3 * statistics.median(r[1] for r in runs),
            "wall_ms": 1e3 * statistics.median(r[0] for r in runs),
        }
        events = re.findall(r"(\d+) events in all", runs[-1][2])
        if events:
            out[name]["events"] = int(events[-1])  # type: ignore[index]
    return out


def _resets(config: object, repeats: int, fresh: bool) -> dict[str, float]:
    """Median wall and mean scenario CPU of ``env.reset()``; ``fresh``: a new process each."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = EdgeMoEEnv(config)  # type: ignore[arg-type]
    env.reset(seed=0)  # the first reset starts the process either way
    walls = []
    for i in range(repeats):
        if fresh:
            env.backend.bridge.stop()  # type: ignore[union-attr]
        t = time.perf_counter()
        env.reset(seed=i + 1)
        walls.append(time.perf_counter() - t)
    env.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "wall_ms_median": 1e3 * statistics.median(walls),
        "scenario_cpu_ms_per_reset": 1e3 * cpu / (repeats + 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    cfg = load_config(args.config)
    program = str(program_path(cfg.scenario.program))
    flags = [f for f in cfg.scenario.argv(rng_run=1) if not f.startswith("--warmup=")]
    phases = _phases(program, flags, cfg.scenario.warmup_s, args.repeats)
    result = {
        "config": args.config,
        "repeats": args.repeats,
        "phases": phases,
        "reset_new_process": _resets(cfg, args.repeats, fresh=True),
        "reset_fork": _resets(cfg, args.repeats, fresh=False),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
