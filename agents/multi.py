"""Several users (issue 16): per-user baselines, references by forked tries, one SAC
whose parameters every user shares, and the episode runner that scores them.

A *multi-user experiment* is one whose env names its users (``scenario.num_users`` or
``scenario.users``, even one); it runs on :class:`pybridge.parallel.EdgeMoEParallelEnv`
(one round = every user's task). Every method below is scored with the env's per-user
reward; an episode's **reward** is the mean over users and rounds (docs/agents.md,
"Several users").

- Baselines act per user from that user's observation alone (``PerUser`` wraps the
  single-user rules of ``agents.baselines`` in a :class:`UserView` of the env).
- References know the simulator state: ``ExhaustiveJointPolicy`` tries every joint
  action of every user (``env.evaluate_actions``: a forked round on ns-3, a copy of the
  state on Shannon) and takes the best sum of rewards; ``CoordinateDescentPolicy`` does
  best responses user by user (others fixed) from quality-greedy, for a few sweeps.
- Shared SAC (``train_multi``): one ``DiscreteSAC`` (``agents.sac``) that every user's
  observation goes through; every user's transition goes into one replay buffer
  (parameter sharing, independent learners: no centralised critic).
"""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from agents.baselines import (
    QualityGreedyPolicy,
    RandomPolicy,
    RoundRobinPolicy,
    make_baseline,
)
from agents.experiment import SINGLE_USER_ONLY, Experiment, ExperimentError

log = logging.getLogger(__name__)

#: per-user baselines (each user acts from its own observation)
MULTI_BASELINES = (
    "random", "local", "greedy-snr", "least-loaded", "quality-greedy", "round-robin",
)  # fmt: skip
#: references (know the simulator state)
MULTI_REFERENCES = ("upper-bound", "coordinate-descent")


def is_multi_user(env: dict[str, Any]) -> bool:
    """Whether an experiment's raw env mapping names its users (``scenario.num_users`` or
    ``scenario.users``): such an experiment runs on the parallel env. The shipped
    single-user configs do not, and keep their single-user path unchanged."""
    scenario = env.get("scenario") or {}
    return isinstance(scenario, dict) and (
        scenario.get("num_users") is not None or scenario.get("users") is not None
    )


def check_methods(methods: list[str], source: str) -> None:
    """One line naming the methods a multi-user experiment cannot run."""
    bad = [m for m in methods if m in SINGLE_USER_ONLY]
    if bad:
        raise ExperimentError(
            f"{source}: compare.methods: {bad} need one user (the env names its users); "
            f"with several: sac, {', '.join(MULTI_BASELINES + MULTI_REFERENCES)}"
        )


def joint_actions(exp: Experiment) -> int:
    """(N+1)^(M K): the joint actions of one round, what the exhaustive search tries."""
    from pybridge.tasks import QualityTable

    cfg = exp.env_config()
    k = QualityTable.load(cfg.tasks.table_path()).num_subtasks
    return (cfg.scenario.num_experts + 1) ** (len(cfg.scenario.user_nodes) * k)


def check_upper_bound(exp: Experiment, methods: list[str]) -> None:
    """``upper-bound`` is the exhaustive joint search only: past
    ``compare.oracle_candidates`` joint actions it is one line pointing to
    ``coordinate-descent`` (which would be a lower estimate, not a bound)."""
    if "upper-bound" not in methods:
        return
    count, cap = joint_actions(exp), exp.compare.oracle_candidates
    if count > cap:
        raise ExperimentError(
            f"{exp.source}: compare.methods: upper-bound is the exhaustive joint search, "
            f"(N+1)^(M K) = {count} joint actions > compare.oracle_candidates = {cap}; "
            "use coordinate-descent (a lower estimate) or raise the cap"
        )


def default_methods(exp: Experiment) -> list[str]:
    """sac, the per-user baselines and one reference: ``upper-bound`` (exhaustive) when
    (N+1)^(M K) <= ``compare.oracle_candidates``, else ``coordinate-descent``."""
    fits = joint_actions(exp) <= exp.compare.oracle_candidates
    return ["sac", *MULTI_BASELINES, "upper-bound" if fits else "coordinate-descent"]


