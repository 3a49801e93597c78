"""What a comparison changes: the shared settings vocabulary, "differs in", confounded and matched pairs, and the
implementation-equivalence verdict of a matched pair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from rlbench.config.comparison import compare, comparisons, matched_pairs
from rlbench.config.params import load_params, parse_params
from rlbench.config.plan import SuitePlan, plan_suite
from rlbench.config.settings import comparable_settings
from rlbench.reporting.comparisons import (DIFFERENT, EQUIVALENT, SUITE_ROW, budget_statement, comparison_frame,
                                           comparison_statement, implementation_equivalence)
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def minatar() -> SuitePlan:
    """The published MinAtar suite with every in-house DQN preset (the paper-faithful one joins it once trained)."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    algos = raw["suites"]["minatar"]["algos"]
    raw["suites"]["minatar"]["algos"] = algos + [a for a in ("dqn_minatar_paper",) if a not in algos]
    return plan_suite(parse_params(raw), "minatar")


def _pair(plan: SuitePlan, x: str, y: str):
    return compare(x, y, plan.settings[x], plan.settings[y])


def test_the_matched_minatar_dqn_differs_from_sb3s_only_in_its_implementation(minatar):
    pair = _pair(minatar, "dqn_minatar_adam", "sb3_dqn_minatar")
    assert pair.matched and not pair.confounded
    assert pair.differs_in == "implementation: rlbench vs Stable-Baselines3"


def test_the_published_minatar_dqn_pair_is_confounded_by_its_optimiser(minatar):
    """The comparison the issue measured: in-house (centred RMSProp) vs SB3 (Adam) changes two things at once."""
    pair = _pair(minatar, "dqn_minatar", "sb3_dqn_minatar")
    assert pair.confounded and not pair.matched
    assert [d.setting for d in pair.differences] == ["implementation", "optimizer"]
    assert "centred RMSProp (alpha 0.95, eps 0.01) vs Adam (eps 1e-08)" in pair.differs_in


def test_one_change_within_an_algorithm_is_clean_and_names_the_change(minatar):
    pair = _pair(minatar, "dqn_minatar", "dqn_minatar_adam")
    assert not pair.confounded and [d.setting for d in pair.differences] == ["optimizer"]
    paper = _pair(minatar, "dqn_minatar", "dqn_minatar_paper")
    # One update per frame keeps the target period at 1,000 env steps, so it is 4x as many updates: two settings.
    assert {d.setting for d in paper.differences} == {"updates_per_step", "target_period"}
    assert "0.25 (1 per 4 steps) vs 1 (1 per 1 steps)" in paper.differs_in


def test_different_algorithms_are_confounded_only_by_the_protocol():
    dqn = {"CartPole-v1": {"algorithm": "DQN", "budget": "50,000 steps", "discount": "0.99"}}
    ppo = {"CartPole-v1": {"algorithm": "PPO", "budget": "50,000 steps", "discount": "0.98"}}
    assert not compare("dqn", "ppo", dqn, ppo).confounded
    longer = {"CartPole-v1": {**ppo["CartPole-v1"], "budget": "100,000 steps"}}
    pair = compare("dqn", "ppo", dqn, longer)
    assert pair.confounded and pair.reason == "measured under different budget"
    assert pair.differs_in.startswith("budget: 50,000 steps vs 100,000 steps")


def test_a_setting_that_differs_on_some_environments_names_how_many():
    x = {"A": {"algorithm": "DQN", "discount": "0.99"}, "B": {"algorithm": "DQN", "discount": "0.99"}}
    y = {"A": {"algorithm": "DQN", "discount": "0.99"}, "B": {"algorithm": "DQN", "discount": "0.98"}}
    assert compare("x", "y", x, y).differs_in == "discount: on 1 of 2 environments, e.g. B: 0.99 vs 0.98"
    assert compare("x", "x2", x, x).differs_in == "nothing"


