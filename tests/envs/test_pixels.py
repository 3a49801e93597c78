"""Atari and MinAtar environments: preprocessing, training-only life loss and reward clipping, seeding and
resumption, and replay that stores each frame once returning exactly the stacks the environment produced."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlbench.envs.registry import ATARI_EVALUATION, ATARI_PROTOCOL, env_info, make_env
from rlbench.replay.frames import FrameStorage
from rlbench.replay.storage import VectorStorage


def _generator_like(rng: np.random.Generator) -> np.random.Generator:
    copy = np.random.Generator(type(rng.bit_generator)())
    copy.bit_generator.state = rng.bit_generator.state
    return copy


def test_atari_observations_are_stacks_of_four_84x84_grayscale_frames():
    env = make_env("Atari-Pong-v0", seed=0)
    obs, _ = env.reset()
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert env.observation_space.shape == (4, 84, 84) and env.action_space.n == 6  # Pong's minimal action set
    assert all(np.array_equal(obs[0], frame) for frame in obs)  # a reset pads the stack with its first frame
    previous = obs
    for action in [2, 3, 2, 3, 0, 1] * 5:
        obs, *_ = env.step(action)
        assert np.array_equal(obs[:3], previous[1:])  # the stack moves along by one new frame
        previous = obs
    assert len({frame.tobytes() for frame in obs}) > 1
    env.close()


def test_atari_protocol_is_recorded_with_the_environment():
    info = env_info("Atari-Breakout-v0")
    assert info["family"] == "atari"
    assert info["make_kwargs"] == {"game": "Breakout", **ATARI_PROTOCOL}
    assert info["evaluation_kwargs"] == ATARI_EVALUATION
    assert info["make_kwargs"]["repeat_action_probability"] == 0.25


def _play(env, steps: int, rng: np.random.Generator):
    """Random play: (reward, terminated, truncated, lives, info) per step; resets after an episode ends."""
    env.reset()
    records = []
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        records.append((reward, terminated, truncated, env.unwrapped.ale.lives(), info))
        if terminated or truncated:
            env.reset()
    return records


def test_rewards_are_clipped_and_a_lost_life_ends_the_episode_in_training_only():
    # Alien scores 10 points a pellet and has 3 lives: random play shows both within a few hundred steps.
    training = _play(make_env("Atari-Alien-v0", seed=1), 700, np.random.default_rng(0))
    evaluation = _play(make_env("Atari-Alien-v0", seed=1, evaluation=True), 700, np.random.default_rng(0))
    assert {r for r, *_ in training} <= {-1.0, 0.0, 1.0} and 1.0 in {r for r, *_ in training}
    assert max(r for r, *_ in evaluation) >= 10.0
    lost = [(terminated, lives, info) for _, terminated, _, lives, info in training if info.get("game_continues")]
    assert lost and all(terminated and lives > 0 for terminated, lives, _ in lost)
    # evaluation episodes are whole games: an episode only ends with the last life
    assert all(lives == 0 or truncated for _, terminated, truncated, lives, _ in evaluation if terminated or truncated)


def test_after_a_lost_life_the_next_reset_continues_the_game():
    env = make_env("Atari-Alien-v0", seed=2)
    env.reset()
    rng = np.random.default_rng(1)
    for _ in range(3000):
        _, _, terminated, _, info = env.step(int(rng.integers(env.action_space.n)))
        if terminated:
            break
    assert info.get("game_continues")
    lives = env.unwrapped.ale.lives()
    frame_before = env.unwrapped.ale.getFrameNumber()
    obs, _ = env.reset()
    assert env.unwrapped.ale.lives() == lives and env.unwrapped.ale.getFrameNumber() > frame_before
    assert all(np.array_equal(obs[0], frame) for frame in obs)  # a new stack for the learner's new episode


@pytest.mark.parametrize("name", ["Atari-Pong-v0", "MinAtar-Seaquest-v0"])
def test_a_fresh_environment_given_the_saved_generator_plays_the_same_games(name):
    """What resuming a run does at an episode boundary: only the environment's generator is saved."""
    first = make_env(name, seed=7)
    for _ in range(2):  # two games, each seeded from the environment's own generator
        first.reset()
    state = first.unwrapped.np_random.bit_generator.state
    second = make_env(name, seed=None)
    second.unwrapped.np_random = _generator_like(first.unwrapped.np_random)
    assert second.unwrapped.np_random.bit_generator.state == state
    observations = [first.reset()[0], second.reset()[0]]
    rng = np.random.default_rng(3)
    for action in rng.integers(first.action_space.n, size=300):
        a, b = first.step(int(action)), second.step(int(action))
        assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]
        if a[2] or a[3]:
            observations = [first.reset()[0], second.reset()[0]]
            assert np.array_equal(*observations)


@pytest.mark.parametrize("name", ["Atari-Breakout-v0", "MinAtar-Asterix-v0"])
def test_different_seeds_play_different_games(name):
    """The same actions under two seeds: sticky actions and spawns follow each seed's own stream."""
    def trajectory(seed: int) -> bytes:
        env = make_env(name, seed=seed)
        observations = [env.reset()[0]]
        for action in np.random.default_rng(0).integers(3, size=300):
            obs, _, terminated, truncated, _ = env.step(int(action))
            observations.append(env.reset()[0] if terminated or truncated else obs)
        return b"".join(o.tobytes() for o in observations)
    assert trajectory(7) == trajectory(7)
    assert trajectory(7) != trajectory(8)


def test_minatar_boards_and_actions():
    env = make_env("MinAtar-Breakout-v0", seed=0)
    obs, _ = env.reset()
    assert obs.shape == (10, 10, 4) and obs.dtype == bool and env.action_space.n == 6  # the paper's 6 actions
    info = env_info("MinAtar-Breakout-v0")
    assert info["make_kwargs"]["sticky_action_probability"] == 0.1 and info["max_episode_steps"] == 27_000
    obs2, *_ = env.step(0)
    assert obs2 is not obs and obs2.shape == obs.shape


def test_frame_replay_returns_exactly_the_stacks_the_atari_environment_produced():
    """Across life losses (padded stacks mid-game), game ends and wrap-around of a small buffer."""
    env = make_env("Atari-Breakout-v0", seed=3)
    capacity = 97
    frames = FrameStorage(capacity, env.observation_space, env.action_space)
    vectors = VectorStorage(capacity, env.observation_space, env.action_space)
    rng = np.random.default_rng(0)
    obs, _ = env.reset()
    boundaries = 0
    for step in range(1500):
        action = int(rng.integers(env.action_space.n))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        for storage in (frames, vectors):
            storage.add(obs, action, reward, next_obs, terminated)
        obs = next_obs
        if terminated or truncated:
            boundaries += 1
            obs, _ = env.reset()
        if step % 50 == 49:
            indices = np.arange(frames.size)
            got, expected = frames.gather(indices), vectors.gather(indices)
            for field in expected._fields:
                assert torch.equal(getattr(got, field), getattr(expected, field)), (step, field)
    assert boundaries >= 5 and frames.size == capacity
