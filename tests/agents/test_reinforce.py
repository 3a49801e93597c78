"""REINFORCE as the lecture states it: the ablation changes only the baseline, truncated returns are bootstrapped,
no standardisation unless asked for, and the variance of the gradient estimate with and without the baseline."""

from __future__ import annotations

import dataclasses
import io
import math

import numpy as np
import pytest
import torch

from rlbench.agents import reinforce
from rlbench.agents.base import AgentContext, Transition
from rlbench.agents.reinforce import ReinforceAgent, discounted_returns, episode_gradients, gradient_variance
from rlbench.envs.registry import make_env
from rlbench.seeding import RunSeeds
from rlbench.training.runner import execute_run
from tests.conftest import smoke_spec

SMALL = {"net_arch": (8,), "episodes_per_update": 2}


def make_agent(values: dict, env_name: str = "CartPole-v1", seed: int = 0) -> ReinforceAgent:
    probe = make_env(env_name)
    context = AgentContext(env_name, probe.observation_space, probe.action_space, RunSeeds.from_seed(seed),
                           lambda s: make_env(env_name, s), 1000)
    probe.close()
    return ReinforceAgent(ReinforceAgent.make_config(values), context)


def feed(agent: ReinforceAgent, rewards: list[float], terminated: bool = False, truncated: bool = False,
         seed: int = 0) -> np.ndarray:
    """One episode of random CartPole-shaped observations; returns the observation at its end."""
    rng = np.random.default_rng(seed)
    observations = rng.normal(size=(len(rewards) + 1, 4)).astype(np.float32)
    for t, reward in enumerate(rewards):
        agent.act(observations[t], explore=True)
        last = t == len(rewards) - 1
        agent.observe(Transition(observations[t], agent._sampled_action, reward, observations[t + 1],
                                 terminated and last, truncated and last))
    return observations[-1]


