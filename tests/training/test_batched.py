"""K seeds at once: the batched update equals K separate ones; batched runs are deterministic and ordinary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import yaml

from rlbench.agents.base import AgentContext, Transition
from rlbench.agents.dqn import DQNAgent
from rlbench.agents.dqn_batched import BatchedDQN, clip_grad_norm_per_seed_
from rlbench.config.params import parse_params
from rlbench.config.plan import plan_suite
from rlbench.envs.registry import make_env
from rlbench.errors import RlbenchError
from rlbench.execution.launcher import launch
from rlbench.reporting.leaderboard import execution_statement
from rlbench.seeding import RunSeeds
from rlbench.storage.run_store import RunStore
from tests.conftest import ROOT

SEEDS = (0, 1, 2)


def _contexts(total_steps: int = 1000) -> list[AgentContext]:
    probe = make_env("CartPole-v1")
    return [AgentContext("CartPole-v1", probe.observation_space, probe.action_space, RunSeeds.from_seed(seed),
                         lambda s: make_env("CartPole-v1", s), total_steps) for seed in SEEDS]


def _fill(agents: list, batched: BatchedDQN, steps: int = 300) -> None:
    """The same transitions (a different stream per seed) into each single agent and the batched one."""
    rng = np.random.default_rng(7)
    for _ in range(steps):
        for k, agent in enumerate(agents):
            obs, next_obs = rng.normal(size=4).astype(np.float32), rng.normal(size=4).astype(np.float32)
            transition = Transition(obs, int(rng.integers(2)), float(rng.normal()), next_obs, bool(rng.random() < 0.1), False)
            agent.observe(transition)
            batched.observe(k, transition)
        batched.end_step()


@pytest.mark.parametrize("loss", ["huber", "mse"])
@pytest.mark.parametrize("max_grad_norm", [None, 0.05])  # 0.05: every seed's gradient is clipped
@pytest.mark.parametrize("double_dqn", [False, True])
def test_batched_update_equals_k_separate_updates(loss, max_grad_norm, double_dqn):
    config = DQNAgent.make_config({"net_arch": [32, 16], "batch_size": 16, "learning_rate": 0.01, "loss": loss,
                                   "max_grad_norm": max_grad_norm, "double_dqn": double_dqn})
    contexts = _contexts()
    agents = [DQNAgent(config, context) for context in contexts]
    batched = BatchedDQN(config, contexts)
    for k, agent in enumerate(agents):  # the same initial weights as each separate run
        for (weight, bias), layer in zip(batched.layers, [m for m in agent.q_net.layers if isinstance(m, torch.nn.Linear)]):
            np.testing.assert_array_equal(weight[k], layer.weight.detach().numpy().T)
    _fill(agents, batched)
    for _ in range(3):
        losses = batched.gradient_step()
        separate = [agent.gradient_step() for agent in agents]
        np.testing.assert_allclose(losses, separate, rtol=1e-5, atol=1e-7)
    for k, agent in enumerate(agents):
        for (weight, bias), layer in zip(batched.layers, [m for m in agent.q_net.layers if isinstance(m, torch.nn.Linear)]):
            np.testing.assert_allclose(weight[k], layer.weight.detach().numpy().T, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(bias[k, 0], layer.bias.detach().numpy(), rtol=1e-5, atol=1e-6)
    observations = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    for k, agent in enumerate(agents):  # and the same greedy actions
        policy, single = batched.evaluation_policy(k), agent.evaluation_policy()
        assert [policy.act(o) for o in observations] == [single.act(o) for o in observations]


def test_per_seed_clipping_matches_clip_grad_norm():
    grads = [torch.randn(3, 5, 4), torch.randn(3, 1, 4)]
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    clip_grad_norm_per_seed_(params, 1.0)
    for k in range(3):
        single_params = [torch.zeros_like(g[k], requires_grad=True) for g in grads]
        for g, tensor in zip(grads, single_params):
            tensor.grad = g[k].clone()
        torch.nn.utils.clip_grad_norm_(single_params, 1.0)
        for p, tensor in zip(params, single_params):
            torch.testing.assert_close(p.grad[k], tensor.grad)


def _batched_params(batch_seeds: int, **changes):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["suites"]["smoke"].update({"algos": ["dqn"], "seeds": [0, 1, 2], "budget": 1500, "eval_every": 500,
                                   "batch_seeds": batch_seeds, **changes})
    return parse_params(raw)


def test_batched_mode_is_planned_and_part_of_the_run_id():
    single, batched = plan_suite(_batched_params(1), "smoke"), plan_suite(_batched_params(2), "smoke")
    assert [r.mode for r in single.runs] == ["single"] * 3
    assert [r.mode for r in batched.runs] == ["batched:0,1", "batched:0,1", "single"]  # a group of one is a single run
    assert single.runs[2].run_id == batched.runs[2].run_id
    assert {r.run_id for r in single.runs[:2]}.isdisjoint(r.run_id for r in batched.runs[:2])
    assert batched.runs[0].code_digest != single.runs[0].code_digest  # the batched code is in the digest
    # ... and every table and report says how the runs were executed.
    assert execution_statement(single) == "Execution: every seed trained as its own run (one torch thread)."
    assert execution_statement(batched).endswith("each run's identity): `dqn` seeds 0,1; any other run alone.")
    raw = _batched_params(2)
    raw = dataclasses.replace(raw, algos={**raw.algos, "dqn": dataclasses.replace(
        raw.algos["dqn"], hyperparameters={"network": "nature_cnn"})})
    with pytest.raises(RlbenchError, match="batch_seeds 2: batched DQN supports the mlp network only"):
        plan_suite(raw, "smoke")


def test_batched_runs_are_deterministic_ordinary_runs(tmp_path):
    plan = plan_suite(_batched_params(3), "smoke")
    first, second = RunStore(tmp_path / "a"), RunStore(tmp_path / "b")
    report = launch(list(plan.runs), first, backend="serial", progress=False)
    assert sorted(report.completed) == sorted(r.key for r in plan.runs)
    launch(list(plan.runs), second, backend="process", workers=2, progress=False)
    files = {store: {str(p.relative_to(store.root)): p.read_bytes() for p in sorted(store.suite_dir("smoke").rglob("*"))
                     if p.is_file()} for store in (first, second)}
    assert files[first] == files[second]  # identical twice (serial and process pool)
    evals = first.load_eval(plan.runs)
    by_seed = [evals[evals.seed == seed]["return"].tolist() for seed in (0, 1, 2)]
    assert by_seed[0] != by_seed[1] != by_seed[2]  # each seed its own run
    trains = first.load_train(plan.runs)
    assert len({tuple(trains[trains.seed == seed]["return"]) for seed in (0, 1, 2)}) == 3
    # Damage one member: the group is trained again and only that run rewritten, to the same bytes.
    victim = first.run_dir(plan.runs[1]) / "eval.csv"
    original = victim.read_bytes()
    victim.write_bytes(original[:-5])
    again = launch(list(plan.runs), first, backend="serial", progress=False)
    assert again.completed == [plan.runs[1].key] and victim.read_bytes() == original
