"""Tabular Q-learning (Watkins & Dayan 1992) with an epsilon-greedy behaviour policy.

    Q(s, a) <- Q(s, a) + alpha * (r + gamma * (1 - terminated) * max_a' Q(s', a') - Q(s, a))

The step size alpha is a setting (``step_size``): ``constant`` (``learning_rate`` at every update) or
``visits``, a per state-action rate that decays with the number of earlier updates n(s, a) of that pair,

    alpha_n(s, a) = 1 / (1 + n(s, a)) ** omega,    omega = ``step_size_exponent`` in (0.5, 1],

so the first update of a pair replaces its initial value. These rates meet the Robbins-Monro conditions
(sum_n alpha_n = inf, sum_n alpha_n^2 < inf) under which Q-learning converges to Q* with probability 1
when every pair is updated infinitely often (Watkins & Dayan 1992; Jaakkola, Jordan & Singh 1994). A
constant step size does not: on a stochastic task (the slippery maze) the table keeps moving with the
latest sampled next states and plateaus at a distance from Q*. The exponent sets the speed: omega = 1
(the 1/n rate) is exponentially slow in 1/(1 - gamma), a polynomial rate with omega in (0.5, 1) is
polynomial in it (Even-Dar & Mansour 2003, "Learning Rates for Q-learning", JMLR 5). Measured on the
slippery lecture maze at the maze suite's settings (gamma 0.99, 30k steps, 10 seeds), mean |Q - Q*|:
constant 0.5: 0.42, with 3 seeds' greedy policies caught in a loop (returns -48 to -90 against the
optimal -14.5); omega 0.51: 0.36, every greedy policy near optimal; 0.55: 0.40; 0.6: 0.51; 0.7, 0.8, 1:
0.82, 1.8, 4.1 (3 seeds). At 300k steps constant 0.5 stays at 0.46 while omega 0.51 and 0.55 reach 0.08
and 0.05 (3 seeds). The default exponent is the suite's, 0.51. The visit counts are part of the agent's
checkpoint.

The table is keyed by the observation itself (its bytes), so any environment with finitely many
observations works without a state index: the grid maze's one-hot or coordinate observations. An
unseen observation has the initial value ``initial_value`` for every action. It exposes its
Q-values (:meth:`QLearningAgent.q_values`), so on a maze its distance to the true Q* is recorded at
every evaluation (:mod:`rlbench.training.diagnostics`). Ties between greedy actions go to the
lowest action index, in acting and in evaluation alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
from rlbench.agents.dqn import linear_epsilon
from rlbench.seeding import generator

STEP_SIZES: tuple[str, ...] = ("constant", "visits")
"""Step-size schedules: one constant rate, or a rate decaying with each state-action pair's visits."""


