"""Python time per Shannon step: what 32 pretraining envs x 60 epochs spend stepping.

Steps the default experiment's env on the Shannon backend with uniformly random actions
(a fixed seed), ``--steps`` steps, and prints milliseconds per step (median of
``--repeat`` timed passes) and a hash of every observation, reward and info (an untimed
pass), so two versions of the code can be compared in one run for speed and for
identical results:

    git worktree add /tmp/wt-before <commit>
    python bench/shannon_step.py --code /tmp/wt-before --code .   # before, then after
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "experiment_default.yaml"


def measure(steps: int, repeat: int) -> dict[str, object]:
    """Run in the interpreter whose ``sys.path`` holds the code to measure."""
    from agents.experiment import load_experiment
    from pybridge.env import EdgeMoEEnv

    exp = load_experiment(CONFIG)
    env = EdgeMoEEnv(exp.with_env({"backend": "shannon"}).env_config())
    actions = np.random.default_rng(0).integers(0, env.num_experts + 1, (steps, env.num_subtasks))
    h = hashlib.sha256()  # one untimed pass that hashes everything the steps return
    obs, _ = env.reset(seed=1)
    for i, action in enumerate(actions):
        obs, reward, _, truncated, info = env.step(action)
        h.update(obs.tobytes() + repr(reward).encode())
        for key in sorted(info):
            value = np.asarray(info[key])  # every bit of an array, not its printout
            h.update(key.encode() + str(value.dtype).encode() + value.tobytes())
        if truncated:
            obs, _ = env.reset(seed=i)
    times = []
    for _ in range(repeat):
        env.reset(seed=1)
        t0 = time.perf_counter()
        for i, action in enumerate(actions):
            if env.step(action)[3]:
                env.reset(seed=i)
        times.append((time.perf_counter() - t0) / steps * 1e3)
    digest = h.hexdigest()[:16]
    return {"ms_per_step": float(np.median(times)), "passes_ms": times, "hash": digest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", action="append", help="a checkout to measure (repeatable)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(measure(args.steps, args.repeat)))
        return
    for code in args.code or [str(REPO)]:
        path = str(Path(code).resolve())
        run = subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {path!r}); "
             f"sys.argv = ['shannon_step', '--inner', '--steps', '{args.steps}', "
             f"'--repeat', '{args.repeat}']; "
             f"import runpy; runpy.run_path({str(Path(__file__).resolve())!r}, "
             "run_name='__main__')"],
            capture_output=True, text=True, cwd=path,
        )  # fmt: skip
        if run.returncode != 0:
            sys.exit(f"{code}: {run.stderr.strip().splitlines()[-1]}")
        print(json.dumps({"code": code, **json.loads(run.stdout.splitlines()[-1])}))


if __name__ == "__main__":
    main()
