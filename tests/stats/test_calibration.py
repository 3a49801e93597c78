"""Calibration of the decision rules: the replicas match the production functions to the last digit, the truths are
right, and on reduced simulations the rules keep (or, for the old rule, miss) their stated error rates."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.aggregates import aggregate_metrics, probability_of_improvement
from rlbench.stats.calibration import (
    COLUMNS,
    COVERAGE,
    FALSE_SEPARATION,
    FALSE_VERDICT,
    POWER,
    RULES,
    SUMMARY_COLUMNS,
    CalibrationSettings,
    bootstrap_interval,
    bootstrap_iqm_mean,
    bounded_mean,
    calibration_markdown,
    calibration_table,
    cartpole_like,
    coverage_cell,
    empirical_task,
    equivalence_cell,
    false_verdict_rates,
    has_cycle,
    heavy_tail_task,
    measured_coverage,
    names_of,
    normal_task,
    old_rule_separations,
    poi_bootstrap_intervals,
    population_aggregates,
    ranking_cell,
    rate,
    rule_summary,
    scenario_tasks,
    settings_from_mapping,
    single_run_cell,
    summary_statement,
    true_improvement,
)
from rlbench.stats.reproduction import EQUIVALENCE_TEST, SINGLE_CASE_TEST


def rows_by_kind(rows: list[dict[str, object]], rule: str, kind: str) -> dict[str, object]:
    (found,) = [row for row in rows if row["rule"] == rule and row["rate_kind"] == kind]
    return found


def at_most(row: dict[str, object], bound: float) -> bool:
    """The measured rate is at most ``bound`` up to three Monte-Carlo standard errors of a rate at ``bound``."""
    return row["measured"] <= bound + 3.0 * math.sqrt(bound * (1.0 - bound) / row["simulations"])


# ------------------------------------------------------------------ replicas = production


def sequential_indices(seed: int, reps: int, runs: int, tasks: int, arrays: int) -> list[np.ndarray]:
    """The indices the production bootstrap draws from ``RandomState(seed)``: per resample, one draw per array."""
    generator = np.random.RandomState(seed)
    draws = [[generator.choice(runs, (runs, tasks), replace=True) for _ in range(arrays)] for _ in range(reps)]
    return [np.array([draw[k] for draw in draws]) for k in range(arrays)]


@pytest.mark.parametrize("method", ["percentile", "expanded"])
@pytest.mark.parametrize("runs", [3, 10])
def test_interval_replica_equals_aggregate_metrics(method: str, runs: int) -> None:
    matrix = np.random.default_rng(runs).normal(size=(runs, 4))
    matrix[0, 0] = matrix[1, 0]  # a tie
    produced = aggregate_metrics({"a": matrix}, seed=7, reps=300, method=method)["a"]
    (indices,) = sequential_indices(7, 300, runs, 4, 1)
    lower, upper = bootstrap_interval(bootstrap_iqm_mean(matrix, indices), 0.95, method, runs)
    for k, metric in enumerate(("iqm", "mean")):
        assert lower[k] == pytest.approx(produced[metric].lower, abs=1e-12)
        assert upper[k] == pytest.approx(produced[metric].upper, abs=1e-12)


def test_poi_replica_equals_probability_of_improvement() -> None:
    rng = np.random.default_rng(5)
    scores = {"a": rng.integers(0, 4, (4, 3)).astype(float), "b": rng.normal(1, 1, (4, 3)),
              "c": rng.integers(0, 4, (4, 3)).astype(float)}  # ties within and across algorithms
    produced = probability_of_improvement(scores, seed=11, reps=300)
    indices_x, indices_y = sequential_indices(11, 300, 4, 3, 2)
    replica = poi_bootstrap_intervals(scores, indices_x, indices_y)
    assert set(replica) == set(produced)
    for pair, interval in produced.items():
        assert replica[pair] == pytest.approx((interval.lower, interval.upper), abs=1e-12)
    assert old_rule_separations(scores, indices_x, indices_y) == frozenset(
        pair for pair, interval in produced.items() if interval.lower > 0.5)


# ------------------------------------------------------------------ truths


def test_population_aggregates_are_exact() -> None:
    normal = population_aggregates([normal_task(0.3, 0.2)])
    assert normal["mean"] == pytest.approx(0.3, abs=1e-9)
    assert normal["iqm"] == pytest.approx(0.3, abs=1e-9)  # symmetric
    # two tasks N(0, 1) and N(1, 1): IQM = 2 * integral of the mixture's quantile function over [1/4, 3/4]
    mixture = population_aggregates([normal_task(0.0, 1.0), normal_task(1.0, 1.0)])
    assert mixture["mean"] == pytest.approx(0.5, abs=1e-9)
    assert mixture["iqm"] == pytest.approx(0.5, abs=1e-6)  # symmetric about 0.5
    # real runs: the empirical distribution of 0..7 (IQM of equally weighted 0..7 is the mean of 2..5)
    empirical = population_aggregates([empirical_task(np.arange(8.0))])
    assert empirical["mean"] == pytest.approx(3.5)
    assert empirical["iqm"] == pytest.approx(3.5)
    skewed = population_aggregates([empirical_task(np.array([0.0, 0.0, 0.0, 1.0, 2.0, 10.0, 10.0, 10.0]))])
    assert skewed["iqm"] == pytest.approx(np.mean([0.0, 1.0, 2.0, 10.0]))
    tail = population_aggregates([heavy_tail_task(0.5, 0.1)])
    assert tail["mean"] == pytest.approx(0.9 * 0.5 + 0.1 * -10.0, abs=1e-6)


def test_true_improvement() -> None:
    tasks = [normal_task(0.0, 1.0), normal_task(5.0, 2.0)]
    truth = true_improvement(tasks, {"A": [1.0, 1.0], "B": [0.0, 0.0], "C": [0.0, 0.0]})
    assert truth[("A", "B")] == pytest.approx(scipy.stats.norm.cdf(1.0 / math.sqrt(2.0)), abs=1e-3)
    assert truth[("B", "A")] == pytest.approx(1.0 - truth[("A", "B")], abs=1e-9)
    assert truth[("B", "C")] == pytest.approx(0.5, abs=1e-12)
    tied = true_improvement([empirical_task(np.array([0.0, 0.0, 1.0]))], {"A": [0.0], "B": [0.0]})
    assert tied[("A", "B")] == pytest.approx(0.5, abs=1e-12)


def test_bounded_scenario_mean_and_margin() -> None:
    bounded = cartpole_like(0.0, 500.0, 21.22, 500.0, 0.1)
    assert bounded.margin == pytest.approx(47.878)
    centre = bounded_mean(500.0, 0.2, 21.22, 300.0)
    lower = bounded.task(bounded.share_for_mean(centre - bounded.margin))
    draws = lower.quantile((np.arange(100_000) + 0.5) / 100_000)
    assert draws.mean() == pytest.approx(centre - bounded.margin, abs=0.01)
    assert draws.min() >= 21.22 and draws.max() == 500.0


def test_scenarios() -> None:
    real = np.array([[0.5, 1.0], [0.7, 0.0]])
    resampled = scenario_tasks("resampled", 3, real)
    assert resampled[2].quantile(np.array([0.1, 0.9])).tolist() == [0.5, 0.7]  # task 2 draws from column 0
    ceiling = scenario_tasks("ceiling", 5)
    values = np.concatenate([task.quantile((np.arange(1000) + 0.5) / 1000) for task in ceiling])
    assert values.max() == 1.0 and np.mean(values == 1.0) > 0.5  # most runs at the ceiling
    with pytest.raises(RlbenchError, match="real runs"):
        scenario_tasks("resampled", 2)
    with pytest.raises(RlbenchError, match="1 to 5 tasks"):
        scenario_tasks("normal", 6)


def test_has_cycle() -> None:
    assert has_cycle(frozenset({("A", "B"), ("B", "C"), ("C", "A")}), "ABC")
    assert not has_cycle(frozenset({("A", "B"), ("B", "C"), ("A", "C")}), "ABC")


# ------------------------------------------------------------------ the rules on reduced simulations


SMALL = CalibrationSettings(simulations=300, old_rule_simulations=80, old_rule_reps=400, coverage_simulations=300,
                            bootstrap_reps=1000, verdict_simulations=1000)


def test_exact_test_keeps_its_family_wise_rate_and_the_old_rule_does_not() -> None:
    names = names_of(4)
    rows = ranking_cell(SMALL, "normal", 10, 4, 4, scenario_tasks("normal", 4), {a: [0.0] * 4 for a in names})
    new, old = (rows_by_kind(rows, rule, FALSE_SEPARATION) for rule in ("better_exact_holm", "better_poi_ci"))
    assert new["simulations"] == 300 and old["simulations"] == 80
    assert at_most(new, 0.05)
    assert old["measured"] > 0.10  # six uncorrected 95% intervals: far above 5% family-wise


def test_exact_test_has_power_and_strong_control_with_one_better_algorithm() -> None:
    names = names_of(4)
    shifts = {a: [2.0 if a == "A" else 0.0] * 4 for a in names}
    rows = ranking_cell(SMALL, "one_better", 10, 4, 4, scenario_tasks("one_better", 4), shifts)
    assert rows_by_kind(rows, "better_exact_holm", POWER)["measured"] > 0.9
    assert at_most(rows_by_kind(rows, "better_exact_holm", FALSE_SEPARATION), 0.05)


def test_exact_test_on_ties_at_a_ceiling() -> None:
    names = names_of(4)
    rows = ranking_cell(SMALL, "ceiling", 5, 2, 4, scenario_tasks("ceiling", 2), {a: [0.0] * 2 for a in names})
    assert at_most(rows_by_kind(rows, "better_exact_holm", FALSE_SEPARATION), 0.05)


def test_expanded_interval_covers_at_three_seeds_and_percentile_falls_short() -> None:
    rows = coverage_cell(SMALL, "normal", 3, 5, scenario_tasks("normal", 5))
    coverage = {row["rule"]: row["measured"] for row in rows}
    assert {row["rate_kind"] for row in rows} == {COVERAGE}
    assert coverage["interval_mean_expanded"] >= 0.90
    assert coverage["interval_mean_percentile"] < 0.90
    assert coverage["interval_iqm_expanded"] > coverage["interval_iqm_percentile"]


def test_verdicts_keep_their_rates() -> None:
    at_margin = equivalence_cell(SMALL, "normal_at_margin", 10, normal_task(0.8, 0.1), normal_task(0.7, 0.1), None,
                                 0.1, FALSE_VERDICT)
    assert at_margin["nominal"] == 0.05 and at_most(at_margin, 0.05)
    equal = equivalence_cell(SMALL, "normal_equal", 10, normal_task(0.8, 0.1), normal_task(0.8, 0.1), None, 0.1, POWER)
    assert equal["measured"] > at_margin["measured"] and math.isnan(equal["nominal"])
    bounded = cartpole_like(0.0, 500.0, 21.22, 500.0, 0.1)
    centre = bounded_mean(500.0, 0.2, 21.22, 300.0)
    wall = equivalence_cell(SMALL, "bounded_at_margin_above", 3, bounded.task(0.2),
                            bounded.task(bounded.share_for_mean(centre + bounded.margin)), (0.0, 500.0),
                            bounded.margin, FALSE_VERDICT)
    assert at_most(wall, 0.05)
    single = single_run_cell(SMALL, "single_run_normal", 5, normal_task(0.8, 0.1), None)
    assert abs(single["measured"] - 0.05) <= 3.0 * math.sqrt(0.05 * 0.95 / single["simulations"])  # exact for normal


# ------------------------------------------------------------------ the table, its summary, look-ups


TINY = CalibrationSettings(seeds=(3,), tasks=(2,), wide=(3, 2, 5), simulations=6, old_rule_simulations=3,
                           old_rule_reps=50, coverage_simulations=5, bootstrap_reps=100, verdict_simulations=10)


def test_table_is_identical_on_rerun_and_complete() -> None:
    real = np.random.default_rng(0).uniform(size=(10, 4))
    bounded = cartpole_like(0.0, 500.0, 21.22, 500.0, 0.1)
    first, second = (calibration_table(TINY, real, bounded) for _ in range(2))
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == COLUMNS and set(first["rule"]) == set(RULES)
    buffer = io.StringIO()
    first.to_csv(buffer, index=False, float_format="%.4f")
    assert "nan" not in buffer.getvalue()  # NaN written as empty cells
    summary = rule_summary(first)
    assert list(summary.columns) == SUMMARY_COLUMNS and list(summary["rule"]) == list(RULES)
    page = calibration_markdown(first, summary, TINY, "a few seconds.")
    assert page.startswith("# Calibration") and "a few seconds." in page and "better_poi_ci" in page


def test_summary_and_lookups() -> None:
    table = pd.DataFrame([
        ["better_exact_holm", "normal", 3, 2, 4, FALSE_SEPARATION, 0.05, 0.03, 0.005, 1000],
        ["better_exact_holm", "ceiling", 5, 2, 4, FALSE_SEPARATION, 0.05, 0.045, 0.006, 1000],
        ["better_exact_holm", "one_better", 5, 2, 4, POWER, math.nan, 0.4, 0.01, 1000],
        ["better_exact_holm", "one_better", 10, 2, 4, POWER, math.nan, 0.8, 0.01, 1000],
        ["interval_iqm_expanded", "normal", 3, 2, 1, COVERAGE, 0.95, 0.93, 0.01, 500],
        ["interval_iqm_expanded", "ceiling", 3, 2, 1, COVERAGE, 0.95, 0.90, 0.01, 500],
        ["interval_iqm_expanded", "normal", 10, 5, 1, COVERAGE, 0.95, 0.96, 0.01, 500],
        ["reproduced_tost", "normal_at_margin", 5, 1, 2, FALSE_VERDICT, 0.05, 0.02, 0.003, 2000],
        ["single_run_consistent", "single_run_bounded", 10, 1, 2, FALSE_VERDICT, 0.05, 0.07, 0.006, 2000],
    ], columns=COLUMNS)
    summary = rule_summary(table).set_index("rule")
    assert summary.loc["better_exact_holm", "worst_rate"] == 0.045
    assert summary.loc["better_exact_holm", "worst_at"] == "ceiling, 5 seeds, 2 tasks, 4 algorithms"
    assert summary.loc["better_exact_holm", "power"] == 0.8  # the largest setting
    assert summary.loc["interval_iqm_expanded", "min_coverage"] == 0.90
    assert summary.loc["interval_iqm_expanded", "worst_rate"] == pytest.approx(0.10)
    statement = summary_statement(rule_summary(table), "better_exact_holm")
    assert "at most 4.5%" in statement and "1000 simulations" in statement and "power 80%" in statement
    assert false_verdict_rates(rule_summary(table)) == {EQUIVALENCE_TEST: 0.02, SINGLE_CASE_TEST: 0.07}
    assert measured_coverage(table, "expanded", 3, 2) == 0.90  # lowest over the scenarios
    assert measured_coverage(table, "expanded", 4, 3, scenario="normal") == 0.93  # nearest: 3 seeds (a tie: fewer)
    assert measured_coverage(table, "expanded", 20, 5) == 0.96
    with pytest.raises(RlbenchError, match="no calibrated coverage"):
        measured_coverage(table, "percentile", 3, 2)
    with pytest.raises(RlbenchError, match="no calibration of rule"):
        summary_statement(rule_summary(table), "nothing")


def test_rate_and_its_error() -> None:
    assert rate(np.array([True, False, False, False])) == (0.25, pytest.approx(math.sqrt(0.25 * 0.75 / 4)), 4)


def test_settings_are_validated() -> None:
    settings = settings_from_mapping({"seeds": [3, 5], "simulations": 10, "old_rule_simulations": 5},
                                     bootstrap_reps=500)
    assert settings.seeds == (3, 5) and settings.bootstrap_reps == 500 and settings.tasks == (2, 5)
    assert settings_from_mapping(None) == CalibrationSettings()
    for raw, message in (({"simulation": 3}, "unknown key"), ({"seeds": [1]}, "integers >= 2"),
                         ({"alpha": 1.5}, r"\(0, 1\)"), ({"simulations": 0}, "positive integer"),
                         ({"simulations": 10, "old_rule_simulations": 20}, "at most"), ({"tasks": [6]}, "5 tasks"),
                         ({"wide": [10, 4]}, "seeds, tasks, algorithms")):
        with pytest.raises(RlbenchError, match=message):
            settings_from_mapping(raw)