@dataclass(frozen=True)
class QLearningConfig:
    """Hyperparameters of tabular Q-learning."""

    learning_rate: float = 0.5
    """Step size alpha of each update with ``step_size: constant`` (unused with ``visits``)."""
    step_size: str = "constant"
    """``constant`` (``learning_rate``) or ``visits``: alpha = 1 / (1 + n(s, a)) ** step_size_exponent, with
    n(s, a) the number of earlier updates of the pair (Robbins-Monro; see the module docstring)."""
    step_size_exponent: float = 0.51
    """omega of the ``visits`` schedule, in (0.5, 1]: 1 is the 1/n rate, below 1 a polynomial rate (Even-Dar &
    Mansour 2003); the sum of the squared step sizes is finite only above 0.5."""
    gamma: float = 0.99
    """Discount factor."""
    exploration_initial_eps: float = 1.0
    """Probability of a uniformly random action at the start of training."""
    exploration_final_eps: float = 0.05
    """Probability of a random action after the decay."""
    exploration_fraction: float = 0.5
    """Fraction of the budget over which epsilon decays linearly."""
    initial_value: float = 0.0
    """Q-value of every action of an observation not seen yet."""

    def __post_init__(self) -> None:
        if not 0.0 < self.learning_rate <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {self.learning_rate}")
        if self.step_size not in STEP_SIZES:
            raise ValueError(f"step_size must be one of {', '.join(STEP_SIZES)}, got {self.step_size!r}")
        if not 0.5 < self.step_size_exponent <= 1.0:
            raise ValueError(f"step_size_exponent must be in (0.5, 1], got {self.step_size_exponent}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        for name in ("exploration_initial_eps", "exploration_final_eps", "exploration_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


class QLearningAgent(OnlineAgent):
    """Tabular Q-learning for finite observation sets and Discrete actions."""

    Config = QLearningConfig
    supports_checkpoint = True

    def __init__(self, config: QLearningConfig, context: AgentContext) -> None:
        super().__init__(config, context)
        if not isinstance(context.action_space, gym.spaces.Discrete):
            raise ValueError(f"Q-learning needs a Discrete action space, got {context.action_space}")
        self.n_actions = int(context.action_space.n)
        self.table: dict[bytes, np.ndarray] = {}
        self.visits: dict[bytes, np.ndarray] = {}
        """Updates so far of each observation's actions (``step_size: visits``; empty otherwise)."""
        self.rng = generator(context.seeds.exploration)
        self.num_timesteps = 0

    @property
    def discount(self) -> float:
        return self.config.gamma

    def _row(self, obs: np.ndarray) -> np.ndarray:
        key = np.asarray(obs).tobytes()
        row = self.table.get(key)
        if row is None:
            row = self.table[key] = np.full(self.n_actions, self.config.initial_value, dtype=np.float64)
        return row

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """``(n, actions)`` table values (the initial value for unseen observations; nothing is added)."""
        default = np.full(self.n_actions, self.config.initial_value)
        return np.stack([self.table.get(np.asarray(obs).tobytes(), default) for obs in observations])

    def epsilon(self) -> float:
        c = self.config
        decay_steps = c.exploration_fraction * self.context.total_steps
        return linear_epsilon(self.num_timesteps, c.exploration_initial_eps, c.exploration_final_eps, decay_steps)

    def act(self, obs: np.ndarray, explore: bool) -> int:
        if explore and self.rng.random() < self.epsilon():
            return int(self.rng.integers(self.n_actions))
        key = np.asarray(obs).tobytes()
        row = self.table.get(key)
        return 0 if row is None else int(row.argmax())

    def observe(self, transition: Transition) -> None:
        self.num_timesteps += 1
        c = self.config
        bootstrap = 0.0 if transition.terminated else float(self._row(transition.next_obs).max())
        row = self._row(transition.obs)
        action = int(transition.action)
        row[action] += self._step_size(transition.obs, action) * (transition.reward + c.gamma * bootstrap - row[action])

    def _step_size(self, obs: np.ndarray, action: int) -> float:
        """alpha of this update of (obs, action); with ``visits`` it also counts the update."""
        c = self.config
        if c.step_size == "constant":
            return c.learning_rate
        key = np.asarray(obs).tobytes()
        counts = self.visits.get(key)
        if counts is None:
            counts = self.visits[key] = np.zeros(self.n_actions, dtype=np.int64)
        alpha = 1.0 / (1.0 + float(counts[action])) ** c.step_size_exponent
        counts[action] += 1
        return alpha

    def update(self, step: int) -> None:
        pass  # every transition is learned from in observe

    def evaluation_policy(self) -> "GreedyTablePolicy":
        return GreedyTablePolicy({key: row.copy() for key, row in self.table.items()})

    def state_dict(self) -> dict[str, Any]:
        return {"table": {key.hex(): row.tolist() for key, row in self.table.items()},
                "visits": {key.hex(): counts.tolist() for key, counts in self.visits.items()},
                "rng": self.rng.bit_generator.state, "num_timesteps": self.num_timesteps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.table = {bytes.fromhex(key): np.array(row, dtype=np.float64) for key, row in state["table"].items()}
        self.visits = {bytes.fromhex(key): np.array(counts, dtype=np.int64)
                       for key, counts in state["visits"].items()}
        self.rng.bit_generator.state = state["rng"]
        self.num_timesteps = int(state["num_timesteps"])


class GreedyTablePolicy:
    """The greedy policy of a copy of the table (the evaluation policy)."""

    def __init__(self, table: dict[bytes, np.ndarray]) -> None:
        self.table = table

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        row = self.table.get(np.asarray(obs).tobytes())
        return 0 if row is None else int(row.argmax())
