"""Rank groups, seeds needed and reproduction verdicts on tiny synthetic score matrices with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.aggregates import probability_of_improvement
from rlbench.stats.bootstrap import Interval
from rlbench.stats.power import (
    normal_approximation_seeds,
    pairwise_seeds_needed,
    seeds_needed,
    t_test_power,
)
from rlbench.stats.ranking import best_algorithm, shared_ranks
from rlbench.stats.reproduction import (
    INCONCLUSIVE,
    MEAN_OVER_SEEDS,
    NOT_REPRODUCED,
    ONE_RUN,
    REPRODUCED,
    mean_interval,
    mean_verdict,
    outcome_of,
    single_run_interval,
    single_run_verdict,
)

# ------------------------------------------------------------------ rank groups


def test_identical_algorithms_share_a_rank_and_a_clearly_better_one_stands_alone() -> None:
    rng = np.random.RandomState(0)
    same = rng.uniform(0.2, 0.6, size=(5, 2))
    scores = {"a": same, "b": same.copy(), "c": same.copy(), "best": same + 1.0}
    probabilities = probability_of_improvement(scores, seed=0, reps=300)
    assert probabilities[("a", "b")].point == pytest.approx(0.5)  # ties count half
    ranks = shared_ranks(list(scores), probabilities)
    assert ranks == {"best": 1, "a": 2, "b": 2, "c": 2}
    assert best_algorithm(list(scores), probabilities) == "best"
    # Without the clearly better one nothing can be named best, and everything shares rank 1.
    rest = ["a", "b", "c"]
    assert shared_ranks(rest, probabilities) == {"a": 1, "b": 1, "c": 1}
    assert best_algorithm(rest, probabilities) is None


def test_ranks_count_only_clear_separations() -> None:
    # P(x > y) intervals: x beats z clearly; x vs y and y vs z reach 0.5 (y vs z touches it: not clear).
    probabilities = {
        ("x", "y"): Interval(0.7, 0.45, 0.9), ("y", "x"): Interval(0.3, 0.1, 0.55),
        ("x", "z"): Interval(0.9, 0.7, 1.0), ("z", "x"): Interval(0.1, 0.0, 0.3),
        ("y", "z"): Interval(0.6, 0.5, 0.8), ("z", "y"): Interval(0.4, 0.2, 0.5),
    }
    assert shared_ranks(["x", "y", "z"], probabilities) == {"x": 1, "y": 1, "z": 2}
    assert best_algorithm(["x", "y", "z"], probabilities) is None
    assert best_algorithm(["x"], probabilities) is None
    with pytest.raises(RlbenchError, match="no probability of improvement"):
        shared_ranks(["x", "w"], probabilities)


# ------------------------------------------------------------------ seeds needed


@pytest.mark.parametrize("effect", [0.2, 0.5, 0.8, 1.0, 1.5, 2.5])
def test_seeds_needed_against_the_closed_form_power_calculation(effect: float) -> None:
    needed = seeds_needed(difference=effect * 3.0, std=3.0)
    closed_form = normal_approximation_seeds(effect)  # 2 (z_0.975 + z_0.8)^2 / d^2
    z = scipy.stats.norm.ppf(0.975) + scipy.stats.norm.ppf(0.8)
    assert closed_form == pytest.approx(2 * z**2 / effect**2)
    # The t-test needs a little more than the normal approximation, never less.
    assert math.ceil(closed_form) <= needed <= math.ceil(closed_form) + 2
    assert t_test_power(int(needed), effect) >= 0.8
    if needed > 2:
        assert t_test_power(int(needed) - 1, effect) < 0.8


def test_seeds_needed_textbook_values_and_edge_cases() -> None:
    # Two-sided alpha 0.05, power 0.8, exact t-test: d = 0.5 needs 64 per group, d = 0.8 needs 26 (G*Power).
    assert seeds_needed(0.5, 1.0) == 64 and seeds_needed(0.8, 1.0) == 26
    assert seeds_needed(0.0, 1.0) == math.inf
    assert seeds_needed(1.0, 0.0) == 2
    assert seeds_needed(1e-6, 1.0) == math.inf  # beyond the search limit
    with pytest.raises(RlbenchError, match="alpha"):
        seeds_needed(1.0, 1.0, alpha=1.5)


def test_pairwise_seeds_needed_uses_the_pooled_seed_std() -> None:
    x = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])  # seed scores 2, 3, 4
    y = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])  # seed scores 0, 1, 2
    result = pairwise_seeds_needed({"x": x, "y": y}, stated=0.5)
    assert list(result) == [("x", "y")]
    found = result[("x", "y")]
    assert found.difference == pytest.approx(2.0) and found.std == pytest.approx(1.0)
    assert found.for_observed == seeds_needed(2.0, 1.0) and found.for_stated == seeds_needed(0.5, 1.0) == 64
    with pytest.raises(RlbenchError, match="at least 2 seeds"):
        pairwise_seeds_needed({"x": x, "y": y[:1]}, stated=0.5)


# ------------------------------------------------------------------ reproduction verdicts

OURS = np.array([95.0, 100.0, 105.0, 98.0, 102.0])  # mean 100, std sqrt(14.5)


def test_single_run_interval_is_the_t_prediction_interval() -> None:
    interval = single_run_interval(OURS, 90.0, alpha=0.05)
    half = scipy.stats.t.ppf(0.95, 4) * np.std(OURS, ddof=1) * math.sqrt(1 + 1 / 5)
    assert interval.point == pytest.approx(10.0)
    assert (interval.lower, interval.upper) == pytest.approx((10.0 - half, 10.0 + half))


def test_single_run_verdicts_inside_outside_and_at_the_edge_of_the_margin() -> None:
    inside = single_run_verdict(OURS, 100.0, margin=20.0)
    assert inside.outcome == REPRODUCED and inside.test == ONE_RUN
    assert single_run_verdict(OURS, 200.0, margin=20.0).outcome == NOT_REPRODUCED
    # Near the margin but uncertain: the interval straddles it.
    assert single_run_verdict(OURS, 85.0, margin=20.0).outcome == INCONCLUSIVE
    # At the edge: a margin equal to the interval's furthest bound still counts as reproduced; any less does not.
    edge = single_run_interval(OURS, 95.0)
    margin = max(abs(edge.lower), abs(edge.upper))
    assert single_run_verdict(OURS, 95.0, margin=margin).outcome == REPRODUCED
    assert single_run_verdict(OURS, 95.0, margin=margin * 0.999).outcome == INCONCLUSIVE


def test_mean_verdicts_use_welch_and_the_published_seed_count() -> None:
    interval = mean_interval(OURS, 100.0, published_std=4.0, published_runs=3)
    se = math.sqrt(np.var(OURS, ddof=1) / 5 + 16.0 / 3)
    df = se**4 / ((np.var(OURS, ddof=1) / 5) ** 2 / 4 + (16.0 / 3) ** 2 / 2)
    assert interval.upper == pytest.approx(scipy.stats.t.ppf(0.95, df) * se)
    verdict = mean_verdict(OURS, 100.0, 4.0, 3, margin=20.0)
    assert verdict.outcome == REPRODUCED and verdict.test == MEAN_OVER_SEEDS
    assert mean_verdict(OURS, 150.0, 4.0, 3, margin=20.0).outcome == NOT_REPRODUCED
    assert mean_verdict(OURS, 100.0, 40.0, 3, margin=20.0).outcome == INCONCLUSIVE  # published spread too wide
    with pytest.raises(RlbenchError, match="at least 2 seeds"):
        mean_verdict(OURS, 100.0, 4.0, 1, margin=20.0)


def test_degenerate_spreads_and_bad_margins() -> None:
    constant = np.full(5, 500.0)
    assert single_run_interval(constant, 500.0) == Interval(0.0, 0.0, 0.0)
    assert single_run_verdict(constant, 500.0, margin=1.0).outcome == REPRODUCED
    assert outcome_of(Interval(-30.0, -40.0, -21.0), margin=20.0) == NOT_REPRODUCED
    with pytest.raises(RlbenchError, match="margin"):
        outcome_of(Interval(0.0, 0.0, 0.0), margin=0.0)
    with pytest.raises(RlbenchError, match="at least 2 finite"):
        single_run_verdict(np.array([1.0]), 1.0, margin=1.0)
