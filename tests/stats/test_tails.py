"""The tails an IQM trims: fraction at the reference with its Wilson interval, share below random, and the mean
without its most extreme run, on known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.aggregates import iqm
from rlbench.stats.tails import (
    below_random_fraction,
    mean_without_extreme,
    most_extreme_run,
    reference_fraction,
    wilson_interval,
)


def test_wilson_interval_closed_form_values() -> None:
    z2 = scipy.stats.norm.ppf(0.975) ** 2
    # All successes / all failures: the interval does not collapse; its far bound is n / (n + z²) (resp. z² / ...).
    every = wilson_interval(10, 10)
    assert (every.point, every.upper) == (1.0, 1.0) and every.lower == pytest.approx(10 / (10 + z2))
    none = wilson_interval(0, 10)
    assert (none.point, none.lower) == (0.0, 0.0) and none.upper == pytest.approx(z2 / (10 + z2))
    # 5 of 10: symmetric about 0.5, the textbook [0.2366, 0.7634].
    half = wilson_interval(5, 10)
    assert (half.lower, half.upper) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    # 25 of 40 (about the 62% of the classic suite's DQN): by the formula.
    p, n = 25 / 40, 40
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    spread = math.sqrt(z2) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    interval = wilson_interval(25, 40)
    assert (interval.lower, interval.upper) == pytest.approx((centre - spread, centre + spread))
    assert interval.lower < p < interval.upper
    with pytest.raises(RlbenchError, match="successes <= trials"):
        wilson_interval(11, 10)
    with pytest.raises(RlbenchError, match="integers"):
        wilson_interval(0.5, 10)


def test_wilson_interval_matches_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    for successes, trials in ((0, 7), (3, 7), (7, 7), (25, 40), (1, 60)):
        lower, upper = proportion.proportion_confint(successes, trials, alpha=0.05, method="wilson")
        found = wilson_interval(successes, trials)
        assert (found.lower, found.upper) == pytest.approx((lower, upper), abs=1e-12)


def test_reference_fraction_counts_cells_at_or_above_one_with_a_float_tolerance() -> None:
    # 3 seeds × 2 tasks: 1.0 exactly (clipped), 1 - 1e-12 (rounding), 1.3 (unclipped) count; 0.999 does not.
    scores = np.array([[1.0, 0.2], [1.0 - 1e-12, 0.999], [1.3, -0.5]])
    found = reference_fraction(scores)
    assert found.point == pytest.approx(3 / 6)
    expected = wilson_interval(3, 6)
    assert (found.lower, found.upper) == (expected.lower, expected.upper)


def test_an_iqm_near_one_beside_the_fraction_of_runs_that_failed() -> None:
    """The maze case: 10 seeds × 2 mazes, all optimal except 3 slippery runs stuck near random. The IQM trims the
    lowest quarter (5 of 20 cells), exactly the failed runs, and reads 1; the fraction at the reference shows them."""
    scores = np.ones((10, 2))
    scores[[2, 5, 7], 1] = [0.02, 0.01, 0.0]
    assert iqm(scores) == pytest.approx(1.0)
    at = reference_fraction(scores)
    assert at.point == pytest.approx(17 / 20) and at.upper < 1.0 and at.lower > 0.6


def test_below_random_fraction_is_strictly_below_zero() -> None:
    scores = np.array([[0.0, 1.0], [-1e-12, 0.5], [-0.2, -11.3]])  # 0 (a failed run counted as random) is not below
    assert below_random_fraction(scores) == pytest.approx(2 / 6)


def test_mean_without_extreme_leaves_out_the_run_farthest_from_its_task_mean() -> None:
    # Task 0: 1, 0.8, 0.9, -11.3 (the collapsed run); task 1: 0.5, 0.6, 0.7, 0.4.
    scores = np.array([[1.0, 0.5], [0.8, 0.6], [0.9, 0.7], [-11.3, 0.4]])
    extreme = most_extreme_run({"a": scores})
    assert (extreme.algo, extreme.row, extreme.task, extreme.score) == ("a", 3, 0, -11.3)
    assert extreme.deviation == pytest.approx(-11.3 - np.mean([1.0, 0.8, 0.9, -11.3]))
    mean = np.mean(scores)
    without = mean_without_extreme(scores)
    assert without == pytest.approx((np.mean([1.0, 0.8, 0.9]) + np.mean([0.5, 0.6, 0.7, 0.4])) / 2)
    assert mean < 0.0 < 0.5 < without  # one run pulls the mean below random; without it the mean is 0.7
    assert math.isnan(mean_without_extreme(np.array([[0.3, 0.4]])))  # one run: nothing left on its task


def test_most_extreme_run_searches_every_algorithm() -> None:
    found = most_extreme_run({"x": np.array([[0.0], [1.0]]), "y": np.array([[0.5], [0.5], [-4.0]])})
    assert (found.algo, found.row, found.task) == ("y", 2, 0)
