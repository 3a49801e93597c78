"""Plugins that miss the agent interface on purpose (and one that meets it), loaded by file path."""

from __future__ import annotations

from dataclasses import dataclass

from rlbench.agents.base import OnlineAgent


@dataclass(frozen=True)
class NoSettings:
    """No hyperparameters."""


class Current(OnlineAgent):
    """Meets interface version 2 and says so."""

    Config = NoSettings
    interface_version = 2

    def act(self, obs, explore):
        return 0

    def observe(self, transition):
        pass

    def update(self, step):
        pass


class NoAct(OnlineAgent):
    """``act`` misnamed ``acts``."""

    Config = NoSettings

    def acts(self, obs, explore):
        return 0

    def observe(self, transition):
        pass

    def update(self, step):
        pass


class WrongObserve(Current):
    """``observe`` wants an argument rlbench never passes."""

    interface_version = None

    def observe(self, transition, extra):
        pass


class OldVersion(Current):
    """Written for interface version 1 (when OnlineAgent.total_steps was set by train())."""

    interface_version = 1
