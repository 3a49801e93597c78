"""Every registered environment passes gymnasium's checker and records what it is."""

from __future__ import annotations

import pytest
from gymnasium.utils.env_checker import check_env

from rlbench.envs.registry import ENVIRONMENTS, env_info, make_env
from rlbench.errors import RlbenchError


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_check_env(name):
    env = make_env(name, seed=0)
    check_env(env.unwrapped, skip_render_check=True)
    check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_env_info_records_id_version_wrappers(name):
    info = env_info(name)
    assert info["gym_id"].split("/")[-1] == name  # rlbench's own environments live in the "rlbench/" namespace
    assert name.endswith(f"-v{info['version']}")
    assert info["wrappers"] == ["RecordEpisodeStatistics"]


def test_seed_reaches_env_and_action_space():
    a, b, c = make_env("CartPole-v1", 3), make_env("CartPole-v1", 3), make_env("CartPole-v1", 4)
    obs_a, obs_b, obs_c = a.reset()[0], b.reset()[0], c.reset()[0]
    assert (obs_a == obs_b).all() and not (obs_a == obs_c).all()
    samples = [[env.action_space.sample() for _ in range(32)] for env in (a, b, c)]
    assert samples[0] == samples[1] != samples[2]


def test_unknown_env():
    with pytest.raises(RlbenchError, match="valid choices: Acrobot-v1, Atari-Alien-v0, "):
        make_env("Pong-v5")
