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


@dataclass(frozen=True)
class DyingConfig:
    """Settings of the dying agent."""

    marker: str = ""
    """File created before the first death; its presence means the agent already died once.
    Empty: the agent kills its worker every time."""


class DyingOnceAgent(OnlineAgent):
    """Kills its own worker process (SIGKILL) the first time it trains (or always), then behaves."""

    Config = DyingConfig

    def act(self, obs: np.ndarray, explore: bool) -> int:
        return 0

    def observe(self, transition: Transition) -> None:
        pass

    def update(self, step: int) -> None:
        import os
        import signal
        from pathlib import Path

        if step != 50:
            return
        if self.config.marker:
            marker = Path(self.config.marker)
            if marker.exists():
                return
            marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
