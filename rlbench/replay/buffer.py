"""Experience replay (Lin 1992; Mnih et al. 2015): a storage and uniform sampling over it.

Minibatches are drawn uniformly, with replacement, from the filled slots with the buffer's own
numpy Generator (the run's ``replay`` stream), so sampling never touches another random source.
What holds the transitions is a ``TransitionStorage``, named in :data:`REPLAY_STORAGES`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlbench.replay.frames import FrameStorage
from rlbench.replay.storage import ReplayBatch, TransitionStorage, VectorStorage

__all__ = ["REPLAY_STORAGES", "ReplayBatch", "ReplayBuffer"]

REPLAY_STORAGES: dict[str, type] = {"vector": VectorStorage, "frames": FrameStorage}
"""Storages by name: every field of every transition (:mod:`rlbench.replay.storage`), or stacked frames
stored once each (:mod:`rlbench.replay.frames`). Both return the same batches for frame-stacked observations."""


class ReplayBuffer:
    """Uniform sampling over a fixed-capacity transition storage."""

    def __init__(
        self,
        capacity: int,
        observation_space: gym.Space,
        action_space: gym.Space,
        rng: np.random.Generator,
        storage: str = "vector",
    ) -> None:
        self.storage: TransitionStorage = REPLAY_STORAGES[storage](capacity, observation_space, action_space)
        self.rng = rng

    def __len__(self) -> int:
        return self.storage.size

    def add(self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        """Store one transition, overwriting the oldest once the storage is full."""
        self.storage.add(obs, action, reward, next_obs, terminated)

    def sample(self, batch_size: int) -> ReplayBatch:
        """``batch_size`` transitions drawn uniformly, with replacement, from the filled slots."""
        if self.storage.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        return self.storage.gather(self.rng.integers(0, self.storage.size, size=batch_size))

    def state_dict(self) -> dict[str, Any]:
        """The storage's state and the sampler's random state."""
        return {"storage": self.storage.state_dict(), "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.storage.load_state_dict(state["storage"])
        self.rng.bit_generator.state = state["rng"]
