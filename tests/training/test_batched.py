"""K seeds at once: the batched update equals K separate ones; batched runs are deterministic and ordinary."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
import yaml

from rlbench.agents.base import AgentContext, Transition
from rlbench.agents.dqn import DQNAgent
from rlbench.agents.dqn_batched import BatchedDQN, ExplorationDraws
from rlbench.nets.stacked import clip_grad_norm_per_seed_
from rlbench.config.params import parse_params
from rlbench.config.plan import plan_suite
from rlbench.envs.registry import make_env
from rlbench.envs.seed_vector import make_seed_vector_env
from rlbench.errors import RlbenchError
from rlbench.execution.launcher import launch
from rlbench.reporting.leaderboard import execution_statement
from rlbench.seeding import RunSeeds, int_seed
from rlbench.storage.run_store import RunStore
from rlbench.training.batched import run_batched_loop, seed_view
from rlbench.training.diagnostics import evaluation_diagnostics
from tests.conftest import ROOT

SEEDS = (0, 1, 2)


def _contexts(total_steps: int = 1000, env: str = "CartPole-v1") -> list[AgentContext]:
    probe = make_env(env)
    return [AgentContext(env, probe.observation_space, probe.action_space, RunSeeds.from_seed(seed),
                         lambda s: make_env(env, s), total_steps) for seed in SEEDS]


def _observation(space, rng: np.random.Generator) -> np.ndarray:  # noqa: ANN001
    if space.dtype == np.float32:
        return rng.normal(size=space.shape).astype(np.float32)
    return (rng.random(size=space.shape) < 0.3).astype(space.dtype)  # MinAtar's binary channels


def _fill(agents: list, batched: BatchedDQN, steps: int = 300) -> None:
    """The same transitions (a different stream per seed) into each single agent and the batched one."""
    rng = np.random.default_rng(7)
    space, n_actions = batched.contexts[0].observation_space, batched.n_actions
    for _ in range(steps):
        transitions = [Transition(_observation(space, rng), int(rng.integers(n_actions)), float(rng.normal()),
                                  _observation(space, rng), bool(rng.random() < 0.1), False)
                       for _ in agents]
        for agent, transition in zip(agents, transitions):
            agent.observe(transition)
        batched.observe(*(np.array([getattr(t, name) for t in transitions])
                          for name in ("obs", "action", "reward", "next_obs", "terminated", "truncated")))


def _assert_seed_weights(batched: BatchedDQN, k: int, agent: DQNAgent, rtol: float, atol: float) -> None:
    separate = copy.deepcopy(agent.q_net)
    batched.q_net.load_seed_into(k, separate)  # seed k's stacked weights, in the separate network's layout
    for mine, theirs in zip(separate.parameters(), agent.q_net.parameters(), strict=True):
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


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
        _assert_seed_weights(batched, k, agent, rtol=0, atol=0)
    _fill(agents, batched)
    for _ in range(3):
        losses = batched.gradient_step()
        separate = [agent.gradient_step() for agent in agents]
        np.testing.assert_allclose(losses, separate, rtol=1e-5, atol=1e-7)
    for k, agent in enumerate(agents):
        _assert_seed_weights(batched, k, agent, rtol=1e-5, atol=1e-6)
    observations = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    for k, agent in enumerate(agents):  # and the same greedy actions and action values
        policy, single = batched.evaluation_policy(k), agent.evaluation_policy()
        assert [policy.act(o) for o in observations] == [single.act(o) for o in observations]
        np.testing.assert_allclose(batched.q_values(k, observations), agent.q_values(observations), rtol=1e-5, atol=1e-6)


def test_a_batched_seed_on_the_maze_gets_the_distance_to_q_star():
    probe = make_env("Maze-Lecture-v0")
    contexts = [AgentContext("Maze-Lecture-v0", probe.observation_space, probe.action_space, RunSeeds.from_seed(seed),
                             lambda s: make_env("Maze-Lecture-v0", s), 1000) for seed in SEEDS]
    config = DQNAgent.make_config({"net_arch": [16]})
    batched = BatchedDQN(config, contexts)
    separate = DQNAgent(config, contexts[1])
    batched_values = evaluation_diagnostics(seed_view(batched, 1), "Maze-Lecture-v0", final=False)
    assert set(batched_values) == {"q_error", "greedy_optimal"}
    separate_values = evaluation_diagnostics(separate, "Maze-Lecture-v0", final=False)  # same initial weights
    assert batched_values == pytest.approx(separate_values, rel=1e-5)


@pytest.mark.parametrize("max_grad_norm", [None, 0.05])
def test_batched_minatar_cnn_update_equals_k_separate_updates(max_grad_norm):
    """Grouped convolutions and centred RMSProp: the MinAtar network of K seeds in one."""
    config = DQNAgent.make_config({"network": "minatar_cnn", "net_arch": [32], "batch_size": 8, "learning_rate": 0.01,
                                   "optimizer": "rmsprop", "max_grad_norm": max_grad_norm})
    contexts = _contexts(env="MinAtar-Breakout-v0")
    agents = [DQNAgent(config, context) for context in contexts]
    batched = BatchedDQN(config, contexts)
    for k, agent in enumerate(agents):
        _assert_seed_weights(batched, k, agent, rtol=0, atol=0)
    _fill(agents, batched, steps=50)
    for _ in range(3):
        losses = batched.gradient_step()
        separate = [agent.gradient_step() for agent in agents]
        np.testing.assert_allclose(losses, separate, rtol=1e-4, atol=1e-6)
    observations = np.stack([_observation(contexts[0].observation_space, np.random.default_rng(seed)) for seed in range(20)])
    for k, agent in enumerate(agents):
        _assert_seed_weights(batched, k, agent, rtol=1e-4, atol=1e-5)
        policy, single = batched.evaluation_policy(k), agent.evaluation_policy()
        assert [policy.act(o) for o in observations] == [single.act(o) for o in observations]
    greedy = batched.greedy_actions(observations[:len(SEEDS)])  # seed k acting on observation k
    assert greedy.tolist() == [agents[k].evaluation_policy().act(observations[k]) for k in range(len(SEEDS))]


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
        raw.algos["dqn"], hyperparameters={"replay_storage": "frames"})})
    with pytest.raises(RlbenchError, match="batch_seeds 2: batched DQN supports replay_storage vector only"):
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


class _Recorder:
    """A training monitor that records episode ends (and evaluates nothing)."""

    def __init__(self) -> None:
        self.episodes: list[tuple[int, float, int]] = []

    def on_step(self, step: int) -> None:
        pass

    def on_episode_end(self, step: int, episode_return: float, length: int) -> None:
        self.episodes.append((step, episode_return, length))


def test_batched_loop_on_numpy_cartpole_equals_it_on_gymnasium_environments():
    config = DQNAgent.make_config({"net_arch": [32, 16], "batch_size": 16, "learning_starts": 200, "train_freq": 4,
                                   "target_update_interval": 100, "exploration_fraction": 0.3})
    results = []
    for vectorised in (True, False):
        contexts = _contexts(total_steps=3000)
        agent = BatchedDQN(config, contexts)
        monitors = [_Recorder() for _ in contexts]
        envs = make_seed_vector_env("CartPole-v1", [int_seed(c.seeds.env) for c in contexts], vectorised)
        run_batched_loop(agent, contexts, monitors, 3000, envs)
        results.append(([m.episodes for m in monitors], [w.copy() for w, _ in agent.layers]))
    (episodes, weights), (reference_episodes, reference_weights) = results
    assert episodes == reference_episodes and all(len(e) > 20 for e in episodes)
    for mine, reference in zip(weights, reference_weights):
        assert mine.tobytes() == reference.tobytes()


def test_exploration_draws_depend_on_each_seeds_own_stream_alone():
    together = ExplorationDraws([np.random.default_rng(seed) for seed in (5, 6, 7)], n_actions=3, block=16)
    alone = ExplorationDraws([np.random.default_rng(6)], n_actions=3, block=16)
    draws = [(together.next(), alone.next()) for _ in range(40)]  # across two block refills
    for (uniforms, actions), (uniform, action) in draws:
        assert uniforms[1] == uniform[0] and actions[1] == action[0]
    all_actions = np.array([actions for (_, actions), _ in draws])
    assert set(all_actions.ravel().tolist()) == {0, 1, 2}
    assert len({tuple(column) for column in all_actions.T}) == 3  # the seeds draw differently
