"""Score matrices, normalisation and statistics: exact answers on tiny inputs, and error messages."""

from __future__ import annotations

import numpy as np
import pytest
from rliable import library as rly
from rliable import metrics as rlm

from rlbench.errors import RlbenchError
from rlbench.stats.aggregates import (
    METRICS,
    aggregate_metrics,
    improvement_probability,
    iqm,
    mean,
    median,
    optimality_gap,
    performance_profiles,
    probability_of_improvement,
    sample_efficiency_curves,
    score_distribution,
)
from rlbench.stats.bootstrap import Interval
from rlbench.stats.variability import (
    area_under_curve,
    curve_variability,
    seed_variance,
    seed_variance_frame,
    steps_to_threshold,
    threshold_summary,
)

REPS = 200


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
    with pytest.raises(RlbenchError, match=r"'B'.*\(runs × tasks × evaluation steps\)"):
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
    curves = {"A": np.array([[[0.0, 0.0, 0.0]], [[2.0, 0.0, 4.0]]])}  # std per evaluation step sqrt2, 0, 2sqrt2
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
    np.testing.assert_array_equal(result.stays_from, [20.0, np.nan, 0.0])
    assert result.budget == 30.0
    summary = threshold_summary(result)
    assert (summary.n_runs, summary.n_reached, summary.n_solved_at_end, summary.n_reached_then_lost) == (3, 2, 2, 0)
    assert summary.median == 0.0  # lower median of 0 and 20: an evaluated step, never an average
    assert summary.fraction_reached == pytest.approx(2 / 3)
    # At 0.9 only the first run ends there, from step 30 on.
    mostly = threshold_summary(steps_to_threshold(curve, [0, 10, 20, 30], threshold=0.9))
    assert (mostly.n_solved_at_end, mostly.median) == (1, 30.0) and not mostly.none_solved


def test_median_steps_to_solve_ignores_runs_that_end_unsolved() -> None:
    steps = [0, 1000, 2000, 3000, 4000]
    curve = np.array([
        [0.0, 1.0, 0.0, 0.0, 0.0],  # reached early, then lost: not solved, not in the median
        [0.0, 1.0, 0.0, 1.0, 1.0],  # first reached at 1000, solved for good from 3000
        [0.0, 0.0, 0.0, 0.0, 1.0],  # solved at the last evaluation only
        [0.0, 0.0, 0.0, 0.0, 0.0],  # never
    ])
    result = steps_to_threshold(curve, steps, threshold=1.0)
    np.testing.assert_array_equal(result.steps, [1000.0, 1000.0, 4000.0, np.nan])
    np.testing.assert_array_equal(result.stays_from, [np.nan, 3000.0, 4000.0, np.nan])
    np.testing.assert_array_equal(result.solved_at_end, [False, True, True, False])
    summary = threshold_summary(result)
    assert (summary.n_runs, summary.n_reached, summary.n_solved_at_end, summary.n_reached_then_lost) == (4, 3, 2, 1)
    assert summary.median == 3000.0  # over the two runs that end solved, from when they stay solved
    # Every run reaches the threshold at some point, none ends there: no median, only the lost count.
    lost = threshold_summary(steps_to_threshold(np.array([[0.0, 1.0, 0.5], [1.0, 0.2, 0.1]]), [0, 1, 2], 1.0))
    assert lost.none_solved and np.isnan(lost.median) and lost.n_reached_then_lost == 2


def test_a_leaderboard_too_small_to_separate_any_pair_says_so():
    from rlbench.stats.ranking import better_relation, relation_statement, seeds_floor, separated_p_value

    assert separated_p_value(5, 5, 1) == pytest.approx(seeds_floor(5, 1)) == pytest.approx(2 / 252)
    assert separated_p_value(3, 3, 2) == pytest.approx(2 / 20**2)
    # Six algorithms, 5 runs each on one task, every one far above the next: still no pair can pass Holm's first
    # threshold 0.05 / 15, and the statement says why.
    far_apart = {name: np.full((5, 1), 100.0 * i) + np.arange(5.0)[:, None] for i, name in enumerate("abcdef")}
    relation = better_relation(far_apart)
    assert not relation.better
    assert "no pair can be separated" in relation_statement(relation) and "15 pairs" in relation_statement(relation)
    # Ten runs each: the same scores separate every pair, and nothing is said of a floor.
    ten = {name: np.full((10, 1), 100.0 * i) + np.arange(10.0)[:, None] for i, name in enumerate("abcdef")}
    relation = better_relation(ten)
    assert len(relation.better) == 15 and "no pair can be separated" not in relation_statement(relation)
