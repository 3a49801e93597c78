"""K environments of one task, one per seed, stepped together: what the batched execution mode steps.

Seed ``k``'s environment behaves exactly as ``make_env(name, seeds[k])`` followed by the training
loop's ``reset()``: the same initial states from the same seeded stream, the same transitions,
rewards and time limit. Two implementations:

* :class:`EnvList` holds K ordinary environments from :func:`rlbench.envs.registry.make_env` and
  steps them one after another (any task);
* :class:`CartPoleSeeds` computes CartPole-v1's dynamics for all K seeds in one set of numpy
  operations. Gymnasium's ``CartPoleEnv.step`` works on float64 scalars; the same IEEE operations
  in the same order on float64 arrays round identically, and the cosine and sine are taken per
  element with the very call gymnasium makes (``np.cos`` of a float64 scalar), because a
  vectorised transcendental may take another code path. Each seed resets from its own generator,
  seeded as gymnasium seeds its environment. ``tests/envs/test_seed_vector.py`` checks it against
  gymnasium's environment step for step, float for float. Its constants are read from gymnasium's
  own ``CartPoleEnv``, so they are not written a second time here.

Gymnasium's own ``CartPoleVectorEnv`` is not used: its K environments share one random generator,
so a seed's episodes would depend on the other seeds'.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from gymnasium.utils.seeding import np_random

from rlbench.envs.registry import get_entry, make_env


class SeedVectorEnv:
    """The interface of K per-seed environments: reset all, step all, reset one."""

    num_envs: int

    def reset_all(self) -> np.ndarray:
        """Every seed's first observation, stacked: (K, *observation_shape)."""
        raise NotImplementedError

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every seed with its action: (next observations, rewards, terminated, truncated), each
        with a leading seed axis. A seed whose episode ended must be ``reset`` before its next step."""
        raise NotImplementedError

    def reset(self, k: int) -> np.ndarray:
        """Seed ``k``'s next episode's first observation."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class EnvList(SeedVectorEnv):
    """K ordinary environments from the registry, stepped one after another."""

    def __init__(self, name: str, seeds: Sequence[int]) -> None:
        self.envs = [make_env(name, seed) for seed in seeds]
        self.num_envs = len(self.envs)

    def reset_all(self) -> np.ndarray:
        return np.stack([env.reset()[0] for env in self.envs])

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        results = [env.step(action) for env, action in zip(self.envs, actions.tolist())]
        observations, rewards, terminated, truncated, _ = zip(*results)
        return (np.stack(observations), np.array(rewards, dtype=np.float64), np.array(terminated, dtype=bool),
                np.array(truncated, dtype=bool))

    def reset(self, k: int) -> np.ndarray:
        return self.envs[k].reset()[0]

    def close(self) -> None:
        for env in self.envs:
            env.close()


class CartPoleSeeds(SeedVectorEnv):
    """CartPole-v1 for K seeds in numpy arrays (see the module docstring for why it equals gymnasium's)."""

    ENV_ID = "CartPole-v1"

    def __init__(self, seeds: Sequence[int]) -> None:
        reference = gym.make(self.ENV_ID)
        physics = reference.unwrapped
        if getattr(physics, "_sutton_barto_reward", False) or physics.kinematics_integrator != "euler":
            raise ValueError("CartPoleSeeds implements CartPole-v1's default reward and Euler integration only")
        self.gravity, self.masspole, self.total_mass = physics.gravity, physics.masspole, physics.total_mass
        self.length, self.polemass_length = physics.length, physics.polemass_length
        self.force_mag, self.tau = physics.force_mag, physics.tau
        self.x_threshold, self.theta_threshold = physics.x_threshold, physics.theta_threshold_radians
        self.max_episode_steps = int(reference.spec.max_episode_steps)
        reference.close()
        self.num_envs = len(seeds)
        self.rngs = [np_random(int(seed))[0] for seed in seeds]
        for rng in self.rngs:  # make_env's seeded reset draws a first state that the loop's reset replaces
            self._initial_state(rng)
        self.state = np.zeros((4, self.num_envs), dtype=np.float64)
        """x, x_dot, theta, theta_dot (rows) of every seed (columns), updated in place."""
        self.thresholds = np.array([[self.x_threshold], [self.theta_threshold]])
        self.forces = np.array([-self.force_mag, self.force_mag])
        self.rewards = np.ones(self.num_envs)
        self.rewards.flags.writeable = False
        self.elapsed = np.zeros(self.num_envs, dtype=np.int64)
        self.ended = np.ones(self.num_envs, dtype=bool)

    @staticmethod
    def _initial_state(rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(low=-0.05, high=0.05, size=(4,))  # CartPoleEnv.reset's default bounds

    def reset_all(self) -> np.ndarray:
        return np.stack([self.reset(k) for k in range(self.num_envs)])

    def reset(self, k: int) -> np.ndarray:
        self.state[:, k] = self._initial_state(self.rngs[k])
        self.elapsed[k] = 0
        self.ended[k] = False
        return self.state[:, k].astype(np.float32)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        actions = np.asarray(actions)
        if (actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu"
                or actions.view(actions.dtype.str.replace("i", "u")).max() > 1):  # as unsigned, -1 is above 1 too
            raise ValueError(f"CartPole actions must be 0 or 1, one per seed ({self.num_envs}); got {actions!r}")
        if self.ended.any():
            raise RuntimeError(f"seeds {np.flatnonzero(self.ended).tolist()} must be reset before stepping")
        x, x_dot, theta, theta_dot = self.state
        force = self.forces[actions]
        costheta, sintheta = np.array([(np.cos(t), np.sin(t)) for t in theta.tolist()]).T
        temp = (force + self.polemass_length * np.square(theta_dot) * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * np.square(costheta) / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        # Euler, every update from the old values (copied into ``change`` first); ``state += tau * change``
        # rounds as gymnasium's ``x = x + tau * x_dot``.
        change = np.array((x_dot, xacc, theta_dot, thetaacc))
        change *= self.tau
        self.state += change
        # |v| > t is exactly gymnasium's v < -t or v > t (negation and abs are exact).
        outside = np.abs(self.state[0::2]) > self.thresholds
        terminated = outside[0] | outside[1]
        self.elapsed += 1
        truncated = self.elapsed >= self.max_episode_steps
        self.ended = terminated | truncated
        return self.state.T.astype(np.float32, order="C"), self.rewards, terminated, truncated


VECTORISED: dict[str, type] = {CartPoleSeeds.ENV_ID: CartPoleSeeds}
"""Tasks with a numpy implementation over seeds (registry entries without extra keyword arguments or
training wrappers only)."""


def make_seed_vector_env(name: str, seeds: Sequence[int], vectorised: bool = True) -> SeedVectorEnv:
    """K environments of task ``name``, seed ``k`` seeded with ``seeds[k]`` (as ``make_env``); computed as
    one numpy array operation where the task has such an implementation and ``vectorised``."""
    entry = get_entry(name)
    plain = not entry.make_kwargs and not entry.training_wrappers
    if vectorised and plain and name in VECTORISED:
        return VECTORISED[name](seeds)
    return EnvList(name, seeds)
