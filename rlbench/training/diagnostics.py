"""What is measured at every evaluation besides the returns: the run's ``diagnostics.csv`` rows.

Two sources, both optional:

* the agent's own measurements (:meth:`rlbench.agents.base.Agent.diagnostics`, e.g. the variance of
  REINFORCE's gradient estimates with and without a baseline);
* where the environment's model is known exactly (the grid maze) and the agent exposes action values
  (:class:`ActionValueAgent`): the mean absolute error of its Q-values against the true Q* under the
  agent's own discount, over every non-terminal state and action (``q_error``), and the fraction of
  states whose greedy action is optimal (``greedy_optimal``). At the last evaluation, also each
  state's greedy action and value (``action/<state>``, ``value/<state>``), for the maze pictures.

Q* is the Bellman solution by value iteration (:mod:`rlbench.planning.dynamic_programming`);
terminal states are left out because no agent learns a value there (their Q* is 0 by definition).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rlbench.envs.registry import make_env
from rlbench.planning.dynamic_programming import TabularMDP, optimal_actions, value_iteration


@runtime_checkable
class ActionValueAgent(Protocol):
    """An agent whose action values can be read for any batch of observations."""

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """``(n, actions)`` action values of ``n`` observations."""

    @property
    def discount(self) -> float:
        """The discount its values are defined under."""


def known_model(env_name: str) -> tuple[TabularMDP, np.ndarray] | None:
    """The exact model of ``env_name`` and the observation of each of its states, where the env has one."""
    return _known_model(env_name)


@cache
def _known_model(env_name: str) -> tuple[TabularMDP, np.ndarray] | None:
    env = make_env(env_name, evaluation=True)
    try:
        base: Any = env.unwrapped
        if not (hasattr(base, "model") and hasattr(base, "observations")):
            return None
        return base.model(), base.observations()
    finally:
        env.close()


@cache
def _q_star(env_name: str, gamma: float) -> np.ndarray:
    found = known_model(env_name)
    assert found is not None
    return value_iteration(found[0], gamma).q


def evaluation_diagnostics(agent: Any, env_name: str, final: bool) -> dict[str, float]:
    """The diagnostics of one evaluation round (names sorted; every value finite)."""
    values = dict(agent.diagnostics()) if hasattr(agent, "diagnostics") else {}
    found = known_model(env_name)
    if found is not None and isinstance(agent, ActionValueAgent):
        mdp, observations = found
        q = np.asarray(agent.q_values(observations), dtype=np.float64)
        q_star = _q_star(env_name, float(agent.discount))
        live = ~mdp.terminal
        values["q_error"] = float(np.mean(np.abs(q[live] - q_star[live])))
        greedy = q.argmax(axis=1)
        values["greedy_optimal"] = float(np.mean(optimal_actions(q_star)[np.arange(len(q)), greedy][live]))
        if final:
            for state in np.flatnonzero(live):
                values[f"action/{state}"] = float(greedy[state])
                values[f"value/{state}"] = float(q[state].max())
    for name, value in values.items():
        if not np.isfinite(value):
            raise FloatingPointError(f"diagnostic {name} is {value}")
    return dict(sorted(values.items()))
