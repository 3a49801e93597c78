"""Replay storage behind one interface: what holds the transitions, apart from how they are sampled.

``TransitionStorage`` is what a replay buffer (:mod:`rlbench.replay.buffer`) needs from its
storage: add a transition, gather a batch by slot indices, and a checkpointable state. The
``VectorStorage`` here keeps every field of every transition in preallocated circular arrays at
full capacity (observations keep the observation space's dtype, so uint8 frames stay uint8). A
storage for stacked image frames that stores each frame once implements the same interface. Only
``terminated`` is stored: a time-limit truncation still bootstraps.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import gymnasium as gym
import numpy as np
import torch


class ReplayBatch(NamedTuple):
    """A minibatch of transitions as torch tensors, first dimension the batch."""

    observations: torch.Tensor
    """Observations, in the observation space's dtype."""
    actions: torch.Tensor
    """int64 indices (Discrete) or float32 vectors (Box)."""
    rewards: torch.Tensor
    """float32 rewards."""
    next_observations: torch.Tensor
    """Observations after the step, in the observation space's dtype."""
    terminated: torch.Tensor
    """float32, 1.0 where the episode terminated (no bootstrapping), 0.0 otherwise."""


class TransitionStorage(Protocol):
    """Fixed-capacity FIFO storage of transitions, addressed by slot."""

    capacity: int
    size: int
    """How many slots hold a transition."""

    def add(self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        """Store one transition, overwriting the oldest once full."""

    def gather(self, indices: np.ndarray) -> ReplayBatch:
        """The transitions in slots ``indices`` (each ``< size``) as a batch."""

    def state_dict(self) -> dict[str, Any]:
        """The filled contents and write position: tensors and plain Python only."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""


class VectorStorage:
    """Every field of every transition in preallocated circular arrays."""

    def __init__(self, capacity: int, observation_space: gym.Space, action_space: gym.Space) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be at least 1, got {capacity}")
        if observation_space.shape is None or observation_space.dtype is None:
            raise ValueError(f"the replay buffer needs an observation space with shape and dtype, got {observation_space}")
        if isinstance(action_space, gym.spaces.Discrete):
            action_shape: tuple[int, ...] = ()
            action_dtype: np.dtype = np.dtype(np.int64)
        elif isinstance(action_space, gym.spaces.Box):
            action_shape, action_dtype = tuple(action_space.shape), np.dtype(np.float32)
        else:
            raise ValueError(f"the replay buffer supports Discrete and Box actions, got {action_space}")
        self.capacity = int(capacity)
        obs_shape, obs_dtype = tuple(observation_space.shape), np.dtype(observation_space.dtype)
        self.observations = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.next_observations = np.zeros((self.capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((self.capacity, *action_shape), dtype=action_dtype)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.pos = 0
        """The slot the next ``add`` writes to."""
        self.size = 0
        """How many slots hold a transition."""

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        """Store one transition, overwriting the oldest once the buffer is full."""
        i = self.pos
        self.observations[i] = obs
        self.next_observations[i] = next_obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.terminated[i] = terminated
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def gather(self, indices: np.ndarray) -> ReplayBatch:
        return ReplayBatch(
            torch.from_numpy(self.observations[indices]),
            torch.from_numpy(self.actions[indices]),
            torch.from_numpy(self.rewards[indices]),
            torch.from_numpy(self.next_observations[indices]),
            torch.from_numpy(self.terminated[indices]),
        )

    def state_dict(self) -> dict[str, Any]:
        """The filled contents and write position: tensors and plain Python only."""
        n = self.size

        def filled(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(array[:n].copy())

        return {
            "capacity": self.capacity,
            "pos": self.pos,
            "size": n,
            "observations": filled(self.observations),
            "next_observations": filled(self.next_observations),
            "actions": filled(self.actions),
            "rewards": filled(self.rewards),
            "terminated": filled(self.terminated),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (the capacity and shapes must match)."""
        if int(state["capacity"]) != self.capacity:
            raise ValueError(f"replay capacity mismatch: checkpoint {state['capacity']}, storage {self.capacity}")
        n = int(state["size"])
        for name in ("observations", "next_observations", "actions", "rewards", "terminated"):
            array: np.ndarray = getattr(self, name)
            array[:n] = state[name].numpy()
        self.size, self.pos = n, int(state["pos"])
