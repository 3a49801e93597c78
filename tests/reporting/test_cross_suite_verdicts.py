"""The cross-suite verdict table: one row per published cell, from the suite with the most seeds, or pending."""

import numpy as np
import pandas as pd

from rlbench.config.params import SuiteConfig
from rlbench.reporting.published import published_vs_ours
from rlbench.reporting.verdicts import NO_SUITE, TOO_FEW_RUNS, pending, verdict_counts, verdict_table, verdicts_markdown

NORMALIZATION = pd.DataFrame([{"env": "CartPole-v1", "random": 22.0, "reference": 500.0},
                              {"env": "Acrobot-v1", "random": -500.0, "reference": -60.0}])


def _row(algorithm: str, env: str, steps: int, score: float, seeds: int = 1) -> dict[str, object]:
    return {"source": "zoo", "algorithm": algorithm, "env_id": env, "timesteps": steps, "seeds": seeds,
            "statistic": "mean±std over eval episodes", "score": score, "score_err": 0.0, "protocol": "deterministic"}


PUBLISHED = pd.DataFrame([
    _row("SB3 DQN", "CartPole-v1", 2000, 480.0),   # tested by two suites: the one with more seeds decides
    _row("SB3 A2C", "CartPole-v1", 9000, 480.0),   # only tested at another budget; a defined, unpublished suite
    _row("SB3 PPO", "Acrobot-v1", 7000, -80.0),    # no suite at that budget
    _row("reward_threshold", "CartPole-v1", 0, 475.0),  # not an algorithm: no row
])


def _suite(name: str, algos: tuple[str, ...], budget: int, seeds: int) -> SuiteConfig:
    return SuiteConfig(name=name, algos=algos, envs=("CartPole-v1",), seeds=tuple(range(seeds)),
                       budget={"CartPole-v1": budget}, eval_every=1000, eval_episodes=2)


SUITES = {"small": _suite("small", ("sb3_dqn", "sb3_a2c"), 2000, 3),
          "big": _suite("big", ("sb3_dqn",), 2000, 6),
          "zoo-a2c": _suite("zoo-a2c", ("sb3_a2c",), 9000, 5)}


def _suite_table(finals: dict[str, np.ndarray], budget: int) -> pd.DataFrame:
    return published_vs_ours(PUBLISHED, {algo: {"CartPole-v1": f} for algo, f in finals.items()}, NORMALIZATION,
                             {"CartPole-v1": budget})


def test_each_published_cell_gets_one_verdict_from_the_suite_with_most_seeds_or_a_pending_one():
    small = _suite_table({"sb3_dqn": np.array([470.0, 480.0, 490.0]), "sb3_a2c": np.array([480.0, 481.0])}, 2000)
    big = _suite_table({"sb3_dqn": np.array([100.0, 110.0, 120.0, 130.0, 115.0, 105.0])}, 2000)
    table = verdict_table(PUBLISHED, {"small": small, "big": big}, SUITES)
    assert list(table["published"].str.split(" ").str[1]) == ["DQN", "DQN", "A2C", "PPO"]
    assert list(table["ours"]) == ["sb3_dqn", "dqn", "sb3_a2c", "sb3_ppo"]
    sb3_dqn = table.iloc[0]
    assert (sb3_dqn["suite"], sb3_dqn["our_seeds"], sb3_dqn["also_tested_in"]) == ("big", 6, "small")
    assert sb3_dqn["verdict"] == "inconsistent"  # big's verdict, not small's "consistent"
    assert table.iloc[1]["verdict"] == NO_SUITE  # the in-house dqn is in no suite here
    # small trains A2C at 2,000 steps, not the published 9,000: zoo-a2c would test it, and is not published
    assert (table.iloc[2]["suite"], table.iloc[2]["verdict"]) == ("zoo-a2c", pending(["zoo-a2c"]))
    assert table.iloc[3]["verdict"] == NO_SUITE
    counts = dict(zip(verdict_counts(table)["verdict"], verdict_counts(table)["cells"]))
    assert counts == {NO_SUITE: 2, "inconsistent": 1, "pending": 1}
    markdown = verdicts_markdown(table, ["small", "big"])
    assert "`small`, `big`" in markdown and markdown.count("\n| ") >= 4 + 3


def test_a_published_suite_that_tests_a_cell_replaces_its_pending_verdict():
    small = _suite_table({"sb3_a2c": np.array([480.0, 481.0])}, 2000)
    zoo = _suite_table({"sb3_a2c": np.array([479.0, 480.0, 481.0, 480.5, 479.5])}, 9000)
    table = verdict_table(PUBLISHED, {"small": small, "zoo-a2c": zoo}, SUITES)
    a2c = table[table["ours"] == "sb3_a2c"].iloc[0]
    assert (a2c["suite"], a2c["verdict"]) == ("zoo-a2c", "consistent") and pd.isna(a2c["also_tested_in"])


def test_a_published_suite_without_two_finished_runs_says_so():
    one_run = _suite_table({"sb3_a2c": np.array([480.0])}, 9000)  # a test needs two runs: no row
    table = verdict_table(PUBLISHED, {"zoo-a2c": one_run}, SUITES)
    assert table[table["ours"] == "sb3_a2c"].iloc[0]["verdict"] == TOO_FEW_RUNS


def test_training_returns_are_compared_with_a_published_training_return_and_versions_must_match():
    published = pd.DataFrame([
        {**_row("CleanRL dqn.py", "CartPole-v1", 2000, 480.0, seeds=3), "score_err": 10.0,
         "protocol": "training returns with epsilon-greedy", "algorithm": "CleanRL dqn.py"},
        _row("SB3 DQN", "LunarLander-v2", 2000, 150.0),
    ])
    normalization = pd.concat([NORMALIZATION, pd.DataFrame([{"env": "LunarLander-v3", "random": -180.0,
                                                             "reference": 200.0}])], ignore_index=True)
    greedy = {"dqn_cleanrl": {"CartPole-v1": np.full(5, 500.0)}, "sb3_dqn": {"LunarLander-v3": np.arange(5.0) + 150}}
    training = {"dqn_cleanrl": {"CartPole-v1": np.array([470.0, 480.0, 490.0, 485.0, 475.0])}}
    table = published_vs_ours(published, greedy, normalization, {"CartPole-v1": 2000, "LunarLander-v3": 2000},
                              training, {"TOST": "x"})
    cleanrl, lunar = table.iloc[0], table.iloc[1]
    # Training returns (mean 480) are compared, not the greedy 500s: the difference is zero, not +20.
    assert cleanrl["difference"] == 0.0 and "training-episode returns" in cleanrl["compared"]
    assert cleanrl["verdict"] in {"reproduced", "inconclusive"} and cleanrl["test"].startswith("TOST")
    assert lunar["verdict"] == "not tested: published on LunarLander-v2, ours on LunarLander-v3"
    # Without our training returns a training-return cell is not compared with the greedy evaluation at all.
    assert published_vs_ours(published.iloc[:1], greedy, normalization, {"CartPole-v1": 2000}).empty
