"""The environment loop's episode-start hook, and an evaluation policy that cannot disturb the training agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
from rlbench.agents.registry import resolve
from rlbench.envs.registry import make_env
from rlbench.seeding import RunSeeds, child
from rlbench.training.evaluation import evaluate
from rlbench.training.loop import run_env_loop
from tests.conftest import ROOT, smoke_spec


class QuietMonitor:
    def on_step(self, step: int) -> None:
        pass

    def on_episode_end(self, step: int, episode_return: float, length: int) -> None:
        self.episodes = getattr(self, "episodes", 0) + 1

    def checkpoint_due(self, step: int) -> bool:
        return False

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        raise AssertionError("no checkpoints here")


@dataclass(frozen=True)
class NoConfig:
    pass


class RecordingAgent(OnlineAgent):
    """Records the order of the interface calls."""

    Config = NoConfig

    def __init__(self, config: Any, context: AgentContext) -> None:
        super().__init__(config, context)
        self.calls: list[str] = []
        self.first_obs: list[np.ndarray] = []

    def observe_first(self, obs: np.ndarray) -> None:
        self.calls.append("first")
        self.first_obs.append(obs)

    def act(self, obs: np.ndarray, explore: bool) -> int:
        self.calls.append("act")
        return 0

    def observe(self, transition: Transition) -> None:
        self.calls.append("end" if transition.terminated or transition.truncated else "observe")

    def update(self, step: int) -> None:
        pass


def context(env: str, seed: int, steps: int) -> AgentContext:
    probe = make_env(env)
    return AgentContext(env, probe.observation_space, probe.action_space, RunSeeds.from_seed(seed),
                        lambda s: make_env(env, s), steps)


def test_observe_first_opens_every_episode():
    agent = RecordingAgent(NoConfig(), context("CartPole-v1", 0, 200))
    monitor = QuietMonitor()
    run_env_loop(agent, 200, monitor)
    assert agent.calls[0] == "first"
    # Every episode end is followed by the next episode's observe_first, before any act.
    for i, call in enumerate(agent.calls[:-1]):
        if call == "end":
            assert agent.calls[i + 1] == "first"
    assert agent.calls.count("first") == monitor.episodes + 1
    assert agent.calls.count("act") == 200


@pytest.mark.parametrize("algo", ["dqn", "reinforce_baseline", "sb3_dqn", "sb3_a2c"])
def test_evaluation_policy_is_a_snapshot(params, algo):
    spec = smoke_spec(params, algo)
    cls = resolve(spec.agent)
    agent = cls(cls.make_config(spec.hyperparameters), context(spec.env, 0, spec.budget))
    modules = {name: m for name, m in vars(agent).items() if isinstance(m, torch.nn.Module)}
    if not modules:  # SB3: the model's policy
        modules = {"policy": agent.model.policy}
    before = {name: [p.detach().clone() for p in m.parameters()] for name, m in modules.items()}
    rng_before = agent.rng.bit_generator.state if hasattr(agent, "rng") else None

    policy = agent.evaluation_policy()
    episodes = evaluate(policy, spec.env, child(RunSeeds.from_seed(0).eval_env, 0), 0, 0, 2)
    assert len(episodes) == 2
    for module in [m for m in vars(policy).values() if isinstance(m, torch.nn.Module)]:
        with torch.no_grad():
            for parameter in module.parameters():
                parameter.zero_()  # whatever the policy does to its copy ...
    for name, module in modules.items():  # ... the training agent is untouched
        assert all(torch.equal(a, b) for a, b in zip(before[name], module.parameters()))
    if rng_before is not None:
        assert agent.rng.bit_generator.state == rng_before


def test_plugin_default_evaluation_policy_deep_copies(params):
    cls = resolve(f"{ROOT}/plugins/cem.py:CEMAgent")
    agent = cls(cls.make_config({}), context("CartPole-v1", 0, 1000))
    policy = agent.evaluation_policy()
    policy.agent.mean += 1.0
    assert not np.array_equal(policy.agent.mean, agent.mean)
