"""Replay storage for stacked frames that stores each frame once (Mnih et al. 2015's 84x84x4 observations).

A stacked observation ``(k, H, W)`` shares ``k - 1`` frames with the next one, and a transition's next
observation is the following transition's observation, so storing both stacks of every transition keeps
each frame ``2k`` times. :class:`FrameStorage` keeps, per transition slot, only the newest frame of its
next observation, plus the whole observation where a stretch of consecutive transitions begins (an
episode's first stack: the frames it is padded with at a reset, whatever the environment produced). It
rebuilds both stacks of a transition by looking back through the slots of its stretch. It requires what
frame stacking guarantees, that a next observation is the observation moved along by one new frame, and
refuses a transition that breaks it (an RGB image's channels, or a vector environment's autoreset
observation given as a next observation). The idea is Stable-Baselines3's
``optimize_memory_usage`` and Dopamine's circular frame buffer; this version returns exactly the stacks
the environment produced, at episode starts too, and stays exact when the oldest slots are overwritten.

Memory: one frame per transition (84 x 84 uint8 = 7,056 bytes), so 100k transitions take 0.71 GB and
1M take 7.06 GB, plus ``k`` frames per episode held, against ``2k`` frames per transition for
:class:`rlbench.replay.storage.VectorStorage` (56 GB for 1M with ``k = 4``). Checkpoints hold the same
arrays, so they stay proportional.

A stretch ends by comparison: a transition starts a new stretch when its observation differs from the
previous transition's next observation (a reset, usually). Where they are equal, the frames rebuilt are
the same either way (a reset that equals the last stack continues the stretch), so the comparison never
makes a returned stack wrong.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlbench.replay.storage import ReplayBatch


class FrameStorage:
    """Stacked uint8 frames ``(k, H, W)`` stored once each; the ``TransitionStorage`` interface."""

    def __init__(self, capacity: int, observation_space: gym.Space, action_space: gym.Space) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be at least 1, got {capacity}")
        shape = observation_space.shape
        if shape is None or len(shape) != 3 or np.dtype(observation_space.dtype) != np.uint8:
            raise ValueError(f"frame storage needs uint8 stacked frames of shape (k, H, W), got {observation_space}")
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(f"frame storage supports Discrete actions, got {action_space}")
        self.capacity = int(capacity)
        self.stack = int(shape[0])
        self.frame_shape = tuple(int(s) for s in shape[1:])
        self.frames = np.zeros((self.capacity, *self.frame_shape), np.uint8)
        """Slot i: the newest frame of transition i's next observation."""
        self.offsets = np.zeros(self.capacity, np.int64)
        """Slot i: how many earlier slots of its stretch precede it (the lookback reads min(offset, k) of them,
        then the stretch's whole first observation)."""
        self.starts: dict[int, np.ndarray] = {}
        """Slot -> the whole observation of the transition that begins a stretch (offset 0)."""
        self.actions = np.zeros(self.capacity, np.int64)
        self.rewards = np.zeros(self.capacity, np.float32)
        self.terminated = np.zeros(self.capacity, np.float32)
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored arrays (frames, episode starts, actions, rewards, flags, offsets)."""
        arrays = (self.frames, self.offsets, self.actions, self.rewards, self.terminated)
        return sum(a.nbytes for a in arrays) + sum(a.nbytes for a in self.starts.values())

    def add(self, obs: np.ndarray, action: Any, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        """Store one transition, overwriting the oldest once full."""
        if np.shape(obs) != (self.stack, *self.frame_shape) or np.shape(next_obs) != np.shape(obs):
            raise ValueError(f"frame storage holds stacks of shape {(self.stack, *self.frame_shape)}, "
                             f"got {np.shape(obs)} and {np.shape(next_obs)}")
        if not np.array_equal(next_obs[:-1], obs[1:]):
            raise ValueError("frame storage needs each next observation to be the observation moved along by one "
                             "frame (stacked frames); this transition's is not")
        i = self.pos
        if self.size == self.capacity:
            self._evict(i)
        # With one slot, the frame to look back to is the one being overwritten: every stack is kept whole.
        # (Eviction keeps every remaining stack as it was, so the newest slot's next observation is intact.)
        continues = (self.capacity > 1 and self.size > 0
                     and np.array_equal(obs, self.next_observation((i - 1) % self.capacity)))
        self.starts.pop(i, None)
        if continues:
            self.offsets[i] = self.offsets[(i - 1) % self.capacity] + 1
        else:
            self.offsets[i] = 0
            self.starts[i] = np.array(obs, np.uint8, copy=True)
        self.frames[i] = next_obs[-1]
        self.actions[i], self.rewards[i], self.terminated[i] = int(action), float(reward), float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def _evict(self, oldest: int) -> None:
        """Before slot ``oldest`` is overwritten: the slots after it that look back into it start anew from
        their own observation (kept whole), so no stack ever reads an overwritten frame."""
        follower = (oldest + 1) % self.capacity
        if follower == self.pos or self.offsets[follower] == 0:
            return
        self.starts[follower] = self.observation(follower)
        self.offsets[follower] = 0
        for distance in range(1, self.stack):  # later slots reaching back past the new start
            slot = (follower + distance) % self.capacity
            if slot == self.pos or self.offsets[slot] < distance:
                break
            self.offsets[slot] = distance

    def observation(self, slot: int) -> np.ndarray:
        """The stacked observation of the transition in ``slot``."""
        offset = int(self.offsets[slot])
        if offset >= self.stack:
            return np.stack([self.frames[(slot - self.stack + m) % self.capacity] for m in range(self.stack)])
        start = self.starts[(slot - offset) % self.capacity]
        recent = [self.frames[(slot - offset + m) % self.capacity] for m in range(offset)]
        return np.concatenate([start[offset:], np.stack(recent)]) if recent else start.copy()

    def next_observation(self, slot: int) -> np.ndarray:
        """The stacked next observation of the transition in ``slot``."""
        obs = self.observation(slot)
        return np.concatenate([obs[1:], self.frames[slot][None]])

    def gather(self, indices: np.ndarray) -> ReplayBatch:
        indices = np.asarray(indices, np.int64)
        observations = np.zeros((len(indices), self.stack, *self.frame_shape), np.uint8)
        for row, slot in enumerate(indices):
            observations[row] = self.observation(int(slot))
        next_observations = np.concatenate([observations[:, 1:], self.frames[indices][:, None]], axis=1)
        return ReplayBatch(
            torch.from_numpy(observations),
            torch.from_numpy(self.actions[indices]),
            torch.from_numpy(self.rewards[indices]),
            torch.from_numpy(next_observations),
            torch.from_numpy(self.terminated[indices]),
        )

    def state_dict(self) -> dict[str, Any]:
        """The filled contents, write position and episode starts: tensors and plain Python only."""
        slots = sorted(self.starts)
        return {
            "capacity": self.capacity,
            "pos": self.pos,
            "size": self.size,
            "frames": torch.from_numpy(self.frames[:self.size].copy()),
            "offsets": torch.from_numpy(self.offsets[:self.size].copy()),
            "actions": torch.from_numpy(self.actions[:self.size].copy()),
            "rewards": torch.from_numpy(self.rewards[:self.size].copy()),
            "terminated": torch.from_numpy(self.terminated[:self.size].copy()),
            "start_slots": slots,
            "start_frames": torch.from_numpy(np.stack([self.starts[s] for s in slots])) if slots else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (the capacity and shapes must match)."""
        if int(state["capacity"]) != self.capacity:
            raise ValueError(f"replay capacity mismatch: checkpoint {state['capacity']}, storage {self.capacity}")
        frame_shape, starts = tuple(state["frames"].shape[1:]), state["start_frames"]
        stack = self.stack if starts is None else int(starts.shape[1])
        if frame_shape != self.frame_shape or stack != self.stack:
            raise ValueError(f"replay stack shape mismatch: checkpoint {(stack, *frame_shape)}, storage "
                             f"{(self.stack, *self.frame_shape)}")
        n = int(state["size"])
        for name in ("frames", "offsets", "actions", "rewards", "terminated"):
            getattr(self, name)[:n] = state[name].numpy()
        self.starts = {int(slot): starts[k].numpy().copy() for k, slot in enumerate(state["start_slots"])}
        self.size, self.pos = n, int(state["pos"])
