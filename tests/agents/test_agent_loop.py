"""The in-house agents inside ``run_env_loop``: reproducibility per seed and exact resume."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rlbench.agents.base import AgentContext, OnlineAgent
from rlbench.agents.dqn import DQNAgent
from rlbench.agents.reinforce import ReinforceAgent
from rlbench.envs.registry import make_env
from rlbench.seeding import RunSeeds
from rlbench.training.loop import run_env_loop
from tests.conftest import RecordingMonitor

STEPS = 2000
SMALL_DQN = {
    "learning_rate": 1e-3,
    "batch_size": 32,
    "buffer_size": 5000,
    "learning_starts": 200,
    "target_update_interval": 100,
    "train_freq": 4,
    "gradient_steps": 1,
    "exploration_fraction": 0.3,
    "net_arch": (32, 32),
}
SMALL_REINFORCE = {"learning_rate": 3e-3, "net_arch": (32, 32)}


def make_agent(cls: type[OnlineAgent], values: dict[str, Any], env_name: str, seed: int, resume: dict[str, Any] | None = None,
               steps: int = STEPS) -> OnlineAgent:
    probe = make_env(env_name)
    context = AgentContext(
        env_name=env_name,
        observation_space=probe.observation_space,
        action_space=probe.action_space,
        seeds=RunSeeds.from_seed(seed),
        make_env=lambda s: make_env(env_name, s),
        total_steps=steps,
        resume_state=resume,
    )
    probe.close()
    return cls(cls.make_config(values), context)


def train_returns(cls: type[OnlineAgent], values: dict[str, Any], seed: int, env_name: str = "CartPole-v1", steps: int = STEPS) -> list[tuple[int, float]]:
    monitor = RecordingMonitor()
    run_env_loop(make_agent(cls, values, env_name, seed, steps=steps), steps, monitor)
    return monitor.returns


AGENTS = [
    pytest.param(DQNAgent, SMALL_DQN, id="dqn"),
    pytest.param(DQNAgent, {**SMALL_DQN, "double_dqn": True}, id="double_dqn"),
    pytest.param(ReinforceAgent, SMALL_REINFORCE, id="reinforce"),
    pytest.param(ReinforceAgent, {**SMALL_REINFORCE, "baseline": False, "normalize_returns": False, "entropy_coef": 0.01, "max_grad_norm": 1.0}, id="reinforce_plain"),
]


@pytest.mark.parametrize(("cls", "values"), AGENTS)
def test_same_seed_same_returns_other_seed_differs(cls: type[OnlineAgent], values: dict[str, Any]) -> None:
    torch.manual_seed(1)  # the agents must not depend on torch's global RNG
    first = train_returns(cls, values, seed=0)
    torch.manual_seed(2)
    second = train_returns(cls, values, seed=0)
    other = train_returns(cls, values, seed=1)
    assert len(first) > 5
    assert first == second
    assert first != other


def test_gaussian_reinforce_runs_on_pendulum() -> None:
    returns = train_returns(ReinforceAgent, {**SMALL_REINFORCE, "episodes_per_update": 2}, seed=0, env_name="Pendulum-v1", steps=1000)
    assert len(returns) == 5  # Pendulum episodes are truncated at 200 steps
    assert returns == train_returns(ReinforceAgent, {**SMALL_REINFORCE, "episodes_per_update": 2}, seed=0, env_name="Pendulum-v1", steps=1000)


def test_gaussian_actions_within_bounds_and_greedy_is_mean() -> None:
    agent = make_agent(ReinforceAgent, {**SMALL_REINFORCE, "initial_log_std": 0.5}, "Pendulum-v1", seed=0)
    obs = make_env("Pendulum-v1", 0).reset()[0]
    state = agent.rng.bit_generator.state
    greedy = [agent.act(obs, explore=False) for _ in range(3)]
    assert agent.rng.bit_generator.state == state  # the evaluation policy consumes no randomness
    assert all((g == greedy[0]).all() for g in greedy)
    sampled = [agent.act(obs, explore=True) for _ in range(50)]
    assert all(-2.0 <= a.item() <= 2.0 for a in sampled) and len({a.item() for a in sampled}) > 10


def test_dqn_greedy_consumes_no_randomness() -> None:
    agent = make_agent(DQNAgent, SMALL_DQN, "CartPole-v1", seed=0)
    obs = make_env("CartPole-v1", 0).reset()[0]
    state = agent.rng.bit_generator.state
    assert len({agent.act(obs, explore=False) for _ in range(5)}) == 1
    assert agent.rng.bit_generator.state == state


@pytest.mark.parametrize(
    ("cls", "values", "env_name", "checkpoint_after", "pending_episodes"),
    [
        pytest.param(DQNAgent, {**SMALL_DQN, "double_dqn": True}, "CartPole-v1", 700, None, id="dqn"),
        pytest.param(ReinforceAgent, {**SMALL_REINFORCE, "episodes_per_update": 1}, "CartPole-v1", 700, 0, id="reinforce"),
        # With several episodes per update, a checkpoint can hold complete episodes not yet learned from.
        pytest.param(ReinforceAgent, {**SMALL_REINFORCE, "episodes_per_update": 3}, "CartPole-v1", 700, 2, id="reinforce_pending"),
        pytest.param(ReinforceAgent, {**SMALL_REINFORCE, "episodes_per_update": 2}, "Pendulum-v1", 500, 1, id="reinforce_gaussian_pending"),
    ],
)
def test_resume_from_checkpoint_is_bit_identical(
    cls: type[OnlineAgent], values: dict[str, Any], env_name: str, checkpoint_after: int, pending_episodes: int | None
) -> None:
    steps = 1500
    full = RecordingMonitor(checkpoint_after=checkpoint_after)
    uninterrupted = make_agent(cls, values, env_name, seed=3, steps=steps)
    run_env_loop(uninterrupted, steps, full)
    assert full.checkpoint_step is not None and full.checkpoint_step >= checkpoint_after
    state = full.load_checkpoint()
    if pending_episodes is not None:
        assert state["agent"]["pending"]["episodes"] == pending_episodes

    resumed = RecordingMonitor()
    agent = make_agent(cls, values, env_name, seed=3, resume=state, steps=steps)
    run_env_loop(agent, steps, resumed)
    expected = [(s, r) for s, r in full.returns if s > full.checkpoint_step]
    assert len(expected) >= 2
    assert resumed.returns == expected
    # Stronger than equal returns: every network (and the exploration RNG) ends bit-identical.
    modules = {name: m for name, m in vars(agent).items() if isinstance(m, torch.nn.Module)}
    assert modules
    for name, module in modules.items():
        reference = getattr(uninterrupted, name).state_dict()
        assert all(torch.equal(t, reference[k]) for k, t in module.state_dict().items()), name
    assert agent.rng.bit_generator.state == uninterrupted.rng.bit_generator.state
