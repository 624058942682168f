"""Several users (issue 16): per-user baselines, references by forked tries, one SAC
whose parameters every user shares, and the episode runner that scores them.

A *multi-user experiment* is one whose env names its users (``scenario.num_users`` or
``scenario.users``, even one); it runs on :class:`pybridge.parallel.EdgeMoEParallelEnv`
(one round = every user's task). Every method below is scored with the env's per-user
reward; an episode's **reward** is the mean over users and rounds (docs/agents.md,
"Several users").

- Baselines act per user from that user's observation alone (``PerUser`` wraps the
  single-user rules of ``agents.baselines`` in a :class:`UserView` of the env).
- References know the simulator state, greedy per round: ``upper-bound``
  (``ExhaustiveJointPolicy``) tries every joint action of every user
  (``env.evaluate_actions``: a forked round on ns-3, a copy of the state on Shannon) and
  takes the best sum of rewards, and is refused past ``compare.oracle_candidates``;
  ``coordinate-descent`` (``CoordinateDescentPolicy``) does best responses user by user
  (others fixed) from quality-greedy, for a few sweeps: a lower estimate of the former.
- The shared SAC that ``sac`` evaluates is trained by ``agents.train_multi``.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Protocol

import numpy as np

from agents.baselines import (
    EpisodeTally,
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
    k = cfg.tasks.subtasks_per_task or QualityTable.load(cfg.tasks.table_path()).num_subtasks
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
    tally = EpisodeTally()
    per_user: list[list[float]] = [[] for _ in agents]
    while env.agents:
        obs, r, _, _, info = env.step(policy.act(env, obs))
        for u, a in enumerate(agents):
            tally.add(r[a], info[a])
            per_user[u].append(r[a])
    return {
        **tally.summary(),
        "latencies": tally.latencies,
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
