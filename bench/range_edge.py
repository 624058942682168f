"""What the edge-of-range fixes change, one at a time (docs/scenario.md, "Edge of range").

Runs the two reproductions with each combination of ``--keepStaticArp`` and
``--lowAckThreshold`` (0 = off):

- campus, RngRun 1-4, 60 standalone tasks each: replies lost by experts within 40 m of
  the user device (no physics excuse at that range: path-loss SNR above 15 dB);
- vehicular, RngRun 1, the scripted reproduction: replies of the in-car expert (1 m
  away) lost once the roadside unit is out of range.

    python bench/range_edge.py            # ~1-2 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import subprocess

from pybridge.config import load_config
from pybridge.paths import REPO_ROOT, program_path

VEHICULAR_SCRIPT = ["--tasks=10", "--script=3,1,2", "--computeS=1.0", "--replyBytes=300",
                    "--requestBytes=300"]  # fmt: skip


def scenario_flags(name: str, rng_run: int) -> list[str]:
    """The config's flags without the two switches under study."""
    argv = load_config(REPO_ROOT / "configs" / "scenarios" / f"{name}.yaml").scenario.argv(rng_run)
    return [f for f in argv if not f.startswith(("--lowAckThreshold", "--keepStaticArp"))]


def run(flags: list[str]) -> list[dict]:
    out = subprocess.run([str(program_path("edge-moe")), *flags, "--standalone"],
                         capture_output=True, text=True, check=True, cwd="/tmp")  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="campus RngRuns 1..runs")
    args = parser.parse_args()
    print("| keepStaticArp | lowAckThreshold | campus: lost within 40 m | vehicular: in-car lost |")
    print("|---|---|---|---|")
    for arp in (0, 1):
        for threshold in (0, 50):
            switches = [f"--keepStaticArp={arp}", f"--lowAckThreshold={threshold}"]
            lost = near = 0
            for rng_run in range(1, args.runs + 1):
                for r in run([*scenario_flags("campus", rng_run), *switches, "--tasks=60"]):
                    for e, d in enumerate(r["distance_m"]):
                        if d < 40 and r["bytes_expected"][e] > 0:
                            near += 1
                            lost += r["replies_lost"][e]
            veh = run([*scenario_flags("vehicular", 1), *switches, *VEHICULAR_SCRIPT])
            in_car = sum(1 - r["subtask_delivered"][0] for r in veh)
            print(f"| {arp} | {threshold} | {lost}/{near} | {in_car}/{len(veh)} |", flush=True)


if __name__ == "__main__":
    main()
