"""The settings the benchmark measures, read from ``params.yaml`` (nothing restated here).

A DQN configuration is an in-house entry of ``params.yaml`` (its resolved values for CartPole-v1, filled with
``DQNConfig``'s defaults), the SB3 entry that matches it where ``params.yaml`` has one (else the same values as SB3
arguments), and the budget of the suite that trains it: the whole-run length the benchmark times.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any

from speedbench.harness import ENV_ID, REPOSITORY

SB3_DQN_ARGUMENTS = ("learning_rate", "batch_size", "buffer_size", "learning_starts", "gamma", "target_update_interval",
                     "train_freq", "gradient_steps", "exploration_fraction", "exploration_initial_eps",
                     "exploration_final_eps")
"""DQNConfig fields that are SB3 ``DQN`` arguments of the same name and meaning."""


@cache
def load_rlbench_params() -> Any:
    """``params.yaml`` of the checkout being measured."""
    from rlbench.config.params import load_params

    return load_params(REPOSITORY / "params.yaml")


@dataclass(frozen=True)
class DQNRun:
    """One DQN configuration on CartPole-v1 as the benchmark runs it."""

    name: str
    """Short key (group names derive from it)."""
    entry: str
    """The in-house entry of ``params.yaml`` (``algos.<entry>``)."""
    values: dict[str, Any]
    """Every ``DQNConfig`` field, resolved (params.yaml's values over the defaults)."""
    sb3: dict[str, Any]
    """The SB3 DQN hyperparameters (rlbench's adapter format: ``algo_kwargs``, ``net_arch``)."""
    sb3_source: str
    """Where ``sb3`` comes from."""
    budget: int
    """Environment steps of a whole run (its suite's budget): the schedules are laid out over it."""
    suite: str

    def scaled(self, factor: float, minimum: int = 400) -> DQNRun:
        """The run shortened to ``factor`` of its budget (at least ``minimum`` steps) with ``learning_starts``
        scaled alike, so the shares of random actions, greedy actions and steps with training stay those of a whole
        run (epsilon decays over a fraction of the budget); every other value unchanged."""
        budget = max(minimum, round(self.budget * factor))
        ratio = budget / self.budget
        starts = round(self.values["learning_starts"] * ratio)
        values = {**self.values, "learning_starts": starts}
        sb3 = {**self.sb3, "algo_kwargs": {**self.sb3["algo_kwargs"], "learning_starts": starts}}
        return dataclasses.replace(self, values=values, sb3=sb3, budget=budget)

    @property
    def gradient_steps_per_env_step(self) -> float:
        steps = self.values["gradient_steps"]
        return (self.values["train_freq"] if steps == -1 else steps) / self.values["train_freq"]

    def random_action_share(self) -> float:
        """Expected share of the run's steps that act at random (before ``learning_starts``, then epsilon)."""
        v = self.values
        decay = v["exploration_fraction"] * self.budget
        total = 0.0
        for step in range(self.budget):
            if step < v["learning_starts"]:
                total += 1.0
            else:
                progress = min(1.0, step / decay) if decay > 0 else 1.0
                total += v["exploration_initial_eps"] + (v["exploration_final_eps"] - v["exploration_initial_eps"]) * progress
        return total / self.budget


def resolved_dqn_values(entry: str) -> dict[str, Any]:
    """``algos.<entry>`` for CartPole-v1 as the in-house DQN resolves it (every field, defaults included)."""
    from rlbench.agents.dqn import DQNConfig

    config = DQNConfig(**load_rlbench_params().algos[entry].for_env(ENV_ID))
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(config).items()}


def dqn_run(name: str, entry: str, suite: str, sb3_entry: str | None) -> DQNRun:
    params = load_rlbench_params()
    values = resolved_dqn_values(entry)
    if sb3_entry is not None:
        sb3 = params.algos[sb3_entry].for_env(ENV_ID)
        sb3_source = f"params.yaml algos.{sb3_entry} ({ENV_ID})"
    else:
        sb3 = {"algo_kwargs": {k: values[k] for k in SB3_DQN_ARGUMENTS}, "net_arch": values["net_arch"]}
        sb3_source = f"params.yaml algos.{entry}'s values as SB3 arguments (no SB3 entry of its own)"
    budget = params.suites[suite].budget
    return DQNRun(name, entry, values, sb3, sb3_source, int(budget[ENV_ID] if isinstance(budget, dict) else budget),
                  suite)


def rl_zoo() -> DQNRun:
    """rl-baselines3-zoo's CartPole DQN (``algos.dqn`` and its twin ``algos.sb3_dqn``), the default suite's budget."""
    return dqn_run("rl_zoo", "dqn", "default", "sb3_dqn")


def cleanrl() -> DQNRun:
    """CleanRL ``dqn.py``'s CartPole defaults (``algos.dqn_cleanrl``), its own 500k-step budget."""
    return dqn_run("cleanrl", "dqn_cleanrl", "reproduce-cleanrl", None)
