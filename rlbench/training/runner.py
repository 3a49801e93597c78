"""Execute one RunSpec: seed everything, train, evaluate on schedule, return plain records.

The runner never branches on an algorithm: it resolves the agent class from the registry, builds
its config, and drives it through the agent interface with a ``RunMonitor`` (``OnlineAgent``s
through rlbench's one environment loop, others through their own ``train``). It does no result
I/O (the launcher writes results through the store); the only files it touches are the optional
resume checkpoints of long runs.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlbench.agents.base import AgentContext, OnlineAgent
from rlbench.agents.registry import resolve
from rlbench.config.plan import RunSpec
from rlbench.envs.registry import env_info, make_env
from rlbench.seeding import RunSeeds, int_seed
from rlbench.storage.checkpoints import checkpoint_path
from rlbench.storage.provenance import machine
from rlbench.training.loop import run_env_loop
from rlbench.training.monitor import RunMonitor


@dataclass
class RunResult:
    """Everything a finished run produced, as plain data (crosses process and Ray boundaries)."""

    spec: RunSpec
    eval_rows: list[tuple[int, int, float, int]]
    """(step, episode, return, length) per evaluation episode."""
    train_rows: list[tuple[int, float, int]]
    """(step at episode end, return, length) per training episode."""
    diagnostic_rows: list[tuple[int, str, float]]
    """(evaluation step, name, value) per diagnostic (:mod:`rlbench.training.diagnostics`)."""
    env_info: dict[str, Any]
    """The record of the environment the run saw (id, version, wrappers, limits)."""
    provenance: dict[str, Any] = field(default_factory=dict)
    """Wall time, speed, the machine: kept apart from the hashed results."""


def seed_frameworks(seeds: RunSeeds) -> None:
    """Seed the global generators third-party code uses, from the run's own stream."""
    value = int_seed(seeds.framework)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


def execute_run(spec: RunSpec, checkpoint_dir: Path | None = None, checkpoint_every: int = 0) -> RunResult:
    """Train and evaluate one run; raises on failure (the launcher retries and records it)."""
    torch.set_num_threads(1)  # same results whatever the backend; small nets gain nothing from threads
    seeds = RunSeeds.from_seed(spec.seed)
    seed_frameworks(seeds)
    agent_cls = resolve(spec.agent)
    config = agent_cls.make_config(spec.hyperparameters)
    probe = make_env(spec.env)
    observation_space, action_space = probe.observation_space, probe.action_space
    probe.close()

    path = checkpoint_path(checkpoint_dir, spec.run_id) if checkpoint_dir is not None else None
    monitor = RunMonitor(spec, seeds, path if agent_cls.supports_checkpoint else None, checkpoint_every)
    resume_state = monitor.resume()
    context = AgentContext(
        env_name=spec.env,
        observation_space=observation_space,
        action_space=action_space,
        seeds=seeds,
        make_env=lambda seed: make_env(spec.env, seed),
        total_steps=spec.budget,
        resume_state=resume_state,
    )
    agent = agent_cls(config, context)
    monitor.agent = agent
    started = time.perf_counter()
    if isinstance(agent, OnlineAgent):
        run_env_loop(agent, spec.budget, monitor)
    else:
        agent.train(spec.budget, monitor)
    wall = time.perf_counter() - started
    if monitor.next_round != len(monitor.schedule):
        raise RuntimeError(
            f"agent stopped before its budget: {monitor.next_round} of {len(monitor.schedule)} evaluations done"
        )
    if path is not None:
        path.unlink(missing_ok=True)
    resumed_from = int(resume_state["step"]) if resume_state else 0
    return RunResult(
        spec=spec,
        eval_rows=monitor.eval_rows,
        train_rows=monitor.train_rows,
        diagnostic_rows=monitor.diagnostic_rows,
        env_info=env_info(spec.env),
        provenance={
            "wall_time_s": round(wall, 3),
            "env_steps_per_s": round((spec.budget - resumed_from) / wall, 1) if wall > 0 else None,
            "resumed_from_step": resumed_from,
            "torch_threads": torch.get_num_threads(),
            "machine": machine(),
        },
    )
