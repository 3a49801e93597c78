"""Exact dynamic programming against hand-solved mazes, and the maze model against its step function."""

from __future__ import annotations

import numpy as np
import pytest

from rlbench.envs.maze import LAYOUTS, MazeEnv
from rlbench.planning.dynamic_programming import (
    TabularMDP,
    greedy_policy,
    optimal_actions,
    policy_evaluation,
    q_from_v,
    value_iteration,
)


def corridor() -> TabularMDP:
    return MazeEnv("corridor").model()  # S . . G: states 0, 1, 2 and the goal 3


def test_value_iteration_solves_the_corridor_exactly():
    solution = value_iteration(corridor(), gamma=1.0)
    np.testing.assert_allclose(solution.v, [-3.0, -2.0, -1.0, 0.0], atol=1e-9)
    # Q*(s, a) = -1 + V*(next): east moves on, north/south stay, west moves back (or stays at the wall).
    np.testing.assert_allclose(solution.q[0], [-4.0, -3.0, -4.0, -4.0], atol=1e-9)
    np.testing.assert_allclose(solution.q[2], [-2.0, -1.0, -2.0, -3.0], atol=1e-9)
    np.testing.assert_allclose(solution.q[3], 0.0)
    assert greedy_policy(solution.q)[:3].argmax(axis=1).tolist() == [1, 1, 1]


def test_discounted_values_follow_the_geometric_sum():
    gamma = 0.9
    solution = value_iteration(corridor(), gamma=gamma)
    expected = [-(1 + gamma + gamma**2), -(1 + gamma), -1.0, 0.0]
    np.testing.assert_allclose(solution.v, expected, atol=1e-9)


def test_policy_evaluation_of_known_policies():
    mdp = corridor()
    uniform = np.full((4, 4), 0.25)
    # By hand: V0 = V1 - 4, V2 = -2 + V1 / 2, V1 / 2 = -1 + V0 / 4 + V2 / 4  =>  V1 = -20.
    np.testing.assert_allclose(policy_evaluation(mdp, uniform, gamma=1.0), [-24.0, -20.0, -12.0, 0.0], atol=1e-6)
    always_east = np.zeros((4, 4))
    always_east[:, 1] = 1.0
    np.testing.assert_allclose(policy_evaluation(mdp, always_east, gamma=1.0), [-3.0, -2.0, -1.0, 0.0], atol=1e-9)


def test_an_improper_policy_is_reported_not_looped_forever():
    always_west = np.zeros((4, 4))
    always_west[:, 3] = 1.0
    with pytest.raises(RuntimeError, match="never reach a terminal state"):
        policy_evaluation(corridor(), always_west, gamma=1.0, max_iterations=500)


def test_optimal_policy_evaluates_to_the_optimal_values_on_every_layout():
    for layout in LAYOUTS:
        for slip in (0.0, 0.2):
            mdp = MazeEnv(layout, slip=slip).model()
            solution = value_iteration(mdp, gamma=1.0)
            evaluated = policy_evaluation(mdp, greedy_policy(solution.q), gamma=1.0)
            np.testing.assert_allclose(evaluated, solution.v, atol=1e-6)
            np.testing.assert_allclose(q_from_v(mdp, solution.v, 1.0).max(axis=1), solution.v, atol=1e-6)
            assert optimal_actions(solution.q).any(axis=1).all()


def test_bad_models_and_policies_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        TabularMDP(np.zeros((2, 1, 2)), np.zeros((2, 1)), np.zeros(2, bool), 0)
    with pytest.raises(ValueError, match="probabilities"):
        policy_evaluation(corridor(), np.ones((4, 4)), gamma=1.0)
