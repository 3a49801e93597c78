"""The speed benchmark's parts that need no timing: its settings come from params.yaml, and its figures keep the
digits their spread supports."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from speedbench import harness, settings  # noqa: E402

from rlbench.config.params import load_params  # noqa: E402

PARAMS = load_params(ROOT / "params.yaml")


def test_the_benchmarked_dqn_settings_are_params_yaml_s() -> None:
    zoo, clean = settings.rl_zoo(), settings.cleanrl()
    for run, entry, suite in ((zoo, "dqn", "default"), (clean, "dqn_cleanrl", "reproduce-cleanrl")):
        declared = PARAMS.algos[entry].for_env("CartPole-v1")
        assert {k: run.values[k] for k in declared} == declared
        budget = PARAMS.suites[suite].budget
        assert run.budget == (budget["CartPole-v1"] if isinstance(budget, dict) else budget)
    assert zoo.sb3 == PARAMS.algos["sb3_dqn"].for_env("CartPole-v1")
    # CleanRL has no SB3 entry: SB3 gets the in-house preset's own values
    assert clean.sb3["net_arch"] == clean.values["net_arch"]
    assert all(clean.values[k] == v for k, v in clean.sb3["algo_kwargs"].items())


def test_a_shortened_run_keeps_a_whole_run_s_proportions() -> None:
    run = settings.cleanrl()
    short = run.scaled(0.1)
    assert short.budget == run.budget // 10
    assert short.values["learning_starts"] * run.budget == run.values["learning_starts"] * short.budget
    assert short.sb3["algo_kwargs"]["learning_starts"] == short.values["learning_starts"]
    assert short.random_action_share() == pytest.approx(run.random_action_share(), abs=1e-3)


@pytest.mark.parametrize("values, places", [([1.71, 1.75, 1.79], 2), ([3410.0, 3456.0, 3530.0], -2),
                                            ([0.93, 1.12, 1.01], 1), ([5.0, 5.0], 2)])
def test_figures_keep_the_digits_their_spread_supports(values: list[float], places: int) -> None:
    assert harness.decimals(values) == places
    summary = harness.spread(values)
    assert summary["decimals"] == places
    assert summary["min"] > 0  # never rounded away: the smallest value keeps its leading digit
