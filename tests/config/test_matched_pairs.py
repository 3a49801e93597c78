"""Entries of params.yaml meant to match, matched: the in-house DQN and SB3's DQN train with the same values.

Each shared value is written once in params.yaml (a YAML anchor) and resolved by the YAML load in
:func:`rlbench.config.params.load_params`; these tests read the resolved configs, so a value edited on one side
only (an anchor replaced by a literal) fails here. Fields that differ by design are listed with their reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from rlbench.config.params import load_params
from tests.conftest import ROOT

PARAMS = load_params(ROOT / "params.yaml")

SB3_ONLY = {"optimize_memory_usage", "replay_buffer_kwargs"}
"""SB3 arguments with no in-house counterpart (the in-house frame replay is ``replay_storage: frames``)."""


def _without(values: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in keys}


@pytest.mark.parametrize("env", sorted(PARAMS.algos["sb3_dqn"].per_env))
def test_in_house_and_sb3_dqn_use_the_same_rl_zoo_values(env: str) -> None:
    ours = PARAMS.algos["dqn"].for_env(env)
    sb3 = PARAMS.algos["sb3_dqn"].for_env(env)
    assert _without(ours, "net_arch") == sb3["algo_kwargs"]
    assert ours["net_arch"] == sb3["net_arch"]


def test_every_classic_env_of_the_in_house_dqn_has_its_sb3_twin() -> None:
    classic = {"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3"}
    assert classic <= set(PARAMS.algos["dqn"].per_env)
    assert set(PARAMS.algos["sb3_dqn"].per_env) == classic


def test_atari_pair_matches() -> None:
    ours = PARAMS.algos["dqn_atari"].hyperparameters
    sb3 = PARAMS.algos["sb3_dqn_atari"].hyperparameters
    assert _without(ours, "network", "net_arch", "replay_storage") == _without(sb3["algo_kwargs"], *SB3_ONLY)
    assert sb3["policy"] == "CnnPolicy" and ours["network"] == "nature_cnn"


@pytest.mark.parametrize("ours_name, sb3_name", [("dqn_minatar_adam", "sb3_dqn_minatar"),
                                                 ("dqn_minatar_paper_5m", "sb3_dqn_minatar_paper")])
def test_minatar_pairs_match(ours_name: str, sb3_name: str) -> None:
    ours = PARAMS.algos[ours_name].hyperparameters
    sb3 = PARAMS.algos[sb3_name].hyperparameters
    # SB3 always clips the gradient norm: 1e10 is its "never", the in-house null
    assert ours["max_grad_norm"] is None and sb3["algo_kwargs"]["max_grad_norm"] >= 1e10
    assert (_without(ours, "max_grad_norm", "network", "net_arch", "optimizer")
            == _without(sb3["algo_kwargs"], "max_grad_norm"))
    assert ours["net_arch"] == sb3["net_arch"] and ours["network"] == sb3["features_extractor"]
    assert ours_name != "dqn_minatar_adam" or ours["optimizer"] == "adam"  # SB3's default optimiser
