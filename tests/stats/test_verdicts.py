"""Rank groups, seeds needed and reproduction verdicts on tiny synthetic score matrices with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import Interval
from rlbench.stats.power import (
    normal_approximation_seeds,
    pairwise_seeds_needed,
    seeds_needed,
    t_test_power,
)
from rlbench.stats.aggregates import improvement_probability
from rlbench.stats.ranking import (
    best_algorithm,
    better_relation,
    cycles,
    holm_adjusted,
    permutation_p_value,
    relation_statement,
    seeds_floor,
    shared_ranks,
)
from rlbench.stats.reproduction import (
    CONSISTENT,
    EQUIVALENCE_TEST,
    INCONCLUSIVE,
    INCONSISTENT,
    NOT_REPRODUCED,
    REPRODUCED,
    SINGLE_CASE_TEST,
    equivalence_verdict,
    mean_interval,
    outcome_of,
    single_case_p_value,
    single_run_verdict,
    wall_bound,
)

# ------------------------------------------------------------------ the "clearly better" relation and ranks


def _brute_force_p_value(x: np.ndarray, y: np.ndarray) -> float:
    """Every relabelling of the pooled runs, task by task, enumerated: the definition the exact test computes."""
    pooled, n = np.concatenate([x, y]), x.shape[0]
    observed = abs(improvement_probability(x, y) - 0.5)
    per_task = []
    for task in range(x.shape[1]):
        values = []
        for chosen in itertools.combinations(range(pooled.shape[0]), n):
            mask = np.zeros(pooled.shape[0], dtype=bool)
            mask[list(chosen)] = True
            values.append(improvement_probability(pooled[mask][:, [task]], pooled[~mask][:, [task]]))
        per_task.append(np.array(values))
    totals = per_task[0]
    for values in per_task[1:]:
        totals = (totals[:, None] + values[None, :]).ravel()
    return float(np.mean(np.abs(totals / x.shape[1] - 0.5) >= observed - 1e-12))


@pytest.mark.parametrize("case", range(4))
def test_exact_permutation_p_value_equals_full_enumeration(case: int) -> None:
    rng = np.random.default_rng(case)
    x = np.round(rng.normal(size=(3, 2)), 1)  # rounding makes ties, which get their average rank
    y = np.round(rng.normal(0.8, size=(4, 2)), 1)
    if case == 3:  # heavy ties: scores piled at a ceiling
        x, y = np.ones((3, 2)), np.array([[1.0, 1.0], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]])
    assert permutation_p_value(x, y) == pytest.approx(_brute_force_p_value(x, y), abs=1e-12)
    assert permutation_p_value(x, y) == pytest.approx(permutation_p_value(y, x), abs=1e-12)


def test_smallest_p_value_is_the_one_extreme_relabelling() -> None:
    x, y = np.arange(3.0).reshape(3, 1) + 10.0, np.arange(3.0).reshape(3, 1)
    assert permutation_p_value(x, y) == pytest.approx(seeds_floor(3, 1)) == pytest.approx(0.1)
    assert permutation_p_value(np.ones((4, 2)), np.ones((4, 2))) == pytest.approx(1.0)


def test_holm_adjustment_on_known_values() -> None:
    adjusted = holm_adjusted({("a", "b"): 0.01, ("a", "c"): 0.04, ("b", "c"): 0.03})
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01, 2 x 0.03, max(0.06, 1 x 0.04)
    assert adjusted == pytest.approx({("a", "b"): 0.03, ("b", "c"): 0.06, ("a", "c"): 0.06})


def test_identical_algorithms_share_a_rank_and_a_clearly_better_one_stands_alone() -> None:
    rng = np.random.RandomState(0)
    same = rng.uniform(0.2, 0.6, size=(5, 2))
    scores = {"a": same, "b": same.copy(), "c": same.copy(), "best": same + 1.0}
    relation = better_relation(scores)
    assert relation.probability[("a", "b")] == pytest.approx(0.5)  # ties count half
    assert shared_ranks(relation) == {"best": 1, "a": 2, "b": 2, "c": 2}
    assert best_algorithm(relation) == "best"
    assert relation.better == {("best", "a"), ("best", "b"), ("best", "c")}
    # Without the clearly better one nothing can be named best, and everything shares rank 1.
    rest = better_relation({k: scores[k] for k in ("a", "b", "c")})
    assert shared_ranks(rest) == {"a": 1, "b": 1, "c": 1} and best_algorithm(rest) is None
    assert best_algorithm(better_relation({"a": same})) is None
    assert best_algorithm(relation, ["a", "b"]) is None


def test_holm_keeps_identical_algorithms_together_on_most_simulated_leaderboards() -> None:
    # 4 identical algorithms, 5 seeds, 2 tasks: any separation is a false one; family-wise it must stay near 5%.
    rng = np.random.default_rng(7)
    trials = 300
    separated = sum(bool(better_relation({k: rng.normal(size=(5, 2)) for k in "abcd"}).better) for _ in range(trials))
    assert separated / trials <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / trials)


def test_a_cycle_across_tasks_is_reported_and_leaves_rank_one_empty() -> None:
    # Each algorithm wins two of three tasks against the next one: A > B, B > C, C > A on average.
    rng = np.random.default_rng(1)
    base = {"A": [3.0, 2.0, 1.0], "B": [2.0, 1.0, 3.0], "C": [1.0, 3.0, 2.0]}
    scores = {k: np.array(v) + rng.normal(0, 0.01, size=(40, 3)) for k, v in base.items()}
    relation = better_relation(scores)
    assert relation.better == {("A", "B"), ("B", "C"), ("C", "A")}
    assert cycles(relation) == [("A", "B", "C")]
    assert shared_ranks(relation) == {"A": 2, "B": 2, "C": 2}
    assert "not an order" in relation_statement(relation)
    assert relation_statement(better_relation({"A": scores["A"], "B": scores["B"]})) == ""


def test_relation_rejects_bad_input() -> None:
    with pytest.raises(RlbenchError, match="same number of tasks"):
        better_relation({"a": np.zeros((3, 2)), "b": np.zeros((3, 1))})
    with pytest.raises(RlbenchError, match="no comparison"):
        better_relation({"a": np.zeros((3, 1))}).clearly_better("a", "z")


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


def test_single_case_test_is_crawford_and_howell() -> None:
    # t = (published - mean) / (s sqrt((n + 1) / n)) on n - 1 degrees of freedom, two-sided.
    t = (90.0 - 100.0) / (np.std(OURS, ddof=1) * math.sqrt(6 / 5))
    assert single_case_p_value(OURS, 90.0) == pytest.approx(2 * scipy.stats.t.sf(abs(t), 4))
    verdict = single_run_verdict(OURS, 90.0)
    assert verdict.test == SINGLE_CASE_TEST and verdict.outcome == CONSISTENT and math.isnan(verdict.margin)
    half = scipy.stats.t.ppf(0.975, 4) * np.std(OURS, ddof=1) * math.sqrt(1 + 1 / 5)
    assert (verdict.difference.lower, verdict.difference.upper) == pytest.approx((10.0 - half, 10.0 + half))
    assert single_run_verdict(OURS, 200.0).outcome == INCONSISTENT
    # A single run is never "reproduced", however close.
    assert single_run_verdict(OURS, 100.0).outcome == CONSISTENT


def test_single_run_against_runs_without_spread_is_ranked_among_them() -> None:
    ceiling = np.full(5, 500.0)
    same = single_run_verdict(ceiling, 500.0)
    assert same.outcome == CONSISTENT and same.p_value == 1.0 and math.isnan(same.difference.lower)
    assert "ranked among them" in same.note
    # Below all five of ours: rank 1 of 6, two-sided p = 2 / 6, still consistent (one run cannot tell).
    assert single_case_p_value(ceiling, 480.0) == pytest.approx(2 / 6)
    assert single_case_p_value(np.full(40, 500.0), 480.0) == pytest.approx(2 / 41)
    assert single_run_verdict(np.full(40, 500.0), 480.0).outcome == INCONSISTENT


def test_equivalence_uses_welch_and_the_published_seed_count() -> None:
    interval, note = mean_interval(OURS, 100.0, published_std=4.0, published_runs=3)
    se = math.sqrt(np.var(OURS, ddof=1) / 5 + 16.0 / 3)
    df = se**4 / ((np.var(OURS, ddof=1) / 5) ** 2 / 4 + (16.0 / 3) ** 2 / 2)
    assert interval.upper == pytest.approx(scipy.stats.t.ppf(0.95, df) * se) and note == ""
    verdict = equivalence_verdict(OURS, 100.0, 4.0, 3, margin=20.0)
    assert verdict.outcome == REPRODUCED and verdict.test == EQUIVALENCE_TEST
    assert equivalence_verdict(OURS, 150.0, 4.0, 3, margin=20.0).outcome == NOT_REPRODUCED
    assert equivalence_verdict(OURS, 100.0, 40.0, 3, margin=20.0).outcome == INCONCLUSIVE  # published spread too wide
    with pytest.raises(RlbenchError, match="at least 2 seeds"):
        equivalence_verdict(OURS, 100.0, 4.0, 1, margin=20.0)


def test_runs_at_a_ceiling_never_give_a_zero_width_interval() -> None:
    ceiling = np.full(5, 500.0)
    verdict = equivalence_verdict(ceiling, 500.0, 1e-9, 3, margin=47.9, bounds=(0.0, 500.0))
    # All five at 500 still allows about 45% of runs to fail (Clopper-Pearson at 0.025): far wider than the margin.
    assert verdict.outcome == INCONCLUSIVE and verdict.difference.width > 100.0 and "bound" in verdict.note
    assert verdict.difference.lower == pytest.approx(wall_bound(5, 500.0, 0.0, 0.025) - 500.0, abs=1e-3)
    assert wall_bound(5, 500.0, 0.0, 0.025) == pytest.approx(500.0 * 0.025 ** 0.2)
    # Enough seeds at the ceiling do show equivalence: 150 runs leave at most 2.4% failing.
    many = equivalence_verdict(np.full(150, 500.0), 500.0, 1e-9, 3, margin=47.9, bounds=(0.0, 500.0))
    assert many.outcome == REPRODUCED
    # No spread and no known bound: no interval at all.
    unbounded = equivalence_verdict(ceiling, 500.0, 10.0, 3, margin=47.9)
    assert unbounded.outcome == INCONCLUSIVE and math.isnan(unbounded.difference.lower)
    floor = equivalence_verdict(np.full(5, -200.0), -195.0, 8.5, 3, margin=9.0, bounds=(-200.0, 0.0))
    assert floor.outcome == INCONCLUSIVE and floor.difference.upper > 9.0


def test_bad_margins_and_too_few_runs() -> None:
    assert outcome_of(Interval(-30.0, -40.0, -21.0), margin=20.0) == NOT_REPRODUCED
    with pytest.raises(RlbenchError, match="margin"):
        outcome_of(Interval(0.0, 0.0, 0.0), margin=0.0)
    with pytest.raises(RlbenchError, match="at least 2 finite"):
        single_run_verdict(np.array([1.0]), 1.0)
    with pytest.raises(RlbenchError, match="lowest < highest"):
        equivalence_verdict(OURS, 100.0, 4.0, 3, margin=20.0, bounds=(1.0, 1.0))


def test_score_bounds_come_from_the_environment_and_unknown_ones_are_unbounded() -> None:
    from rlbench.scores.bounds import score_bounds

    assert score_bounds("CartPole-v1") == (0.0, 500.0) and score_bounds("MountainCar-v0") == (-200.0, 0.0)
    assert score_bounds("LunarLander-v3") == (None, None)
