"""Discrete Soft Actor-Critic for a MultiDiscrete action, in reading order.

Twin critics with Polyak-averaged target networks, a replay buffer and automatic
entropy tuning, after Christodoulou, "Soft Actor-Critic for Discrete Action Settings"
(arXiv 1910.07207) and CleanRL's ``sac_atari.py``. The action has K entries (which
device writes subtask k: 0 = local, i = expert i), so the (N+1)^K joint actions can be
handled two ways (``SACConfig.action_head``):

- ``joint``: standard discrete SAC over the (N+1)^K joint actions, one categorical and
  one Q per joint action. It represents any reward table, including the EdgeMoE one,
  where the judge scores the *fused* answer of each joint assignment and that score is
  far from the sum of per-subtask parts (docs/agents.md). Size grows as (N+1)^K.
- ``factored``: one categorical per subtask and a critic factorised over the heads (as
  in Tavakoli et al., "Action Branching Architectures", AAAI 2018): a K x (N+1) table q
  with Q(s, a) = sum_k q[k, a_k]. Grows linearly in K, but only represents rewards that
  are additive over subtasks.
- ``auto`` (default): joint when (N+1)^K <= ``joint_max_actions``, else factored.

Both are written as *G groups of C choices*: factored is G = K, C = N+1; joint is
G = 1, C = (N+1)^K, with the action encoded as one index in ``itertools.product``
order. Every loss below sums over groups and choices, so the same functions serve both,
and with the policy a product of independent categoricals over groups, every
expectation discrete SAC needs (E_{a~pi}[Q(s, a)], the entropy) is an exact sum.

With several users sharing the agent, ``critic: central`` gives the critics a
centralised view (centralised training, decentralised execution, as MADDPG, Lowe et al.
2017, and MAPPO's agent-specific global state, Yu et al. 2022): they read a state of
``state_dim`` (the env's global ``state()`` with the acting user's rows first, made by
the rollout and stored in replay beside each observation) instead of the observation,
while the actor, and so acting and evaluation, still use the user's own observation.

Hyperparameters: ``agents.sac_config.SACConfig`` (re-exported here). Losses are plain
functions (``soft_state_value``, ``critic_target``, ``critic_loss``, ``actor_loss``,
``alpha_loss``) so each can be checked on hand-worked numbers.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.buffers import ReplaySample
from agents.sac_config import SACConfig

torch.set_num_threads(1)  # the machine is shared; one thread is also the fastest for MLPs


# -- networks ------------------------------------------------------------------------


class RunningNorm(nn.Module):
    """Running mean and variance of the observations (Chan et al.'s parallel update, as
    SB3's ``RunningMeanStd``); ``forward`` standardises and clips to +-10. Held as buffers
    so checkpoints carry them.

    The standard deviation is floored at ``min_std`` (the env scales every feature to
    order 1): a feature that was constant so far (e.g. the SNR age on the Shannon
    backend, always 0) would otherwise turn the first small change into +-10."""

    def __init__(self, dim: int, clip: float = 10.0, min_std: float = 0.01) -> None:
        super().__init__()
        self.clip, self.min_std = clip, min_std
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        x = x.to(torch.float64).reshape(-1, self.mean.shape[0])
        n = x.shape[0]
        b_mean, b_var = x.mean(0), x.var(0, unbiased=False)
        delta, total = b_mean - self.mean, self.count + n
        m2 = self.var * self.count + b_var * n + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.var.copy_(m2 / total)
        self.count.fill_(float(total))

    @torch.no_grad()
    def carry(self, count: float) -> None:
        """Keep the statistics but weigh them as ``count`` observations, so that new
        observations (another backend's) take over after a few times that many."""
        self.count.fill_(min(float(self.count), count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(self.var.float()).clamp(min=self.min_std)
        return ((x - self.mean.float()) / std).clamp(-self.clip, self.clip)


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, out),
    )  # fmt: skip


MASKED_LOGIT = -1e4  # exp() underflows to 0, and 0 * MASKED_LOGIT is still 0 (no NaN)


class Actor(nn.Module):
    """obs -> G categorical distributions over C choices (logits G x C); entries where
    ``allowed`` (B, G, C) is False get probability 0."""

    def __init__(self, obs_dim: int, heads: int, choices: int, hidden: int) -> None:
        super().__init__()
        self.heads, self.choices = heads, choices
        self.net = _mlp(obs_dim, hidden, heads * choices)

    def forward(
        self, obs: torch.Tensor, allowed: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Probabilities and log-probabilities, both (B, G, C)."""
        logits = self.net(obs).view(-1, self.heads, self.choices)
        if allowed is not None:
            logits = logits.masked_fill(~allowed, MASKED_LOGIT)
        return F.softmax(logits, dim=-1), F.log_softmax(logits, dim=-1)


class FactoredCritic(nn.Module):
    """obs -> q table (B, G, C) with Q(s, a) = sum_g q[g, a_g] (G = 1: one Q per action)."""

    def __init__(self, obs_dim: int, heads: int, choices: int, hidden: int) -> None:
        super().__init__()
        self.heads, self.choices = heads, choices
        self.net = _mlp(obs_dim, hidden, heads * choices)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).view(-1, self.heads, self.choices)


def joint_q(q: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Q(s, a) from the table: sum over groups of q[g, a_g]. Shapes (B,G,C),(B,G)->(B,)."""
    return q.gather(-1, actions.unsqueeze(-1)).squeeze(-1).sum(-1)


# -- losses (each testable on its own) -----------------------------------------------


def soft_state_value(
    q1: torch.Tensor, q2: torch.Tensor, probs: torch.Tensor, log_probs: torch.Tensor, alpha: float
) -> torch.Tensor:
    """V(s) = sum_k sum_a pi_k(a|s) [min(q1, q2)[k, a] - alpha log pi_k(a|s)].

    Discrete SAC computes this expectation exactly from the action probabilities
    instead of sampling an action (Christodoulou 2019, eq. 10). The twin-critic minimum
    is taken entry-wise on the factored table (as CleanRL does per action). (B,).
    """
    return (probs * (torch.min(q1, q2) - alpha * log_probs)).sum(dim=(-2, -1))


def critic_target(
    rewards: torch.Tensor, dones: torch.Tensor, gamma: float, next_value: torch.Tensor
) -> torch.Tensor:
    """Soft Bellman target y = r + gamma * (1 - done) * V_target(s')."""
    return rewards + gamma * (1.0 - dones) * next_value


def critic_loss(
    q1: torch.Tensor, q2: torch.Tensor, actions: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Sum of both critics' mean squared errors against the (detached) target."""
    return F.mse_loss(joint_q(q1, actions), target) + F.mse_loss(joint_q(q2, actions), target)


def actor_loss(
    probs: torch.Tensor, log_probs: torch.Tensor, q1: torch.Tensor, q2: torch.Tensor, alpha: float
) -> torch.Tensor:
    """E_s[ sum_k sum_a pi_k(a) (alpha log pi_k(a) - min(q1, q2)[k, a]) ], critics detached."""
    min_q = torch.min(q1, q2).detach()
    return (probs * (alpha * log_probs - min_q)).sum(dim=(-2, -1)).mean()


def alpha_loss(
    log_alpha: torch.Tensor, probs: torch.Tensor, log_probs: torch.Tensor, target_entropy: float
) -> torch.Tensor:
    """alpha * (H(pi) - H_target): descending it lowers alpha when the policy is more
    random than the target and raises it when less. H is exact (a sum over heads)."""
    entropy = -(probs * log_probs).sum(dim=(-2, -1)).detach()
    return (log_alpha.exp() * (entropy - target_entropy)).mean()


def target_entropy(heads: int, choices: int, scale: float) -> float:
    """scale x the maximum entropy of K independent uniform categoricals, K log(N+1).

    Discrete SAC targets a fraction of the maximum (0.98 in Christodoulou 2019, 0.89 in
    CleanRL) instead of continuous SAC's -dim(A). Our optimum is close to deterministic
    (an expert assignment per task), so the default fraction is lower, and evaluation
    acts greedily (the most probable device per subtask).
    """
    return scale * heads * math.log(choices)


# -- the agent -----------------------------------------------------------------------


class DiscreteSAC:
    """Networks, optimisers and one gradient step.

    Actions go in and out as (B, K) device indices whichever head is used; the joint
    head encodes them as one index (``encode`` / ``decode``).

    :param obs_dim: length of the flat observation
    :param heads: K, entries of the MultiDiscrete action
    :param choices: N+1, values per entry
    :param config: hyperparameters (``action_head`` picks joint or factored)
    :param seed: seeds torch's generator for the initial weights and action sampling
    :param reachable: raw observations (B, obs_dim) -> (B, N) bool, the experts that can
        be used (used when ``config.mask_unreachable``; the user device always can)
    :param state_dim: length of the centralised critics' state (``config.critic ==
        'central'``; batches then carry ``state`` and ``next_state``)
    """

    def __init__(
        self,
        obs_dim: int,
        heads: int,
        choices: int,
        config: SACConfig,
        seed: int = 0,
        reachable: Callable[[torch.Tensor], torch.Tensor] | None = None,
        state_dim: int | None = None,
    ):
        self.config = config
        self.central = config.critic == "central"
        if self.central and not state_dim:
            raise ValueError("sac: critic: 'central' needs the state's length (state_dim)")
        self.reachable = reachable if config.mask_unreachable else None
        self.heads, self.choices = heads, choices
        self.joint = config.use_joint(heads, choices)
        # groups x choices of the categoricals and critic tables (module docstring)
        self.groups, self.group_choices = (1, choices**heads) if self.joint else (heads, choices)
        # place value of each entry in the joint index (itertools.product order)
        self._radix = torch.tensor([choices ** (heads - 1 - k) for k in range(heads)])
        self._codes = self.decode(torch.arange(self.group_choices).unsqueeze(-1)) if self.joint \
            else None  # fmt: skip
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed + 1)
        h, g, c = config.hidden, self.groups, self.group_choices
        self.norm = RunningNorm(obs_dim)
        self.actor = Actor(obs_dim, g, c, h)
        # the critics' input: the observation, or the centralised state (own statistics)
        critic_dim = state_dim if self.central and state_dim else obs_dim
        self.state_norm = RunningNorm(critic_dim) if self.central else None
        self.q1 = FactoredCritic(critic_dim, g, c, h)
        self.q2 = FactoredCritic(critic_dim, g, c, h)
        self.q1_target, self.q2_target = copy.deepcopy(self.q1), copy.deepcopy(self.q2)
        # the pairs Polyak averaging updates (load_state_dict copies into these tensors)
        self._online_params = [*self.q1.parameters(), *self.q2.parameters()]
        self._target_params = [*self.q1_target.parameters(), *self.q2_target.parameters()]
        # foreach: one kernel per operation over all parameters instead of one per tensor
        # (PyTorch's default on CPU is the per-tensor loop); the same arithmetic element
        # by element, so the weights are bit-identical (tests/test_agents.py), with less
        # Python per update
        self.q_opt = torch.optim.Adam(
            [*self.q1.parameters(), *self.q2.parameters()], config.q_lr, foreach=True
        )
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), config.policy_lr, foreach=True)
        # the maximum entropy is K log(N+1) = log((N+1)^K) either way
        self.target_entropy = target_entropy(heads, choices, config.target_entropy_scale)
        self.log_alpha = torch.tensor(math.log(config.alpha), requires_grad=True)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], config.alpha_lr, foreach=True)

    @property
    def alpha(self) -> float:
        return float(self.log_alpha.detach().exp()) if self.config.autotune else self.config.alpha

    def encode(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, K) device indices -> (B, G) group indices (joint: one index per action)."""
        if not self.joint:
            return actions
        return (actions * self._radix).sum(-1, keepdim=True)

    def decode(self, index: torch.Tensor) -> torch.Tensor:
        """(B, G) group indices -> (B, K) device indices."""
        if not self.joint:
            return index
        return index // self._radix % self.choices

    def allowed(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor | None:
        """(B, G, C) bool: the choices the policy may take for raw observations (B, obs_dim);
        None when nothing is masked. A joint action is allowed when all its entries are."""
        if self.reachable is None:
            return None
        o = torch.as_tensor(obs, dtype=torch.float32).reshape(-1, self.norm.mean.shape[0])
        experts = self.reachable(o).bool()
        device_ok = torch.cat([torch.ones_like(experts[:, :1]), experts], dim=1)  # (B, N+1)
        if self.joint:
            assert self._codes is not None
            return device_ok[:, self._codes].all(-1).unsqueeze(1)  # (B, 1, (N+1)^K)
        return device_ok.unsqueeze(1).expand(-1, self.heads, -1)

    def observe(self, obs: np.ndarray, state: np.ndarray | None = None) -> None:
        """Update the observation statistics with a batch of observations (B, obs_dim)
        (and the central critics' with their states (B, state_dim))."""
        if self.config.obs_norm:
            self.norm.update(torch.as_tensor(obs))
            if self.state_norm is not None and state is not None:
                self.state_norm.update(torch.as_tensor(state))

    def normalize(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """The networks' input: observations (B, obs_dim) standardised with the running
        statistics (as they are without ``obs_norm``)."""
        o = torch.as_tensor(obs, dtype=torch.float32)
        return self.norm(o) if self.config.obs_norm else o

    def _critic_inputs(
        self, batch: ReplaySample, obs: torch.Tensor, next_obs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What the critics read for the batch's s and s': the (normalised) observations,
        or with a central critic the states stored beside them."""
        if self.state_norm is None:
            return obs, next_obs
        assert batch.state is not None and batch.next_state is not None
        s = torch.as_tensor(np.concatenate([batch.state, batch.next_state]))
        return (self.state_norm(s) if self.config.obs_norm else s).split(len(batch.rewards))

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray:
        """Actions (B, K) for observations (B, obs_dim): sampled, or the most probable
        (joint head: the most probable joint action; factored: per subtask)."""
        probs, _ = self.actor(self.normalize(obs), self.allowed(obs))
        if deterministic:
            return self.decode(probs.argmax(-1)).numpy()
        flat = probs.reshape(-1, self.group_choices)
        index = torch.multinomial(flat, 1, generator=self.generator).view(probs.shape[:-1])
        return self.decode(index).numpy()

    @torch.no_grad()
    def q_values(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """min(Q1, Q2)(s, a) for observations (B, obs_dim) and actions (B, K); (B,)
        (local critics only)."""
        assert self.state_norm is None, "a central critic reads states, not observations"
        o = self.normalize(obs)
        a = self.encode(torch.as_tensor(actions, dtype=torch.int64))
        return torch.min(joint_q(self.q1(o), a), joint_q(self.q2(o), a)).numpy()

    def update(self, batch: ReplaySample) -> dict[str, float]:
        """One gradient step of critics, actor and alpha; returns scalars to log."""
        # both halves of the batch in one call each (row by row the same numbers)
        b = len(batch.rewards)
        both = np.concatenate([batch.obs, batch.next_obs])
        masks = self.allowed(both)
        allowed, next_allowed = (None, None) if masks is None else (masks[:b], masks[b:])
        obs, next_obs = self.normalize(both).split(b)
        c_obs, c_next = self._critic_inputs(batch, obs, next_obs)  # the critics' s and s'
        actions = self.encode(torch.as_tensor(batch.actions))
        rewards = torch.as_tensor(batch.rewards)
        dones = torch.as_tensor(batch.dones)
        alpha = self.alpha

        with torch.no_grad():
            next_probs, next_log_probs = self.actor(next_obs, next_allowed)
            v_next = soft_state_value(
                self.q1_target(c_next), self.q2_target(c_next), next_probs, next_log_probs,
                alpha,
            )  # fmt: skip
            y = critic_target(rewards, dones, self.config.gamma, v_next)
        q1, q2 = self.q1(c_obs), self.q2(c_obs)
        qf_loss = critic_loss(q1, q2, actions, y)
        self.q_opt.zero_grad()
        qf_loss.backward()
        self.q_opt.step()

        probs, log_probs = self.actor(obs, allowed)
        with torch.no_grad():
            q1_pi, q2_pi = self.q1(c_obs), self.q2(c_obs)
        pi_loss = actor_loss(probs, log_probs, q1_pi, q2_pi, alpha)
        self.actor_opt.zero_grad()
        pi_loss.backward()
        self.actor_opt.step()

        metrics = {
            "losses/qf_loss": qf_loss.item(),
            "losses/actor_loss": pi_loss.item(),
            "losses/q_mean": joint_q(q1, actions).mean().item(),
            "losses/entropy": -(probs * log_probs).sum(dim=(-2, -1)).mean().item(),
        }
        if self.config.autotune:
            a_loss = alpha_loss(self.log_alpha, probs.detach(), log_probs.detach(),
                                self.target_entropy)  # fmt: skip
            self.alpha_opt.zero_grad()
            a_loss.backward()
            self.alpha_opt.step()
            metrics["losses/alpha_loss"] = a_loss.item()
        metrics["losses/alpha"] = self.alpha

        # Polyak averaging of the target critics: theta' <- tau theta + (1 - tau) theta'
        # (all tensors of both critics at once: the same two operations per element)
        with torch.no_grad():
            torch._foreach_mul_(self._target_params, 1.0 - self.config.tau)
            torch._foreach_add_(self._target_params, self._online_params, alpha=self.config.tau)
        return metrics

    _MODULES = (
        "actor", "q1", "q2", "q1_target", "q2_target", "q_opt", "actor_opt", "alpha_opt", "norm",
    )  # fmt: skip

    @property
    def _modules(self) -> tuple[str, ...]:
        return (*self._MODULES, "state_norm") if self.state_norm is not None else self._MODULES

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {m: getattr(self, m).state_dict() for m in self._modules}
        state["log_alpha"] = self.log_alpha.detach().clone()
        state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for m in self._modules:
            getattr(self, m).load_state_dict(state[m])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self.generator.set_state(state["generator"])
