"""Hyperparameter ranges: every out-of-range value is one line naming key, value and what is allowed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest
import yaml

from rlbench.config.params import parse_params
from rlbench.config.plan import plan_suite
from rlbench.config.ranges import Range, check_ranges
from rlbench.errors import RlbenchError
from tests.conftest import ROOT, run_cli


def smoke_with(algo: str, **values) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["algos"][algo].setdefault("hyperparameters", {}).update(values)
    return raw


@pytest.mark.parametrize(
    ("algo", "values", "expected"),
    [
        ("dqn", {"learning_rate": -0.001}, "algos.dqn[CartPole-v1].learning_rate: -0.001 is out of range; allowed: a finite number in (0, 1]"),
        ("dqn", {"learning_rate": math.nan}, "learning_rate: nan is out of range"),
        ("dqn", {"learning_rate": 1e30}, "learning_rate: 1e+30 is out of range"),
        ("dqn", {"gamma": 5.0}, "gamma: 5.0 is out of range; allowed: a finite number in (0, 1]"),
        ("dqn", {"net_arch": [0]}, "net_arch: [0] is out of range; allowed: a non-empty list of positive integers"),
        ("dqn", {"exploration_final_eps": 1.5}, "exploration_final_eps: 1.5 is out of range; allowed: a finite number in [0, 1]"),
        ("dqn", {"learning_starts": -1}, "learning_starts: -1 is out of range; allowed: an integer >= 0"),
        ("dqn", {"max_grad_norm": 0.0}, "max_grad_norm: 0.0 is out of range; allowed: a finite number > 0 or None"),
        ("reinforce", {"learning_rate": 0.0}, "algos.reinforce[CartPole-v1].learning_rate: 0.0 is out of range"),
        ("reinforce", {"baseline_learning_rate": math.inf}, "baseline_learning_rate: inf is out of range"),
        ("reinforce", {"entropy_coef": -0.1}, "entropy_coef: -0.1 is out of range; allowed: a finite number >= 0"),
        ("sb3_ppo", {"algo_kwargs": {"gamma": 2.0}}, "algos.sb3_ppo[CartPole-v1].algo_kwargs.gamma: 2.0 is out of range"),
        ("sb3_a2c", {"n_envs": 0}, "n_envs: 0 is out of range; allowed: an integer >= 1"),
    ],
)
def test_out_of_range_values_are_rejected_before_any_run(algo, values, expected):
    raw = smoke_with(algo, **values)
    raw["algos"][algo].pop("per_env", None)  # the smoke suite's own values, so the bad one is what is checked
    with pytest.raises(RlbenchError) as error:
        plan_suite(parse_params(raw), "smoke")
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_batch_larger_than_buffer_is_inconsistent():
    raw = smoke_with("dqn", batch_size=512, buffer_size=100)
    raw["algos"]["dqn"].pop("per_env")
    with pytest.raises(RlbenchError, match="batch_size: 512 is larger than buffer_size 100"):
        plan_suite(parse_params(raw), "smoke")


def test_every_published_and_defined_suite_is_in_range(params):
    for suite in params.suites:
        plan_suite(params, suite)


def test_plugins_declare_ranges_of_their_own_fields():
    @dataclass(frozen=True)
    class PluginConfig:
        population: int = field(default=16, metadata={"range": Range(2, 1000, integer=True)})
        learning_rate: float = 0.1

    check_ranges(PluginConfig(), "algos.mine[CartPole-v1]")
    with pytest.raises(RlbenchError, match=r"population: 1 is out of range; allowed: an integer in \[2, 1000\]"):
        check_ranges(PluginConfig(population=1), "algos.mine[CartPole-v1]")
    with pytest.raises(RlbenchError, match="learning_rate: 3.0 is out of range"):  # the common rule applies too
        check_ranges(PluginConfig(learning_rate=3.0), "algos.mine[CartPole-v1]")


def test_cli_names_the_bad_value_in_one_line_and_starts_nothing(tmp_path):
    raw = smoke_with("dqn", gamma=5.0)
    raw["algos"]["dqn"].pop("per_env")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    result = run_cli("run-suite", "smoke", "--params", str(tmp_path / "params.yaml"), "--results", str(tmp_path / "r"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "gamma: 5.0 is out of range" in result.stderr
    assert not (tmp_path / "r").exists()


def test_pipeline_stats_seed_range():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["pipeline"]["stats_seed"] = -1
    with pytest.raises(RlbenchError, match=r"pipeline.stats_seed: -1 is out of range; allowed: an integer in \[0, 2\*\*32\)"):
        parse_params(raw)
