"""The agent interface every algorithm meets, in-house or Stable-Baselines3 alike.

The training code only ever talks to this interface, so it never branches on an algorithm's name:

* ``OnlineAgent`` (Dopamine/Acme style) is driven step by step by rlbench's one environment loop
  (:func:`rlbench.training.loop.run_env_loop`): ``observe_first`` at every episode start,
  ``act``, ``observe`` each transition, ``update``;
* an ``Agent`` that owns its training loop (the SB3 adapters) implements ``train(total_steps,
  monitor)`` and reports every step and finished episode to the same monitor;
* evaluation in the middle of training goes through ``evaluation_policy()``: a ``Policy`` that
  acts greedily/deterministically on a *snapshot* of the agent, so evaluating can never change the
  training agent's networks, random streams or recurrent state.
"""

from __future__ import annotations

import copy
import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import gymnasium as gym
import numpy as np

from rlbench.seeding import RunSeeds


class TrainingMonitor(Protocol):
    """What an agent reports to while it trains (implemented by :class:`rlbench.training.monitor.RunMonitor`)."""

    def on_step(self, step: int) -> None:
        """Called after environment step ``step`` (and once with 0 before training)."""

    def on_episode_end(self, step: int, episode_return: float, length: int) -> None:
        """A training episode finished at environment step ``step``."""

    def checkpoint_due(self, step: int) -> bool:
        """Whether the loop should hand over a resume checkpoint now (at an episode boundary)."""

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Persist ``state`` (tensors and plain Python) for a later resume."""


class Policy(Protocol):
    """An evaluation policy: greedy/deterministic actions, episode by episode."""

    def reset(self) -> None:
        """A new episode starts (clears recurrent state or glimpse history)."""

    def act(self, obs: np.ndarray) -> Any:
        """The action for ``obs``."""


@dataclass(frozen=True)
class AgentContext:
    """Everything an agent is given besides its hyperparameters."""

    env_name: str
    """Registry name of the environment (for agents that build their own vectorised envs)."""
    observation_space: gym.Space
    """Observation space of the (wrapped) environment."""
    action_space: gym.Space
    """Action space of the (wrapped) environment."""
    seeds: RunSeeds
    """The run's per-source random streams."""
    make_env: Callable[[int | None], gym.Env]
    """Builds a fresh wrapped training environment; the int seeds its first reset."""
    total_steps: int
    """The training budget in environment steps, known before the first step (schedules use it)."""
    resume_state: dict[str, Any] | None = None
    """A checkpoint to continue from, or None for a fresh start."""


@dataclass(frozen=True)
class Transition:
    """One environment step as an agent observes it."""

    obs: np.ndarray
    action: Any
    reward: float
    next_obs: np.ndarray
    terminated: bool
    truncated: bool
    info: Mapping[str, Any] = field(default_factory=dict)
    """The environment's ``info`` of this step (e.g. the true label a supervised head learns from)."""


class GreedyPolicy:
    """Evaluation through ``act(obs, explore=False)`` of an agent snapshot the caller owns."""

    def __init__(self, agent: "Agent") -> None:
        self.agent = agent

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> Any:
        return self.agent.act(obs, explore=False)


class Agent(ABC):
    """Base of every agent. Subclasses set ``Config`` to a frozen dataclass of hyperparameters."""

    Config: ClassVar[type]
    """The frozen dataclass holding this agent's hyperparameters (every field documented)."""
    supports_checkpoint: ClassVar[bool] = False
    """Whether ``state_dict``/``load_state_dict`` make a resumed run identical to an uninterrupted one."""

    def __init__(self, config: Any, context: AgentContext) -> None:
        self.config = config
        self.context = context

    @classmethod
    def make_config(cls, values: dict[str, Any]) -> Any:
        """Build ``Config`` from plain values; unknown keys raise a ValueError naming the valid ones."""
        valid = {f.name for f in dataclasses.fields(cls.Config)}
        unknown = sorted(set(values) - valid)
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
        return cls.Config(**values)

    @abstractmethod
    def act(self, obs: np.ndarray, explore: bool) -> Any:
        """One action for one observation; ``explore=False`` is the evaluation policy's action."""

    def evaluation_policy(self) -> Policy:
        """A policy on a snapshot of this agent, for the evaluation protocol.

        The default deep-copies the whole agent; agents with large state (replay buffers,
        environments) override it with a snapshot of what acting needs.
        """
        return GreedyPolicy(copy.deepcopy(self))

    def diagnostics(self) -> dict[str, float]:
        """Quantities the agent measures about its own learning, recorded at every evaluation (e.g. the
        variance of its gradient estimates since the last one). Must not change what the agent learns."""
        return {}

    def train(self, total_steps: int, monitor: TrainingMonitor) -> None:
        """Agents that own their training loop implement this; ``OnlineAgent``s are driven by rlbench's loop."""
        raise NotImplementedError(f"{type(self).__name__} neither is an OnlineAgent nor implements train()")


class OnlineAgent(Agent):
    """An agent driven step by step: ``observe_first`` → (``act`` → ``observe`` → ``update``)*.

    Subclasses supporting checkpoints implement ``state_dict``/``load_state_dict``; the loop adds
    its own position (step, environment RNG) and resumes at an episode boundary.
    """

    def observe_first(self, obs: np.ndarray) -> None:
        """An episode starts with ``obs`` (recurrent agents reset their state here)."""

    @abstractmethod
    def observe(self, transition: Transition) -> None:
        """Record one transition (store it, or append it to the current episode)."""

    @abstractmethod
    def update(self, step: int) -> None:
        """Learn if it is time to (every ``train_freq`` steps, or at an episode end)."""

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not support checkpoints")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support checkpoints")
