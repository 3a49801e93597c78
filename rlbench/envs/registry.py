"""Environment registry and factory: a name maps to a wrapped, seeded gymnasium environment.

Each entry records the gymnasium id and the wrappers applied on top of it, so that every run
can store exactly which environment it saw. Atari (pixels, Nature-DQN preprocessing), MinAtar and
the grid maze register further entries with their own wrapper chains; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlbench.errors import unknown_choice

Wrapper = Callable[[gym.Env], gym.Env]


@dataclass(frozen=True)
class EnvEntry:
    """How to build one benchmark environment."""

    gym_id: str
    """The gymnasium registry id, version included (``CartPole-v1``)."""
    family: str
    """Suite family, e.g. ``classic_control``; used to group tasks in reports."""
    wrappers: Sequence[tuple[str, Wrapper]] = field(default_factory=tuple)
    """Named wrappers applied in order after ``gymnasium.make``."""
    make_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for ``gymnasium.make``."""


def _record_statistics(env: gym.Env) -> gym.Env:
    return gym.wrappers.RecordEpisodeStatistics(env)


_STATS = ("RecordEpisodeStatistics", _record_statistics)

ENVIRONMENTS: dict[str, EnvEntry] = {
    "CartPole-v1": EnvEntry("CartPole-v1", "classic_control", (_STATS,)),
    "Acrobot-v1": EnvEntry("Acrobot-v1", "classic_control", (_STATS,)),
    "MountainCar-v0": EnvEntry("MountainCar-v0", "classic_control", (_STATS,)),
    "LunarLander-v3": EnvEntry("LunarLander-v3", "box2d", (_STATS,)),
    # A continuous-action task, for the Gaussian REINFORCE policy.
    "Pendulum-v1": EnvEntry("Pendulum-v1", "classic_control", (_STATS,)),
}


def register_env(name: str, entry: EnvEntry) -> None:
    """Add an environment to the registry (used by later suites and by plugins)."""
    ENVIRONMENTS[name] = entry


def get_entry(name: str) -> EnvEntry:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise unknown_choice("environment", name, ENVIRONMENTS) from None


def make_env(name: str, seed: int | None = None) -> gym.Env:
    """Build the wrapped environment ``name``; seed its first reset and action space if given.

    The seed is applied by resetting once here, so the caller's next ``reset()`` (without a
    seed) continues the same seeded stream.
    """
    entry = get_entry(name)
    env = gym.make(entry.gym_id, **entry.make_kwargs)
    for _, wrap in entry.wrappers:
        env = wrap(env)
    if seed is not None:
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
        env.reset(seed=seed)
    return env


def env_info(name: str) -> dict[str, Any]:
    """What a run records about its environment: id, version, limits and wrappers."""
    entry = get_entry(name)
    spec = gym.spec(entry.gym_id)
    return {
        "name": name,
        "gym_id": entry.gym_id,
        "version": spec.version,
        "family": entry.family,
        "max_episode_steps": spec.max_episode_steps,
        "reward_threshold": spec.reward_threshold,
        "wrappers": [wrapper_name for wrapper_name, _ in entry.wrappers],
        "make_kwargs": dict(entry.make_kwargs),
        "gymnasium_version": gym.__version__,
    }
