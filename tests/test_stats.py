"""Score matrices, normalisation and statistics: exact answers on tiny inputs, and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rliable import library as rly
from rliable import metrics as rlm

from rlbench.errors import RlbenchError
from rlbench.scores import (
    CurveSet,
    ScoreSet,
    combine,
    curve_scores,
    final_scores,
    load_external_scores,
    normalize,
    reference_table,
)
from rlbench.stats import (
    METRICS,
    Interval,
    aggregate_metrics,
    area_under_curve,
    curve_variability,
    improvement_probability,
    iqm,
    mean,
    median,
    optimality_gap,
    performance_profiles,
    probability_of_improvement,
    sample_efficiency_curves,
    score_distribution,
    seed_variance,
    seed_variance_frame,
    steps_to_threshold,
    threshold_summary,
)

REPS = 200


# ------------------------------------------------------------------ fixtures


def eval_frame() -> pd.DataFrame:
    """Algo A: seeds 0,1,2; algo B: seeds 0,1; envs E1, E2; checkpoints 0,100,200; 2 episodes.

    return = 1000*algo_index + 100*env_index + 10*seed + step/100 + episode (episodes 0, 1), so the
    mean over episodes is exactly ... + 0.5.
    """
    rows = []
    for a_index, (algo, seeds) in enumerate([("A", [0, 1, 2]), ("B", [0, 1])]):
        for e_index, env in enumerate(["E1", "E2"]):
            for seed in seeds:
                for step in (0, 100, 200):
                    for episode in (0, 1):
                        value = 1000 * a_index + 100 * e_index + 10 * seed + step / 100 + episode
                        rows.append((algo, env, seed, step, episode, float(value)))
    return pd.DataFrame(rows, columns=["algo", "env", "seed", "step", "episode", "return"])


def drop(frame: pd.DataFrame, **where: object) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[~mask].reset_index(drop=True)


# ------------------------------------------------------------------ score matrices


def test_final_scores_matrix_layout_and_values() -> None:
    scores = final_scores(eval_frame())
    assert scores.tasks == ["E1", "E2"]
    assert scores.run_ids == {"A": [0, 1, 2], "B": [0, 1]}
    assert scores.scores["A"].shape == (3, 2)
    assert scores.scores["B"].shape == (2, 2)
    # last checkpoint 200 -> +2, mean over episodes -> +0.5
    np.testing.assert_array_equal(scores.scores["A"], [[2.5, 102.5], [12.5, 112.5], [22.5, 122.5]])
    np.testing.assert_array_equal(scores.scores["B"], [[1002.5, 1102.5], [1012.5, 1112.5]])
    only = final_scores(eval_frame(), envs=["E2"])
    assert only.tasks == ["E2"]
    np.testing.assert_array_equal(only.scores["B"][:, 0], [1102.5, 1112.5])


def test_curve_scores_layout_and_values() -> None:
    curves = curve_scores(eval_frame())
    assert curves.curves["A"].shape == (3, 2, 3)
    np.testing.assert_array_equal(curves.steps["A"], [0, 100, 200])
    np.testing.assert_array_equal(curves.curves["A"][1, 1], [110.5, 111.5, 112.5])
    np.testing.assert_array_equal(curves.final().scores["B"], final_scores(eval_frame()).scores["B"])


def test_missing_seed_is_named() -> None:
    frame = drop(eval_frame(), algo="A", env="E2", seed=2)
    with pytest.raises(RlbenchError, match=r"algo=A env=E2: missing seeds \[2\]"):
        final_scores(frame)
    with pytest.raises(RlbenchError, match=r"algo=A env=E2: missing seeds \[2\]"):
        curve_scores(frame)


def test_algorithm_without_runs_on_a_task_is_named() -> None:
    frame = drop(eval_frame(), algo="B", env="E1")
    with pytest.raises(RlbenchError, match=r"algo=B env=E1: no runs"):
        final_scores(frame)


def test_unequal_run_length_is_named() -> None:
    frame = drop(eval_frame(), algo="A", env="E1", seed=1, step=200)
    with pytest.raises(RlbenchError) as info:
        final_scores(frame)
    message = str(info.value)
    assert "algo=A env=E1 seed=1" in message and "ends at step 100" in message and "200" in message
    assert "unequal run length" in message
    assert "\n" not in message


def test_unequal_length_across_algorithms_is_named() -> None:
    frame = drop(eval_frame(), algo="B", step=200)
    with pytest.raises(RlbenchError, match=r"algo=B env=E1 seed=0: run ends at step 100"):
        final_scores(frame)


def test_missing_checkpoint_is_named() -> None:
    frame = drop(eval_frame(), algo="B", env="E2", seed=0, step=100)
    with pytest.raises(RlbenchError, match=r"algo=B env=E2 seed=0: missing checkpoints \[100\]"):
        curve_scores(frame)
    with pytest.raises(RlbenchError, match=r"missing checkpoints \[100\]"):
        final_scores(frame)


def test_checkpoint_schedules_must_match_across_envs_for_curves() -> None:
    frame = drop(eval_frame(), algo="A", env="E2", step=100)
    with pytest.raises(RlbenchError, match=r"algo=A env=E2: missing checkpoints \[100\]"):
        curve_scores(frame)


def test_bad_frames() -> None:
    with pytest.raises(RlbenchError, match="lacks columns"):
        final_scores(eval_frame().drop(columns=["episode"]))
    duplicated = pd.concat([eval_frame(), eval_frame().iloc[:1]])
    with pytest.raises(RlbenchError, match="duplicate evaluation episodes: algo=A env=E1 seed=0 step=0 episode=0"):
        final_scores(duplicated)
    with pytest.raises(RlbenchError, match=r"no evaluation returns at all for envs \['E9'\]"):
        final_scores(eval_frame(), envs=["E1", "E9"])
    broken = eval_frame()
    broken.loc[3, "return"] = np.nan
    with pytest.raises(RlbenchError, match="non-finite"):
        final_scores(broken)


def test_score_set_rejects_mislabelled_arrays() -> None:
    with pytest.raises(RlbenchError, match="2 task columns but 3 task names"):
        ScoreSet({"A": np.zeros((2, 2))}, ["x", "y", "z"], {"A": [0, 1]})
    with pytest.raises(RlbenchError, match="2-D"):
        ScoreSet({"A": np.zeros(2)}, ["x"], {"A": [0, 1]})


# ------------------------------------------------------------------ normalisation


def table(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(env, rnd, ref, "test", "test") for env, rnd, ref in rows],
        columns=["env", "random", "reference", "random_source", "reference_source"],
    )


def test_normalize_exact() -> None:
    scores = ScoreSet({"A": np.array([[5.0, 0.0], [10.0, 15.0]])}, ["x", "y"], {"A": [0, 1]})
    result = normalize(scores, table([("y", -5.0, 5.0), ("x", 0.0, 10.0)]))
    np.testing.assert_allclose(result.scores["A"], [[0.5, 0.5], [1.0, 2.0]])
    curves = CurveSet({"A": np.array([[[0.0, 10.0], [-5.0, 5.0]]])}, ["x", "y"], {"A": [0]}, {"A": np.array([1, 2])})
    np.testing.assert_allclose(
        normalize(curves, table([("x", 0.0, 10.0), ("y", -5.0, 5.0)])).curves["A"], [[[0.0, 1.0], [0.0, 1.0]]]
    )


def test_normalize_missing_task_is_named() -> None:
    scores = ScoreSet({"A": np.ones((1, 2))}, ["x", "Pong"], {"A": [0]})
    with pytest.raises(RlbenchError, match=r"no random/reference score for tasks \['Pong'\]"):
        normalize(scores, table([("x", 0.0, 1.0)]))
    with pytest.raises(RlbenchError, match=r"random != reference.*\['x'\]"):
        normalize(scores, table([("x", 1.0, 1.0), ("Pong", 0.0, 1.0)]))


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_load_external_scores_formats(tmp_path: Path) -> None:
    human = write_json(tmp_path / "HUMAN.json", {"g1": [10.0], "g2": [110.0]})
    random = write_json(tmp_path / "RANDOM.json", {"g1": [0.0], "g2": [10.0]})
    write_json(tmp_path / "Raw.json", {"g2": [60.0, 10.0], "g1": [5.0, 20.0]})
    write_json(
        tmp_path / "curl_file.json",
        [
            {"game": "g1", "seed": 2.0, "HNS": 0.2, "Max HNS": 0.9},
            {"game": "g1", "seed": 1.0, "HNS": 0.1, "Max HNS": 0.9},
            {"game": "g2", "seed": 1.0, "HNS": 0.3, "Max HNS": 0.9},
            {"game": "g2", "seed": 2.0, "HNS": 0.4, "Max HNS": 0.9},
        ],
    )
    scores = load_external_scores(tmp_path, human, random, names={"curl_file": "CURL"})
    assert sorted(scores.algorithms) == ["CURL", "Raw"]
    assert scores.tasks == ["g1", "g2"]
    np.testing.assert_allclose(scores.scores["Raw"], [[0.5, 0.5], [2.0, 0.0]])
    np.testing.assert_allclose(scores.scores["CURL"], [[0.1, 0.3], [0.2, 0.4]])
    assert scores.run_ids == {"CURL": [1, 2], "Raw": [0, 1]}


def test_load_external_scores_mismatched_games(tmp_path: Path) -> None:
    human = {"g1": 10.0, "g2": 110.0, "g3": 5.0}
    random = {"g1": 0.0, "g2": 10.0, "g3": 0.0}
    a = write_json(tmp_path / "A.json", {"g1": [1.0], "g2": [2.0], "g3": [3.0]})
    b = write_json(tmp_path / "B.json", {"g1": [1.0], "g2": [2.0]})
    with pytest.raises(RlbenchError, match=r"B\.json lacks \['g3'\]"):
        load_external_scores([a, b], human, random)
    c = write_json(tmp_path / "C.json", {"g1": [1.0, 2.0], "g2": [2.0], "g3": [3.0]})
    with pytest.raises(RlbenchError, match=r"different numbers of runs.*g1 \(2\)"):
        load_external_scores([a, c], human, random)
    with pytest.raises(RlbenchError, match=r"no random/reference score for tasks \['g3'\]"):
        load_external_scores([a], {"g1": 1.0, "g2": 1.0}, {"g1": 0.0, "g2": 0.0})


def test_combine_reorders_tasks_and_rejects_duplicates() -> None:
    one = ScoreSet({"A": np.array([[1.0, 2.0]])}, ["x", "y"], {"A": [0]})
    two = ScoreSet({"B": np.array([[3.0, 4.0]])}, ["y", "x"], {"B": [7]})
    both = combine(one, two)
    np.testing.assert_array_equal(both.scores["B"], [[4.0, 3.0]])
    with pytest.raises(RlbenchError, match="'A' appears in more than one"):
        combine(one, one)
    with pytest.raises(RlbenchError, match=r"lacks \['y'\]"):
        combine(one, ScoreSet({"C": np.ones((1, 1))}, ["x"], {"C": [0]}))
    ref = reference_table({"x": [2.0]}, {"x": 1.0})
    assert ref.loc[0, "reference"] == 2.0 and ref.loc[0, "random"] == 1.0


# ------------------------------------------------------------------ point estimates


def test_exact_point_estimates() -> None:
    eight = np.arange(1.0, 9.0).reshape(4, 2)  # values 1..8
    assert iqm(eight) == pytest.approx(4.5)  # trims 1,2 and 7,8
    tasks = np.array([[0.0, 1.0, 10.0], [2.0, 3.0, 20.0]])  # task means 1, 2, 15
    assert median(tasks) == pytest.approx(2.0)
    assert mean(tasks) == pytest.approx(6.0)
    assert optimality_gap(np.array([[0.5, 2.0], [0.0, 1.0]])) == pytest.approx(0.375)


def test_exact_probability_of_improvement() -> None:
    x = np.array([[3.0, 0.0], [4.0, 1.0]])
    y = np.array([[1.0, 1.0], [2.0, 5.0]])
    # task 0: X always better -> 1; task 1: only a tie (1 vs 1) -> 0.5 / 4 -> mean 0.5625
    assert improvement_probability(x, y) == pytest.approx(0.5625)
    assert improvement_probability(y, x) == pytest.approx(0.4375)
    assert improvement_probability(x, y) == pytest.approx(rlm.probability_of_improvement(x, y))


def test_improvement_probability_matches_rliable_with_ties_and_unequal_runs() -> None:
    rng = np.random.RandomState(3)
    x = rng.randint(0, 4, size=(7, 5)).astype(float)
    y = rng.randint(0, 4, size=(4, 5)).astype(float)
    assert improvement_probability(x, y) == pytest.approx(rlm.probability_of_improvement(x, y))
    assert improvement_probability(x, x) == pytest.approx(0.5)


def test_score_distribution_matches_rliable() -> None:
    scores = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(score_distribution(scores, [0.5, 2.5, 3.0]), [0.75, 0.25, 0.0])
    rng = np.random.RandomState(0)
    data = rng.rand(10, 4)
    taus = np.linspace(0, 1, 11)
    np.testing.assert_allclose(score_distribution(data, taus), rly.score_distributions(data, taus))


# ------------------------------------------------------------------ interval estimates


def noisy_scores() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(7)
    return {"A": rng.gamma(2.0, 0.3, size=(10, 6)), "B": rng.gamma(2.0, 0.4, size=(6, 6))}


def test_aggregate_metrics_exact_points_and_degenerate_ci() -> None:
    eight = np.arange(1.0, 9.0).reshape(4, 2) / 8.0
    single_run = np.array([[0.5, 2.0, 0.25]])
    result = aggregate_metrics({"eight": eight, "one": single_run}, seed=1, reps=REPS)
    assert set(result["eight"]) == set(METRICS)
    assert result["eight"]["iqm"].point == pytest.approx(4.5 / 8.0)
    assert result["eight"]["mean"].point == pytest.approx(4.5 / 8.0)
    assert result["eight"]["median"].point == pytest.approx(4.5 / 8.0)
    assert result["eight"]["optimality_gap"].point == pytest.approx(1.0 - 4.5 / 8.0)
    # one run: every resample is the same matrix, so the CI collapses to the point
    one = result["one"]
    assert one["median"] == Interval(0.5, 0.5, 0.5)
    assert one["optimality_gap"].point == pytest.approx(1.0 - 1.75 / 3.0)
    assert one["optimality_gap"].lower == one["optimality_gap"].upper == one["optimality_gap"].point


def test_intervals_contain_points_and_are_reproducible() -> None:
    scores = noisy_scores()
    first = aggregate_metrics(scores, seed=11, reps=REPS)
    second = aggregate_metrics(scores, seed=11, reps=REPS)
    assert first == second
    for per_metric in first.values():
        for interval in per_metric.values():
            assert interval.lower <= interval.point <= interval.upper
            assert interval.lower < interval.upper
    other = aggregate_metrics(scores, seed=12, reps=REPS)
    assert other["A"]["iqm"].point == first["A"]["iqm"].point
    assert other["A"]["iqm"] != first["A"]["iqm"]
    # an algorithm's intervals do not depend on the others in the dict
    assert aggregate_metrics({"A": scores["A"]}, seed=11, reps=REPS)["A"] == first["A"]


def test_probability_of_improvement_pairs_and_symmetry() -> None:
    scores = {**noisy_scores(), "C": np.full((3, 6), 0.6)}
    result = probability_of_improvement(scores, seed=5, reps=REPS)
    assert set(result) == {(x, y) for x in "ABC" for y in "ABC" if x != y}
    for (x, y), interval in result.items():
        assert interval.point == pytest.approx(improvement_probability(scores[x], scores[y]))
        assert interval.lower <= interval.point <= interval.upper
        mirror = result[(y, x)]
        assert interval.point == pytest.approx(1.0 - mirror.point)
        assert interval.lower == pytest.approx(1.0 - mirror.upper)
    assert result == probability_of_improvement(scores, seed=5, reps=REPS)
    only = probability_of_improvement(scores, seed=5, reps=REPS, pairs=[("B", "A")])
    assert only == {("B", "A"): result[("B", "A")]}
    with pytest.raises(RlbenchError, match="same number of tasks"):
        probability_of_improvement({"A": np.ones((2, 3)), "B": np.ones((2, 4))}, seed=0, reps=10)


def test_performance_profiles_bands() -> None:
    taus = np.linspace(0.0, 2.0, 9)
    scores = noisy_scores()
    profiles = performance_profiles(scores, taus, seed=3, reps=REPS)
    profile, lower, upper = profiles["A"]
    np.testing.assert_allclose(profile, score_distribution(scores["A"], taus))
    assert np.all(lower <= profile + 1e-12) and np.all(profile <= upper + 1e-12)
    assert np.all(np.diff(profile) <= 0)
    again = performance_profiles(scores, taus, seed=3, reps=REPS)
    np.testing.assert_array_equal(again["B"].lower, profiles["B"].lower)


def test_sample_efficiency_curves() -> None:
    rng = np.random.RandomState(2)
    curves = {"A": np.cumsum(rng.rand(8, 3, 5), axis=2), "B": np.cumsum(rng.rand(4, 3, 5), axis=2)}
    result = sample_efficiency_curves(curves, seed=4, reps=REPS)
    for algo, array in curves.items():
        expected = [rlm.aggregate_iqm(array[:, :, k]) for k in range(5)]
        np.testing.assert_allclose(result[algo].point, expected)
        assert np.all(result[algo].lower <= result[algo].point + 1e-12)
        assert np.all(result[algo].point <= result[algo].upper + 1e-12)
    np.testing.assert_array_equal(sample_efficiency_curves(curves, seed=4, reps=REPS)["A"].upper, result["A"].upper)


def test_bad_shapes_and_values() -> None:
    with pytest.raises(RlbenchError, match=r"'A'.*\(runs × tasks\).*shape \(4,\)"):
        aggregate_metrics({"A": np.ones(4)}, seed=0, reps=10)
    with pytest.raises(RlbenchError, match=r"'A'.*shape \(2, 2, 2\)"):
        aggregate_metrics({"A": np.ones((2, 2, 2))}, seed=0, reps=10)
    with pytest.raises(RlbenchError, match=r"'B'.*\(runs × tasks × checkpoints\)"):
        sample_efficiency_curves({"B": np.ones((2, 2))}, seed=0, reps=10)
    with pytest.raises(RlbenchError, match="NaN"):
        aggregate_metrics({"A": np.array([[1.0, np.nan]])}, seed=0, reps=10)
    with pytest.raises(RlbenchError, match="empty"):
        aggregate_metrics({"A": np.ones((0, 3))}, seed=0, reps=10)
    with pytest.raises(RlbenchError, match="seed"):
        aggregate_metrics({"A": np.ones((2, 2))}, seed=-1, reps=10)
    with pytest.raises(RlbenchError, match="reps"):
        aggregate_metrics({"A": np.ones((2, 2))}, seed=0, reps=0)


# ------------------------------------------------------------------ seed variance


def test_seed_variance_exact() -> None:
    scores = {"A": np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0], [4.0, 10.0]])}
    spreads = seed_variance(scores, ["x", "y"], seed=0, reps=REPS)
    x, y = spreads["A"]["x"], spreads["A"]["y"]
    assert x.n_runs == 4 and x.mean == pytest.approx(2.5)
    assert x.std == pytest.approx(np.sqrt(5.0 / 3.0))
    assert x.iqr == pytest.approx(1.5)
    assert x.ci_lower <= 2.5 <= x.ci_upper and x.ci_width > 0
    assert (y.std, y.iqr, y.ci_width) == (0.0, 0.0, 0.0)
    frame = seed_variance_frame(spreads)
    assert list(frame["env"]) == ["x", "y"] and "ci_width" in frame.columns
    with pytest.raises(RlbenchError, match="at least 2 runs"):
        seed_variance({"A": np.ones((1, 2))}, ["x", "y"], seed=0, reps=10)


def test_curve_variability_exact() -> None:
    curves = {"A": np.array([[[0.0, 0.0, 0.0]], [[2.0, 0.0, 4.0]]])}  # std per checkpoint sqrt2, 0, 2sqrt2
    np.testing.assert_allclose(curve_variability(curves)["A"], [np.sqrt(2.0)])


# ------------------------------------------------------------------ sample efficiency


def test_area_under_curve_exact() -> None:
    assert area_under_curve(np.array([0.0, 1.0, 1.0]), [0, 1, 3]) == pytest.approx(2.5 / 3.0)
    constant = area_under_curve(np.full((2, 3, 4), 0.7), [0, 10, 20, 30])
    assert constant.shape == (2, 3)
    np.testing.assert_allclose(constant, 0.7)
    with pytest.raises(RlbenchError, match="strictly increasing"):
        area_under_curve(np.zeros(3), [0, 2, 1])
    with pytest.raises(RlbenchError, match="match the 3 steps"):
        area_under_curve(np.zeros(4), [0, 1, 2])


def test_steps_to_threshold_with_censoring() -> None:
    curve = np.array([[0.0, 0.2, 0.6, 1.0], [0.0, 0.1, 0.2, 0.3], [0.5, 0.5, 0.5, 0.5]])
    result = steps_to_threshold(curve, [0, 10, 20, 30], threshold=0.5)
    np.testing.assert_array_equal(result.censored, [False, True, False])
    np.testing.assert_array_equal(result.steps, [20.0, np.nan, 0.0])
    assert result.budget == 30.0
    summary = threshold_summary(result)
    assert (summary.n_runs, summary.n_reached, summary.n_censored) == (3, 2, 1)
    assert summary.median == 20.0 and not summary.median_censored
    assert summary.fraction_reached == pytest.approx(2 / 3)
    # two of three censored: the median is only known to exceed the budget
    mostly = threshold_summary(steps_to_threshold(curve, [0, 10, 20, 30], threshold=0.9))
    assert mostly.n_censored == 2 and mostly.median == np.inf and mostly.median_censored


def test_kaplan_meier_median_with_even_run_counts() -> None:
    from rlbench.stats import ThresholdSteps

    # Two of four runs reach the threshold (at 1000 and 2000): half have reached it by 2000.
    half = ThresholdSteps(np.array([1000.0, 2000.0, np.nan, np.nan]), np.array([False, False, True, True]), 3000.0, 1.0)
    assert threshold_summary(half).median == 2000.0
    # No censoring, two runs: the median is an evaluated checkpoint, never an average of two.
    both = ThresholdSteps(np.array([10.0, 20.0]), np.array([False, False]), 30.0, 1.0)
    assert threshold_summary(both).median == 10.0
    # One of four: fewer than half ever reach it.
    few = ThresholdSteps(np.array([1000.0, np.nan, np.nan, np.nan]), np.array([False, True, True, True]), 3000.0, 1.0)
    assert threshold_summary(few).median_censored
