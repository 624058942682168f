"""Why replies are lost: each lost reply put in one class, from ns-3's own log.

Runs the standalone scenario program as ``observe_compare.py`` does (a random policy:
each task offloads to a random non-empty subset of the experts; RngRun = seed) with
``NS_LOG=NetmoeRangeEdge=info|prefix_time``, which prints every low-ack disassociation and
deauthentication the access point makes, with its time. Each lost reply is then:

- ``not associated at the decision``: its expert was not counted associated in the
  observation of the decision before the task;
- ``dropped during the task``: the access point disassociated its expert between the
  task's start and end;
- ``user device dropped during the task`` (configs where the user device is a station
  of the access point too);
- ``neither``.

The expert counts of drops in the log must equal the program's own totals (its last
lines), or the script stops: an ns-3 build without logging prints no drop lines.

    python bench/lost_reply_causes.py --tasks 200 --seeds 1 2 3 --mode probe

docs/benchmarks.md ("Lost replies with probes") records its output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from collections import Counter

from observe_compare import standalone_argv

from pybridge.config import load_config

KINDS = ("disassoc", "deauth")
DROP = re.compile(r"^\+?([\d.]+)s .*?(low-ack disassociation of|deauthenticating) station (\d+)")


def parse_drops(stderr: str) -> list[tuple[float, str, int]]:
    """The access point's drops in the program's log: (time s, "disassoc" or "deauth",
    station index from 0; the experts, then the user device when the user device is a
    Wi-Fi station too)."""
    return [
        (float(m[1]), "disassoc" if m[2].startswith("low") else "deauth", int(m[3]) - 1)
        for m in map(DROP.match, stderr.splitlines())
        if m
    ]


def classify(cfg_path: str, mode: str, seed: int, tasks: int, gap: float) -> Counter[str]:
    """One run's counts: offloaded subtasks, lost replies by class, drops, events."""
    argv = standalone_argv(load_config(cfg_path), [f"--observe={mode}"], seed, tasks, gap)
    env = {**os.environ, "NS_LOG": "NetmoeRangeEdge=info|prefix_time"}
    out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    drops = parse_drops(out.stderr)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    n = len(rows[0]["bytes_expected"]) if rows else 0
    # the program's own per-expert totals must be what the log says
    summary = re.search(r"disassociations / deauthentications:((?: \d+/\d+)+)", out.stderr)
    if summary:
        for e, pair in enumerate(summary[1].split()[:n]):
            logged = [sum(k == kind and x == e for _, k, x in drops) for kind in KINDS]
            if logged != [int(v) for v in pair.split("/")]:
                raise SystemExit(
                    f"expert {e + 1}: the program counted {pair} drops, the log shows "
                    f"{logged[0]}/{logged[1]} (an ns-3 build without logging, or another "
                    "log line format)"
                )
    c: Counter[str] = Counter(
        tasks=len(rows),
        disassociations=sum(k == "disassoc" and x < n for _, k, x in drops),
        deauthentications=sum(k == "deauth" and x < n for _, k, x in drops),
        events=int(re.search(r"(\d+) events in all", out.stderr)[1]),
    )
    associated_before = [1] * n  # the warm-up associates every expert
    for r in rows:
        start, end = r["task_start_s"], r["task_end_s"]

        def dropped(station: int, start: float = start, end: float = end) -> bool:
            return any(k == "disassoc" and x == station and start <= t <= end for t, k, x in drops)

        for e in range(n):
            if r["bytes_expected"][e] <= 0:
                continue
            c["offloaded subtasks"] += 1
            lost = r["replies_lost"][e]
            if not lost:
                continue
            c["replies lost"] += lost
            if not associated_before[e]:
                c["... not associated at the decision"] += lost
            elif dropped(e):
                c["... dropped during the task"] += lost
            elif dropped(n):  # the user device, when it is a station of the access point
                c["... user device dropped during the task"] += lost
            else:
                c["... neither"] += lost
        associated_before = r["obs_associated"][:n]
    return c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/default.yaml")
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--mode", choices=["heartbeat", "probe"], default="probe")
    ap.add_argument("--gap", type=float, default=2.0)
    a = ap.parse_args()
    per_seed = {s: classify(a.config, a.mode, s, a.tasks, a.gap) for s in a.seeds}
    total = sum(per_seed.values(), Counter())
    keys = [
        "offloaded subtasks",
        "replies lost",
        "... not associated at the decision",
        "... dropped during the task",
        "... user device dropped during the task",
        "... neither",
        "disassociations",
        "deauthentications",
    ]
    head = " | ".join(f"seed {s}" for s in a.seeds)
    print(f"| {a.tasks} tasks, `{a.mode}` | {head} | all |")
    print("|---" * (len(a.seeds) + 2) + "|")
    for k in keys:
        cells = [f"{per_seed[s][k]:,}" for s in a.seeds] + [f"{total[k]:,}"]
        print(f"| {k} | " + " | ".join(cells) + " |")
    print(f"ns-3 events per task: {total['events'] / max(1, total['tasks']):,.0f}")


if __name__ == "__main__":
    main()
