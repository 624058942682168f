"""Baselines and the upper bound: fixed rules that pick a device for every subtask.

Every policy has ``act(env, obs) -> action`` where ``env`` is the unwrapped
:class:`pybridge.env.EdgeMoEEnv` (some rules read its quality table or ask it what an
action would give) and ``obs`` its current observation. The definitions, with what
each one is allowed to know, are also in docs/agents.md.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import numpy as np

from pybridge.env import EdgeMoEEnv
from pybridge.observation import check_mask_limits


class Policy(Protocol):
    name: str

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray: ...


class RandomPolicy:
    """Random selection: every subtask to a uniformly drawn device (local or any expert)."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        return self.rng.integers(0, env.num_experts + 1, env.num_subtasks)


class LocalOnlyPolicy:
    """Local only: the user device writes every subtask itself (no network at all)."""

    name = "local"

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        return np.zeros(env.num_subtasks, dtype=np.int64)


class GreedySNRPolicy:
    """Greedy best-SNR: offload every subtask to the expert with the best observed SNR.

    Uses only the observation (last SNR heard and association state). Experts not
    associated, or heard below ``min_snr_db``, are skipped; if none is left, every
    subtask runs locally.
    """

    name = "greedy-snr"

    def __init__(self, min_snr_db: float = 0.0) -> None:
        self.min_snr_db = min_snr_db

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        layout = env.obs_layout
        snr = layout.snr_db(np.asarray(obs, dtype=float))
        snr = np.where(layout.usable(np.asarray(obs), self.min_snr_db), snr, -np.inf)
        if not np.isfinite(snr).any():
            return np.zeros(env.num_subtasks, dtype=np.int64)
        return np.full(env.num_subtasks, int(np.argmax(snr)) + 1, dtype=np.int64)


class LeastLoadedPolicy:
    """Least-loaded (join the shortest known queue): subtask by subtask, to the usable
    expert whose last reported queue length plus the subtasks already given to it in
    this task is the smallest (ties: the best observed SNR).

    Uses only the observation: the queue lengths the experts reported in their last
    replies (``scenario.serving``; an expert never heard from counts as empty, as does
    every expert without the serving model, so then it spreads the subtasks by SNR).
    Experts not associated, or heard below ``min_snr_db``, are skipped; if none is left,
    every subtask runs locally.
    """

    name = "least-loaded"

    def __init__(self, min_snr_db: float = 0.0) -> None:
        self.min_snr_db = min_snr_db

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        layout, obs = env.obs_layout, np.asarray(obs, dtype=float)
        usable = layout.usable(obs, self.min_snr_db)
        if not usable.any():
            return np.zeros(env.num_subtasks, dtype=np.int64)
        load = np.maximum(layout.queue_len(obs), 0.0) if layout.serving else np.zeros(len(usable))
        snr = layout.snr_db(obs)
        action = np.zeros(env.num_subtasks, dtype=np.int64)
        for k in range(env.num_subtasks):
            # lexicographic: least load first, then best SNR
            order = np.lexsort((-snr, np.where(usable, load, np.inf)))
            action[k] = order[0] + 1
            load[order[0]] += 1
        return action


class RoundRobinPolicy:
    """Round-robin: subtask after subtask, task after task, to the next expert in turn
    (1, 2, ..., N, 1, ...), skipping experts the observation says are not usable (not
    associated, or heard below ``min_snr_db``); local when none is. Knows only the
    observation and its own turn; ``start`` is where the turn begins (user u of several
    starts at expert u + 1, so that users do not all begin at expert 1). The turn goes on
    across episodes (a device does not know where one ends).
    """

    name = "round-robin"

    def __init__(self, start: int = 0, min_snr_db: float = 0.0) -> None:
        self.turn = start
        self.min_snr_db = min_snr_db

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        usable = env.obs_layout.usable(np.asarray(obs, dtype=float), self.min_snr_db)
        action = np.zeros(env.num_subtasks, dtype=np.int64)
        if not usable.any():
            return action
        n = len(usable)
        for k in range(env.num_subtasks):
            while not usable[self.turn % n]:
                self.turn += 1
            action[k] = self.turn % n + 1
            self.turn += 1
        return action


