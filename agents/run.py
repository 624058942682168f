"""Train a method, then evaluate it: the one job behind compare, the cross-model study
and the sweep.

A run trains SAC (or not, for a baseline) with the experiment's settings for one seed,
then evaluates the listed methods on that seed's evaluation episodes
(``agents.train.eval_seeds``), each with the experiment's own settings: the upper bound
tries ``compare.oracle_candidates`` joint actions, the masked table oracle masks as
this experiment's SAC does (``train.sac.mask_min_snr_db``, ``mask_max_age_s``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.experiment import Experiment

if TYPE_CHECKING:  # torch is imported by the job, in its own process
    from agents.baselines import Policy
    from agents.train import TrainResult


def policy_for(exp: Experiment, method: str, seed: int, agent: Any = None) -> Policy:
    """The policy of ``method`` with this experiment's settings: ``sac`` wraps ``agent``
    (greedy), a baseline is made with the experiment's oracle and mask settings."""
    from agents.baselines import AgentPolicy, make_baseline

    if method == "sac":
        if agent is None:
            raise ValueError("method 'sac' needs a trained agent")
        return AgentPolicy(agent)
    kwargs: dict[str, Any] = {}
    if method in ("upper-bound", "upper-bound-masked"):
        kwargs = {"max_candidates": exp.compare.oracle_candidates}
    if method in ("table-oracle-masked", "upper-bound-masked"):  # this experiment's SAC's mask
        kwargs.update(exp.train.sac.mask_limits())
    return make_baseline(method, seed=seed, **kwargs)


@dataclass
class RunResult:
    """What one run gives: the training (None when nothing trained) and, per evaluated
    method, its mean episode results (``agents.baselines.evaluate``) and its policy."""

    training: TrainResult | None
    evals: dict[str, dict[str, float]] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)


def train_then_evaluate(
    exp: Experiment,
    seed: int,
    out: Path,
    *,
    train: bool,
    evaluate: list[str],
    eval_env: dict[str, Any] | None = None,
    progress: bool = False,
) -> RunResult:
    """Train SAC on ``exp`` with ``train.seed = seed`` (when ``train``), then evaluate each
    method of ``evaluate`` (``sac`` = the agent just trained) on the seed's evaluation
    episodes, one after the other in one environment.

    :param exp: the experiment (its env, training, oracle and mask settings)
    :param seed: the run's seed: training and evaluation episodes
    :param out: SAC's run directory (checkpoint, logs)
    :param train: train SAC first
    :param evaluate: methods to evaluate after training (may be empty: SAC's own
        evaluations during training are in ``training.evals``)
    :param eval_env: the env config to evaluate on (default: the experiment's env)
    :param progress: SAC's progress bar
    """
    import torch

    torch.set_num_threads(1)
    from agents.baselines import evaluate as evaluate_policy
    from agents.train import eval_seeds
    from agents.train import train as train_sac
    from pybridge.env import EdgeMoEEnv

    run_exp = exp.with_train(seed=seed)
    result = RunResult(train_sac(run_exp, out, progress=progress) if train else None)
    if not evaluate:
        return result
    from agents.multi import evaluate_methods, is_multi_user

    if is_multi_user(run_exp.env if eval_env is None else eval_env):
        agent = result.training.agent if result.training is not None else None
        if eval_env is not None:
            run_exp = run_exp.with_env(eval_env)
        result.evals, result.policies = evaluate_methods(run_exp, seed, evaluate, agent)
        return result
    env = EdgeMoEEnv(run_exp.env if eval_env is None else eval_env)
    try:
        seeds = eval_seeds(seed, run_exp.train.eval_episodes)
        agent = result.training.agent if result.training is not None else None
        for method in evaluate:
            policy = policy_for(run_exp, method, seed, agent)
            result.policies[method] = policy
            result.evals[method] = evaluate_policy(env, policy, seeds)
    finally:
        env.close()
    return result
