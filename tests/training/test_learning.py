"""Learning tests: the in-house agents actually learn, with the default suite's settings."""

from __future__ import annotations

import numpy as np
import pytest

from rlbench.config.plan import plan_suite
from rlbench.training.runner import execute_run


def curve(result) -> dict[int, float]:
    """Mean evaluation return per checkpoint."""
    steps = sorted({row[0] for row in result.eval_rows})
    return {s: float(np.mean([row[2] for row in result.eval_rows if row[0] == s])) for s in steps}


def default_spec(params, algo: str, seed: int):
    return next(s for s in list(plan_suite(params, "default").runs) if s.algo == algo and s.env == "CartPole-v1" and s.seed == seed)


@pytest.mark.slow
def test_dqn_solves_cartpole_on_two_of_three_seeds(params):
    """In-house DQN with the rl-zoo CartPole settings reaches 475 within its 50k-step budget."""
    best = [max(curve(execute_run(default_spec(params, "dqn", seed))).values()) for seed in (0, 1, 2)]
    assert sum(b >= 475 for b in best) >= 2, f"best evaluation returns per seed: {best}"


@pytest.mark.slow
def test_reinforce_with_baseline_improves_clearly(params):
    points = curve(execute_run(default_spec(params, "reinforce_baseline", 0)))
    returns = list(points.values())
    first, later = returns[0], returns[len(returns) // 2:]
    assert np.mean(later) >= first + 150, f"evaluation curve: {points}"


@pytest.mark.slow
def test_dqn_learns_minatar_breakout_from_the_board(params):
    """In-house DQN with MinAtar's network and optimiser (the `minatar` suite's settings, epsilon decayed over the
    first 10k frames) on a quarter of that suite's budget: its final greedy score is well above the uniform random
    policy's (0.58 over 100 episodes); measured 2.3 and 1.9."""
    import dataclasses

    spec = next(s for s in plan_suite(params, "minatar").runs
                if s.algo == "dqn_minatar" and s.env == "MinAtar-Breakout-v0" and s.seed == 0)
    hyperparameters = {**spec.hyperparameters, "exploration_fraction": 0.2}
    finals = [list(curve(execute_run(dataclasses.replace(spec, seed=seed, budget=50_000, eval_every=25_000,
                                                         hyperparameters=hyperparameters))).values())[-1]
              for seed in (0, 1)]
    assert np.mean(finals) >= 1.2, f"final evaluation returns per seed: {finals}"
