"""Environment registry and factory: a name maps to a wrapped, seeded gymnasium environment.

Each entry records the gymnasium id and the wrappers applied on top of it, so that every run
can store exactly which environment it saw. The training and the evaluation environment of a run
may differ only where an entry says so: wrappers for training only (e.g. Atari's loss of life as
terminal) and keyword arguments for evaluation only (e.g. the glimpse task's held-out images).
rlbench's own environments (the grid maze, glimpse classification) are registered with gymnasium
here by module path, so importing this registry does not import them.
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
    training_wrappers: Sequence[tuple[str, Wrapper]] = field(default_factory=tuple)
    """Named wrappers applied after ``wrappers`` to the training environment only."""
    evaluation_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``gymnasium.make`` of the evaluation environment only (override ``make_kwargs``)."""


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
    # The lecture's grid maze (rlbench.envs.maze): exact V* and Q* from its model.
    "Maze-Small-v0": EnvEntry("rlbench/Maze-Small-v0", "maze", (_STATS,)),
    "Maze-Lecture-v0": EnvEntry("rlbench/Maze-Lecture-v0", "maze", (_STATS,)),
    "Maze-Lecture-Slippery-v0": EnvEntry("rlbench/Maze-Lecture-Slippery-v0", "maze", (_STATS,)),
    # Glimpse classification (rlbench.envs.glimpse): training images, evaluation on held-out ones.
    "Glimpse-v0": EnvEntry("rlbench/Glimpse-v0", "glimpse", (_STATS,), evaluation_kwargs={"split": "test"}),
}

_OWN_ENVIRONMENTS: dict[str, tuple[str, dict[str, Any], int | None]] = {
    "rlbench/Maze-Small-v0": ("rlbench.envs.maze:MazeEnv", {"layout": "small"}, 100),
    "rlbench/Maze-Lecture-v0": ("rlbench.envs.maze:MazeEnv", {"layout": "lecture"}, 200),
    "rlbench/Maze-Lecture-Slippery-v0": ("rlbench.envs.maze:MazeEnv", {"layout": "lecture", "slip": 0.1}, 200),
    "rlbench/Glimpse-v0": ("rlbench.envs.glimpse:GlimpseEnv", {}, None),
}
"""gymnasium id -> (entry point, keyword arguments, episode cap) of rlbench's own environments."""

for _gym_id, (_entry_point, _kwargs, _cap) in _OWN_ENVIRONMENTS.items():
    if _gym_id not in gym.registry:
        gym.register(_gym_id, entry_point=_entry_point, kwargs=_kwargs, max_episode_steps=_cap)


def register_env(name: str, entry: EnvEntry) -> None:
    """Add an environment to the registry (used by later suites and by plugins)."""
    ENVIRONMENTS[name] = entry


def get_entry(name: str) -> EnvEntry:
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise unknown_choice("environment", name, ENVIRONMENTS) from None


def make_env(name: str, seed: int | None = None, evaluation: bool = False) -> gym.Env:
    """Build the wrapped environment ``name`` (its evaluation variant if ``evaluation``); seed its
    first reset and action space if given.

    The seed is applied by resetting once here, so the caller's next ``reset()`` (without a
    seed) continues the same seeded stream.
    """
    entry = get_entry(name)
    kwargs = {**entry.make_kwargs, **(entry.evaluation_kwargs if evaluation else {})}
    env = gym.make(entry.gym_id, **kwargs)
    for _, wrap in (*entry.wrappers, *(() if evaluation else entry.training_wrappers)):
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
        "make_kwargs": {**spec.kwargs, **entry.make_kwargs},
        "training_wrappers": [wrapper_name for wrapper_name, _ in entry.training_wrappers],
        "evaluation_kwargs": dict(entry.evaluation_kwargs),
        "gymnasium_version": gym.__version__,
    }
