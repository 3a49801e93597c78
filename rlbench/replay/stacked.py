"""K replay buffers filled in lockstep, one per seed of a batched run, sampled in one gather per field."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch


class SeedStackedReplay:
    """K replay buffers of one capacity in arrays with a leading seed axis, filled in lockstep.

    Seed ``k`` samples with its own generator exactly as a separate run's
    :class:`~rlbench.replay.buffer.ReplayBuffer` does (uniform indices over the filled slots, with
    replacement), so it draws the same indices; the K minibatches are then gathered in one ``take``
    per field from its (K * capacity, ...) view.
    """

    def __init__(self, seeds: int, capacity: int, observation_space: gym.Space, rngs: Sequence[np.random.Generator]) -> None:
        shape, dtype = tuple(observation_space.shape), np.dtype(observation_space.dtype)
        self.capacity = int(capacity)
        self.observations = np.zeros((seeds, self.capacity, *shape), dtype=dtype)
        self.next_observations = np.zeros((seeds, self.capacity, *shape), dtype=dtype)
        self.actions = np.zeros((seeds, self.capacity), dtype=np.int64)
        self.rewards = np.zeros((seeds, self.capacity), dtype=np.float32)
        self.terminated = np.zeros((seeds, self.capacity), dtype=np.float32)
        self.rngs = list(rngs)
        self.seed_offsets = (np.arange(seeds) * self.capacity)[:, None]
        """Where each seed's slots start in a field's (K * capacity, ...) view."""
        self.pos = 0
        self.size = 0

    def add(self, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_observations: np.ndarray,
            terminated: np.ndarray) -> None:
        """One transition per seed (each argument has a leading seed axis) into the next slot."""
        i = self.pos
        self.observations[:, i] = observations
        self.next_observations[:, i] = next_observations
        self.actions[:, i] = actions
        self.rewards[:, i] = rewards
        self.terminated[:, i] = terminated
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        """(observations, actions, rewards, next observations, terminated), each (K, batch, ...)."""
        indices = np.stack([rng.integers(0, self.size, size=batch_size) for rng in self.rngs])
        flat = (indices + self.seed_offsets).ravel()
        fields = (self.observations, self.actions, self.rewards, self.next_observations, self.terminated)
        return tuple(torch.from_numpy(np.take(array.reshape(-1, *array.shape[2:]), flat, axis=0)
                                      .reshape(indices.shape + array.shape[2:])) for array in fields)

