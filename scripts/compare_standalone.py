"""Does a change keep the scenario programs' output? Run every shipped config's scenario
standalone with two checkouts (each with its own `netmoe build`) and compare stdout byte
for byte.

    python scripts/compare_standalone.py OLD_CHECKOUT NEW_CHECKOUT [--tasks 6]

Each checkout's own Python turns each config into its program's command line (so a
change in how flags are written shows up too), and its own build runs it. Prints one
line per config: IDENTICAL or DIFFERENT, with the output's line count and hash. Exit
status 1 if any differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

CONFIGS = [
    "configs/default.yaml",
    "configs/experiment_default.yaml",
    "configs/experiment_cross_model.yaml",
    *sorted(
        str(p.relative_to(Path(__file__).resolve().parent.parent))
        for p in (Path(__file__).resolve().parent.parent / "configs" / "scenarios").glob("*.yaml")
    ),
]
_ARGV = (
    "import json, sys\n"
    "from pybridge.config import load_config\n"
    "out = {}\n"
    "for p in sys.argv[1:]:\n"
    "    c = load_config(p)\n"
    "    out[p] = [c.scenario.program, c.scenario.argv(11)]\n"
    "print(json.dumps(out))\n"
)


def command_lines(repo: Path) -> dict[str, list]:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.run(
        [sys.executable, "-c", _ARGV, *CONFIGS], cwd=repo, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"{repo}: cannot read the configs: {proc.stderr.strip().splitlines()[-1]}")
    return json.loads(proc.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--tasks", type=int, default=6)
    args = ap.parse_args()
    old, new = command_lines(args.old), command_lines(args.new)
    differ = 0
    for cfg in CONFIGS:
        outs = []
        for repo, (program, argv) in ((args.old, old[cfg]), (args.new, new[cfg])):
            exe = repo / "build" / "ns3_scenarios" / program
            proc = subprocess.run(
                [str(exe), "--standalone", f"--tasks={args.tasks}", *argv],
                capture_output=True, timeout=1800,
            )  # fmt: skip
            outs.append((proc.returncode, proc.stdout))
        same = outs[0] == outs[1]
        differ += not same
        rc, text = outs[1]
        digest = hashlib.sha256(text).hexdigest()[:12]
        lines = text.count(b"\n")
        verdict = "IDENTICAL" if same else "DIFFERENT"
        print(f"{verdict} (exit {rc}, {lines} lines, sha256 {digest}): {cfg}", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