class QualityGreedyPolicy:
    """Quality-greedy: each subtask to the device (local included) whose text has the best
    judge score in the quality table; blind to the network."""

    name = "quality-greedy"

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        return env.table.score[env.current_prompt].argmax(axis=-1).astype(np.int64)


def usable_devices(env: EdgeMoEEnv, obs: np.ndarray, **limits: Any) -> list[int]:
    """The devices SAC's mask lets a subtask go to (0 = local, always): the experts
    ``env.obs_layout.usable`` allows with ``limits`` (``min_snr_db``, ``max_age_s``, ...;
    ``SACConfig.mask_limits``)."""
    usable = env.obs_layout.usable(np.asarray(obs), **limits)
    ok = np.concatenate([[True], usable])
    return np.flatnonzero(ok).tolist()


class TableOraclePolicy:
    """Table oracle (a reference, not a baseline a device could run): for the current
    prompt, the joint action with the best reward on a network that costs nothing and
    loses nothing, i.e. the best fused judge score minus compute cost from the quality
    table. Knows the judge's verdict on every assignment, nothing about the network;
    separates the quality knowledge of the upper bound from its network foresight."""

    name = "table-oracle"

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        return self._best(env, range(env.num_experts + 1))

    @staticmethod
    def _best(env: EdgeMoEEnv, devices: Any) -> np.ndarray:
        """The joint action over ``devices`` (0 = local) with the best free-network reward."""
        candidates = itertools.product(devices, repeat=env.num_subtasks)
        best = max(candidates, key=lambda a: free_network_reward(env, a))
        return np.array(best, dtype=np.int64)


class MaskedTableOraclePolicy(TableOraclePolicy):
    """Masked table oracle (a reference): the table oracle restricted to the experts that
    ``env.obs_layout.usable`` allows with SAC's mask (``SACConfig.mask_limits``), local
    otherwise. What SAC would get if it had learnt the whole table and nothing else
    about the network."""

    name = "table-oracle-masked"

    def __init__(self, min_snr_db: float = 15.0, **limits: Any) -> None:
        check_mask_limits(limits)
        self.limits = {"min_snr_db": min_snr_db, **limits}

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        return self._best(env, usable_devices(env, obs, **self.limits))


