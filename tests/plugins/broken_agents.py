"""Agents that fail on purpose, loaded by file path like a user's plugin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlbench.agents.base import OnlineAgent, Transition


@dataclass(frozen=True)
class BrokenConfig:
    """Settings of the broken agents."""

    fail_after: int = 100
    """Environment step at which the agent breaks."""


class CrashingAgent(OnlineAgent):
    """Raises during training."""

    Config = BrokenConfig

    def act(self, obs: np.ndarray, explore: bool) -> int:
        return 0

    def observe(self, transition: Transition) -> None:
        pass

    def update(self, step: int) -> None:
        if step >= self.config.fail_after:
            raise RuntimeError(f"deliberate crash at step {step}")
