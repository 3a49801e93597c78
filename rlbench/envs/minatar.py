"""MinAtar games (Young & Tian 2019, "MinAtar: An Atari-Inspired Testbed for Thorough and Reproducible
Reinforcement Learning Experiments", arXiv:1903.03176) as gymnasium environments.

A 10x10 board with one binary channel per kind of object, channels last (``(10, 10, channels)`` bool).
Each game draws its randomness (sticky actions, spawns) from the ``minatar`` package's own numpy generator;
:class:`MinAtarEnv` reseeds it at every reset from the environment's generator, so a game follows the run's
``env`` stream and a run resumed at an episode boundary (where only that generator is saved) plays the same
games. Every setting is a required argument; the values live once, in the environment registry
(:data:`rlbench.envs.registry.MINATAR_PROTOCOL`), and every run records them. ``sticky_action_probability``
is MinAtar's (0.1 in the paper: the previous action is repeated with that probability), ``minimal_action_set``
False gives the paper's 6 actions in every game, and ``action_epsilon`` is the evaluation epsilon (a
uniformly random action with that probability, 0 in training).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from minatar import Environment

RESULT_PACKAGES = ("MinAtar",)
"""The games' dynamics are the package's."""


class MinAtarEnv(gym.Env):
    """One MinAtar game behind gymnasium's interface."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, *, game: str, sticky_action_probability: float, difficulty_ramping: bool,
                 minimal_action_set: bool, action_epsilon: float) -> None:
        self.game = Environment(game, sticky_action_prob=sticky_action_probability,
                                difficulty_ramping=difficulty_ramping)
        self.actions = list(self.game.minimal_action_set()) if minimal_action_set else list(range(self.game.num_actions()))
        self.action_epsilon = float(action_epsilon)
        self.action_space = gym.spaces.Discrete(len(self.actions))
        self.observation_space = gym.spaces.Box(0, 1, self.game.state_shape(), dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.game.seed(int(self.np_random.integers(2**31 - 1)))
        self.game.reset()
        return self.game.state(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.action_epsilon > 0 and self.np_random.random() < self.action_epsilon:
            action = int(self.np_random.integers(self.action_space.n))
        reward, terminated = self.game.act(self.actions[int(action)])
        return self.game.state(), float(reward), bool(terminated), False, {}