# -- policies ----------------------------------------------------------------------


class UserView:
    """What a single-user rule reads of ``EdgeMoEEnv``, for user ``u`` of a parallel env:
    sizes, observation layout, quality table and that user's current prompt."""

    def __init__(self, env: Any, u: int) -> None:
        self.env, self.u = env, u
        self.num_experts, self.num_subtasks = env.num_experts, env.num_subtasks
        self.obs_layout, self.table = env.obs_layout, env.table

    @property
    def current_prompt(self) -> int:
        return int(self.env.current_prompts[self.u])


class MultiPolicy(Protocol):
    name: str

    def act(self, env: Any, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


class PerUser:
    """One single-user policy per user, each fed only its user's observation."""

    def __init__(self, name: str, policies: list[Any]) -> None:
        self.name, self.policies = name, policies

    def act(self, env: Any, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            a: p.act(UserView(env, u), obs[a])
            for u, (a, p) in enumerate(zip(env.possible_agents, self.policies, strict=True))
        }


def per_user_baseline(name: str, num_users: int, seed: int = 0) -> PerUser:
    """Baseline ``name`` for every user: random draws from its own stream per user,
    round-robin starts user u at expert u + 1, the others are stateless rules."""
    if name == "random":
        return PerUser(name, [RandomPolicy(seed * 1009 + u) for u in range(num_users)])
    if name == "round-robin":
        return PerUser(name, [RoundRobinPolicy(start=u) for u in range(num_users)])
    if name not in MULTI_BASELINES:
        raise ValueError(f"unknown per-user baseline {name!r}; choose from {MULTI_BASELINES}")
    return PerUser(name, [make_baseline(name, seed=seed) for _ in range(num_users)])


class SharedSACPolicy:
    """The shared agent acting for every user from that user's observation (greedy)."""

    name = "sac"

    def __init__(self, agent: Any, deterministic: bool = True) -> None:
        self.agent, self.deterministic = agent, deterministic

    def act(self, env: Any, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        agents = env.possible_agents
        actions = self.agent.act(np.stack([obs[a] for a in agents]), self.deterministic)
        return dict(zip(agents, actions, strict=True))


def team_value(env: Any, actions: dict[str, np.ndarray]) -> float:
    """Sum over users of the rewards ``env.step(actions)`` would give now (a forked try)."""
    rewards, _ = env.evaluate_actions(actions)
    return float(sum(rewards.values()))


class ExhaustiveJointPolicy:
    """Exhaustive joint search (a reference): every user's every action, (N+1)^(M K) forked
    tries per round, the best sum of rewards. Knows the exact outcome of each joint
    action from the current simulator state (this round's fading, queues, contention).
    Greedy per round: the best of each round given the state the previous rounds left,
    not a bound over the episode (a worse round now that set up better later rounds
    could score more; with every reply in or cancelled at a round's end, only the
    next round's start time and what the devices observe carry over)."""

    name = "upper-bound"
    exhaustive = True

    def __init__(self, max_candidates: int = 729) -> None:
        self.max_candidates = max_candidates
        self.evaluations = 0

    def act(self, env: Any, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        m, n, k = env.num_users, env.num_experts, env.num_subtasks
        count = (n + 1) ** (m * k)
        if count > self.max_candidates:
            raise ValueError(
                f"exhaustive joint search: {count} joint actions > {self.max_candidates}; "
                "use coordinate-descent"
            )
        agents = env.possible_agents
        best, best_v = None, -np.inf
        for joint in itertools.product(range(n + 1), repeat=m * k):
            a = np.asarray(joint, dtype=np.int64).reshape(m, k)
            actions = dict(zip(agents, a, strict=True))
            v = team_value(env, actions)
            self.evaluations += 1
            if v > best_v:
                best, best_v = actions, v
        assert best is not None
        return best


class CoordinateDescentPolicy:
    """Coordinate descent over users (a reference for settings too large to enumerate):
    from quality-greedy (or local-only) for every user, each user in turn takes its best response by
    forked tries with the others fixed (all its (N+1)^K actions when at most
    ``user_candidates``, else subtask by subtask), for up to ``max_sweeps`` sweeps or until
    a sweep improves nothing. Knows what the exhaustive search knows; finds a joint
    action no user can improve alone (a local optimum of the sum of rewards), a lower
    estimate of the exhaustive optimum."""

    name = "coordinate-descent"
    exhaustive = False

    def __init__(
        self, max_sweeps: int = 3, user_candidates: int = 16, start: str = "quality-greedy"
    ) -> None:
        if start not in ("quality-greedy", "local"):
            raise ValueError(f"start {start!r}: 'quality-greedy' or 'local'")
        self.max_sweeps, self.user_candidates, self.start = max_sweeps, user_candidates, start
        self.evaluations = 0

    def _value(self, env: Any, actions: dict[str, np.ndarray]) -> float:
        self.evaluations += 1
        return team_value(env, actions)

    def act(self, env: Any, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n, k = env.num_experts, env.num_subtasks
        agents = env.possible_agents
        if self.start == "local":
            current = {a: np.zeros(k, dtype=np.int64) for a in agents}
        else:
            greedy = QualityGreedyPolicy()
            current = {a: greedy.act(UserView(env, u), obs[a]) for u, a in enumerate(agents)}
        value = self._value(env, current)
        whole = (n + 1) ** k <= self.user_candidates
        for _ in range(self.max_sweeps):
            improved = False
            for agent in agents:
                if whole:
                    candidates: Any = itertools.product(range(n + 1), repeat=k)
                else:  # subtask by subtask, each to its best device
                    candidates = (
                        (*current[agent][:j], d, *current[agent][j + 1 :])
                        for j in range(k)
                        for d in range(n + 1)
                    )
                for cand in candidates:
                    trial = np.asarray(cand, dtype=np.int64)
                    if np.array_equal(trial, current[agent]):
                        continue
                    v = self._value(env, {**current, agent: trial})
                    if v > value + 1e-12:
                        current, value, improved = {**current, agent: trial}, v, True
            if not improved:
                break
        return current


def multi_policy(exp: Experiment, method: str, seed: int, num_users: int, agent: Any = None,
                 num_experts: int = 0, num_subtasks: int = 0) -> Any:  # fmt: skip
    """The multi-user policy of ``method`` with this experiment's settings: ``upper-bound``
    is the exhaustive joint search (one-line error past ``compare.oracle_candidates``
    joint actions), ``coordinate-descent`` the best responses user by user."""
    if method == "sac":
        if agent is None:
            raise ValueError("method 'sac' needs a trained agent")
        return SharedSACPolicy(agent)
    if method == "upper-bound":
        cap = exp.compare.oracle_candidates
        count = (num_experts + 1) ** (num_users * num_subtasks)
        if count > cap:
            raise ExperimentError(
                f"{exp.source}: compare.methods: upper-bound is the exhaustive joint search, "
                f"{count} joint actions > compare.oracle_candidates = {cap}; use "
                "coordinate-descent (a lower estimate) or raise the cap"
            )
        return ExhaustiveJointPolicy(max_candidates=cap)
    if method == "coordinate-descent":
        return CoordinateDescentPolicy()
    return per_user_baseline(method, num_users, seed)


# -- scoring -------------------------------------------------------------------------


def run_round_episode(env: Any, policy: Any, seed: int) -> dict[str, Any]:
    """One episode from ``reset(seed=seed)``: means over users and rounds, the episode's
    lost replies (all users), every task's latency and each user's mean reward."""
    obs, _ = env.reset(seed=seed)
    agents = list(env.possible_agents)
    rewards, quality, compute, tx, latency, lost = [], [], [], [], [], 0
    per_user: list[list[float]] = [[] for _ in agents]
    while env.agents:
        obs, r, _, _, info = env.step(policy.act(env, obs))
        for u, a in enumerate(agents):
            rewards.append(r[a])
            per_user[u].append(r[a])
            quality.append(info[a]["quality"])
            compute.append(info[a]["compute_cost"])
            tx.append(info[a]["tx_cost"])
            latency.append(info[a]["task_latency_s"])
            lost += info[a]["replies_lost"]
    return {
        "reward": float(np.mean(rewards)),
        "quality": float(np.mean(quality)),
        "compute_cost": float(np.mean(compute)),
        "tx_cost": float(np.mean(tx)),
        "replies_lost": float(lost),
        "tasks": float(len(rewards)),
        "latencies": latency,
        "user_rewards": [float(np.mean(x)) for x in per_user],
    }


def evaluate_multi(env: Any, policy: Any, seeds: list[int]) -> dict[str, float]:
    """Mean over episodes of each episode's mean per-task reward and its parts; lost
    replies per episode (all users); p50/p95 task latency over every task of every
    episode; ``user_<u>_reward`` each user's mean."""
    rows = [run_round_episode(env, policy, s) for s in seeds]
    out = {k: float(np.mean([r[k] for r in rows])) for k in
           ("reward", "quality", "compute_cost", "tx_cost", "replies_lost", "tasks")}  # fmt: skip
    latencies = np.concatenate([r["latencies"] for r in rows])
    out["p50_latency_s"] = float(np.percentile(latencies, 50))
    out["p95_latency_s"] = float(np.percentile(latencies, 95))
    for u in range(len(rows[0]["user_rewards"])):
        out[f"user_{u}_reward"] = float(np.mean([r["user_rewards"][u] for r in rows]))
    return out


# -- shared-parameter SAC ------------------------------------------------------------


def train_multi(
    exp: Experiment,
    out: str | Path,
    *,
    resume: bool = True,
    progress: bool = True,
    kill_after_epoch: int | None = None,
) -> Any:
    """Train the shared SAC on ``exp`` (a multi-user experiment), writing ``epochs.csv``,
    ``evals.csv`` (and ``.parquet``), ``experiment.yaml`` and ``checkpoint.pt`` to ``out``.

    One epoch = one episode in each of ``train.num_envs`` parallel envs, stepped in this
    process, with the single-user run's seeds (``agents.train.train_seeds``); every round
    adds M transitions per env to the one buffer. **Updates per transition are the
    single-user run's**: ``train.sac.updates_per_step`` gradient steps per M users of a
    round of all envs, i.e. M x ``updates_per_step`` per round, as one user's run takes
    ``updates_per_step`` per step of all envs; ``learning_starts`` counts transitions.
    Truncation is not terminal (the target bootstraps with ``train.sac.gamma``).

    As ``agents.train.train``: a checkpoint every ``train.checkpoint_every`` epochs and at
    the end holds everything the run depends on, and a run finding one in ``out`` (of the
    same experiment: ``run_fingerprint``) resumes from it, exactly as if never stopped;
    a scenario that dies mid-epoch (``BridgeError``) ends that epoch (its row's
    ``scenario_died`` says why) and the next starts fresh envs. Not supported (one line):
    ``train.pretrain_backend`` and ``train.vector: async``. No TensorBoard log."""
    import os
    import signal

    import torch
    import yaml
    from tqdm import tqdm

    import pybridge
    from agents.buffers import ReplayBuffer
    from agents.sac import SACConfig
    from agents.train import (
        CHECKPOINT,
        TrainResult,
        _atomic_write,
        eval_seeds,
        make_agent,
        run_fingerprint,
        train_seeds,
    )
    from pybridge.bridge import BridgeError

    tc = exp.train
    for field, value, why in (
        ("pretrain_backend", tc.pretrain_backend, "pretraining"),
        # (async is the default: refused only when the experiment names it)
        (
            "vector",
            "vector" in tc.model_fields_set and tc.vector == "async",
            "async envs (the envs step in this process)",
        ),
    ):
        if value:
            raise ExperimentError(
                f"{exp.source}: train.{field}: {why} not supported with several users yet"
            )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / CHECKPOINT
    fingerprint = run_fingerprint(exp)
    ckpt = torch.load(ckpt_path, weights_only=False) if resume and ckpt_path.exists() else None
    if ckpt is not None and ckpt.get("fingerprint") != fingerprint:
        raise ExperimentError(
            f"{out} holds a checkpoint of another experiment or quality table "
            f"({ckpt.get('fingerprint')} != {fingerprint}); use another --out or remove it"
        )
    (out / "experiment.yaml").write_text(yaml.safe_dump(exp.to_dict(), sort_keys=False))
    sac_cfg = SACConfig.from_dict(tc.sac)
    eval_env = pybridge.parallel_env(config=exp.env)
    agents = eval_env.possible_agents
    m, k, choices = eval_env.num_users, eval_env.num_subtasks, eval_env.num_experts + 1
    agent = make_agent(eval_env, sac_cfg, seed=tc.seed)
    buffer = ReplayBuffer(sac_cfg.buffer_size, eval_env.obs_layout.size, k)
    rng = np.random.default_rng(tc.seed)
    greedy = SharedSACPolicy(agent)
    epoch_rows: list[dict[str, Any]] = []
    eval_rows: list[dict[str, Any]] = []
    start_epoch, global_step, wall = 0, 0, 0.0
    if ckpt is not None:
        agent.load_state_dict(ckpt["agent"])
        buffer.load_state_dict(ckpt["buffer"])
        rng.bit_generator.state = ckpt["rng"]
        start_epoch, global_step, wall = ckpt["epoch"], ckpt["global_step"], ckpt["wall_s"]
        epoch_rows, eval_rows = ckpt["epoch_rows"], ckpt["eval_rows"]
        log.info("resuming %s from epoch %d", out, start_epoch)

    def save(epoch: int) -> None:
        _atomic_write(pd.DataFrame(epoch_rows), out / "epochs")
        if eval_rows:
            _atomic_write(pd.DataFrame(eval_rows), out / "evals")
        state = {
            "epoch": epoch, "global_step": global_step, "wall_s": wall,
            "agent": agent.state_dict(), "buffer": buffer.state_dict(),
            "rng": rng.bit_generator.state, "epoch_rows": epoch_rows, "eval_rows": eval_rows,
            "sac": sac_cfg.to_dict(), "fingerprint": fingerprint,
        }  # fmt: skip
        torch.save(state, out / (CHECKPOINT + ".tmp"))
        os.replace(out / (CHECKPOINT + ".tmp"), ckpt_path)

    envs: list[Any] = []
    bar = tqdm(total=tc.epochs, initial=start_epoch, desc=f"shared sac seed {tc.seed}",
               unit="epoch", disable=not progress, dynamic_ncols=True)  # fmt: skip
    try:
        for epoch in range(start_epoch, tc.epochs):
            if not envs:  # first, or after a scenario died
                envs = [pybridge.parallel_env(config=exp.env) for _ in range(tc.num_envs)]
            t0 = time.perf_counter()
            rewards, metrics, rounds, crashed = [], [], 0, ""
            try:
                seeds = train_seeds(tc.seed, epoch, len(envs))
                obs = [env.reset(seed=s)[0] for env, s in zip(envs, seeds, strict=True)]
                while envs[0].agents:
                    batch = np.stack([o[a] for o in obs for a in agents])  # (E*M, obs_dim)
                    agent.observe(batch)
                    if global_step < sac_cfg.learning_starts:
                        actions = rng.integers(0, choices, size=(len(batch), k))
                    else:
                        actions = agent.act(batch)
                    next_obs, r = [], []
                    for e, env in enumerate(envs):
                        acts = dict(zip(agents, actions[e * m : (e + 1) * m], strict=True))
                        o, rew, _, _, _ = env.step(acts)
                        next_obs.append(o)
                        r.extend(rew[a] for a in agents)
                    rounds += 1
                    nxt = np.stack([o[a] for o in next_obs for a in agents])
                    r_arr = np.asarray(r, dtype=np.float32)
                    done = np.zeros(len(r_arr), dtype=np.float32)
                    buffer.add(batch, actions, r_arr, nxt, done)
                    obs = next_obs
                    global_step += len(batch)
                    rewards.append(r_arr)
                    if global_step >= sac_cfg.learning_starts and len(buffer) >= sac_cfg.batch_size:
                        # M x updates_per_step: the single-user run's updates per transition
                        for _ in range(m * sac_cfg.updates_per_step):
                            metrics.append(agent.update(buffer.sample(sac_cfg.batch_size, rng)))
            except BridgeError as exc:
                # as agents.train.train: a scenario process died mid-epoch (a simulator bug,
                # not the agent's); its transitions stay in replay, the row says so, the next
                # epoch starts fresh envs
                crashed = str(exc).splitlines()[0][:300]
                log.warning("seed %d epoch %d: scenario died, epoch cut short: %s",
                            tc.seed, epoch + 1, crashed)  # fmt: skip
                for env in envs:
                    _close_quietly(env)
                envs = []
            dt = time.perf_counter() - t0
            wall += dt
            row: dict[str, Any] = {
                "method": "sac", "seed": tc.seed, "epoch": epoch + 1, "phase": "train",
                "backend": eval_env.config.backend, "env_steps": global_step,
                "train_reward": float(np.mean(np.concatenate(rewards))) if rewards else np.nan,
                "wall_s": wall, "rounds_per_s": rounds * tc.num_envs / dt,
                "scenario_died": crashed,
            }  # fmt: skip
            for key in metrics[0] if metrics else ():
                row[key.split("/")[-1]] = float(np.mean([x[key] for x in metrics]))
            epoch_rows.append(row)
            if (epoch + 1) % tc.eval_every == 0 or epoch + 1 == tc.epochs:
                t1 = time.perf_counter()
                ev = evaluate_multi(eval_env, greedy, eval_seeds(tc.seed, tc.eval_episodes))
                eval_rows.append({"method": "sac", "seed": tc.seed, "epoch": epoch + 1,
                                  "env_steps": global_step, "wall_s": wall, **ev})  # fmt: skip
                wall += time.perf_counter() - t1
                bar.set_postfix(eval_reward=f"{ev['reward']:.3f}")
            if (epoch + 1) % tc.checkpoint_every == 0 or epoch + 1 == tc.epochs:
                save(epoch + 1)
            bar.update(1)
            if kill_after_epoch is not None and epoch + 1 == kill_after_epoch:
                os.kill(os.getpid(), signal.SIGKILL)  # a crash: nothing is flushed or closed
    finally:
        bar.close()
        for env in (*envs, eval_env):
            env.close()
    return TrainResult(out, pd.DataFrame(epoch_rows), pd.DataFrame(eval_rows), agent,
                       resumed_from=start_epoch)  # fmt: skip


def _close_quietly(env: Any) -> None:
    """Close an env whose scenario died; its error is already known."""
    try:
        env.close()
    except Exception as exc:  # noqa: BLE001 - the env is being discarded
        log.debug("closing a broken env: %s", exc)


def evaluate_methods(
    exp: Experiment, seed: int, methods: list[str], agent: Any = None
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Each method on the seed's evaluation episodes (``agents.train.eval_seeds``) of the
    experiment's parallel env; results and the policies (references count their tries)."""
    import pybridge
    from agents.train import eval_seeds

    check_methods(methods, exp.source)
    env = pybridge.parallel_env(config=exp.env)
    evals, policies = {}, {}
    try:
        seeds = eval_seeds(seed, exp.train.eval_episodes)
        for method in methods:
            policy = multi_policy(exp, method, seed, env.num_users, agent,
                                  env.num_experts, env.num_subtasks)  # fmt: skip
            policies[method] = policy
            evals[method] = evaluate_multi(env, policy, seeds)
    finally:
        env.close()
    return evals, policies
