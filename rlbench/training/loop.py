"""The single training loop of every ``OnlineAgent``: reset, observe_first, act, step, observe, update.

Resume checkpoints are taken only at episode boundaries, before the next reset, so the only
environment state to restore is its random generator. An environment whose next reset continues the
same game (Atari's loss of a life, :class:`rlbench.envs.atari.LifeLossTerminal`) says so with
``info["game_continues"]``; no checkpoint is taken there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlbench.agents.base import OnlineAgent, TrainingMonitor, Transition
from rlbench.seeding import int_seed


def run_env_loop(agent: OnlineAgent, total_steps: int, monitor: TrainingMonitor) -> None:
    """Train ``agent`` for ``total_steps`` environment steps (from its resume state, if any)."""
    context = agent.context
    resume = context.resume_state
    if resume is None:
        env = context.make_env(int_seed(context.seeds.env))
        obs, _ = env.reset()
        step = 0
    else:
        env = context.make_env(None)
        agent.load_state_dict(resume["agent"])
        env.unwrapped.np_random = _generator_from_state(resume["env_rng"])
        obs, _ = env.reset()
        step = int(resume["step"])
    agent.observe_first(obs)
    monitor.on_step(step)  # evaluates at step 0, or at a resumed step whose evaluation was still due
    episode_return, episode_length = 0.0, 0
    while step < total_steps:
        action = agent.act(obs, explore=True)
        next_obs, reward, terminated, truncated, info = env.step(action)
        step += 1
        agent.observe(Transition(obs, action, float(reward), next_obs, bool(terminated), bool(truncated), info))
        agent.update(step)
        episode_return += float(reward)
        episode_length += 1
        obs = next_obs
        if terminated or truncated:
            monitor.on_episode_end(step, episode_return, episode_length)
            resumable = not info.get("game_continues", False)
            if agent.supports_checkpoint and resumable and step < total_steps and monitor.checkpoint_due(step):
                state = {"agent": agent.state_dict(), "step": step, "env_rng": env.unwrapped.np_random.bit_generator.state}
                monitor.save_checkpoint(step, state)
            obs, _ = env.reset()
            agent.observe_first(obs)
            episode_return, episode_length = 0.0, 0
        monitor.on_step(step)
    env.close()


def _generator_from_state(state: dict[str, Any]) -> np.random.Generator:
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
