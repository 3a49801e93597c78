"""The one evaluation protocol, identical for every agent.

Every ``eval_every`` environment steps (and at step 0 and at the budget), ``eval_episodes``
episodes of the greedy/deterministic policy (``agent.act(obs, explore=False)``) are played on a
separate evaluation environment. Evaluation round ``k`` reseeds that environment from the ``k``-th
child of the run's ``eval_env`` stream, so a round never depends on earlier rounds (a resumed run
evaluates exactly as an uninterrupted one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlbench.envs import make_env
from rlbench.seeding import child, int_seed


@dataclass(frozen=True)
class EvalEpisode:
    """One evaluation episode's outcome."""

    step: int
    """The scheduled checkpoint (environment steps of training) this episode belongs to."""
    episode: int
    """Episode index within the round."""
    episode_return: float
    length: int


def checkpoints(budget: int, eval_every: int) -> list[int]:
    """Evaluation steps: 0, eval_every, 2*eval_every, ..., and always the budget itself."""
    steps = list(range(0, budget + 1, eval_every))
    if steps[-1] != budget:
        steps.append(budget)
    return steps


def evaluate(
    act: Callable[[np.ndarray], Any],
    env_name: str,
    eval_stream: np.random.SeedSequence,
    round_index: int,
    step: int,
    episodes: int,
) -> list[EvalEpisode]:
    """Play ``episodes`` episodes with ``act`` on a freshly seeded evaluation environment."""
    env = make_env(env_name)
    seed: int | None = int_seed(child(eval_stream, round_index))
    results = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed)
            seed = None  # later episodes continue the seeded stream
            total, length, done = 0.0, 0, False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(act(obs))
                total += float(reward)
                length += 1
                done = terminated or truncated
            if not math.isfinite(total):
                raise FloatingPointError(f"evaluation return is {total} at step {step}")
            results.append(EvalEpisode(step, episode, total, length))
    finally:
        env.close()
    return results
