"""K per-seed environments: the numpy CartPole equals gymnasium's CartPole-v1 float for float."""

from __future__ import annotations

import numpy as np
import pytest

from rlbench.envs.registry import make_env
from rlbench.envs.seed_vector import CartPoleSeeds, EnvList, make_seed_vector_env

SEEDS = (0, 11, 2**31 + 5, 123456789)


def _balancing(observation: np.ndarray) -> int:
    """A controller that keeps the pole up for whole episodes, so truncation at 500 steps happens."""
    return int(observation[2] + 0.5 * observation[3] + 0.01 * observation[1] > 0)


def test_cartpole_seeds_equal_gymnasium_step_for_step():
    vector = make_seed_vector_env("CartPole-v1", SEEDS)
    assert isinstance(vector, CartPoleSeeds)
    envs = [make_env("CartPole-v1", seed) for seed in SEEDS]
    expected = np.stack([env.reset()[0] for env in envs])
    observations = vector.reset_all()
    np.testing.assert_array_equal(observations, expected)
    rng = np.random.default_rng(3)
    ends = {"terminated": 0, "truncated": 0}
    for _ in range(8000):
        # Seeds 0 and 1 balance (long episodes, truncations), the others act at random (short ones).
        actions = np.array([_balancing(obs) if k < 2 else int(rng.integers(2)) for k, obs in enumerate(observations)])
        observations, rewards, terminated, truncated = vector.step(actions)
        for k, env in enumerate(envs):
            obs, reward, term, trunc, _ = env.step(int(actions[k]))
            assert observations[k].tobytes() == obs.tobytes()  # bit for bit, not within a tolerance
            assert vector.state[:, k].tobytes() == env.unwrapped.state.tobytes()
            assert (rewards[k], terminated[k], truncated[k]) == (reward, term, trunc)
            if term or trunc:
                ends["terminated" if term else "truncated"] += 1
                observations[k] = vector.reset(k)
                assert observations[k].tobytes() == env.reset()[0].tobytes()
    assert ends["terminated"] > 100 and ends["truncated"] > 5  # both kinds of episode end were compared


def test_env_list_is_the_registry_environments():
    vector = make_seed_vector_env("Acrobot-v1", SEEDS[:2])
    assert isinstance(vector, EnvList)
    envs = [make_env("Acrobot-v1", seed) for seed in SEEDS[:2]]
    np.testing.assert_array_equal(vector.reset_all(), np.stack([env.reset()[0] for env in envs]))
    for step in range(50):
        actions = np.array([step % 3, (step + 1) % 3])
        observations, rewards, terminated, truncated = vector.step(actions)
        for k, env in enumerate(envs):
            obs, reward, term, trunc, _ = env.step(int(actions[k]))
            np.testing.assert_array_equal(observations[k], obs)
            assert (rewards[k], terminated[k], truncated[k]) == (reward, term, trunc)
    assert isinstance(make_seed_vector_env("CartPole-v1", SEEDS, vectorised=False), EnvList)


def test_cartpole_seeds_refuse_bad_actions_and_steps_after_an_end():
    vector = CartPoleSeeds((0, 1))
    vector.reset_all()
    for bad in (np.array([0, 2]), np.array([0.0, 1.0]), np.array([1])):
        with pytest.raises(ValueError, match="CartPole actions must be 0 or 1"):
            vector.step(bad)
    while not vector.step(np.array([1, 1]))[2].any():
        pass
    with pytest.raises(RuntimeError, match="must be reset before stepping"):
        vector.step(np.array([1, 1]))