class UpperBoundPolicy:
    """Upper bound: try candidate actions with ``env.evaluate_action`` and take the best.

    What it knows that no real device can: the exact reward each candidate would get
    from the current simulator state, including this task's fading and contention (ns-3:
    a forked copy of the scenario; Shannon: a copy of its state). With at most
    ``max_candidates`` joint actions it tries them all (exact per-task optimum);
    beyond, it does a coordinate search (start from quality-greedy and from local-only,
    change one subtask at a time to its best device, repeat until nothing improves),
    which is a lower estimate of the per-task optimum. It is greedy per task: with
    gamma > 0 effects on later tasks (e.g. time spent) are not optimised.

    Branch and bound (``prune``, exact): before simulating, each candidate gets an
    optimistic reward, the env's own reward function applied to a network that costs
    nothing (zero transfer time and energy) maximised over which of its replies are
    lost. Candidates are simulated best bound first, and the search stops when no
    remaining bound beats the best simulated reward. This relies on the reward never
    rising with more measured time or energy, true of the documented reward.
    """

    name = "upper-bound"

    def __init__(self, max_candidates: int = 256, max_rounds: int = 3, prune: bool = True) -> None:
        self.max_candidates = max_candidates
        self.max_rounds = max_rounds
        self.prune = prune
        self.evaluations = 0
        self.exhaustive: bool | None = None

    def _value(self, env: EdgeMoEEnv, action: tuple[int, ...]) -> float:
        self.evaluations += 1
        return env.evaluate_action(np.array(action, dtype=np.int64))[0]

    def devices(self, env: EdgeMoEEnv, obs: np.ndarray) -> list[int]:
        """The devices a candidate may send a subtask to (0 = local): every one."""
        return list(range(env.num_experts + 1))

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        k = env.num_subtasks
        devices = self.devices(env, obs)
        self.exhaustive = len(devices) ** k <= self.max_candidates
        if self.exhaustive:
            candidates = list(itertools.product(devices, repeat=k))
            if not self.prune:
                best = max(candidates, key=lambda a: self._value(env, a))
                return np.array(best, dtype=np.int64)
            bounds = {a: optimistic_reward(env, a) for a in candidates}
            best, best_v = candidates[0], -np.inf
            for a in sorted(candidates, key=lambda c: -bounds[c]):
                if bounds[a] <= best_v:
                    break  # no remaining candidate can beat the best one simulated
                v = self._value(env, a)
                if v > best_v:
                    best, best_v = a, v
            return np.array(best, dtype=np.int64)
        greedy = QualityGreedyPolicy().act(env, obs)
        greedy[~np.isin(greedy, devices)] = 0  # a device it may not use: local
        starts = [tuple(greedy.tolist()), (0,) * k]
        best_a, best_v = starts[0], -np.inf
        for start in starts:
            a, v = list(start), self._value(env, start)
            for _ in range(self.max_rounds):
                improved = False
                for j in range(k):
                    for d in devices:
                        if d == a[j]:
                            continue
                        trial = (*a[:j], d, *a[j + 1 :])
                        tv = self._value(env, trial)
                        if tv > v:
                            a, v, improved = list(trial), tv, True
                if not improved:
                    break
            if v > best_v:
                best_a, best_v = tuple(a), v
        return np.array(best_a, dtype=np.int64)


class MaskedUpperBoundPolicy(UpperBoundPolicy):
    """Masked upper bound (a reference): the upper bound restricted to the experts that
    ``env.obs_layout.usable`` allows with SAC's mask (``SACConfig.mask_limits``), local
    otherwise. The best SAC could do knowing the simulator state but keeping its mask: the
    gap between this and the upper bound is the mask's, the gap between SAC and this is
    the rest."""

    name = "upper-bound-masked"

    def __init__(
        self,
        max_candidates: int = 256,
        max_rounds: int = 3,
        prune: bool = True,
        min_snr_db: float = 15.0,
        **limits: Any,
    ) -> None:
        super().__init__(max_candidates, max_rounds, prune)
        check_mask_limits(limits)
        self.limits = {"min_snr_db": min_snr_db, **limits}

    def devices(self, env: EdgeMoEEnv, obs: np.ndarray) -> list[int]:
        return usable_devices(env, obs, **self.limits)


def optimistic_reward(
    env: EdgeMoEEnv, action: tuple[int, ...], all_delivered: bool = False
) -> float:
    """An upper bound on the reward of ``action`` for the current task without simulating:
    the env's reward with zero transfer time and energy, maximised over loss patterns
    (``all_delivered``: only the pattern where every reply arrives)."""
    target = np.array(action, dtype=np.int64)
    task = env.build_task(target)
    no_energy = np.zeros(env.num_experts)
    offloaded = np.flatnonzero(target > 0)
    best = -np.inf
    masks = [2 ** len(offloaded) - 1] if all_delivered else range(2 ** len(offloaded))
    for mask in masks:
        delivered = np.zeros(len(target), dtype=np.uint32)
        delivered[[j for b, j in enumerate(offloaded) if mask >> b & 1]] = 1
        # delivered replies arrive the moment they are written
        report = {"subtask_delivered": delivered, "subtask_delay_s": task.compute_s.copy(),
                  "energy_j": no_energy}  # fmt: skip
        best = max(best, env.price(task, report)[0])
    return float(best)


