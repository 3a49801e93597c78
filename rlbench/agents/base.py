"""The agent interface every algorithm meets, in-house or Stable-Baselines3 alike.

The runner only ever talks to this interface, so it never branches on an algorithm's name:

* ``Agent.act(obs, explore)`` picks one action (``explore=False`` is the greedy/deterministic
  policy used by the evaluation protocol);
* ``Agent.train(total_steps, monitor)`` trains for ``total_steps`` environment steps and reports
  every step and finished episode to ``monitor`` (which runs evaluations on schedule).

In-house agents are written Dopamine/Acme style as ``act / observe / update`` and inherit
``OnlineAgent``, whose single environment loop (``run_env_loop``) drives them. Agents that own their
training loop (SB3) implement ``train`` directly and forward steps to the same monitor.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import gymnasium as gym
import numpy as np

from rlbench.seeding import RunSeeds, int_seed


class TrainingMonitor(Protocol):
    """What an agent reports to while it trains (implemented by the runner)."""

    def on_step(self, step: int) -> None:
        """Called after environment step ``step`` (and once with 0 before training)."""

    def on_episode_end(self, step: int, episode_return: float, length: int) -> None:
        """A training episode finished at environment step ``step``."""

    def checkpoint_due(self, step: int) -> bool:
        """Whether the agent should hand a checkpoint over now (at an episode boundary)."""

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        """Persist ``state`` (tensors, numpy-free plain Python) for a later resume."""


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
        """One action for one observation; ``explore=False`` is the evaluation policy."""

    @abstractmethod
    def train(self, total_steps: int, monitor: TrainingMonitor) -> None:
        """Train for ``total_steps`` environment steps, reporting to ``monitor``."""


class OnlineAgent(Agent):
    """An agent driven step by step: ``act`` → ``observe`` → ``update``.

    Subclasses supporting checkpoints implement ``state_dict``/``load_state_dict``; the loop adds
    its own position (step, environment RNG) and resumes at an episode boundary.
    """

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

    total_steps: int = 0
    """The training budget, known before the first step (schedules such as epsilon decay use it)."""

    def train(self, total_steps: int, monitor: TrainingMonitor) -> None:
        self.total_steps = total_steps
        run_env_loop(self, total_steps, monitor)


def run_env_loop(agent: OnlineAgent, total_steps: int, monitor: TrainingMonitor) -> None:
    """The single training loop of every ``OnlineAgent``.

    Checkpoints are taken only at episode boundaries, before the next reset, so the only
    environment state to restore is its random generator.
    """
    context = agent.context
    resume = context.resume_state
    if resume is None:
        env = context.make_env(_first_seed(context.seeds))
        obs, _ = env.reset()
        step = 0
    else:
        env = context.make_env(None)
        agent.load_state_dict(resume["agent"])
        env.unwrapped.np_random = _generator_from_state(resume["env_rng"])
        obs, _ = env.reset()
        step = int(resume["step"])
    monitor.on_step(step)  # evaluates at step 0, or at a resumed step whose evaluation was still due
    episode_return, episode_length = 0.0, 0
    while step < total_steps:
        action = agent.act(obs, explore=True)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        step += 1
        agent.observe(Transition(obs, action, float(reward), next_obs, bool(terminated), bool(truncated)))
        agent.update(step)
        episode_return += float(reward)
        episode_length += 1
        obs = next_obs
        if terminated or truncated:
            monitor.on_episode_end(step, episode_return, episode_length)
            if agent.supports_checkpoint and step < total_steps and monitor.checkpoint_due(step):
                state = {"agent": agent.state_dict(), "step": step, "env_rng": env.unwrapped.np_random.bit_generator.state}
                monitor.save_checkpoint(step, state)
            obs, _ = env.reset()
            episode_return, episode_length = 0.0, 0
        monitor.on_step(step)
    env.close()


def _first_seed(seeds: RunSeeds) -> int:
    return int_seed(seeds.env)


def _generator_from_state(state: dict[str, Any]) -> np.random.Generator:
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
