"""Try a change to the SAC recipe on training seeds that no reported evaluation uses.

How the defaults in agents/sac_config.py and configs/experiment_default.yaml were
chosen (docs/results.md, "Choosing the recipe"). Two measurements:

- ``--mode ns3`` (default): ``netmoe train`` with the experiment's recipe and the
  ``--set`` overrides on each of ``--seeds`` (default 8-15; the default compare reports
  seeds 0-7, whose evaluation episodes are other env seeds), two runs at a time. Prints
  the greedy evaluation reward per seed and epoch; with ``--against`` (another probe's
  ``evals.csv``), the paired difference of the final rewards with a 95% t interval.
- ``--mode regret``: only the pretraining (the experiment's ``pretrain_epochs`` x
  ``pretrain_num_envs`` episodes on ``pretrain_backend``), then the *table regret* of the
  greedy policy on 10 episodes of that backend from env seeds 4,000,000 + i: per task,
  the free-network reward (fused judge score minus compute cost) of the best action
  SAC's mask allows, minus that of the action SAC picks. 0 = the table is learnt.
- ``--mode bound``: the exhaustive upper bound (``netmoe compare``'s ``upper-bound``;
  ``--bound-method upper-bound-masked``: the one restricted to SAC's mask) on the
  evaluation episodes of each of ``--seeds``, to ``runs/probe/<name>/bound.csv``. An
  ``ns3`` probe given ``--bound`` that file prints each epoch's mean as a share of it.

    python bench/sac_probe.py --name regret_s5 --mode regret --seeds 8 9 10 11
    python bench/sac_probe.py --name gamma05_s5 --mode regret --seeds 8 9 10 11 --set sac.gamma=0.5
    python bench/sac_probe.py --name forget_s5 --set train.pretrain_keep_buffer=false \\
        --against runs/probe/overhead/evals.csv

(``runs/probe/overhead`` is the default recipe since session 5; ``runs/probe/default``
is session 4's, pretraining on the formula alone. A name whose finished runs were made
with other settings is refused by the checkpoint fingerprint: pick a new name.)

``--set key=value`` takes ``train.<field>``, ``sac.<field>`` or ``env.<path>`` (e.g.
``env.shannon.link_energy_j``; YAML values), applied over ``--config`` (default
configs/experiment_default.yaml). Runs go to ``runs/probe/<name>/seed<S>`` (a finished
run is reused), tables to ``runs/probe/<name>/evals.csv`` or ``regret.csv``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agents.experiment import Experiment, deep_merge, load_experiment  # noqa: E402
from pybridge.config import read_yaml  # noqa: E402

REGRET_SEED_BASE = 4_000_000  # disjoint from every train/pretrain/eval seed and bench/


def with_overrides(config: str, sets: list[str]) -> Experiment:
    """The experiment file with ``train.x=v`` / ``sac.x=v`` / ``env.a.b=v`` overrides
    merged in."""
    over: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        section, _, name = key.partition(".")
        if not sep or section not in ("train", "sac", "env") or not name:
            raise SystemExit(
                "sac_probe: error: --set wants train.<field>=v, sac.<field>=v or "
                f"env.<path>=v: {item!r}"
            )
        prefix = {"train": ["train"], "sac": ["train", "sac"], "env": ["env"]}[section]
        path = [*prefix, *name.split(".")]
        node = over
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = yaml.safe_load(value)
    return load_experiment(deep_merge(read_yaml(REPO / config), over))


def ns3_job(exp: Experiment, out: Path) -> pd.DataFrame:
    from agents.train import train

    return train(exp, out, progress=False).evals


def regret_job(exp: Experiment, out: Path, episodes: int) -> dict[str, float]:
    """Pretraining alone, then the greedy policy's table regret on fresh episodes."""
    from agents.baselines import MaskedTableOraclePolicy, free_network_reward
    from agents.train import train
    from pybridge.env import EdgeMoEEnv

    tc = exp.train
    exp = exp.with_env({"backend": tc.pretrain_backend}).with_train(
        pretrain_backend="", pretrain_epochs=0, epochs=tc.pretrain_epochs,
        num_envs=tc.pretrain_num_envs, vector="sync", eval_every=10**9, checkpoint_every=10**9,
    )  # fmt: skip
    t0 = time.perf_counter()
    agent = train(exp, out, progress=False).agent
    wall = time.perf_counter() - t0
    env = EdgeMoEEnv(exp.env)
    oracle = MaskedTableOraclePolicy(**exp.train.sac.mask_limits())
    regret = []
    try:
        for ep in range(episodes):
            obs, _ = env.reset(seed=REGRET_SEED_BASE + ep)
            done = False
            while not done:
                action = agent.act(obs[None], deterministic=True)[0]
                best = oracle.act(env, obs)
                regret.append(free_network_reward(env, tuple(best))
                              - free_network_reward(env, tuple(action)))  # fmt: skip
                obs, _, _, done, _ = env.step(action)
    finally:
        env.close()
    r = np.array(regret)
    return {"seed": tc.seed, "regret": r.mean(), "suboptimal_share": (r > 1e-9).mean(),
            "pretrain_wall_s": wall}  # fmt: skip


