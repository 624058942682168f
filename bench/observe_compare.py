"""Two observation settings (heartbeats vs probes by default): do they move the physics?

Runs the standalone scenario program on one config with a random policy (each task offloads
to a random non-empty subset of the experts), once per seed and variant, and reports per
expert the mean difference (second - first variant) of the observed SNR, the observation
age at decision, the subtask delay and the reply loss rate, with a 95% confidence interval
from batch means (batches of 50 tasks, so that neighbouring tasks' correlation does not
shrink the interval), paired: both variants run the same tasks on the same seeds (the
nodes walk the same paths in time; a batch's tasks drift apart in time as the variants'
delays differ), and batch i of one is compared with batch i of the other.
Also ns-3 events and wall time per task.

    python bench/observe_compare.py --tasks 500 --seeds 1 2 3
    python bench/observe_compare.py --variants "fixed=--observe=probe --probeRepairMax=0" \
        "backoff=--observe=probe"

A variant is NAME=FLAGS: the program's flags added after the config's own (a later flag
wins); the default compares heartbeat=--observe=heartbeat with probe=--observe=probe.
With several users (a config with ``scenario.users`` or ``num_users``) user u's task in
round i is the script's task i + u, and every user's report is one row, round after round
(a batch is then 50 / M rounds).
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pybridge.config import EnvConfig, load_config  # noqa: E402
from pybridge.paths import program_path  # noqa: E402

BATCH = 50


def random_subsets(n_experts: int, tasks: int, seed: int) -> str:
    """A random policy's ``--script``: each task offloads to a random non-empty subset of
    the experts (1-based), drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    script = []
    for _ in range(tasks):
        k = int(rng.integers(1, n_experts + 1))
        chosen = sorted(rng.choice(n_experts, k, replace=False) + 1)
        script.append(",".join(str(e) for e in chosen))
    return ";".join(script)


def standalone_argv(
    cfg: EnvConfig, flags: list[str], seed: int, tasks: int, gap: float
) -> list[str]:
    """The standalone program's command line for ``random_subsets`` (RngRun = ``seed``);
    ``flags`` are whole flags (``["--observe=probe"]``), added after the config's."""
    if isinstance(flags, str):
        raise TypeError(f"flags must be a list of flags, got the string {flags!r}")
    script = random_subsets(cfg.scenario.num_experts, tasks, seed)
    argv = [str(program_path(cfg.scenario.program)), *cfg.scenario.argv(seed)]
    argv += ["--standalone", f"--tasks={tasks}", f"--script={script}", f"--gap={gap}"]
    return argv + ["--deadline=10", *flags]


def run(
    cfg: EnvConfig, flags: list[str], seed: int, tasks: int, gap: float
) -> tuple[dict, int, float]:
    """One standalone run; per-task arrays, the ns-3 event count and wall ms per task."""
    n = cfg.scenario.num_experts
    argv = standalone_argv(cfg, flags, seed, tasks, gap)
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"observe_compare: {shlex.join(argv[:1] + flags)} failed: {out.stderr.strip()}")
    events = int(re.search(r"(\d+) events in all", out.stderr).group(1))
    wall_ms = float(re.search(r"([0-9.]+) ms wall per task", out.stderr).group(1))
    rows = []
    for line in out.stdout.splitlines():
        row = json.loads(line)
        rows += row["users"] if "users" in row else [row]  # one row per user and round
    nan = float("nan")

    def per_expert(key: str, used_only: bool = False) -> np.ndarray:
        v = np.array([[nan if x is None else x for x in r[key][:n]] for r in rows], float)
        if used_only:
            used = np.array([[r["bytes_expected"][e] > 0 for e in range(n)] for r in rows])
            v[~used] = nan
        return v

    assoc = per_expert("obs_associated") == 1
    data = {
        "obs_snr_db": np.where(assoc, per_expert("obs_snr_db"), nan),
        "obs_age_s": np.where(assoc, per_expert("obs_age_s"), nan),
        "associated": assoc.astype(float),
        "delay_s": per_expert("delay_s", used_only=True),
        "loss": per_expert("replies_lost", used_only=True),
    }
    return data, events, wall_ms


def batch_means(v: np.ndarray) -> np.ndarray:
    """Means of consecutive batches of BATCH tasks (NaN entries ignored)."""
    nb = len(v) // BATCH
    with np.errstate(all="ignore"):
        return np.array([np.nanmean(v[i * BATCH : (i + 1) * BATCH]) for i in range(nb)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/default.yaml")
    ap.add_argument("--tasks", type=int, default=500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--gap", type=float, default=2.0)
    ap.add_argument(
        "--variants",
        nargs=2,
        metavar="NAME=FLAGS",
        default=["heartbeat=--observe=heartbeat", "probe=--observe=probe"],
        help="the two settings compared (second - first)",
    )
    a = ap.parse_args()
    variants = {}
    for v in a.variants:
        name, sep, flags = v.partition("=")
        if not sep or not name:
            ap.error(f"--variants: {v!r} is not NAME=FLAGS")
        variants[name] = shlex.split(flags)
    if len(variants) != 2:
        ap.error("--variants: the two names must differ")
    first, second = variants
    cfg = load_config(a.config)
    unit = "round" if len(cfg.scenario.user_nodes) > 1 else "task"
    results: dict[str, dict[str, list[np.ndarray]]] = {}
    for name, flags in variants.items():
        results[name] = {}
        events, wall_ms = 0, 0.0
        for seed in a.seeds:
            data, ev, ms = run(cfg, flags, seed, a.tasks, a.gap)
            events += ev
            wall_ms += ms
            for key, v in data.items():
                results[name].setdefault(key, []).append(v)
        print(
            f"{name}: {events / (a.tasks * len(a.seeds)):.0f} events and "
            f"{wall_ms / len(a.seeds):.1f} ms (ns-3 wall) per {unit}"
        )
    n = results[second]["obs_snr_db"][0].shape[1]
    print(f"per expert: {second} - {first}, mean [95% CI] over {a.tasks} tasks x seeds {a.seeds}")
    for key in results[second]:
        for e in range(n):
            b = {
                m: np.concatenate([batch_means(v[:, e]) for v in results[m][key]]) for m in results
            }
            # paired by batch: both variants ran the same tasks on the same seeds (the same
            # paths in time), so much of a batch's luck is shared and cancels
            both = np.isfinite(b[first]) & np.isfinite(b[second])
            if both.sum() < 2:
                print(f"  {key:12s} expert {e + 1}: too few samples")
                continue
            diff = b[second][both] - b[first][both]
            d, half = diff.mean(), 1.96 * diff.std(ddof=1) / np.sqrt(both.sum())
            means = {m: np.nanmean(x) for m, x in b.items()}
            print(
                f"  {key:12s} expert {e + 1}: {first} {means[first]:9.4f}  "
                f"{second} {means[second]:9.4f}  diff {d:+.4f} [{d - half:+.4f}, {d + half:+.4f}]"
            )


if __name__ == "__main__":
    main()
