"""Atari 2600 games through ale-py with the preprocessing of Mnih et al. 2015 (Nature 518, "Methods").

:func:`make_atari` is the gymnasium entry point of every ``rlbench/Atari-<Game>-v0`` id. From the raw
emulator (every frame, ``frameskip=1``) it builds, inside out:

1. :class:`EpisodeSeeds`: each game starts from a seed drawn from the environment's own generator, so the
   emulator's sticky-action generator and the no-op count both follow the run's ``env`` stream and a run
   resumed at an episode boundary (where only that generator is saved) plays the same games;
2. gymnasium's ``AtariPreprocessing``: up to ``noop_max`` no-ops at a game's start, the action repeated
   ``frame_skip`` times with the maximum over the last two frames, grayscale, ``screen_size`` x
   ``screen_size`` (area interpolation);
3. training only: :class:`LifeLossTerminal` (losing a life ends the episode for the learner; the next reset
   continues the same game, as DeepMind's ``EpisodicLifeEnv``; gymnasium's own ``terminal_on_life_loss``
   would restart the game instead) and the sign of the reward (clipping to {-1, 0, 1});
4. gymnasium's ``FrameStackObservation``: the last ``frame_stack`` frames, channels first, uint8
   ``(4, 84, 84)``, an episode's first stack padded with its first frame;
5. :class:`RandomActions`: with probability ``action_epsilon`` a uniformly random action replaces the
   agent's (the evaluation epsilon of the protocol; 0 in training, where the agent explores itself).

Every setting is a required argument: the values live once, in the environment registry
(:data:`rlbench.envs.registry.ATARI_PROTOCOL`), and every run records them (``env_info``). Sticky actions
(``repeat_action_probability``, Machado et al. 2018, "Revisiting the Arcade Learning Environment") are ALE
v5's; the episode cap counts emulator frames (108,000 = 30 minutes of play).
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import ale_py
import gymnasium as gym
import numpy as np

RESULT_PACKAGES = ("ale-py", "opencv-python-headless")
"""The emulator and the image resizing shape every Atari result."""

gym.register_envs(ale_py)


class EpisodeSeeds(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Reseeds the emulator at each unseeded reset from the environment's own generator.

    ALE applies a seed by reloading the game (~0.16 s of CPU here), once per game, not per lost life."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if seed is None:
            seed = int(self.env.unwrapped.np_random.integers(2**31 - 1))
        return self.env.reset(seed=seed, options=options)


class LifeLossTerminal(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A lost life terminates the learner's episode; the game goes on at the next reset (Mnih et al. 2015)."""

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        self.lives = 0
        self.continue_game = False
        """Whether the last step lost a life with the game still on (the next reset continues it)."""

    def _ale_lives(self) -> int:
        return int(self.env.unwrapped.ale.lives())

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        lives = self._ale_lives()
        self.continue_game = 0 < lives < self.lives and not (terminated or truncated)
        self.lives = lives
        if self.continue_game:
            info = {**info, "game_continues": True}  # the training loop takes no checkpoint here
        return obs, reward, terminated or self.continue_game, truncated, info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if self.continue_game and seed is None:  # one no-op moves past the frame where the life was lost
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset(options=options)
        else:
            obs, info = self.env.reset(seed=seed, options=options)
        self.continue_game = False
        self.lives = self._ale_lives()
        return obs, info


class RandomActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Replaces the agent's action by a uniformly random one with probability ``epsilon`` (env generator)."""

    def __init__(self, env: gym.Env, epsilon: float) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, epsilon=epsilon)
        gym.ActionWrapper.__init__(self, env)
        self.epsilon = float(epsilon)

    def action(self, action: Any) -> Any:
        rng = self.env.unwrapped.np_random
        if rng.random() < self.epsilon:
            return int(rng.integers(self.action_space.n))
        return action


def _sign(reward: SupportsFloat) -> float:
    return float(np.sign(reward))


def make_atari(
    *,
    game: str,
    repeat_action_probability: float,
    full_action_space: bool,
    noop_max: int,
    frame_skip: int,
    screen_size: int,
    frame_stack: int,
    max_episode_frames: int,
    terminal_on_life_loss: bool,
    clip_rewards: bool,
    action_epsilon: float,
) -> gym.Env:
    """The preprocessed Atari game ``game`` (ALE's name, e.g. ``Pong``) under the given protocol."""
    env = gym.make(
        f"ALE/{game}-v5",
        frameskip=1,
        repeat_action_probability=repeat_action_probability,
        full_action_space=full_action_space,
        max_num_frames_per_episode=max_episode_frames,
    )
    env = EpisodeSeeds(env)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=noop_max, frame_skip=frame_skip, screen_size=screen_size)
    if terminal_on_life_loss:
        env = LifeLossTerminal(env)
    if clip_rewards:
        env = gym.wrappers.TransformReward(env, _sign)
    env = gym.wrappers.FrameStackObservation(env, frame_stack)
    if action_epsilon > 0:
        env = RandomActions(env, action_epsilon)
    return env
