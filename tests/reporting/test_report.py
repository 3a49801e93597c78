"""The suite analysis, leaderboard and report, on a small synthetic set of runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rlbench.config.plan import plan_suite
from rlbench.reporting.analysis import analyze_suite, count_failed_runs
from rlbench.reporting.figures import save_figure
from rlbench.reporting.leaderboard import displayed, leaderboard_note
from rlbench.reporting.plots import algorithm_styles
from rlbench.reporting.report import SECTIONS, decision_statement, figure_caption, render_html, render_markdown
from rlbench.scores.normalization import COLUMNS
from rlbench.storage.run_store import Failure

NORMALIZATION = pd.DataFrame([{"env": "CartPole-v1", "random": 20.0, "reference": 475.0, "reference_kind": "test",
                               "clip": False, "solved": 475.0, "random_source": "test", "reference_source": "test"}],
                             columns=COLUMNS)


def synthetic_runs(seeds: int = 3) -> pd.DataFrame:
    """dqn learns to 475 by step 2000 on every seed; sb3_dqn reaches about half of it (3 seeds, or up to 5)."""
    rows = []
    for algo, finals in (("dqn", [475.0, 500.0, 475.0, 490.0, 480.0][:seeds]),
                         ("sb3_dqn", [200.0, 250.0, 240.0, 220.0, 230.0][:seeds])):
        for seed, final in enumerate(finals):
            for step, value in ((0, 20.0), (1000, (20.0 + final) / 2), (2000, final)):
                rows += [(algo, "CartPole-v1", seed, step, episode, value, int(value)) for episode in range(2)]
    return pd.DataFrame(rows, columns=["algo", "env", "seed", "step", "episode", "return", "length"])


@pytest.fixture(scope="module")
def analysis():
    labels = {"dqn": "DQN (rlbench)", "sb3_dqn": "DQN (SB3)"}
    return analyze_suite(synthetic_runs(), NORMALIZATION, labels, ["sb3_dqn"], [], seed=0, reps=200)


def test_leaderboard_ranks_by_iqm_with_poi_over_best_builtin(analysis):
    board = analysis.tables["leaderboard"]
    assert list(board["algo"]) == ["dqn", "sb3_dqn"]
    # Every dqn run beats every sb3_dqn run, but with 3 runs each on one task the exact permutation test cannot
    # reach p < 0.05 (its smallest p-value is 2 / C(6, 3) = 0.1): not told apart.
    assert list(board["rank"]) == [1, 1] and board.attrs["best"] is None
    assert analysis.tables["clearly_better"]["p_value"].tolist() == pytest.approx([0.1, 0.1])
    assert board.attrs["best_builtin"] is None  # only one built-in algorithm: nothing to be best among
    top = board.iloc[0]
    # Normalised finals 1, 480/455, 1; with 3 runs the 25% trimmed mean trims nothing.
    assert top["iqm"] == pytest.approx((2 + 480 / 455) / 3)
    assert top["iqm_lower"] <= top["iqm"] <= top["iqm_upper"]
    assert np.isnan(top["poi_vs_best_builtin"])
    # One environment: the median is the mean again and is not shown; no best built-in: no poi columns.
    assert "median" not in displayed(board).columns and "poi_vs_best_builtin" not in displayed(board).columns


def test_a_suite_of_one_algorithm_says_so_instead_of_ranking_it(analysis):
    runs = synthetic_runs()
    alone = analyze_suite(runs[runs["algo"] == "dqn"], NORMALIZATION, {"dqn": "DQN (rlbench)"}, [], [], seed=0, reps=50)
    note = leaderboard_note(alone.tables["leaderboard"])
    assert "`dqn` is the suite's only algorithm" in note and "clearly better" not in note.split("Rows are")[1]
    five = analyze_suite(synthetic_runs(5), NORMALIZATION, {"dqn": "DQN (rlbench)", "sb3_dqn": "DQN (SB3)"},
                         ["sb3_dqn"], [], seed=0, reps=50).tables["leaderboard"]
    assert list(five["rank"]) == [1, 2] and five.iloc[0]["clearly_better_than"] == "sb3_dqn"  # 5 runs: told apart
    assert "`dqn` is clearly better than every other algorithm." in leaderboard_note(five)


def test_per_env_sample_efficiency_and_censoring(analysis):
    per_env = analysis.tables["per_env"].set_index("algo")
    assert per_env.loc["dqn", "solved_runs"] == "3/3" and per_env.loc["dqn", "median_steps_to_solve"] == "2000"
    # No sb3_dqn run ends solved: no number is printed for its steps to solve.
    assert per_env.loc["sb3_dqn", "solved_runs"] == "0/3"
    assert per_env.loc["sb3_dqn", "median_steps_to_solve"] == "none solved at the end"
    assert per_env.loc["sb3_dqn", "reached_then_lost"] == "0/3" and per_env.loc["dqn", "reached_then_lost"] == "0/3"
    assert per_env.loc["dqn", "normalized_mean"] == pytest.approx(np.mean([1.0, 480 / 455, 1.0]))
    assert per_env.loc["dqn", "mean_return"] == pytest.approx(1450 / 3)
    assert per_env.loc["dqn", "std"] == pytest.approx(np.std([475, 500, 475], ddof=1))


def test_report_contains_every_section(analysis, params, tmp_path):
    plan = plan_suite(params, "smoke").select(["dqn", "sb3_dqn"])
    tables = {**analysis.tables, "normalization": NORMALIZATION}
    for name, figure in analysis.figures.items():
        save_figure(figure, tmp_path / name)
    markdown = render_markdown("test report", plan, params.pipeline, tables, sorted(analysis.figures), analysis.caveats)
    for section in SECTIONS:
        assert f"## {section}\n" in markdown
    assert "- `rank`: shared rank" in markdown and "- `auc`:" in markdown and "- `seed_std`:" in markdown
    assert "ties count half" in markdown and "**Median.** With 1 environment(s)" in markdown
    assert "![interval_estimates](interval_estimates.png)" in markdown
    for name in analysis.figures:  # every figure of a suite says what it shows, right under it
        caption = figure_caption(name)
        assert caption and f"![{name}]({name}.png)\n\n{caption}\n" in markdown
    assert "CartPole-v1" in figure_caption("sample_efficiency_CartPole-v1") and figure_caption("maze_x") == ""
    # The report leads with its decision and its main figure, before any table.
    assert markdown.startswith("# test report\n\n## Decision\n\n**"), "the decision comes first"
    decision, leaderboard = markdown.index("## Decision\n"), markdown.index("## Leaderboard\n")
    assert decision < markdown.index("![interval_estimates](interval_estimates.png)") < leaderboard
    assert markdown.count("![interval_estimates](interval_estimates.png)") == 1, "the main figure is shown once"
    html = render_html(markdown, tmp_path, "test report")
    assert "<h2>Leaderboard</h2>" in html and "<table>" in html
    assert html.count('<div class="table">\n<table>') == html.count("<table>"), "every table scrolls in its box"
    assert html.count("data:image/png;base64,") == len(analysis.figures), "figures are inlined"


def test_solved_runs_come_from_final_scores_and_reached_then_lost_is_its_own_column():
    frame = synthetic_runs()
    # dqn seed 1 reaches 500 at step 1000, then ends at 100: it touched the threshold but does not end solved.
    late = (frame["algo"] == "dqn") & (frame["seed"] == 1)
    frame.loc[late & (frame["step"] == 1000), "return"] = 500.0
    frame.loc[late & (frame["step"] == 2000), "return"] = 100.0
    result = analyze_suite(frame, NORMALIZATION, {"dqn": "DQN", "sb3_dqn": "SB3"}, ["dqn"], [], seed=0, reps=50)
    per_env = result.tables["per_env"].set_index("algo")
    assert per_env.loc["dqn", "solved_runs"] == "2/3" and per_env.loc["dqn", "reached_then_lost"] == "1/3"
    # The median is over the two runs that end solved (both from step 2000), not the lost run's step 1000.
    assert per_env.loc["dqn", "median_steps_to_solve"] == "2000"
    # Every dqn run reaches 475 once and falls back: all three counted as lost, no median printed.
    fallen = synthetic_runs()
    dqn = fallen["algo"] == "dqn"
    fallen.loc[dqn & (fallen["step"] == 1000), "return"] = 480.0
    fallen.loc[dqn & (fallen["step"] == 2000), "return"] = 300.0
    result = analyze_suite(fallen, NORMALIZATION, {"dqn": "DQN", "sb3_dqn": "SB3"}, ["dqn"], [], seed=0, reps=50)
    row = result.tables["per_env"].set_index("algo").loc["dqn"]
    assert (row["solved_runs"], row["reached_then_lost"], row["median_steps_to_solve"]) == (
        "0/3", "3/3", "none solved at the end")


def test_failed_and_diverged_runs_count_as_the_random_score():
    frame = synthetic_runs()
    frame.loc[(frame["algo"] == "dqn") & (frame["seed"] == 2) & (frame["step"] == 2000), "return"] = np.nan
    failures = [Failure("sb3_dqn", "CartPole-v1", 3, "NaN loss", 2)]
    filled, table = count_failed_runs(frame, failures, NORMALIZATION)
    failed_run = filled[(filled["algo"] == "sb3_dqn") & (filled["seed"] == 3)]
    assert sorted(failed_run["step"]) == [0, 1000, 2000] and set(failed_run["return"]) == {20.0}
    assert filled["return"].notna().all()
    assert list(zip(table["algo"], table["seed"])) == [("dqn", 2), ("sb3_dqn", 3)]
    assert table.iloc[0]["reason"].startswith("diverged") and set(table["counted_as"]) == {table.iloc[0]["counted_as"]}

    labels = {"dqn": "DQN (rlbench)", "sb3_dqn": "DQN (SB3)"}
    clean = analyze_suite(synthetic_runs(), NORMALIZATION, labels, ["sb3_dqn"], [], seed=0, reps=50)
    broken = analyze_suite(frame, NORMALIZATION, labels, ["sb3_dqn"], failures, seed=0, reps=50)
    for algo in labels:  # the diverged dqn run and the failed sb3_dqn run lower their algorithm's aggregates
        assert broken.estimates[algo]["mean"].point < clean.estimates[algo]["mean"].point
    board = broken.tables["leaderboard"].set_index("algo")
    assert board.loc["sb3_dqn", "runs"] == 4 and board.loc["sb3_dqn", "failed_runs"] == 1
    assert board.loc["dqn", "failed_runs"] == 1
    assert len(broken.tables["failures"]) == 2


def test_analysis_completes_when_runs_failed():
    labels = {"dqn": "DQN (rlbench)", "sb3_dqn": "DQN (SB3)"}
    # Two of sb3_dqn's seeds failed: they count as the random score, the spread is still defined.
    failures = [Failure("sb3_dqn", "CartPole-v1", seed, "boom", 2) for seed in (1, 2)]
    kept = synthetic_runs()
    kept = kept[~((kept["algo"] == "sb3_dqn") & kept["seed"].isin([1, 2]))]
    partial = analyze_suite(kept, NORMALIZATION, labels, ["sb3_dqn"], failures, seed=0, reps=100)
    per_env = partial.tables["per_env"].set_index("algo")
    assert per_env.loc["sb3_dqn", "mean_return"] == pytest.approx((200.0 + 20.0 + 20.0) / 3)
    # Every run failed: every declared table is still there (empty), with the failures listed.
    everything = [Failure(a, "CartPole-v1", s, "boom", 2) for a in labels for s in range(3)]
    empty = analyze_suite(synthetic_runs().iloc[0:0], NORMALIZATION, labels, ["sb3_dqn"], everything, seed=0, reps=100)
    for name in ("aggregate", "per_env", "probability_of_improvement", "seed_variance", "sample_efficiency",
                 "seeds_needed", "published_vs_ours", "leaderboard"):
        assert empty.tables[name].empty and len(empty.tables[name].columns) > 0
    assert len(empty.tables["failures"]) == 6


def test_leaderboard_poi_matches_the_pairwise_table():
    """With two built-ins and one clearly best among them, the column is P(row > best), as in the pairwise table."""
    frame = synthetic_runs(5)
    worse = frame[frame["algo"] == "sb3_dqn"].assign(algo="sb3_a2c", **{"return": lambda f: f["return"] * 0.5})
    frame = pd.concat([frame, worse], ignore_index=True)
    labels = {"dqn": "DQN (rlbench)", "sb3_dqn": "DQN (SB3)", "sb3_a2c": "A2C (SB3)"}
    result = analyze_suite(frame, NORMALIZATION, labels, ["sb3_dqn", "sb3_a2c"], [], seed=0, reps=200)
    board = result.tables["leaderboard"].set_index("algo")
    pairs = result.tables["probability_of_improvement"].set_index(["algo_x", "algo_y"])
    assert board.attrs["best_builtin"] == "sb3_dqn" and np.isnan(board.loc["sb3_dqn", "poi_vs_best_builtin"])
    row = pairs.loc[("dqn", "sb3_dqn")]
    assert board.loc["dqn", "poi_vs_best_builtin"] == pytest.approx(row["point"])
    assert board.loc["dqn", "poi_lower"] == pytest.approx(row["lower"])
    assert list(board["rank"]) == [1, 2, 3]
    seeds = result.tables["seeds_needed"]
    assert list(zip(seeds["algo_x"], seeds["algo_y"])) == [("dqn", "sb3_dqn"), ("dqn", "sb3_a2c"), ("sb3_dqn", "sb3_a2c")]


def test_twelve_algorithms_get_twelve_distinct_styles():
    styles = algorithm_styles([f"algo_{k}" for k in range(12)])
    assert len(set(styles.values())) == 12
    assert len({s.color for s in list(styles.values())[:9]}) == 9


def test_published_cells_get_verdicts_from_the_test_that_matches_them():
    from rlbench.reporting.published import published_vs_ours

    published = pd.DataFrame([
        # one run, inside our spread; one run far off; a 3-seed mean near ours
        {"source": "zoo", "algorithm": "SB3 DQN", "env_id": "CartPole-v1", "timesteps": 2000, "seeds": 1,
         "statistic": "mean±std over eval episodes", "score": 480.0, "score_err": 0.0, "protocol": "deterministic"},
        {"source": "zoo", "algorithm": "SB3 DQN", "env_id": "Acrobot-v1", "timesteps": 2000, "seeds": 1,
         "statistic": "mean±std over eval episodes", "score": 0.0, "score_err": 0.0, "protocol": "deterministic"},
        {"source": "cleanrl", "algorithm": "CleanRL dqn.py", "env_id": "CartPole-v1", "timesteps": 2000, "seeds": 3,
         "statistic": "mean±std over seeds", "score": 2000.0, "score_err": 5.0, "protocol": "training returns"},
        # reached after ten times our budget: shown, not judged
        {"source": "zoo", "algorithm": "SB3 A2C", "env_id": "CartPole-v1", "timesteps": 20000, "seeds": 1,
         "statistic": "mean±std over eval episodes", "score": 480.0, "score_err": 0.0, "protocol": "deterministic"},
        # published on a version gymnasium has replaced: tested against the successor we train, and said so
        {"source": "zoo", "algorithm": "SB3 PPO", "env_id": "LunarLander-v2", "timesteps": 2000, "seeds": 1,
         "statistic": "mean±std over eval episodes", "score": 240.0, "score_err": 30.0, "protocol": "deterministic"},
    ])
    lunar = pd.DataFrame([{"env": "LunarLander-v3", "random": -180.0, "reference": 200.0, "reference_kind": "test",
                           "clip": True, "solved": 200.0, "random_source": "test", "reference_source": "test"}],
                         columns=COLUMNS)
    finals = {"sb3_dqn": {"CartPole-v1": np.array([470.0, 480.0, 490.0])},
              "dqn": {"CartPole-v1": np.array([470.0, 480.0, 490.0])},
              "dqn_cleanrl": {"CartPole-v1": np.array([470.0, 480.0, 490.0])},
              "sb3_a2c": {"CartPole-v1": np.array([470.0, 480.0, 490.0])},
              "sb3_ppo": {"LunarLander-v3": np.array([236.0, 240.0, 244.0])}}
    training = {"dqn_cleanrl": {"CartPole-v1": np.array([470.0, 480.0, 490.0])}}
    table = published_vs_ours(published, finals, pd.concat([NORMALIZATION, lunar]),
                              {"CartPole-v1": 2000, "LunarLander-v3": 2000}, training)
    # Acrobot-v1 has no runs of ours: no row; CleanRL's number speaks about its own settings only
    assert list(table["ours"]) == ["sb3_dqn", "dqn", "dqn_cleanrl", "sb3_a2c", "sb3_ppo"]
    # A single published run is consistent (or not) with our runs, never "reproduced"; a published mean gets TOST.
    assert list(table["verdict"]) == ["consistent", "consistent", "not reproduced", "not tested: other budget",
                                      "not tested: published on LunarLander-v2, ours on LunarLander-v3"]
    assert table.iloc[2]["margin"] == pytest.approx(0.1 * 455.0) and np.isnan(table.iloc[0]["margin"])
    assert table.iloc[0]["published_statistic"].startswith("one run") and "3 seeds" in table.iloc[2]["published_statistic"]
    assert "training-episode returns" in table.iloc[2]["compared"] and "greedy" in table.iloc[0]["compared"]
    assert "budget: 20,000 vs ours 2,000 steps" in table.iloc[3]["differs_in"]
    assert "evaluation: deterministic vs ours greedy" in table.iloc[3]["differs_in"]
    assert table.iloc[3]["difference"] == pytest.approx(0.0)  # the numbers are still shown
    assert table.iloc[4]["env"] == "LunarLander-v3" and table.iloc[4]["difference"] == pytest.approx(0.0)
    assert "environment: LunarLander-v2 vs ours LunarLander-v3" in table.iloc[4]["differs_in"]


def test_an_algorithm_without_any_finished_run_is_listed_not_ranked():
    labels = {"dqn": "DQN (rlbench)", "sb3_dqn": "DQN (SB3)", "broken": "Broken"}
    failures = [Failure("broken", "CartPole-v1", seed, "deliberate crash", 2) for seed in range(3)]
    result = analyze_suite(synthetic_runs(), NORMALIZATION, labels, ["sb3_dqn"], failures, seed=0, reps=50)
    assert "broken" not in set(result.tables["leaderboard"]["algo"])
    assert list(result.tables["failures"]["algo"]) == ["broken"] * 3
    assert any(note.startswith("**Not ranked:** broken") for note in result.caveats)


def test_decision_names_rank_one_and_the_clearly_better_pairs():
    board = pd.DataFrame({"rank": [1, 1, 3], "algo": ["a", "b", "c"], "clearly_better_than": ["c", "", ""]})
    assert decision_statement(board) == ("`a`, `b` share rank 1. Clearly better (family-wise error rate 0.05): "
                                         "`a` over `c`.")
    tied = board.assign(rank=1, clearly_better_than="")
    assert decision_statement(tied).startswith("No algorithm is clearly better") and "`c`" in decision_statement(tied)
    assert decision_statement(None) == "No finished runs: nothing to decide."
    assert decision_statement(board.head(1)).startswith("One algorithm, `a`: nothing to rank")
