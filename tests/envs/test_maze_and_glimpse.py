"""The lecture's environments: the grid maze (model = step function) and glimpse classification."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rlbench.envs.glimpse import GlimpseEnv, digits, extract_glimpse, pad_canvas
from rlbench.envs.maze import LAYOUTS, MazeEnv
from rlbench.envs.registry import make_env


@pytest.mark.parametrize("name", ["Maze-Small-v0", "Maze-Lecture-v0", "Maze-Lecture-Slippery-v0", "Glimpse-v0"])
def test_environments_pass_gymnasiums_checker(name):
    check_env(make_env(name).unwrapped, skip_render_check=True)


def test_maze_rewards_minus_one_per_step_and_ends_at_the_goal():
    env = MazeEnv("corridor")
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [1.0, 0.0, 0.0, 0.0]
    rewards = []
    for _ in range(3):
        obs, reward, terminated, truncated, _ = env.step(1)  # east
        rewards.append(reward)
    assert rewards == [-1.0, -1.0, -1.0] and terminated and not truncated
    assert MazeEnv("small").optimal_return() == -4.0
    assert MazeEnv("lecture").optimal_return() == -13.0


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_deterministic_model_matches_the_step_function(layout):
    env = MazeEnv(layout)
    model = env.model()
    for state in range(len(env.cells)):
        for action in range(4):
            if state == env.goal:
                assert model.transitions[state, action, state] == 1.0
                continue
            env.reset(seed=0)
            env.state = state
            _, reward, terminated, _, info = env.step(action)
            assert model.transitions[state, action, info["state"]] == 1.0
            assert reward == model.rewards[state, action] and terminated == model.terminal[info["state"]]


def test_slippery_model_matches_step_frequencies():
    env = MazeEnv("lecture", slip=0.3)
    model = env.model()
    env.reset(seed=1)
    state, action, draws = 0, 1, 20000
    counts = np.zeros(len(env.cells))
    for _ in range(draws):
        env.state = state
        counts[env.step(action)[4]["state"]] += 1
    np.testing.assert_allclose(counts / draws, model.transitions[state, action], atol=0.015)


def test_coordinate_observations_and_bad_settings():
    env = MazeEnv("corridor", observation="coordinates")
    assert env.reset(seed=0)[0].tolist() == [0.0, 0.0]
    assert env.observations().shape == (4, 2)
    with pytest.raises(ValueError, match="unknown maze layout"):
        MazeEnv("nope")
    with pytest.raises(ValueError, match="slip"):
        MazeEnv("small", slip=1.5)


def test_glimpse_shapes_reward_and_label_only_at_the_end():
    env = GlimpseEnv()
    obs, _ = env.reset(seed=3)
    assert obs["glimpse"].shape == (3, 4, 4) and obs["glimpse"].dtype == np.float32
    assert obs["location"].tolist() == [0.0, 0.0] and obs["canvas"].shape == (16, 16)
    obs, reward, terminated, _, info = env.step({"location": np.array([0.5, -0.5], np.float32), "label": 0})
    assert reward == 0.0 and not terminated and "label" not in info
    assert obs["location"].tolist() == [0.5, -0.5]
    right = env.label
    _, reward, terminated, _, info = env.step({"location": np.zeros(2, np.float32), "label": right})
    assert terminated and reward == 1.0 and info["label"] == right
    env.reset(seed=3)
    env.step({"location": np.zeros(2, np.float32), "label": 0})
    _, reward, _, _, _ = env.step({"location": np.zeros(2, np.float32), "label": (env.label + 1) % 10})
    assert reward == 0.0


def test_glimpse_retina_pools_the_right_pixels():
    canvas = np.arange(16 * 16, dtype=np.float32).reshape(16, 16)
    patches = extract_glimpse(pad_canvas(canvas, 4, 3), 16, np.array([0.0, 0.0]), 4, 3)
    np.testing.assert_array_equal(patches[0], canvas[6:10, 6:10])  # centre pixel (8, 8): rows and columns 6..9
    np.testing.assert_allclose(patches[1], canvas[4:12, 4:12].reshape(4, 2, 4, 2).mean(axis=(1, 3)))
    np.testing.assert_allclose(patches[2], canvas.reshape(4, 4, 4, 4).mean(axis=(1, 3)))
    corner = extract_glimpse(pad_canvas(canvas, 4, 3), 16, np.array([-1.0, -1.0]), 4, 3)
    np.testing.assert_array_equal(corner[0][:2, :2], 0.0)  # off the canvas is dark
    np.testing.assert_array_equal(corner[0][2:, 2:], canvas[:2, :2])


def test_evaluation_uses_held_out_images():
    train_images, _ = digits("train")
    test_images, _ = digits("test")
    assert len(train_images) == 1437 and len(test_images) == 360
    assert make_env("Glimpse-v0", evaluation=True).unwrapped.split == "test"
    assert make_env("Glimpse-v0").unwrapped.split == "train"
    train_set = {image.tobytes() for image in train_images}
    assert not any(image.tobytes() in train_set for image in test_images[:50])
