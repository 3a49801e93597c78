"""Determinism of real runs, the evaluation schedule, and the run store's atomic layout."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from rlbench.config import plan_runs
from rlbench.errors import RlbenchError
from rlbench.evaluation import checkpoints
from rlbench.runner import execute_run
from rlbench.store import RunStore


def smoke_spec(params, algo: str, seed: int = 0, budget: int = 1500):
    spec = next(s for s in plan_runs(params, "smoke") if s.algo == algo and s.seed == seed)
    return dataclasses.replace(spec, budget=budget, eval_every=500)


@pytest.mark.parametrize("algo", ["dqn", "reinforce", "reinforce_baseline", "sb3_dqn", "sb3_a2c", "sb3_ppo"])
def test_same_seed_same_returns_other_seed_differs(params, algo):
    first = execute_run(smoke_spec(params, algo, seed=0))
    again = execute_run(smoke_spec(params, algo, seed=0))
    other = execute_run(smoke_spec(params, algo, seed=1))
    assert first.eval_rows == again.eval_rows
    assert first.train_rows == again.train_rows
    assert first.train_rows != other.train_rows


def test_evaluation_schedule(params):
    assert checkpoints(1000, 300) == [0, 300, 600, 900, 1000]
    result = execute_run(smoke_spec(params, "sb3_ppo", budget=1000))
    steps = sorted({row[0] for row in result.eval_rows})
    assert steps == [0, 500, 1000]
    assert all(len([r for r in result.eval_rows if r[0] == s]) == 2 for s in steps)  # eval_episodes of smoke
    assert all(step <= 1000 for step, *_ in result.train_rows)


def test_store_writes_atomically_and_reads_back(params, tmp_path):
    store = RunStore(tmp_path)
    spec = smoke_spec(params, "reinforce", budget=600)
    result = execute_run(spec)
    assert not store.is_finished(spec)
    directory = store.write_run(spec, result.eval_rows, result.train_rows, result.provenance)
    assert store.is_finished(spec)
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "eval.csv", "train.csv"]
    config = json.loads((directory / "config.json").read_text())
    assert config["run_id"] == spec.run_id and config["env_info"]["gym_id"] == "CartPole-v1"
    assert "wall_time_s" not in (directory / "config.json").read_text()  # provenance is kept apart
    assert "wall_time_s" in store.provenance_path(spec).read_text()
    frame = store.load_eval([spec])
    assert list(frame.columns) == ["algo", "env", "seed", "step", "episode", "return", "length"]
    assert len(frame) == len(result.eval_rows)

    # A changed config makes the old directory stale: not finished, and reading it is refused.
    changed = dataclasses.replace(spec, eval_episodes=3)
    assert not store.is_finished(changed)
    with pytest.raises(RlbenchError, match="stale run"):
        store.load_eval([changed])
    # Rewriting replaces it whole.
    store.write_run(changed, result.eval_rows, result.train_rows, {})
    assert store.is_finished(changed) and not store.is_finished(spec)


def test_half_written_and_corrupt_runs(params, tmp_path):
    store = RunStore(tmp_path)
    spec = smoke_spec(params, "reinforce", budget=600)
    # A half-written run: only staging exists, so it is not finished and staging is cleaned.
    (store.staging / "999999999-leftover").mkdir(parents=True)  # a writer that no longer runs
    (store.staging / f"{os.getpid()}-in-progress").mkdir()  # a live writer's files stay
    assert not store.is_finished(spec)
    store.clean_staging()
    assert [p.name for p in store.staging.iterdir()] == [f"{os.getpid()}-in-progress"]
    with pytest.raises(RlbenchError, match="not found"):
        store.load_eval([spec])
    result = execute_run(spec)
    directory = store.write_run(spec, result.eval_rows, result.train_rows, {})
    (directory / "eval.csv").write_text("garbage,columns\n1,2\n")
    with pytest.raises(RlbenchError, match="corrupt run file"):
        store.load_eval([spec])
    (directory / "config.json").write_text("{not json")
    assert not store.is_finished(spec)


@pytest.mark.parametrize("algo", ["dqn", "reinforce_baseline"])
def test_seed_reaches_network_initialisation(params, algo):
    import torch

    from rlbench.agents.base import AgentContext
    from rlbench.agents.registry import resolve
    from rlbench.envs import make_env
    from rlbench.seeding import RunSeeds

    spec = smoke_spec(params, algo)
    agent_cls = resolve(spec.agent)

    def weights(seed: int) -> list[torch.Tensor]:
        env = make_env(spec.env)
        context = AgentContext(spec.env, env.observation_space, env.action_space, RunSeeds.from_seed(seed),
                               lambda s: make_env(spec.env, s))
        torch.manual_seed(12345 + seed)  # the global generator must not matter
        agent = agent_cls(agent_cls.make_config(spec.hyperparameters), context)
        modules = [m for m in vars(agent).values() if isinstance(m, torch.nn.Module)]
        assert modules
        return [p.detach().clone() for m in modules for p in m.parameters()]

    first, again, other = weights(0), weights(0), weights(1)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))
