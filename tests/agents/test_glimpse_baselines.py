"""The glimpse task's location baselines: random among the digit cells' centres (``locations: random_centres``)
and the oracle that looks where the digit is (``locations: oracle``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlbench.agents.base import AgentContext
from rlbench.agents.glimpse_task import cell_centres, location_grid
from rlbench.agents.ram import RecurrentAttentionAgent
from rlbench.envs.glimpse import GlimpseEnv, extract_glimpse, pad_canvas
from rlbench.seeding import RunSeeds, child, generator
from rlbench.training.loop import run_env_loop
from tests.conftest import RecordingMonitor


def glimpses(seed: int | None, split: str = "train") -> gym.Env:
    env = gym.wrappers.RecordEpisodeStatistics(GlimpseEnv(split=split))
    if seed is not None:
        env.reset(seed=seed)
    return env


RANDOM_CENTRES = {"locations": "random_centres", "location_grid": 5, "location_learning_rate": 0.01}
"""The glimpse suite's ``ram_random_centres``."""


def ram_agent(values: dict[str, Any], seeds: RunSeeds, steps: int = 400,
              cls: type[RecurrentAttentionAgent] = RecurrentAttentionAgent) -> RecurrentAttentionAgent:
    probe = glimpses(None)
    context = AgentContext(env_name="test", observation_space=probe.observation_space,
                           action_space=probe.action_space, seeds=seeds, make_env=glimpses, total_steps=steps)
    return cls(cls.make_config(values), context)


class RecordingRAM(RecurrentAttentionAgent):
    """Records every location it chooses while training."""

    def __init__(self, config: Any, context: AgentContext) -> None:
        super().__init__(config, context)
        self.recorded: list[np.ndarray] = []

    def act(self, obs: dict[str, np.ndarray], explore: bool) -> dict[str, Any]:
        action = super().act(obs, explore)
        self.recorded.append(action["location"])
        return action


def trained_locations(values: dict[str, Any], seeds: RunSeeds, steps: int = 400) -> tuple[RecordingRAM, np.ndarray]:
    agent = ram_agent(values, seeds, steps, RecordingRAM)
    run_env_loop(agent, steps, RecordingMonitor())
    return agent, np.array(agent.recorded)


def test_cell_centres_are_where_the_digit_sits():
    centres = cell_centres(16, 8)
    assert centres.tolist() == [[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]]
    grid = location_grid(5).tolist()
    assert all(c in grid for c in centres.tolist())  # 4 of the 25 points the grid policies choose among
    # A digit alone on the task's canvas: a glimpse at one of the centres holds all of it in its 8-pixel patch.
    env = GlimpseEnv(clutter=0)
    env.reset(seed=0)
    found = set()
    for _ in range(40):
        obs, _ = env.reset()
        padded = pad_canvas(obs["canvas"], 4, 3)
        inside = [4.0 * extract_glimpse(padded, 16, centre, 4, 3)[1].sum() for centre in centres]  # 2x2 means: sums / 4
        holding = [i for i, total in enumerate(inside) if np.isclose(total, obs["canvas"].sum(), atol=1e-4)]
        assert len(holding) == 1
        found.add(holding[0])
    assert found == {0, 1, 2, 3}


def test_random_centres_draw_only_cell_centres_from_the_exploration_stream():
    seeds = RunSeeds.from_seed(0)
    agent, chosen = trained_locations(RANDOM_CENTRES, seeds)
    centres = cell_centres(16, 8)
    assert len(chosen) == 400
    indices = [int(np.flatnonzero((centres == c).all(axis=1))[0]) for c in chosen]  # every choice is a centre
    assert set(indices) == {0, 1, 2, 3}
    # Training draws one index per step from the exploration stream, nothing else.
    stream = generator(seeds.exploration)
    assert indices == [int(stream.integers(4)) for _ in range(400)]
    assert agent.diagnostics() == {}  # no location policy learns, so no location gradient is measured
    # Other network and environment streams: the same locations. Another exploration stream: others.
    other = dataclasses.replace(seeds, network=RunSeeds.from_seed(1).network, env=RunSeeds.from_seed(1).env)
    assert np.array_equal(trained_locations(RANDOM_CENTRES, other)[1], chosen)
    moved = dataclasses.replace(seeds, exploration=RunSeeds.from_seed(1).exploration)
    assert not np.array_equal(trained_locations(RANDOM_CENTRES, moved)[1], chosen)


