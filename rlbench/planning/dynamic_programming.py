"""Exact dynamic programming on a known tabular MDP (Sutton & Barto 2018, ch. 4; Bellman 1957).

A :class:`TabularMDP` holds the model as arrays: ``transitions[s, a, s']`` = P(s' | s, a) and
``rewards[s, a]`` = the expected reward of taking ``a`` in ``s``; terminal states are absorbing and
worth 0. :func:`value_iteration` applies the Bellman optimality update

    V(s) <- max_a [ R(s, a) + gamma * sum_s' P(s' | s, a) V(s') ]

until the largest change is below ``tolerance``; :func:`policy_evaluation` applies the Bellman
expectation update of a given (stochastic) policy. Both are pure functions of numpy arrays and raise
when they do not converge (an improper policy with ``gamma = 1`` never reaches the goal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TabularMDP:
    """A finite MDP given as arrays (states and actions are integer indices)."""

    transitions: np.ndarray
    """``(S, A, S)``: P(s' | s, a); each ``transitions[s, a]`` sums to 1."""
    rewards: np.ndarray
    """``(S, A)``: expected reward of action ``a`` in state ``s``."""
    terminal: np.ndarray
    """``(S,)`` booleans: absorbing states whose value is 0 (the episode has ended)."""
    start: int
    """The state every episode starts in."""

    def __post_init__(self) -> None:
        states, actions, states_again = self.transitions.shape
        if states != states_again or self.rewards.shape != (states, actions) or self.terminal.shape != (states,):
            raise ValueError("transitions must be (S, A, S), rewards (S, A) and terminal (S,)")
        if not np.allclose(self.transitions.sum(axis=2), 1.0):
            raise ValueError("every transitions[s, a] must sum to 1")

    @property
    def n_states(self) -> int:
        return self.transitions.shape[0]

    @property
    def n_actions(self) -> int:
        return self.transitions.shape[1]


@dataclass(frozen=True)
class Solution:
    """The result of value iteration."""

    v: np.ndarray
    """``(S,)`` optimal state values V*."""
    q: np.ndarray
    """``(S, A)`` optimal action values Q* (0 in terminal states)."""
    iterations: int
    """Bellman optimality sweeps until the largest change fell below the tolerance."""


def q_from_v(mdp: TabularMDP, v: np.ndarray, gamma: float) -> np.ndarray:
    """One-step look-ahead: Q(s, a) = R(s, a) + gamma * sum_s' P(s' | s, a) V(s') (0 in terminal states)."""
    q = mdp.rewards + gamma * mdp.transitions @ v
    q[mdp.terminal] = 0.0
    return q


def value_iteration(mdp: TabularMDP, gamma: float, tolerance: float = 1e-10, max_iterations: int = 100_000) -> Solution:
    """V* and Q* by synchronous Bellman optimality updates, to ``tolerance`` in the max norm of an update."""
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    v = np.zeros(mdp.n_states)
    for iteration in range(1, max_iterations + 1):
        updated = q_from_v(mdp, v, gamma).max(axis=1)
        updated[mdp.terminal] = 0.0
        change = float(np.max(np.abs(updated - v)))
        v = updated
        if change < tolerance:
            return Solution(v, q_from_v(mdp, v, gamma), iteration)
    raise RuntimeError(f"value iteration did not converge in {max_iterations} sweeps (last change {change:.3g})")


def policy_evaluation(mdp: TabularMDP, policy: np.ndarray, gamma: float, tolerance: float = 1e-10,
                      max_iterations: int = 100_000) -> np.ndarray:
    """V^pi of a policy given as ``(S, A)`` action probabilities, by Bellman expectation updates."""
    if policy.shape != (mdp.n_states, mdp.n_actions) or not np.allclose(policy.sum(axis=1), 1.0):
        raise ValueError("policy must be (S, A) action probabilities summing to 1 in every state")
    v = np.zeros(mdp.n_states)
    for _ in range(max_iterations):
        updated = (policy * q_from_v(mdp, v, gamma)).sum(axis=1)
        updated[mdp.terminal] = 0.0
        change = float(np.max(np.abs(updated - v)))
        v = updated
        if change < tolerance:
            return v
    raise RuntimeError(f"policy evaluation did not converge in {max_iterations} sweeps: with gamma {gamma} the "
                       f"policy may never reach a terminal state (last change {change:.3g})")


def greedy_policy(q: np.ndarray) -> np.ndarray:
    """``(S, A)`` deterministic policy taking the first action of largest value in each state."""
    policy = np.zeros_like(q)
    policy[np.arange(q.shape[0]), q.argmax(axis=1)] = 1.0
    return policy


def optimal_actions(q: np.ndarray, atol: float = 1e-6) -> np.ndarray:
    """``(S, A)`` booleans: the actions within ``atol`` of the best in each state (ties are all optimal)."""
    return q >= q.max(axis=1, keepdims=True) - atol