def spy_on_advantages(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    original = reinforce.policy_loss

    def spy(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
        seen.append(advantages.detach().clone())
        return original(log_probs, advantages)

    monkeypatch.setattr(reinforce, "policy_loss", spy)
    return seen


# --- the published ablation ---------------------------------------------------------------------


def test_the_ablation_pair_differs_only_in_the_baseline(params):
    for env in ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3", "Maze-Lecture-v0"):
        plain, based = (dataclasses.asdict(ReinforceAgent.make_config(params.algos[a].for_env(env)))
                        for a in ("reinforce", "reinforce_baseline"))
        assert {k for k in plain if plain[k] != based[k]} == {"baseline"}, env
        assert (plain["baseline"], based["baseline"]) == (False, True)
        assert plain["normalize_returns"] is False and plain["truncation"] == "bootstrap"
        assert plain["episodes_per_update"] >= 2  # the variance diagnostic needs two episodes


def test_config_defaults_and_validation():
    config = ReinforceAgent.make_config({})
    assert (config.normalize_returns, config.truncation, config.episodes_per_update) == (False, "bootstrap", 4)
    with pytest.raises(ValueError, match="truncation must be one of bootstrap, ignore, got 'clip'"):
        ReinforceAgent.make_config({"truncation": "clip"})
    with pytest.raises(ValueError, match="value_steps must be at least 1"):
        ReinforceAgent.make_config({"value_steps": 0})


# --- returns: bootstrapped truncation, raw without a baseline -------------------------------------


def test_bootstrapped_returns_hand_computed():
    # Truncated after r = (1, 1) with V(s_T) = 4, gamma 0.5: G1 = 1 + 0.5 * 4 = 3, G0 = 1 + 0.5 * 3 = 2.5.
    np.testing.assert_allclose(discounted_returns(np.array([1.0, 1.0]), 0.5, bootstrap=4.0), [2.5, 3.0])
    np.testing.assert_allclose(discounted_returns(np.array([1.0, 1.0]), 0.5), [1.5, 1.0])  # terminated
    # A timed-out Acrobot failure (-1 per step) is not better than its value: with V(s_T) = -1 / (1 - gamma), the
    # return of every step is that value, where treating the cut as the end made the last steps' return about 0.
    gamma = 0.99
    failure = discounted_returns(-np.ones(500), gamma, bootstrap=-1.0 / (1.0 - gamma))
    np.testing.assert_allclose(failure, -100.0, rtol=1e-5)
    assert discounted_returns(-np.ones(500), gamma)[-1] == -1.0


def test_a_truncated_episode_is_bootstrapped_from_the_value_network(monkeypatch):
    seen = spy_on_advantages(monkeypatch)
    for truncation, terminated, truncated, bootstrapped in [("bootstrap", False, True, True), ("ignore", False, True, False),
                                                            ("bootstrap", True, True, False), ("bootstrap", True, False, False)]:
        agent = make_agent({**SMALL, "baseline": False, "truncation": truncation, "gamma": 0.9})
        final = feed(agent, [1.0, 2.0, 3.0], terminated=terminated, truncated=truncated)
        feed(agent, [1.0], terminated=True, seed=1)
        with torch.no_grad():
            value = agent.value_net(torch.as_tensor(final[None])).item()
        agent.update(step=4)
        assert agent.num_updates == 1
        bootstrap = value if bootstrapped else 0.0
        expected = np.concatenate([discounted_returns(np.array([1.0, 2.0, 3.0]), 0.9, bootstrap), [1.0]])
        torch.testing.assert_close(seen[-1], torch.as_tensor(expected, dtype=torch.float32))


def test_without_normalisation_no_baseline_advantages_are_the_raw_returns(monkeypatch):
    seen = spy_on_advantages(monkeypatch)
    agent = make_agent({**SMALL, "baseline": False, "gamma": 0.5})
    feed(agent, [1.0, 2.0, 3.0], terminated=True)
    feed(agent, [5.0], terminated=True, seed=1)
    agent.update(step=4)
    torch.testing.assert_close(seen[-1], torch.tensor([2.75, 3.5, 3.0, 5.0]))

    with_baseline = make_agent({**SMALL, "baseline": True, "gamma": 0.5})
    feed(with_baseline, [1.0, 2.0, 3.0], terminated=True)
    feed(with_baseline, [5.0], terminated=True, seed=1)
    batch = with_baseline._batch
    with torch.no_grad():
        values = with_baseline.value_net(torch.as_tensor(np.concatenate([e.obs for e in batch]))).squeeze(1)
    with_baseline.update(step=4)
    torch.testing.assert_close(seen[-1], torch.tensor([2.75, 3.5, 3.0, 5.0]) - values)

    standardised = make_agent({**SMALL, "baseline": False, "gamma": 0.5, "normalize_returns": True})
    feed(standardised, [1.0, 2.0, 3.0], terminated=True)
    feed(standardised, [5.0], terminated=True, seed=1)
    standardised.update(step=4)
    assert seen[-1].mean().item() == pytest.approx(0.0, abs=1e-6)
    assert seen[-1].std(correction=0).item() == pytest.approx(1.0, abs=1e-5)


# --- the variance of the gradient estimate ---------------------------------------------------------


def test_episode_gradients_match_the_closed_form_of_a_softmax_head():
    from rlbench.agents.location_gradients import gradient_variance as ram_gradient_variance
    from rlbench.agents.location_gradients import head_gradients

    rng = np.random.default_rng(0)
    lengths, features, actions_n = [3, 5, 2], 4, 3
    states = [rng.normal(size=(n, features)) for n in lengths]
    actions = [rng.integers(actions_n, size=n) for n in lengths]
    advantages = [rng.normal(size=n) for n in lengths]
    weight = torch.tensor(rng.normal(size=(actions_n, features)), requires_grad=True)
    bias = torch.tensor(rng.normal(size=actions_n), requires_grad=True)

    def log_probs_of(e: int) -> torch.Tensor:
        logits = torch.as_tensor(states[e]) @ weight.T + bias
        return torch.log_softmax(logits, dim=1).gather(1, torch.as_tensor(actions[e])[:, None]).squeeze(1)

    got, = episode_gradients(log_probs_of, [weight, bias], [[torch.as_tensor(a) for a in advantages]])
    # d log softmax(z)[a] / dz = onehot(a) - p, per episode summed with its advantages (location_gradients.head_gradients' layout).
    for e in range(len(lengths)):
        with torch.no_grad():
            p = torch.softmax(torch.as_tensor(states[e]) @ weight.T + bias, dim=1).numpy()
        d_z = (np.eye(actions_n)[actions[e]] - p) * advantages[e][:, None]
        np.testing.assert_allclose(got[e], head_gradients(d_z[None], states[e][None])[0], rtol=1e-10)
    assert gradient_variance(got) == pytest.approx(ram_gradient_variance(got))
    assert gradient_variance(got[:1]) == 0.0


def test_diagnostic_columns_are_recorded_and_finite(params):
    result = execute_run(smoke_spec(params, "reinforce", budget=1500))
    rows = {}
    for step, name, value in result.diagnostic_rows:
        rows.setdefault(name, []).append((step, value))
    assert set(rows) == {"policy_grad_variance/baseline", "policy_grad_variance/no_baseline"}
    assert [s for s, _ in rows["policy_grad_variance/baseline"]] == [500, 1000, 1500]  # none before the first update
    assert all(math.isfinite(v) and v > 0 for values in rows.values() for _, v in values)


def test_the_diagnostic_changes_nothing_and_survives_a_checkpoint():
    agent = make_agent({**SMALL, "baseline": False})
    assert agent.diagnostics() == {}
    for seed in range(2):
        feed(agent, [1.0] * (5 + seed), terminated=True, seed=seed)
    agent.update(step=11)
    weights = [p.detach().clone() for p in agent.policy_net.parameters()]
    grads = [p.grad.clone() for p in agent.policy_net.parameters()]
    rng = agent.rng.bit_generator.state
    measured = agent.diagnostics()
    assert set(measured) == {"policy_grad_variance/baseline", "policy_grad_variance/no_baseline"}
    assert all(torch.equal(a, b) for a, b in zip(weights, agent.policy_net.parameters()))
    assert all(torch.equal(a, p.grad) for a, p in zip(grads, agent.policy_net.parameters()))
    assert agent.rng.bit_generator.state == rng
    assert agent.diagnostics() == measured

    blob = io.BytesIO()
    torch.save(agent.state_dict(), blob)
    resumed = make_agent({**SMALL, "baseline": False})
    resumed.load_state_dict(torch.load(io.BytesIO(blob.getvalue()), weights_only=True))
    assert resumed.diagnostics() == measured