def test_random_centres_evaluation_draws_from_its_own_stream_every_round():
    seeds = RunSeeds.from_seed(2)
    agent, _ = trained_locations(RANDOM_CENTRES, seeds, steps=200)
    rounds = []
    for _ in range(2):
        policy, env = agent.evaluation_policy(), GlimpseEnv(split="test")
        obs, _ = env.reset(seed=7)
        locations = []
        for _ in range(20):
            policy.reset()
            obs, _ = env.reset()
            done = False
            while not done:
                action = policy.act(obs)
                locations.append(action["location"].tolist())
                obs, _, done, _, _ = env.step(action)
        rounds.append(locations)
    assert rounds[0] == rounds[1]  # the same draws every evaluation round
    stream = generator(child(seeds.exploration, 1))
    expected = [cell_centres(16, 8)[stream.integers(4)].tolist() for _ in range(40)]
    assert rounds[0] == expected


def test_random_centres_keeps_the_rest_of_the_model():
    seeds = RunSeeds.from_seed(0)
    random, centres = ram_agent({**RANDOM_CENTRES, "locations": "random"}, seeds), ram_agent(RANDOM_CENTRES, seeds)
    for (name, a), (_, b) in zip(random.net.state_dict().items(), centres.net.state_dict().items()):
        assert torch.equal(a, b), name  # the same network, initialised the same, location head included


ORACLE = {"locations": "oracle", "location_grid": 5, "location_learning_rate": 0.01}
"""The glimpse suite's ``ram_oracle``."""


def test_the_environment_reports_where_the_digit_is():
    env = GlimpseEnv(clutter=0)
    env.reset(seed=0)
    seen = set()
    for _ in range(40):
        obs, _ = env.reset()
        assert obs["digit"].tolist() in cell_centres(16, 8).tolist()
        seen.add(tuple(obs["digit"].tolist()))
        # The digit alone on the canvas: an 8-pixel patch centred at obs["digit"] holds every one of its pixels.
        patch = extract_glimpse(pad_canvas(obs["canvas"], 4, 3), 16, obs["digit"], 4, 3)[1]
        assert np.isclose(4.0 * patch.sum(), obs["canvas"].sum(), atol=1e-4)
        digit = obs["digit"].copy()
        obs, *_ = env.step({"location": np.zeros(2, np.float32), "label": 0})
        assert np.array_equal(obs["digit"], digit)  # the same digit all episode
    assert len(seen) == 4
    anywhere = GlimpseEnv(placement="anywhere", clutter=0)
    obs, _ = anywhere.reset(seed=1)
    patch = extract_glimpse(pad_canvas(obs["canvas"], 4, 3), 16, obs["digit"], 4, 3)[1]
    assert np.isclose(4.0 * patch.sum(), obs["canvas"].sum(), atol=1e-4)


def test_oracle_looks_at_the_digit_and_draws_no_randomness():
    seeds = RunSeeds.from_seed(0)
    agent = ram_agent(ORACLE, seeds, steps=200, cls=RecordingRAM)
    env = glimpses(3)
    obs, _ = env.reset()
    agent.observe_first(obs)
    for _ in range(20):
        action = agent.act(obs, explore=True)
        assert np.array_equal(action["location"], obs["digit"])  # every next glimpse centred on the digit
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            agent.observe_first(obs)
    untouched = generator(seeds.exploration)
    assert agent.rng.bit_generator.state == untouched.bit_generator.state
    assert agent.diagnostics() == {}


def test_oracle_needs_the_digit_observation():
    probe = glimpses(None)
    spaces = dict(probe.observation_space.spaces)
    del spaces["digit"]
    context = AgentContext(env_name="test", observation_space=gym.spaces.Dict(spaces),
                           action_space=probe.action_space, seeds=RunSeeds.from_seed(0), make_env=glimpses,
                           total_steps=10)
    with pytest.raises(ValueError, match="digit observation"):
        RecurrentAttentionAgent(RecurrentAttentionAgent.make_config(ORACLE), context)
    RecurrentAttentionAgent(RecurrentAttentionAgent.make_config({**ORACLE, "locations": "random"}), context)
