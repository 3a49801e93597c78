"""The leaderboard, aggregate and seeds-needed tables show what an IQM hides: the fraction of runs at the reference
(with its Wilson interval), the share below random, the mean without its most extreme run, and the suite's one
normalisation rule, on a small classic-control suite with known normalised scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rlbench.config.plan import plan_suite
from rlbench.reporting.analysis import analyze_suite
from rlbench.reporting.caveats import normalisation_statement
from rlbench.reporting.glossary import COLUMN_GLOSSARY
from rlbench.reporting.leaderboard import LEADERBOARD_COLUMNS, displayed, leaderboard_markdown
from rlbench.scores.normalization import COLUMNS, SOLVED_THRESHOLD
from rlbench.stats.tails import wilson_interval

NORMALIZATION = pd.DataFrame(
    [{"env": "CartPole-v1", "random": 20.0, "reference": 475.0, "reference_kind": SOLVED_THRESHOLD, "clip": True,
      "solved": 475.0, "random_source": "test", "reference_source": "test"},
     {"env": "Acrobot-v1", "random": -500.0, "reference": -100.0, "reference_kind": SOLVED_THRESHOLD, "clip": True,
      "solved": -100.0, "random_source": "test", "reference_source": "test"}], columns=COLUMNS)

FINALS = {  # algo -> env -> final returns of seeds 0..3
    "dqn": {"CartPole-v1": [475.0, 500.0, 475.0, 100.0], "Acrobot-v1": [-100.0, -90.0, -100.0, -300.0]},
    "reinforce": {"CartPole-v1": [475.0, 200.0, 150.0, 30.0], "Acrobot-v1": [-500.0, -480.0, -150.0, -3000.0]},
}
# Normalised (clipped at 1): dqn CartPole 1, 1, 1, 80/455; Acrobot 1, 1, 1, 0.5 -> 6 of 8 at the reference.
# reinforce CartPole 1, 180/455, 130/455, 10/455; Acrobot 0, 0.05, 0.875, -6.25 -> 1 of 8, 1 of 8 below random.


def runs() -> pd.DataFrame:
    rows = []
    for algo, per_env in FINALS.items():
        for env, finals in per_env.items():
            start = 20.0 if env == "CartPole-v1" else -500.0
            for seed, final in enumerate(finals):
                for step, value in ((0, start), (1000, (start + final) / 2), (2000, final)):
                    rows.append((algo, env, seed, step, 0, value, 1))
    return pd.DataFrame(rows, columns=["algo", "env", "seed", "step", "episode", "return", "length"])


@pytest.fixture(scope="module")
def analysis():
    return analyze_suite(runs(), NORMALIZATION, {"dqn": "DQN", "reinforce": "REINFORCE"}, ["dqn"], [], seed=0,
                         reps=100)


def test_leaderboard_shows_the_fraction_at_the_reference_beside_the_iqm(analysis):
    board = analysis.tables["leaderboard"].set_index("algo")
    for algo, (at, below) in {"dqn": (6, 0), "reinforce": (1, 1)}.items():
        expected = wilson_interval(at, 8)
        row = board.loc[algo]
        assert row["at_reference"] == pytest.approx(at / 8)
        assert (row["at_reference_lower"], row["at_reference_upper"]) == pytest.approx((expected.lower, expected.upper))
        assert row["below_random"] == pytest.approx(below / 8)
    # dqn's IQM trims its two failed cells; the fraction at the reference does not.
    assert board.loc["dqn", "iqm"] == pytest.approx(1.0) and board.loc["dqn", "at_reference"] == 0.75
    assert board.loc["dqn", "failed_runs"] == 0  # no run failed: they merely did not learn


def test_mean_without_extreme_shows_the_run_that_drives_the_mean(analysis):
    board = analysis.tables["leaderboard"].set_index("algo")
    cartpole = np.array([1.0, 180 / 455, 130 / 455, 10 / 455])
    acrobot = [0.0, 0.05, 0.875, -6.25]
    assert board.loc["reinforce", "mean"] == pytest.approx((cartpole.mean() + np.mean(acrobot)) / 2)
    assert board.loc["reinforce", "mean_without_extreme"] == pytest.approx((cartpole.mean() + np.mean(acrobot[:3])) / 2)
    assert board.loc["reinforce", "mean"] < 0 < board.loc["reinforce", "mean_without_extreme"]


def test_aggregate_table_carries_the_same_tail_columns(analysis):
    aggregate = analysis.tables["aggregate"].set_index("algo")
    board = analysis.tables["leaderboard"].set_index("algo")
    for algo in ("dqn", "reinforce"):
        assert aggregate.loc[algo, "at_reference_point"] == board.loc[algo, "at_reference"]
        assert aggregate.loc[algo, "at_reference_lower"] == board.loc[algo, "at_reference_lower"]
        assert aggregate.loc[algo, "below_random"] == board.loc[algo, "below_random"]


def test_seeds_needed_names_its_extreme_run_and_the_caveat_gives_both_figures(analysis):
    row = analysis.tables["seeds_needed"].iloc[0]
    assert row["extreme_run"] == "reinforce Acrobot-v1 seed 3 (-6.25)"
    assert row["seeds_for_stated_without_extreme"] < row["seeds_for_stated"]
    seeds = next(c for c in analysis.caveats if c.startswith("**Seeds.**"))
    assert "most extreme run left out" in seeds
    assert any(c.startswith("**What the IQM hides.**") for c in analysis.caveats)


def test_every_shown_column_is_explained_and_the_rule_is_stated(analysis, params):
    assert set(LEADERBOARD_COLUMNS) <= set(COLUMN_GLOSSARY)
    for name in ("reached_then_lost", "seeds_for_stated_without_extreme", "extreme_run"):
        assert name in COLUMN_GLOSSARY
    assert "ever_solved_runs" not in analysis.tables["per_env"].columns
    plan = plan_suite(params, "default").select(["dqn", "reinforce"])
    board = analysis.tables["leaderboard"]
    text = leaderboard_markdown(plan, board, None, analysis.caveats, normalisation_statement(NORMALIZATION))
    assert "1 = solved on every task" in text and "clipped to 1" in text
    for column in ("at_reference", "at_reference_lower", "below_random", "mean_without_extreme"):
        assert column in displayed(board).columns and f"- `{column}`:" in text
    unclipped = NORMALIZATION.assign(clip=False, reference_kind="best achievable")
    assert "no score is clipped" in normalisation_statement(unclipped)
    assert not any(c.startswith("**At the reference, unclipped.**") for c in analysis.caveats)
    loose = analyze_suite(runs(), unclipped, {"dqn": "DQN", "reinforce": "REINFORCE"}, ["dqn"], [], seed=0, reps=50)
    assert any(c.startswith("**At the reference, unclipped.**") for c in loose.caveats)
    # Unclipped, dqn's CartPole run at 500 is above 1 and still counts as at the reference.
    assert loose.tables["leaderboard"].set_index("algo").loc["dqn", "at_reference"] == 0.75


def test_an_expected_optimum_counts_within_the_stated_distance_and_stuck_runs_do_not():
    from rlbench.reporting.analysis import reach_levels
    from rlbench.reporting.policy import MEANINGFUL_DIFFERENCE
    from rlbench.stats.tails import reference_fraction

    table = pd.DataFrame({"env": ["Maze", "CartPole-v1"], "reference_kind": ["best achievable", "solved threshold"]})
    levels = reach_levels(table, ["Maze", "CartPole-v1"])
    assert levels.tolist() == [1.0 - MEANINGFUL_DIFFERENCE, 1.0]
    # Seven optimal runs of a slippery maze land at 0.996-1.003 by evaluation noise, three stuck runs at 0.69-0.81.
    maze = np.array([[0.996], [1.003], [0.998], [1.001], [0.997], [1.002], [0.999], [0.69], [0.75], [0.81]])
    assert reference_fraction(maze, reach=levels[:1]).point == pytest.approx(0.7)
    assert reference_fraction(maze).point == pytest.approx(0.3)  # at exactly >= 1 the noise decides
