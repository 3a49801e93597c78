"""Replay: circular storage, uniform sampling from the replay stream, checkpoint round trip."""

from __future__ import annotations

import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlbench.replay.buffer import ReplayBuffer
from rlbench.seeding import generator

OBS_SPACE = gym.spaces.Box(-10.0, 10.0, shape=(2,), dtype=np.float32)
ACT_SPACE = gym.spaces.Discrete(3)


def _filled(capacity: int, count: int, seed: int = 0) -> ReplayBuffer:
    buffer = ReplayBuffer(capacity, OBS_SPACE, ACT_SPACE, generator(np.random.SeedSequence(seed)))
    for i in range(count):
        buffer.add(np.array([i, -i], np.float32), i % 3, float(i), np.array([i + 1, 0], np.float32), i % 2 == 0)
    return buffer


def test_replay_circular_overwrite() -> None:
    buffer = _filled(capacity=4, count=6)
    assert len(buffer) == 4 and buffer.storage.pos == 2
    np.testing.assert_array_equal(buffer.storage.rewards, [4.0, 5.0, 2.0, 3.0])
    np.testing.assert_array_equal(buffer.storage.observations[:, 0], [4, 5, 2, 3])
    np.testing.assert_array_equal(buffer.storage.terminated, [1.0, 0.0, 1.0, 0.0])


def test_replay_samples_only_filled_slots_with_right_types() -> None:
    buffer = _filled(capacity=100, count=5)
    batch = buffer.sample(256)
    assert set(batch.rewards.tolist()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert batch.observations.shape == (256, 2) and batch.observations.dtype == torch.float32
    assert batch.actions.dtype == torch.int64 and batch.terminated.dtype == torch.float32
    # Each sampled row is one consistent transition.
    torch.testing.assert_close(batch.next_observations[:, 0], batch.observations[:, 0] + 1)
    torch.testing.assert_close(batch.rewards, batch.observations[:, 0])


def test_replay_keeps_uint8_observations() -> None:
    space = gym.spaces.Box(0, 255, shape=(4, 8, 8), dtype=np.uint8)
    buffer = ReplayBuffer(10, space, ACT_SPACE, generator(np.random.SeedSequence(0)))
    buffer.add(np.full((4, 8, 8), 7, np.uint8), 1, 1.0, np.zeros((4, 8, 8), np.uint8), False)
    assert buffer.storage.observations.dtype == np.uint8
    assert buffer.sample(2).observations.dtype == torch.uint8


def test_replay_sampling_deterministic_per_seed() -> None:
    a, b, c = (_filled(50, 30, seed=s).sample(16).rewards for s in (1, 1, 2))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)


def test_replay_empty_sample_raises() -> None:
    with pytest.raises(ValueError):
        _filled(5, 0).sample(1)


def test_replay_state_dict_round_trip_continues_identically() -> None:
    original = _filled(capacity=8, count=11)
    original.sample(4)
    blob = io.BytesIO()
    torch.save(original.state_dict(), blob)
    blob.seek(0)
    restored = ReplayBuffer(8, OBS_SPACE, ACT_SPACE, generator(np.random.SeedSequence(99)))
    restored.load_state_dict(torch.load(blob, weights_only=True))
    assert (len(restored), restored.storage.pos) == (len(original), original.storage.pos)
    for buffer in (original, restored):
        buffer.add(np.array([50, 0], np.float32), 2, 50.0, np.array([51, 0], np.float32), True)
    for _ in range(3):
        x, y = original.sample(5), restored.sample(5)
        for field_x, field_y in zip(x, y):
            torch.testing.assert_close(field_x, field_y)


# --- networks ---------------------------------------------------------------------------------
