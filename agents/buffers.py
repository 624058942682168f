"""Replay storage for off-policy agents: preallocated NumPy arrays, samples as a NamedTuple.

As in Stable-Baselines3's ``common/buffers.py``: the memory is allocated once, writes
wrap around, and the whole buffer (arrays and cursor) can be saved in a checkpoint so
a resumed run continues with exactly the same data.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class ReplaySample(NamedTuple):
    """A batch of transitions (NumPy arrays; the agent turns them into tensors)."""

    obs: np.ndarray  # (B, obs_dim) float32
    actions: np.ndarray  # (B, K) int64
    rewards: np.ndarray  # (B,) float32
    next_obs: np.ndarray  # (B, obs_dim) float32
    dones: np.ndarray  # (B,) float32: 1 where the next state has no value (terminated)
    # a centralised critic's inputs (B, state_dim) float32; None for a local critic
    state: np.ndarray | None = None
    next_state: np.ndarray | None = None


def concat(*samples: ReplaySample) -> ReplaySample:
    """One batch made of several (e.g. drawn from two buffers)."""
    return ReplaySample(
        *(None if parts[0] is None else np.concatenate(parts)
          for parts in zip(*samples, strict=True))
    )  # fmt: skip


class ReplayBuffer:
    """A ring buffer of (obs, action, reward, next_obs, done) transitions.

    :param capacity: transitions kept; the oldest are overwritten first
    :param obs_dim: length of the flat observation
    :param action_dims: number of entries of the MultiDiscrete action (K)
    :param state_dim: length of a centralised critic's state, stored beside each
        transition's observations (0: none)
    """

    def __init__(self, capacity: int, obs_dim: int, action_dims: int, state_dim: int = 0) -> None:
        if capacity < 1:
            raise ValueError("replay buffer capacity must be >= 1")
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, action_dims), dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self._arrays = ("obs", "next_obs", "actions", "rewards", "dones")
        if state_dim:
            self.state = np.zeros((capacity, state_dim), dtype=np.float32)
            self.next_state = np.zeros((capacity, state_dim), dtype=np.float32)
            self._arrays += ("state", "next_state")
        self.pos = 0
        self.full = False

    def __len__(self) -> int:
        return self.capacity if self.full else self.pos

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        dones: np.ndarray,
        state: np.ndarray | None = None,
        next_state: np.ndarray | None = None,
    ) -> None:
        """Store a batch of transitions (one per vector env; leading axis = env); ``state``
        and ``next_state`` when the buffer was made with a ``state_dim``."""
        for i in range(len(rewards)):
            if state is not None and next_state is not None:
                self.state[self.pos], self.next_state[self.pos] = state[i], next_state[i]
            self.obs[self.pos] = obs[i]
            self.actions[self.pos] = actions[i]
            self.rewards[self.pos] = rewards[i]
            self.next_obs[self.pos] = next_obs[i]
            self.dones[self.pos] = dones[i]
            self.pos = (self.pos + 1) % self.capacity
            self.full = self.full or self.pos == 0

    def clear(self) -> None:
        """Forget every transition (the arrays stay allocated)."""
        self.pos, self.full = 0, False

    def sample(self, batch_size: int, rng: np.random.Generator) -> ReplaySample:
        idx = rng.integers(0, len(self), size=batch_size)
        return ReplaySample(
            *(getattr(self, k)[idx] for k in ("obs", "actions", "rewards", "next_obs", "dones")),
            *((self.state[idx], self.next_state[idx]) if "state" in self._arrays else ()),
        )

    def state_dict(self) -> dict[str, Any]:
        n = len(self)
        return {
            "capacity": self.capacity,
            "pos": self.pos,
            "full": self.full,
            # only the filled part: a young buffer checkpoints small
            **{k: getattr(self, k)[:n].copy() for k in self._arrays},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["capacity"] != self.capacity:
            raise ValueError(
                f"checkpoint buffer capacity {state['capacity']} != configured {self.capacity}"
            )
        for k in self._arrays:
            arr = getattr(self, k)
            arr[: len(state[k])] = state[k]
        self.pos, self.full = int(state["pos"]), bool(state["full"])
