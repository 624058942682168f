"""Heartbeats vs probes: does the observation mode move the physics?

Runs the standalone scenario program on one config with a random policy (each task offloads
to a random non-empty subset of the experts), once per seed and observation mode, and
reports per expert the mean difference (probe - heartbeat) of the observed SNR, the
observation age at decision, the subtask delay and the reply loss rate, with a 95%
confidence interval from batch means (batches of 50 tasks, so that neighbouring tasks'
correlation does not shrink the interval), plus ns-3 events per task.

    python bench/observe_compare.py --tasks 500 --seeds 1 2 3

Both modes run with the config's other flags; --observe is set on the command line.
"""

from __future__ import annotations

import argparse
import json
import re
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


def standalone_argv(cfg: EnvConfig, mode: str, seed: int, tasks: int, gap: float) -> list[str]:
    """The standalone program's command line for ``random_subsets`` (RngRun = ``seed``)."""
    script = random_subsets(cfg.scenario.num_experts, tasks, seed)
    argv = [str(program_path(cfg.scenario.program)), *cfg.scenario.argv(seed)]
    argv += ["--standalone", f"--tasks={tasks}", f"--script={script}", f"--gap={gap}"]
    return argv + [f"--observe={mode}", "--deadline=10"]


def run(cfg_path: str, mode: str, seed: int, tasks: int, gap: float) -> tuple[dict, int]:
    """One standalone run; per-task arrays and the ns-3 event count."""
    cfg = load_config(cfg_path)
    n = cfg.scenario.num_experts
    argv = standalone_argv(cfg, mode, seed, tasks, gap)
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    events = int(re.search(r"(\d+) events in all", out.stderr).group(1))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
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
    return data, events


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
    a = ap.parse_args()
    results: dict[str, dict[str, list[np.ndarray]]] = {}
    for mode in ("heartbeat", "probe"):
        results[mode] = {}
        events = 0
        for seed in a.seeds:
            data, ev = run(a.config, mode, seed, a.tasks, a.gap)
            events += ev
            for key, v in data.items():
                results[mode].setdefault(key, []).append(v)
        print(f"{mode}: {events / (a.tasks * len(a.seeds)):.0f} events per task")
    n = results["probe"]["obs_snr_db"][0].shape[1]
    print(f"per expert: probe - heartbeat, mean [95% CI] over {a.tasks} tasks x seeds {a.seeds}")
    for key in results["probe"]:
        for e in range(n):
            b = {
                m: np.concatenate([batch_means(v[:, e]) for v in results[m][key]]) for m in results
            }
            b = {m: x[np.isfinite(x)] for m, x in b.items()}
            if min(len(x) for x in b.values()) < 2:
                print(f"  {key:12s} expert {e + 1}: too few samples")
                continue
            d = b["probe"].mean() - b["heartbeat"].mean()
            se = np.sqrt(sum(x.var(ddof=1) / len(x) for x in b.values()))
            lo, hi = d - 1.96 * se, d + 1.96 * se
            print(
                f"  {key:12s} expert {e + 1}: heartbeat {b['heartbeat'].mean():9.4f}  "
                f"probe {b['probe'].mean():9.4f}  diff {d:+.4f} [{lo:+.4f}, {hi:+.4f}]"
            )


if __name__ == "__main__":
    main()
