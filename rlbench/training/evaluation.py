"""The one evaluation protocol, identical for every agent.

At every evaluation step (every ``eval_every`` environment steps, and at step 0 and at the
budget), ``eval_episodes`` episodes of the agent's evaluation policy (greedy/deterministic, on a
snapshot of the agent: ``Agent.evaluation_policy``) are played on a separate evaluation
environment. Evaluation round ``k`` reseeds that environment from the ``k``-th child of the run's
``eval_env`` stream, so a round never depends on earlier rounds (a resumed run evaluates exactly
as an uninterrupted one). The random-policy score that normalisation uses is measured under the
same protocol (:func:`random_policy_score`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlbench.envs.registry import make_env
from rlbench.seeding import RunSeeds, child, int_seed

if TYPE_CHECKING:  # the protocol only; evaluation needs no agent module
    from rlbench.agents.base import Policy


@dataclass(frozen=True)
class EvalEpisode:
    """One evaluation episode's outcome."""

    step: int
    """The evaluation step (environment steps of training) this episode belongs to."""
    episode: int
    """Episode index within the round."""
    episode_return: float
    length: int


def evaluation_steps(budget: int, eval_every: int) -> list[int]:
    """Evaluation steps: 0, eval_every, 2*eval_every, ..., and always the budget itself."""
    steps = list(range(0, budget + 1, eval_every))
    if steps[-1] != budget:
        steps.append(budget)
    return steps


def evaluate(
    policy: Policy,
    env_name: str,
    eval_stream: np.random.SeedSequence,
    round_index: int,
    step: int,
    episodes: int,
) -> list[EvalEpisode]:
    """Play ``episodes`` episodes of ``policy`` on a freshly seeded evaluation environment."""
    env = make_env(env_name, evaluation=True)
    seed: int | None = int_seed(child(eval_stream, round_index))
    results = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed)
            seed = None  # later episodes continue the seeded stream
            policy.reset()
            total, length, done = 0.0, 0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy.act(obs))
                total += float(reward)
                length += 1
                done = terminated or truncated
            if not math.isfinite(total):
                raise FloatingPointError(f"evaluation return is {total} at step {step}")
            results.append(EvalEpisode(step, episode, total, length))
    finally:
        env.close()
    return results


class RandomPolicy:
    """Uniformly random actions from a seeded action space (the normalisation's lower reference)."""

    def __init__(self, action_space: gym.Space, seed: int) -> None:
        self.action_space = action_space
        self.action_space.seed(seed)

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> Any:
        return self.action_space.sample()


def random_policy_score(env_name: str, episodes: int, seed: int) -> float:
    """Mean return of a uniform random policy over ``episodes`` evaluation episodes."""
    seeds = RunSeeds.from_seed(seed)
    policy = RandomPolicy(make_env(env_name, evaluation=True).action_space, int_seed(seeds.exploration))
    return float(np.mean([ep.episode_return for ep in evaluate(policy, env_name, seeds.eval_env, 0, 0, episodes)]))
