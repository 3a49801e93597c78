"""Environment registry and factory: a name maps to a wrapped, seeded gymnasium environment.

Each entry records the gymnasium id and the wrappers applied on top of it, so that every run
can store exactly which environment it saw. The training and the evaluation environment of a run
may differ only where an entry says so: wrappers for training only (e.g. Atari's loss of life as
terminal) and keyword arguments for evaluation only (e.g. the glimpse task's held-out images).
rlbench's own environments (the grid maze, glimpse classification, Atari games with their preprocessing,
MinAtar games) are registered with gymnasium here by module path, so importing this registry does not import
them, and a run's identity covers an environment's module only where the run uses it. The Atari and MinAtar
protocols (sticky actions, action set, evaluation epsilon, ...) are keyword arguments written once here, so every
run records them with its environment (:func:`env_info`); one protocol per family keeps results under different
protocols out of one aggregate.
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

ATARI_GAMES: tuple[str, ...] = (
    "Alien", "Amidar", "Assault", "Asterix", "BankHeist", "BattleZone", "Boxing", "Breakout", "ChopperCommand",
    "CrazyClimber", "DemonAttack", "Freeway", "Frostbite", "Gopher", "Hero", "Jamesbond", "Kangaroo", "Krull",
    "KungFuMaster", "MsPacman", "Pong", "PrivateEye", "Qbert", "RoadRunner", "Seaquest", "UpNDown",
)
"""The 26 games of the Atari 100k benchmark (Kaiser et al. 2020), ALE's names; ``Atari-<Game>-v0`` each (the
version is rlbench's protocol version)."""

ATARI_PROTOCOL: dict[str, Any] = {
    "repeat_action_probability": 0.25,  # sticky actions, ALE v5's default (Machado et al. 2018)
    "full_action_space": False,  # the game's minimal action set
    "noop_max": 30, "frame_skip": 4, "screen_size": 84, "frame_stack": 4,  # Mnih et al. 2015
    "max_episode_frames": 108_000,  # 30 minutes of play at 60 frames/s
    "terminal_on_life_loss": True, "clip_rewards": True, "action_epsilon": 0.0,  # training
}
"""The Atari protocol of every ``Atari-<Game>-v0`` environment (:func:`rlbench.envs.atari.make_atari`)."""

ATARI_EVALUATION: dict[str, Any] = {"terminal_on_life_loss": False, "clip_rewards": False, "action_epsilon": 0.05}
"""Evaluation: raw scores of whole games, epsilon 0.05 (Mnih et al. 2015, "Methods: Evaluation procedure")."""

MINATAR_GAMES: dict[str, str] = {"Asterix": "asterix", "Breakout": "breakout", "Freeway": "freeway",
                                 "Seaquest": "seaquest", "SpaceInvaders": "space_invaders"}
"""The five MinAtar games (``MinAtar-<Game>-v0`` each) and the ``minatar`` package's name of each."""

MINATAR_PROTOCOL: dict[str, Any] = {
    "sticky_action_probability": 0.1, "difficulty_ramping": True, "minimal_action_set": False,  # Young & Tian 2019
    "action_epsilon": 0.0,
}
"""The MinAtar protocol of every ``MinAtar-<Game>-v0`` environment (:class:`rlbench.envs.minatar.MinAtarEnv`)."""

MINATAR_EPISODE_CAP = 27_000
"""Agent steps per MinAtar episode (the paper has no cap; a good Breakout agent never loses the ball): the
same number of decisions as ALE's 108,000-frame cap at frame skip 4."""

for _game in ATARI_GAMES:
    ENVIRONMENTS[f"Atari-{_game}-v0"] = EnvEntry(f"rlbench/Atari-{_game}-v0", "atari", (_STATS,),
                                              evaluation_kwargs=ATARI_EVALUATION)
for _game in MINATAR_GAMES:
    ENVIRONMENTS[f"MinAtar-{_game}-v0"] = EnvEntry(f"rlbench/MinAtar-{_game}-v0", "minatar", (_STATS,))

_OWN_ENVIRONMENTS: dict[str, tuple[str, dict[str, Any], int | None]] = {
    "rlbench/Maze-Small-v0": ("rlbench.envs.maze:MazeEnv", {"layout": "small"}, 100),
    "rlbench/Maze-Lecture-v0": ("rlbench.envs.maze:MazeEnv", {"layout": "lecture"}, 200),
    "rlbench/Maze-Lecture-Slippery-v0": ("rlbench.envs.maze:MazeEnv", {"layout": "lecture", "slip": 0.1}, 200),
    "rlbench/Glimpse-v0": ("rlbench.envs.glimpse:GlimpseEnv", {}, None),
}
"""gymnasium id -> (entry point, keyword arguments, episode cap) of rlbench's own environments."""
_OWN_ENVIRONMENTS.update({
    f"rlbench/Atari-{game}-v0": ("rlbench.envs.atari:make_atari", {"game": game, **ATARI_PROTOCOL}, None)
    for game in ATARI_GAMES})
_OWN_ENVIRONMENTS.update({
    f"rlbench/MinAtar-{game}-v0": ("rlbench.envs.minatar:MinAtarEnv",
                                   {"game": module, **MINATAR_PROTOCOL}, MINATAR_EPISODE_CAP)
    for game, module in MINATAR_GAMES.items()})

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