def free_network_reward(env: EdgeMoEEnv, action: tuple[int, ...]) -> float:
    """The reward of ``action`` for the current task if the network cost nothing and lost
    nothing: fused judge score minus compute cost (what the table oracle maximises)."""
    return optimistic_reward(env, action, all_delivered=True)


class AgentPolicy:
    """Wraps a trained agent with ``act(obs_batch, deterministic)`` as a Policy."""

    def __init__(self, agent: Any, name: str = "sac", deterministic: bool = True) -> None:
        self.agent, self.name, self.deterministic = agent, name, deterministic

    def act(self, env: EdgeMoEEnv, obs: np.ndarray) -> np.ndarray:
        return self.agent.act(obs[None], deterministic=self.deterministic)[0]


BASELINES = (
    "random", "local", "greedy-snr", "least-loaded", "quality-greedy", "round-robin",
    "table-oracle", "table-oracle-masked", "upper-bound", "upper-bound-masked",
)  # fmt: skip


def make_baseline(name: str, seed: int = 0, **kwargs: Any) -> Policy:
    """A baseline by name (one of ``BASELINES``)."""
    if name == "random":
        return RandomPolicy(seed)
    if name == "local":
        return LocalOnlyPolicy()
    if name == "greedy-snr":
        return GreedySNRPolicy(**kwargs)
    if name == "least-loaded":
        return LeastLoadedPolicy(**kwargs)
    if name == "quality-greedy":
        return QualityGreedyPolicy()
    if name == "round-robin":
        return RoundRobinPolicy(**kwargs)
    if name == "table-oracle":
        return TableOraclePolicy()
    if name == "table-oracle-masked":
        return MaskedTableOraclePolicy(**kwargs)
    if name == "upper-bound":
        return UpperBoundPolicy(**kwargs)
    if name == "upper-bound-masked":
        return MaskedUpperBoundPolicy(**kwargs)
    raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")


class EpisodeTally:
    """One episode's score, task by task: the one definition of an episode's summary, for
    one user (``run_episode``) and several (``agents.multi.run_round_episode``, every
    user's task of every round)."""

    def __init__(self) -> None:
        self.rewards: list[float] = []
        self.quality: list[float] = []
        self.compute: list[float] = []
        self.tx: list[float] = []
        self.latencies: list[float] = []
        self.lost = 0

    def add(self, reward: float, info: dict[str, Any]) -> None:
        """One task's reward and its env's step info."""
        self.rewards.append(reward)
        self.quality.append(info["quality"])
        self.compute.append(info["compute_cost"])
        self.tx.append(info["tx_cost"])
        self.latencies.append(info["task_latency_s"])
        self.lost += info["replies_lost"]

    def summary(self) -> dict[str, float]:
        """Mean per-task reward and its parts, lost replies (a count) and tasks."""
        return {
            "reward": float(np.mean(self.rewards)),
            "quality": float(np.mean(self.quality)),
            "compute_cost": float(np.mean(self.compute)),
            "tx_cost": float(np.mean(self.tx)),
            "replies_lost": float(self.lost),
            "tasks": float(len(self.rewards)),
        }


def run_episode(env: EdgeMoEEnv, policy: Policy, seed: int) -> dict[str, float]:
    """One episode from ``reset(seed=seed)``; mean per-task reward and its parts."""
    obs, _ = env.reset(seed=seed)
    tally = EpisodeTally()
    truncated = terminated = False
    while not (truncated or terminated):
        obs, r, terminated, truncated, info = env.step(policy.act(env, obs))
        tally.add(r, info)
    return tally.summary()


def evaluate(env: EdgeMoEEnv, policy: Policy, seeds: list[int]) -> dict[str, float]:
    """Mean over episodes of each episode's mean per-task reward (and its parts)."""
    rows = [run_episode(env, policy, s) for s in seeds]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