def bound_job(exp: Experiment, out: Path, method: str) -> dict[str, float]:
    """The final reward of the upper bound (``method``: ``upper-bound`` or
    ``upper-bound-masked``) on the evaluation episodes of ``exp``'s seed."""
    from agents.run import train_then_evaluate

    t0 = time.perf_counter()
    run = train_then_evaluate(exp, exp.train.seed, out, train=False, evaluate=[method])
    terms = {k: v for k, v in run.evals[method].items() if isinstance(v, int | float)}
    return {"seed": exp.train.seed, "bound": terms.pop("reward"), **terms,
            "wall_s": time.perf_counter() - t0}  # fmt: skip


def t_interval(x: np.ndarray) -> float:
    return float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="runs/probe/<name>")
    parser.add_argument("--mode", choices=["ns3", "regret", "bound"], default="ns3")
    parser.add_argument("--config", default="configs/experiment_default.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8, 16)))
    parser.add_argument("--episodes", type=int, default=10, help="regret episodes per seed")
    parser.add_argument(
        "--bound-method",
        choices=["upper-bound", "upper-bound-masked"],
        default="upper-bound",
        help="--mode bound: the plain bound or the one that keeps SAC's mask",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--against", help="evals.csv of another ns3 probe: paired difference")
    parser.add_argument("--bound", help="bound.csv of a bound probe: rewards as its share")
    args = parser.parse_args()

    base = with_overrides(args.config, args.set)
    out = REPO / "runs" / "probe" / args.name
    exps = [base.with_train(seed=s) for s in args.seeds]
    dirs = [out / f"seed{s}" for s in args.seeds]
    out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
        if args.mode == "regret":
            rows = list(pool.map(regret_job, exps, dirs, [args.episodes] * len(exps)))
        elif args.mode == "bound":
            rows = list(pool.map(bound_job, exps, dirs, [args.bound_method] * len(exps)))
        else:
            frames = list(pool.map(ns3_job, exps, dirs))
    print(f"{args.name}: {' '.join(args.set) or '(recipe as in the config)'}")
    if args.mode == "regret":
        table = pd.DataFrame(rows)
        table.to_csv(out / "regret.csv", index=False)
        print(table.round(3).to_string(index=False))
        print(
            f"mean regret {table.regret.mean():.3f}, suboptimal share "
            f"{table.suboptimal_share.mean():.2f}, pretraining {table.pretrain_wall_s.mean():.0f} s"
        )
        return 0
    if args.mode == "bound":
        table = pd.DataFrame(rows)
        table.to_csv(out / "bound.csv", index=False)
        print(table.round(3).to_string(index=False))
        print(f"mean upper bound {table.bound.mean():.3f}")
        return 0
    evals = pd.concat(frames)
    evals.to_csv(out / "evals.csv", index=False)
    table = evals.pivot(index="epoch", columns="seed", values="reward")
    table["mean"] = table.mean(axis=1)
    if args.bound:
        bound = pd.read_csv(args.bound).set_index("seed").bound
        seeds = [s for s in table.columns if s != "mean"]
        if missing := sorted(set(seeds) - set(bound.index)):
            raise SystemExit(f"sac_probe: error: {args.bound} has no bound for seeds {missing}")
        table["/ bound"] = table["mean"] / bound.loc[seeds].mean()
    print(table.round(3).to_string())
    if args.against:
        ref = pd.read_csv(args.against)
        final = lambda e: e[e.epoch == e.epoch.max()].set_index("seed").reward  # noqa: E731
        diff = (final(evals) - final(ref)).dropna().to_numpy()
        print(f"final reward minus {args.against}: {diff.mean():+.3f} ± {t_interval(diff):.3f} "
              f"(95% t, {len(diff)} seeds, {int((diff > 0).sum())} positive)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
