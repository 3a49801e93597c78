"""K seeds of one algorithm on one environment in one process: the batched execution mode.

The runs of a batched group share an algorithm, an environment, a budget and an evaluation
schedule, and differ in their seed. Each seed has what a separate run has (its own environment
seeded from its own stream, its own :class:`~rlbench.training.monitor.RunMonitor` running the one
evaluation protocol on schedule, its own training returns), and the loop steps all K in lockstep
so the agent can do their arithmetic at once (:mod:`rlbench.agents.dqn_batched`). The result is K
ordinary :class:`~rlbench.training.runner.RunResult` s, written as K ordinary runs.

Per seed, the order of events is that of :func:`rlbench.training.loop.run_env_loop`: act, step,
observe, update, episode end (and reset), then the monitor's step. The K environments are one
:class:`~rlbench.envs.seed_vector.SeedVectorEnv` (numpy arithmetic over seeds for CartPole, tested
equal to gymnasium's environment float for float). Batched groups are not
checkpointed: an interrupted group is trained again from the start (it is written only whole).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch

from rlbench.agents.base import AgentContext, TrainingMonitor
from rlbench.agents.registry import batched_implementation, resolve
from rlbench.config.plan import RunSpec
from rlbench.envs.registry import env_info, make_env
from rlbench.envs.seed_vector import SeedVectorEnv, make_seed_vector_env
from rlbench.seeding import RunSeeds, int_seed
from rlbench.storage.provenance import machine
from rlbench.training.monitor import RunMonitor
from rlbench.training.runner import RunResult, seed_frameworks


class _SeedView:
    """What a seed's monitor reads of the batched agent: that seed's evaluation policy."""

    def __init__(self, agent: object, k: int) -> None:
        self.agent, self.k = agent, k

    def evaluation_policy(self):  # noqa: ANN201 - a Policy
        return self.agent.evaluation_policy(self.k)


class _ActionValueSeedView(_SeedView):
    """A seed's view that also reads its action values, so on a known model (the maze) its monitor measures
    the distance to Q* as a separate run's does (:mod:`rlbench.training.diagnostics`)."""

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        return self.agent.q_values(self.k, observations)

    @property
    def discount(self) -> float:
        return self.agent.discount


def seed_view(agent: object, k: int) -> _SeedView:
    """Seed ``k``'s view of a batched agent, with action values where the agent has them."""
    return (_ActionValueSeedView if hasattr(agent, "q_values") else _SeedView)(agent, k)


def execute_batched(specs: Sequence[RunSpec]) -> list[RunResult]:
    """Train the runs of one batched group together; raises on failure (the launcher retries the group)."""
    first = specs[0]
    if any((s.algo, s.env, s.budget, s.eval_every, s.eval_episodes, s.mode) != (first.algo, first.env, first.budget,
           first.eval_every, first.eval_episodes, first.mode) for s in specs):
        raise ValueError("a batched group's runs must share algorithm, environment, budget, schedule and mode")
    torch.set_num_threads(1)
    agent_cls = resolve(first.agent)
    batched_cls = batched_implementation(agent_cls)
    if batched_cls is None:
        raise ValueError(f"agent {first.agent} has no batched implementation")
    config = agent_cls.make_config(first.hyperparameters)
    all_seeds = [RunSeeds.from_seed(s.seed) for s in specs]
    seed_frameworks(all_seeds[0])  # only the group's first seed seeds the global generators (nothing here reads them)
    probe = make_env(first.env)
    observation_space, action_space = probe.observation_space, probe.action_space
    probe.close()
    contexts = [AgentContext(env_name=first.env, observation_space=observation_space, action_space=action_space,
                             seeds=seeds, make_env=lambda seed: make_env(first.env, seed), total_steps=first.budget)
                for seeds in all_seeds]
    agent = batched_cls(config, contexts)
    monitors = [RunMonitor(spec, seeds, None, 0) for spec, seeds in zip(specs, all_seeds)]
    for k, monitor in enumerate(monitors):
        monitor.agent = seed_view(agent, k)  # type: ignore[assignment]
    started = time.perf_counter()
    run_batched_loop(agent, contexts, monitors, first.budget)
    wall = time.perf_counter() - started
    for monitor in monitors:
        if monitor.next_round != len(monitor.schedule):
            raise RuntimeError(f"batched loop stopped before its budget: {monitor.next_round} of "
                               f"{len(monitor.schedule)} evaluations done")
    provenance = {"wall_time_s": round(wall, 3), "batched_seeds": len(specs),
                  "env_steps_per_s": round(len(specs) * first.budget / wall, 1) if wall > 0 else None,
                  "resumed_from_step": 0, "torch_threads": torch.get_num_threads(), "machine": machine()}
    info = env_info(first.env)
    return [RunResult(spec=spec, eval_rows=m.eval_rows, train_rows=m.train_rows, diagnostic_rows=m.diagnostic_rows,
                      env_info=info, provenance=provenance)
            for spec, m in zip(specs, monitors)]


def run_batched_loop(agent, contexts: Sequence[AgentContext], monitors: Sequence[TrainingMonitor],  # noqa: ANN001
                     total_steps: int, envs: SeedVectorEnv | None = None) -> None:
    """Step K environments in lockstep for ``total_steps`` steps each, driving a batched agent (e.g.
    :class:`rlbench.agents.dqn_batched.BatchedDQN`); seed ``k`` reports to ``monitors[k]``.

    ``envs`` defaults to :func:`~rlbench.envs.seed_vector.make_seed_vector_env` of the contexts' task,
    seed ``k``'s environment seeded from its own ``env`` stream."""
    if envs is None:
        envs = make_seed_vector_env(contexts[0].env_name, [int_seed(context.seeds.env) for context in contexts])
    observations = envs.reset_all()
    for monitor in monitors:
        monitor.on_step(0)
    returns, lengths = np.zeros(len(contexts)), np.zeros(len(contexts), dtype=np.int64)
    for step in range(1, total_steps + 1):
        actions = agent.act(observations, explore=True)
        next_observations, rewards, terminated, truncated = envs.step(actions)
        agent.observe(observations, actions, rewards, next_observations, terminated, truncated)
        returns += rewards
        lengths += 1
        agent.update(step)
        observations = next_observations
        ended = terminated | truncated
        if ended.any():
            for k in np.flatnonzero(ended).tolist():
                monitors[k].on_episode_end(step, float(returns[k]), int(lengths[k]))
                observations[k] = envs.reset(k)
                returns[k], lengths[k] = 0.0, 0
        for monitor in monitors:
            monitor.on_step(step)
    envs.close()