def test_the_classic_dqn_pair_is_matched_and_the_reinforce_ablation_changes_only_the_baseline():
    plan = plan_suite(load_params(ROOT / "params.yaml"), "classic")
    pairs = {(c.x, c.y): c for c in comparisons(plan.settings)}
    assert pairs[("dqn", "sb3_dqn")].matched
    ablation = pairs[("reinforce", "reinforce_baseline")]
    assert [d.setting for d in ablation.differences] == ["baseline"] and not ablation.confounded
    assert [(c.x, c.y) for c in matched_pairs(plan.settings)] == [("dqn", "sb3_dqn")]


def test_a_plugin_without_a_translation_is_described_by_its_hyperparameters():
    class Plugin:
        pass

    settings = comparable_settings(Plugin, {"learning_rate": 0.001, "layers": [64, 64]}, 1000)
    assert settings["hyperparameter learning_rate"] == "0.001"
    assert settings["hyperparameter layers"] == "[64, 64]"

    class Declared:
        @classmethod
        def comparable_settings(cls, config, budget):
            return {"algorithm": "DQN", "optimizer": "Adam (eps 1e-08)"}

    assert comparable_settings(Declared, {}, 1000)["optimizer"] == "Adam (eps 1e-08)"


def test_the_plan_file_keeps_the_settings(minatar, tmp_path):
    again = SuitePlan.from_json(minatar.to_json(), "test")
    assert again.settings == minatar.settings
    assert set(again.select(["dqn_minatar"]).settings) == {"dqn_minatar"}


def _matched_table(x_runs: dict[str, list[float]], y_runs: dict[str, list[float]]) -> pd.DataFrame:
    settings = {env: {"algorithm": "DQN", "implementation": "rlbench"} for env in x_runs}
    other = {env: {"algorithm": "DQN", "implementation": "SB3"} for env in x_runs}
    pairs = comparisons({"x": settings, "y": other})
    normalization = pd.DataFrame({"env": list(x_runs), "random": 0.0, "reference": 100.0})
    returns = {"x": {e: np.asarray(v) for e, v in x_runs.items()}, "y": {e: np.asarray(v) for e, v in y_runs.items()}}
    return implementation_equivalence(pairs, returns, normalization)


def test_implementation_equivalence_is_an_intersection_union_test():
    rng = np.random.default_rng(0)
    close = {env: list(50 + rng.normal(0, 1, 10)) for env in ("A", "B")}
    also_close = {env: list(50 + rng.normal(0, 1, 10)) for env in ("A", "B")}
    table = _matched_table(close, also_close)
    assert list(table["verdict"]) == [EQUIVALENT, EQUIVALENT, EQUIVALENT]
    assert table["env"].iloc[-1] == SUITE_ROW and table["margin"].iloc[0] == pytest.approx(10.0)
    far = {"A": also_close["A"], "B": list(80 + rng.normal(0, 1, 10))}
    table = _matched_table(close, far)
    assert list(table["verdict"]) == [EQUIVALENT, DIFFERENT, DIFFERENT]


def test_statements_name_the_confounded_pairs_and_the_budgets():
    x = {"A": {"algorithm": "DQN", "optimizer": "Adam", "implementation": "rlbench"}}
    y = {"A": {"algorithm": "DQN", "optimizer": "RMSProp", "implementation": "SB3"}}
    text = comparison_statement(comparison_frame(comparisons({"x": x, "y": y})))
    assert "**Confounded comparisons**" in text and "`x` vs `y` (same algorithm, 2 settings changed at once" in text
    published = pd.DataFrame({"ours": ["sb3_ppo"], "env": ["CartPole-v1"], "published_steps": ["100000"],
                              "our_steps": [50000], "published": ["SB3 PPO (rl-baselines3-zoo)"]})
    assert "`sb3_ppo` (its reference, SB3 PPO (rl-baselines3-zoo): CartPole-v1 100,000 steps)" in budget_statement(
        published)
