"""The run monitor: runs the evaluation protocol and the diagnostics on schedule, collects training returns,
owns checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rlbench.agents.base import Agent
from rlbench.config.plan import RunSpec
from rlbench.seeding import RunSeeds
from rlbench.storage.checkpoints import load_checkpoint, save_checkpoint
from rlbench.training.diagnostics import evaluation_diagnostics
from rlbench.training.evaluation import evaluate, evaluation_steps


class RunMonitor:
    """Implements ``TrainingMonitor`` for one run."""

    def __init__(self, spec: RunSpec, seeds: RunSeeds, checkpoint_path: Path | None, checkpoint_every: int) -> None:
        self.spec = spec
        self.seeds = seeds
        self.schedule = evaluation_steps(spec.budget, spec.eval_every)
        self.next_round = 0
        self.eval_rows: list[tuple[int, int, float, int]] = []
        self.train_rows: list[tuple[int, float, int]] = []
        self.diagnostic_rows: list[tuple[int, str, float]] = []
        self.agent: Agent | None = None
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.last_checkpoint = 0

    # -- TrainingMonitor -------------------------------------------------------------------
    def on_step(self, step: int) -> None:
        assert self.agent is not None
        while self.next_round < len(self.schedule) and step >= self.schedule[self.next_round]:
            episodes = evaluate(self.agent.evaluation_policy(), self.spec.env, self.seeds.eval_env, self.next_round,
                                self.schedule[self.next_round], self.spec.eval_episodes)
            self.eval_rows += [(ep.step, ep.episode, ep.episode_return, ep.length) for ep in episodes]
            final = self.next_round == len(self.schedule) - 1
            diagnostics = evaluation_diagnostics(self.agent, self.spec.env, final)
            self.diagnostic_rows += [(self.schedule[self.next_round], name, value) for name, value in diagnostics.items()]
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
        monitor = {"next_round": self.next_round, "eval_rows": self.eval_rows, "train_rows": self.train_rows,
                   "diagnostic_rows": self.diagnostic_rows}
        save_checkpoint(self.checkpoint_path, self.spec.run_id, {"loop": state, "monitor": monitor})
        self.last_checkpoint = step

    # -- resume ---------------------------------------------------------------------------
    def resume(self) -> dict[str, Any] | None:
        """The loop state of this run's checkpoint (restoring this monitor's records), or None."""
        if self.checkpoint_path is None:
            return None
        payload = load_checkpoint(self.checkpoint_path, self.spec.run_id)
        if payload is None:
            return None
        monitor = payload["monitor"]
        self.next_round = int(monitor["next_round"])
        self.eval_rows = [tuple(row) for row in monitor["eval_rows"]]
        self.train_rows = [tuple(row) for row in monitor["train_rows"]]
        self.diagnostic_rows = [tuple(row) for row in monitor["diagnostic_rows"]]
        self.last_checkpoint = int(payload["loop"]["step"])
        return payload["loop"]
