"""Execute one RunSpec: seed everything, train, evaluate on schedule, return plain records.

The runner never branches on an algorithm: it resolves the agent class from the registry, builds
its config, and drives it through the ``Agent`` interface with a ``RunMonitor``. It does no result
I/O (the launcher writes results through the store); the only files it touches are the optional
checkpoints of long runs.
"""

from __future__ import annotations

import os
import platform
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlbench.agents.base import Agent, AgentContext
from rlbench.agents.registry import resolve
from rlbench.config import RunSpec
from rlbench.envs import make_env
from rlbench.evaluation import checkpoints, evaluate
from rlbench.seeding import RunSeeds, int_seed


@dataclass
class RunResult:
    """Everything a finished run produced, as plain data (crosses process and Ray boundaries)."""

    spec: RunSpec
    eval_rows: list[tuple[int, int, float, int]]
    """(step, episode, return, length) per evaluation episode."""
    train_rows: list[tuple[int, float, int]]
    """(step at episode end, return, length) per training episode."""
    provenance: dict[str, Any] = field(default_factory=dict)
    """Wall time, speed, versions, host: kept apart from the hashed results."""


class RunMonitor:
    """Runs the evaluation protocol on schedule and collects training returns; owns checkpoints."""

    def __init__(self, spec: RunSpec, seeds: RunSeeds, checkpoint_path: Path | None, checkpoint_every: int) -> None:
        self.spec = spec
        self.seeds = seeds
        self.schedule = checkpoints(spec.budget, spec.eval_every)
        self.next_round = 0
        self.eval_rows: list[tuple[int, int, float, int]] = []
        self.train_rows: list[tuple[int, float, int]] = []
        self.agent: Agent | None = None
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.last_checkpoint = 0

    # -- TrainingMonitor -------------------------------------------------------------------
    def on_step(self, step: int) -> None:
        assert self.agent is not None
        while self.next_round < len(self.schedule) and step >= self.schedule[self.next_round]:
            scheduled = self.schedule[self.next_round]
            for ep in evaluate(
                lambda obs: self.agent.act(obs, explore=False),  # type: ignore[union-attr]
                self.spec.env,
                self.seeds.eval_env,
                self.next_round,
                scheduled,
                self.spec.eval_episodes,
            ):
                self.eval_rows.append((ep.step, ep.episode, ep.episode_return, ep.length))
            self.next_round += 1

    def on_episode_end(self, step: int, episode_return: float, length: int) -> None:
        if not np.isfinite(episode_return):
            raise FloatingPointError(f"training return is {episode_return} at step {step}")
        self.train_rows.append((int(step), float(episode_return), int(length)))

    def checkpoint_due(self, step: int) -> bool:
        return (
            self.checkpoint_path is not None
            and self.checkpoint_every > 0
            and step - self.last_checkpoint >= self.checkpoint_every
        )

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        assert self.checkpoint_path is not None
        payload = {
            "run_id": self.spec.run_id,
            "loop": state,
            "monitor": {"next_round": self.next_round, "eval_rows": self.eval_rows, "train_rows": self.train_rows},
        }
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_suffix(f".tmp{os.getpid()}")
        torch.save(payload, tmp)
        os.replace(tmp, self.checkpoint_path)
        self.last_checkpoint = step

    # -- resume ---------------------------------------------------------------------------
    def load_checkpoint(self) -> dict[str, Any] | None:
        """The loop state of a matching checkpoint (restoring this monitor's records), or None."""
        if self.checkpoint_path is None or not self.checkpoint_path.exists():
            return None
        try:
            payload = torch.load(self.checkpoint_path, weights_only=True)
        except Exception:  # noqa: BLE001 - an unreadable checkpoint is discarded, the run starts over
            return None
        if payload.get("run_id") != self.spec.run_id:
            return None
        monitor = payload["monitor"]
        self.next_round = int(monitor["next_round"])
        self.eval_rows = [tuple(row) for row in monitor["eval_rows"]]
        self.train_rows = [tuple(row) for row in monitor["train_rows"]]
        self.last_checkpoint = int(payload["loop"]["step"])
        return payload["loop"]


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

    checkpoint_path = checkpoint_dir / f"{spec.run_id}.pt" if checkpoint_dir is not None else None
    monitor = RunMonitor(spec, seeds, checkpoint_path if agent_cls.supports_checkpoint else None, checkpoint_every)
    resume_state = monitor.load_checkpoint()
    context = AgentContext(
        env_name=spec.env,
        observation_space=observation_space,
        action_space=action_space,
        seeds=seeds,
        make_env=lambda seed: make_env(spec.env, seed),
        resume_state=resume_state,
    )
    agent = agent_cls(config, context)
    monitor.agent = agent
    started = time.perf_counter()
    agent.train(spec.budget, monitor)
    wall = time.perf_counter() - started
    if monitor.next_round != len(monitor.schedule):
        raise RuntimeError(
            f"agent stopped before its budget: {monitor.next_round} of {len(monitor.schedule)} evaluations done"
        )
    if checkpoint_path is not None and checkpoint_path.exists():
        checkpoint_path.unlink()
    resumed_from = int(resume_state["step"]) if resume_state else 0
    return RunResult(
        spec=spec,
        eval_rows=monitor.eval_rows,
        train_rows=monitor.train_rows,
        provenance={
            "wall_time_s": round(wall, 3),
            "env_steps_per_s": round((spec.budget - resumed_from) / wall, 1) if wall > 0 else None,
            "resumed_from_step": resumed_from,
            "host": platform.node(),
            "python": platform.python_version(),
            "torch_threads": torch.get_num_threads(),
        },
    )
