"""Frame storage: for stacked frames (each next observation the observation moved along by one frame), every
stack it returns is exactly the one the environment produced, across episode boundaries and wrap-around,
in about one frame per transition; it refuses transitions that are not stacked frames."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlbench.replay.frames import FrameStorage
from rlbench.replay.storage import VectorStorage


def stacked_episodes(rng: np.random.Generator, transitions: int, stack: int, side: int = 3):
    """Transitions of a frame-stacking environment: a reset stacks ``stack`` new random frames (as
    no-op starts would), each step pushes one new frame; episodes end by termination or truncation
    at random lengths (some of one step). Sometimes a reset repeats the last observation exactly."""
    obs = rng.integers(0, 256, (stack, side, side), dtype=np.uint8)
    for _ in range(transitions):
        next_obs = np.concatenate([obs[1:], rng.integers(0, 256, (1, side, side), dtype=np.uint8)])
        end = rng.random() < 0.15
        terminated = bool(end and rng.random() < 0.5)
        yield obs, int(rng.integers(4)), float(rng.normal()), next_obs, terminated
        if not end:
            obs = next_obs
        elif rng.random() < 0.2:
            obs = next_obs.copy()  # a reset that happens to equal the last frames
        else:
            obs = rng.integers(0, 256, (stack, side, side), dtype=np.uint8)


def spaces(stack: int, side: int = 3) -> tuple[gym.Space, gym.Space]:
    return gym.spaces.Box(0, 255, (stack, side, side), np.uint8), gym.spaces.Discrete(4)


@pytest.mark.parametrize("capacity, stack, transitions", [(50, 4, 400), (7, 4, 100), (3, 4, 60), (2, 4, 30),
                                                          (1, 4, 10), (64, 1, 200), (13, 2, 300)])
def test_every_slot_returns_exactly_what_the_environment_produced(capacity, stack, transitions):
    rng = np.random.default_rng(capacity * 100 + stack)
    frames, reference = FrameStorage(capacity, *spaces(stack)), VectorStorage(capacity, *spaces(stack))
    for step, transition in enumerate(stacked_episodes(rng, transitions, stack)):
        frames.add(*transition)
        reference.add(*transition)
        if step % 5 == 0 or step == transitions - 1:  # before and after the buffer wraps around
            slots = np.arange(reference.size)
            got, want = frames.gather(slots), reference.gather(slots)
            for name in got._fields:
                assert torch.equal(getattr(got, name), getattr(want, name)), (step, name)


def test_checkpoint_round_trip_continues_identically():
    rng = np.random.default_rng(3)
    transitions = list(stacked_episodes(rng, 120, 4))
    whole = FrameStorage(40, *spaces(4))
    for transition in transitions:
        whole.add(*transition)
    first, resumed = FrameStorage(40, *spaces(4)), FrameStorage(40, *spaces(4))
    for transition in transitions[:70]:
        first.add(*transition)
    resumed.load_state_dict(first.state_dict())
    for transition in transitions[70:]:
        resumed.add(*transition)
    slots = np.arange(40)
    for got, want in zip(resumed.gather(slots), whole.gather(slots)):
        assert torch.equal(got, want)


def test_one_frame_per_transition_plus_the_episode_starts():
    rng = np.random.default_rng(4)
    storage = FrameStorage(1000, *spaces(4, side=84))
    obs = rng.integers(0, 256, (4, 84, 84), dtype=np.uint8)
    for _ in range(1000):  # one long episode
        next_obs = np.concatenate([obs[1:], rng.integers(0, 256, (1, 84, 84), dtype=np.uint8)])
        storage.add(obs, 0, 0.0, next_obs, False)
        obs = next_obs
    frame = 84 * 84
    assert storage.frames.nbytes == 1000 * frame
    assert storage.nbytes < 1000 * frame + 4 * frame + 1000 * 32  # the episode's first stack, per-slot scalars
    assert storage.nbytes < VectorStorage(1000, *spaces(4, side=84)).observations.nbytes * 2 / 7


def test_frame_storage_refuses_what_it_cannot_hold():
    with pytest.raises(ValueError, match="uint8 stacked frames"):
        FrameStorage(10, gym.spaces.Box(0, 1, (4, 84), np.float32), gym.spaces.Discrete(2))
    with pytest.raises(ValueError, match="Discrete actions"):
        FrameStorage(10, *spaces(4)[:1], gym.spaces.Box(-1, 1, (2,), np.float32))
    with pytest.raises(ValueError, match="capacity"):
        FrameStorage(0, *spaces(4))
    storage = FrameStorage(10, *spaces(3, side=1))
    obs = np.arange(3, dtype=np.uint8).reshape(3, 1, 1)
    with pytest.raises(ValueError, match="moved along by one frame"):  # e.g. an autoreset observation
        storage.add(obs, 0, 0.0, obs + 5, False)
    with pytest.raises(ValueError, match="stacks of shape"):
        storage.add(obs[:2], 0, 0.0, obs[1:], False)
    assert len(storage) == 0
    storage.add(obs, 0, 0.0, np.concatenate([obs[1:], obs[:1]]), False)
    with pytest.raises(ValueError, match="stack shape mismatch"):
        FrameStorage(10, *spaces(2, side=1)).load_state_dict(storage.state_dict())
    assert storage.gather(np.array([], np.int64)).observations.shape == (0, 3, 1, 1)
