"""Tabular Q-learning (Watkins & Dayan 1992) with an epsilon-greedy behaviour policy.

    Q(s, a) <- Q(s, a) + alpha * (r + gamma * (1 - terminated) * max_a' Q(s', a') - Q(s, a))

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


@dataclass(frozen=True)
class QLearningConfig:
    """Hyperparameters of tabular Q-learning."""

    learning_rate: float = 0.5
    """Step size alpha of each update."""
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
        row[action] += c.learning_rate * (transition.reward + c.gamma * bootstrap - row[action])

    def update(self, step: int) -> None:
        pass  # every transition is learned from in observe

    def evaluation_policy(self) -> "GreedyTablePolicy":
        return GreedyTablePolicy({key: row.copy() for key, row in self.table.items()})

    def state_dict(self) -> dict[str, Any]:
        return {"table": {key.hex(): row.tolist() for key, row in self.table.items()},
                "rng": self.rng.bit_generator.state, "num_timesteps": self.num_timesteps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.table = {bytes.fromhex(key): np.array(row, dtype=np.float64) for key, row in state["table"].items()}
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
