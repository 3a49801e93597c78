"""Cross-entropy method with a linear policy: the worked example of "Add an algorithm".

Szita & Lőrincz (2006), "Learning Tetris Using the Noisy Cross-Entropy Method". A Gaussian over
the weights of a linear policy; each candidate plays one training episode; the best
``elite_fraction`` of a population refit the Gaussian (plus a small noise floor that keeps it
exploring). This file lives outside the ``rlbench`` package and is named in ``params.yaml`` as
``agent: plugins/cem.py:CEMAgent``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
from rlbench.seeding import generator


@dataclass(frozen=True)
class CEMConfig:
    """Hyperparameters of the cross-entropy method."""

    population: int = 16
    """Candidate weight vectors evaluated per generation (one training episode each)."""
    elite_fraction: float = 0.25
    """Fraction of the best candidates that refit the search distribution."""
    init_std: float = 1.0
    """Initial standard deviation of every weight."""
    noise_floor: float = 0.05
    """Standard deviation added after each refit, so the search never collapses (Szita & Lőrincz)."""


class CEMAgent(OnlineAgent):
    """Linear policy ``argmax(W·[obs, 1])`` searched by the cross-entropy method (discrete actions)."""

    Config = CEMConfig

    def __init__(self, config: CEMConfig, context: AgentContext) -> None:
        super().__init__(config, context)
        if not isinstance(context.action_space, gym.spaces.Discrete):
            raise ValueError("CEMAgent needs a Discrete action space")
        self.shape = (int(np.prod(context.observation_space.shape)) + 1, int(context.action_space.n))
        self.rng = generator(context.seeds.exploration)
        self.mean = np.zeros(self.shape)
        self.std = np.full(self.shape, config.init_std)
        self.candidates = self._sample()
        self.returns: list[float] = []
        self.episode_return = 0.0
        self.episode_done = False

    def _sample(self) -> np.ndarray:
        noise = self.rng.standard_normal((self.config.population, *self.shape))
        return self.mean + self.std * noise

    def act(self, obs: np.ndarray, explore: bool) -> int:
        weights = self.candidates[len(self.returns)] if explore else self.mean
        features = np.append(np.asarray(obs, dtype=np.float64).ravel(), 1.0)
        return int(np.argmax(features @ weights))

    def observe(self, transition: Transition) -> None:
        self.episode_return += transition.reward
        self.episode_done = transition.terminated or transition.truncated

    def update(self, step: int) -> None:
        if not self.episode_done:
            return
        self.returns.append(self.episode_return)
        self.episode_return, self.episode_done = 0.0, False
        if len(self.returns) < self.config.population:
            return
        n_elite = max(1, int(round(self.config.elite_fraction * self.config.population)))
        elite = self.candidates[np.argsort(self.returns, kind="stable")[-n_elite:]]
        self.mean = elite.mean(axis=0)
        self.std = elite.std(axis=0) + self.config.noise_floor
        self.candidates = self._sample()
        self.returns = []
