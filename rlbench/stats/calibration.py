"""Every decision rule of rlbench run on simulated suites with known truth: its false-positive rate, power and coverage.

A decision rule states an error rate ("at most 5% of identical algorithms are separated", "a 95% interval"); this
module measures it. It simulates score matrices (``{algo: (runs x tasks)}`` of normalised scores, as
:mod:`rlbench.scores.matrices` makes them) where the truth is known, applies the rule exactly as the analysis does
(the production functions, or for the bootstraps a vectorised replica that draws the same resamples and takes the
same quantiles; the tests check it against the production function to the last digit), and counts:

* **false separation** (:mod:`rlbench.stats.ranking`): identical algorithms (all drawn from one distribution) of
  which the "clearly better" relation separates *any* pair (family-wise), or, with one algorithm truly better, a
  separation that the truth does not have;
* **power**: the share of truly ordered pairs (one algorithm better by ``effect`` seed standard deviations on every
  task) the relation separates in the right direction;
* **cycle** / **false order**: three algorithms beating each other in a cycle across three tasks (A > B > C > A on
  the average probability of improvement); how often the relation reports a cycle, and how often it separates a
  pair against the direction of the truth;
* **coverage** (:mod:`rlbench.stats.aggregates`): how often the interval of the IQM or the mean contains the
  population's IQM or mean (computed from the distribution's quantile function on a fine grid);
* **false verdict** (:mod:`rlbench.stats.reproduction`): "reproduced" when the true difference is exactly the margin,
  "inconsistent" when the published run is one more draw from our own distribution; and the power of "reproduced"
  when the truth is equal.

Every rate comes with its Monte-Carlo standard error ``sqrt(p (1 - p) / simulations)`` (the standard deviation of
the per-simulation values over ``sqrt(simulations)`` for a power averaged over pairs) and its number of simulations.
Every cell of the table draws from its own stream, ``numpy.random.SeedSequence(seed, spawn_key=cell)``, so the
table is identical on every rerun and adding a cell shifts no other. Pure functions over arrays: no file I/O (the
stage ``pipelines/calibration.py`` reads the real runs and writes the tables).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import scipy.special
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import EXPANDED, PERCENTILE, expanded_confidence
from rlbench.stats.ranking import better_relation, cycles
from rlbench.stats.reproduction import (
    EQUIVALENCE_TEST,
    INCONSISTENT,
    REPRODUCED,
    SINGLE_CASE_TEST,
    equivalence_verdict,
    single_run_verdict,
)

# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------

RULES: dict[str, str] = {
    "better_exact_holm": "\"clearly better\" (now): exact stratified permutation test of the average probability of "
                         "improvement, Holm-adjusted over all pairs, family-wise alpha (rlbench.stats.ranking)",
    "better_poi_ci": "\"clearly better\" (before): the 95% percentile-bootstrap CI of P(X > Y) lies above 0.5, each "
                     "pair on its own, no multiplicity correction (rliable's stratified independent bootstrap)",
    "interval_iqm_percentile": "95% interval of the IQM: rliable's stratified percentile bootstrap",
    "interval_iqm_expanded": "95% interval of the IQM: Hesterberg's expanded percentile bootstrap (now)",
    "interval_mean_percentile": "95% interval of the mean: rliable's stratified percentile bootstrap",
    "interval_mean_expanded": "95% interval of the mean: Hesterberg's expanded percentile bootstrap (now)",
    "reproduced_tost": f"\"reproduced\" for a published mean over seeds: {EQUIVALENCE_TEST}, alpha 0.05 per side",
    "single_run_consistent": f"\"consistent\" for a published single run: {SINGLE_CASE_TEST}, two-sided 0.05",
}
"""Every calibrated rule, by its key in the table, in words."""

SCENARIOS: dict[str, str] = {
    "normal": "normal scores, task means 0.2/0.5/0.8/0.35/0.65 and seed standard deviations 0.10/0.20/0.15/0.25/0.30",
    "resampled": "real runs: final normalised scores of `sb3_dqn` on the `classic` suite's tasks, drawn with "
                 "replacement (task j from the suite's task j mod 4)",
    "ceiling": "bounded scores piling up at a ceiling: normal with means 1.2/1.1/1.3/1.15/1.25 and standard "
               "deviations 0.4/0.35/0.45/0.3/0.5, clipped at 1 (60-77% of runs at 1)",
    "heavy_tail": "heavy negative tail: the `normal` scenario with 10% of runs at -10",
    "one_better": "one algorithm better by `effect` seed standard deviations on every task, the others identical "
                  "(the `normal` scenario)",
    "cycle": "3 algorithms on 3 tasks in a Latin square (task means 0, `cycle_step`, 2 `cycle_step` standard "
             "deviations): A > B > C > A on the average probability of improvement",
    "normal_at_margin": "ours normal (mean 0.8, seed sd `verdict_sd`), the published mean over as many seeds truly "
                        "lower by exactly the margin",
    "normal_equal": "ours and the published runs from one normal distribution (mean 0.8, seed sd `verdict_sd`)",
    "bounded_at_margin_below": "CartPole-like raw returns in [0, 500]: a run ends at 500 or, with probability 0.2, "
                               "fails uniformly between the random score and 300; the published runs' true mean lower "
                               "by exactly the margin (more failures)",
    "bounded_at_margin_above": "as `bounded_at_margin_below`, the published runs' true mean higher by exactly the "
                               "margin (fewer failures)",
    "bounded_equal": "ours and the published runs both CartPole-like as in `bounded_at_margin_below` (20% failures)",
    "single_run_normal": "one published run drawn from our own normal distribution (mean 0.8, sd `verdict_sd`)",
    "single_run_bounded": "one published run drawn from our own CartPole-like distribution (20% failures)",
}
"""Every simulated scenario, by its key in the table, in words."""

FALSE_SEPARATION = "false separation"
POWER = "power"
CYCLE = "cycle"
FALSE_ORDER = "false order"
COVERAGE = "coverage"
FALSE_VERDICT = "false verdict"
FALSE_KINDS = (FALSE_SEPARATION, FALSE_ORDER, FALSE_VERDICT)
"""Rate kinds whose rate is a false positive (a coverage's false-positive rate is 1 - coverage)."""

COLUMNS = ["rule", "scenario", "seeds", "tasks", "algorithms", "rate_kind", "nominal", "measured", "mc_se",
           "simulations"]
"""Columns of the calibration table (:func:`calibration_table`)."""

SUMMARY_COLUMNS = ["rule", "false_positive", "nominal", "worst_rate", "worst_mc_se", "worst_simulations",
                   "worst_at", "power", "power_mc_se", "power_at", "min_coverage", "min_coverage_at"]
"""Columns of the per-rule summary (:func:`rule_summary`)."""

_RULE_INDEX = {name: k for k, name in enumerate(RULES)}
_SCENARIO_INDEX = {name: k for k, name in enumerate(SCENARIOS)}


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationSettings:
    """What is simulated, and how often (``params.yaml``'s ``calibration:`` section)."""

    seed: int = 0
    """Entropy of every stream (each cell spawns its own)."""
    seeds: tuple[int, ...] = (3, 5, 10)
    """Runs per algorithm and task."""
    tasks: tuple[int, ...] = (2, 5)
    """Tasks per suite."""
    algorithms: int = 4
    """Algorithms per suite (the ranking rules)."""
    wide: tuple[int, int, int] = (10, 4, 6)
    """One more ranking setting: (seeds, tasks, algorithms), the `classic` suite's shape."""
    alpha: float = 0.05
    """Family-wise level of "clearly better"."""
    confidence: float = 0.95
    """Nominal level of the aggregate intervals."""
    effect: float = 1.0
    """The better algorithm's lead, in seed standard deviations on every task (power)."""
    cycle_step: float = 2.0
    """Step between the task means of the cycle scenario, in seed standard deviations."""
    simulations: int = 1000
    """Simulated suites per cell of the exact ranking test."""
    old_rule_simulations: int = 200
    """Of those, how many the old bootstrap rule also decides (the first ones: a paired comparison)."""
    old_rule_reps: int = 1000
    """Bootstrap resamples of the old rule."""
    coverage_simulations: int = 500
    """Simulated matrices per cell of the interval coverage."""
    bootstrap_reps: int = 2000
    """Bootstrap resamples of the aggregate intervals (the published ones': ``pipeline.bootstrap_reps``)."""
    verdict_simulations: int = 2000
    """Simulated comparisons per cell of the reproduction verdicts."""
    verdict_sd: float = 0.1
    """Seed standard deviation of the normal verdict scenarios (normalised units; the margin is 0.1)."""
    margin_fraction: float = 0.1
    """The equivalence margin as a fraction of (reference - random)."""


def settings_from_mapping(raw: Mapping[str, object] | None, **overrides: object) -> CalibrationSettings:
    """Validated :class:`CalibrationSettings` from a ``calibration:`` mapping (missing keys keep their defaults;
    ``overrides`` win, e.g. ``bootstrap_reps`` from the pipeline section)."""
    known = {f.name: f for f in fields(CalibrationSettings)}
    values = dict(raw or {})
    values.update(overrides)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RlbenchError(f"calibration: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
    default = CalibrationSettings()
    checked: dict[str, object] = {}
    for name, value in values.items():
        expected = getattr(default, name)
        where = f"calibration.{name}"
        if isinstance(expected, tuple):
            if not isinstance(value, (list, tuple)) or not value or any(
                    isinstance(v, bool) or not isinstance(v, int) or v < 2 for v in value):
                raise RlbenchError(f"{where}: expected a non-empty list of integers >= 2, got {value!r}")
            if name == "wide" and len(value) != 3:
                raise RlbenchError(f"{where}: expected [seeds, tasks, algorithms], got {value!r}")
            checked[name] = tuple(int(v) for v in value)
        elif isinstance(expected, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "seed" else 1):
                raise RlbenchError(f"{where}: expected a {'non-negative' if name == 'seed' else 'positive'} "
                                   f"integer, got {value!r}")
            checked[name] = int(value)
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise RlbenchError(f"{where}: expected a positive number, got {value!r}")
            if name in ("alpha", "confidence", "margin_fraction") and not value < 1:
                raise RlbenchError(f"{where}: expected a number in (0, 1), got {value!r}")
            checked[name] = float(value)
    settings = CalibrationSettings(**checked)
    if settings.old_rule_simulations > settings.simulations:
        raise RlbenchError("calibration.old_rule_simulations: at most calibration.simulations")
    if max(settings.tasks) > 5 or settings.wide[1] > 5:
        raise RlbenchError("calibration: at most 5 tasks (the scenarios define 5)")
    return settings


def cell_stream(seed: int, rule: str, scenario: str, seeds: int, tasks: int, algorithms: int) -> np.random.SeedSequence:
    """The random stream of one cell of the table: a child of ``SeedSequence(seed)`` keyed by the cell."""
    return np.random.SeedSequence(int(seed), spawn_key=(_RULE_INDEX[rule], _SCENARIO_INDEX[scenario], int(seeds),
                                                          int(tasks), int(algorithms)))


def _generator(sequence: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(sequence))


# --------------------------------------------------------------------------------------------
# Task distributions (by their quantile functions)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskDistribution:
    """One task's score distribution, given by its quantile function: draws are ``quantile(uniform)``, the
    population's IQM and mean come from the quantile function on a fine grid."""

    quantile: Callable[[np.ndarray], np.ndarray]
    """The quantile function (vectorised, on [0, 1))."""
    scale: float
    """The seed standard deviation an effect is measured in."""


def _ndtri(u: np.ndarray) -> np.ndarray:
    return scipy.special.ndtri(np.clip(u, 1e-12, 1.0 - 1e-12))


def normal_task(mean: float, sd: float) -> TaskDistribution:
    """Normal scores."""
    return TaskDistribution(lambda u: mean + sd * _ndtri(u), float(sd))


def ceiling_task(mean: float, sd: float, ceiling: float = 1.0) -> TaskDistribution:
    """Normal scores clipped at ``ceiling`` (a share ``Phi((mean - ceiling) / sd)`` of runs at the ceiling)."""
    return TaskDistribution(lambda u: np.minimum(mean + sd * _ndtri(u), ceiling), float(sd))


def heavy_tail_task(mean: float, sd: float, share: float = 0.1, value: float = -10.0) -> TaskDistribution:
    """Normal scores, except a share ``share`` of runs at ``value`` (below every normal score)."""
    def quantile(u: np.ndarray) -> np.ndarray:
        body = mean + sd * _ndtri((u - share) / (1.0 - share))
        return np.where(u < share, value, body)
    return TaskDistribution(quantile, float(sd))


def empirical_task(values: np.ndarray) -> TaskDistribution:
    """Draws with replacement from ``values`` (real runs)."""
    ordered = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if ordered.size < 2 or not np.all(np.isfinite(ordered)):
        raise RlbenchError(f"resampled runs need at least 2 finite scores, got {ordered.tolist()}")
    spread = float(np.std(ordered, ddof=1))

    def quantile(u: np.ndarray) -> np.ndarray:
        return ordered[np.minimum((np.asarray(u) * ordered.size).astype(np.int64), ordered.size - 1)]
    return TaskDistribution(quantile, spread if spread > 0 else 1.0)


def bounded_task(low: float, high: float, fail_share: float, fail_low: float, fail_high: float) -> TaskDistribution:
    """CartPole-like raw returns: ``high`` with probability ``1 - fail_share``, otherwise uniform on
    ``[fail_low, fail_high]`` (within ``[low, high]``)."""
    if not low <= fail_low < fail_high <= high or not 0.0 <= fail_share < 1.0:
        raise RlbenchError(f"bounded task: need low <= fail_low < fail_high <= high and a share in [0, 1), got "
                           f"{(low, high, fail_share, fail_low, fail_high)}")

    def quantile(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        inside = fail_low + (fail_high - fail_low) * u / fail_share if fail_share > 0 else np.full(u.shape, high)
        return np.where(u < fail_share, inside, high)
    return TaskDistribution(quantile, (high - low) / 10.0)


def bounded_mean(high: float, fail_share: float, fail_low: float, fail_high: float) -> float:
    """The true mean of :func:`bounded_task`."""
    return high - fail_share * (high - (fail_low + fail_high) / 2.0)


NORMAL_MEANS = (0.2, 0.5, 0.8, 0.35, 0.65)
NORMAL_SDS = (0.10, 0.20, 0.15, 0.25, 0.30)
CEILING_MEANS = (1.2, 1.1, 1.3, 1.15, 1.25)
CEILING_SDS = (0.4, 0.35, 0.45, 0.3, 0.5)


def scenario_tasks(scenario: str, tasks: int, real: np.ndarray | None = None) -> tuple[TaskDistribution, ...]:
    """The task distributions of an identical-algorithms scenario (``normal``, ``resampled``, ``ceiling``,
    ``heavy_tail``) for ``tasks`` tasks; ``real`` is the ``(runs x tasks)`` matrix the ``resampled`` scenario draws
    from (task j from its column j mod its tasks)."""
    if not 1 <= tasks <= len(NORMAL_MEANS):
        raise RlbenchError(f"scenarios define 1 to {len(NORMAL_MEANS)} tasks, got {tasks}")
    if scenario in ("normal", "one_better"):
        return tuple(normal_task(NORMAL_MEANS[j], NORMAL_SDS[j]) for j in range(tasks))
    if scenario == "ceiling":
        return tuple(ceiling_task(CEILING_MEANS[j], CEILING_SDS[j]) for j in range(tasks))
    if scenario == "heavy_tail":
        return tuple(heavy_tail_task(NORMAL_MEANS[j], NORMAL_SDS[j]) for j in range(tasks))
    if scenario == "resampled":
        if real is None:
            raise RlbenchError("the resampled scenario needs the real runs' score matrix")
        pool = np.asarray(real, dtype=np.float64)
        if pool.ndim != 2 or 0 in pool.shape:
            raise RlbenchError(f"the real runs must be a (runs x tasks) matrix, got shape {pool.shape}")
        return tuple(empirical_task(pool[:, j % pool.shape[1]]) for j in range(tasks))
    raise RlbenchError(f"no identical-algorithms scenario {scenario!r}")


def draw_matrices(rng: np.random.Generator, distributions: Sequence[TaskDistribution], simulations: int, runs: int,
                  shift: Sequence[float] | None = None) -> np.ndarray:
    """``simulations`` independent ``(runs x tasks)`` matrices, ``(simulations, runs, tasks)``; ``shift`` adds
    ``shift[j]`` seed standard deviations to task j."""
    uniforms = rng.random((simulations, runs, len(distributions)))
    matrices = np.empty_like(uniforms)
    for j, task in enumerate(distributions):
        matrices[:, :, j] = task.quantile(uniforms[:, :, j])
        if shift is not None:
            matrices[:, :, j] += shift[j] * task.scale
    return matrices


def population_aggregates(distributions: Sequence[TaskDistribution], grid: int = 200_000) -> dict[str, float]:
    """The population IQM and mean of a suite with these tasks (equal weight each), from each quantile function at
    the midpoints of ``grid`` equal-probability cells (exact up to the grid's resolution)."""
    u = (np.arange(grid) + 0.5) / grid
    pooled = np.sort(np.concatenate([task.quantile(u) for task in distributions]))
    cut = pooled.size // 4
    return {"iqm": float(pooled[cut:pooled.size - cut].mean()), "mean": float(pooled.mean())}


# --------------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------------


def rate(hits: np.ndarray) -> tuple[float, float, int]:
    """Share of true values, its Monte-Carlo standard error and the number of simulations."""
    values = np.asarray(hits, dtype=np.float64).ravel()
    if values.size == 0:
        raise RlbenchError("a rate needs at least one simulation")
    p = float(values.mean())
    return p, math.sqrt(p * (1.0 - p) / values.size), int(values.size)


def mean_rate(values: np.ndarray) -> tuple[float, float, int]:
    """Mean of per-simulation values in [0, 1] (e.g. the share of pairs separated), its Monte-Carlo standard error
    (standard deviation over the square root of the count) and the count."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size < 2:
        return rate(array)
    return float(array.mean()), float(array.std(ddof=1) / math.sqrt(array.size)), int(array.size)


def _row(rule: str, scenario: str, seeds: int, tasks: int, algorithms: int, kind: str, nominal: float,
         measured: tuple[float, float, int]) -> dict[str, object]:
    return {"rule": rule, "scenario": scenario, "seeds": int(seeds), "tasks": int(tasks), "algorithms": int(algorithms),
            "rate_kind": kind, "nominal": float(nominal), "measured": measured[0], "mc_se": measured[1],
            "simulations": measured[2]}


# --------------------------------------------------------------------------------------------
# Rule 1: "clearly better"
# --------------------------------------------------------------------------------------------


def names_of(count: int) -> tuple[str, ...]:
    """Algorithm names A, B, C, ..."""
    return tuple(chr(ord("A") + k) for k in range(count))


def true_improvement(distributions: Sequence[TaskDistribution], shifts: Mapping[str, Sequence[float]],
                     grid: int = 4000) -> dict[tuple[str, str], float]:
    """True average probability of improvement P(X > Y) + P(X = Y) / 2 of every ordered pair, when algorithm ``a``
    scores ``quantile(U) + shifts[a][j] * scale`` on task j (numerically, on a ``grid x grid`` lattice of
    quantile midpoints)."""
    u = (np.arange(grid) + 0.5) / grid
    per_task = [task.quantile(u) for task in distributions]
    names = list(shifts)
    result: dict[tuple[str, str], float] = {}
    for x in names:
        for y in names:
            if x == y:
                continue
            values = []
            for j, base in enumerate(per_task):
                scale = distributions[j].scale
                xs = np.sort(base + shifts[x][j] * scale)
                ys = np.sort(base + shifts[y][j] * scale)
                below = np.searchsorted(ys, xs, side="left")
                not_above = np.searchsorted(ys, xs, side="right")
                values.append(float(np.mean(below + 0.5 * (not_above - below)) / ys.size))
            result[(x, y)] = float(np.mean(values))
    return result


def poi_bootstrap_intervals(scores: Mapping[str, np.ndarray], indices_x: np.ndarray, indices_y: np.ndarray,
                            confidence: float = 0.95) -> dict[tuple[str, str], tuple[float, float]]:
    """Percentile-bootstrap intervals of P(X > Y) for every ordered pair, as
    :func:`rlbench.stats.aggregates.probability_of_improvement` computes them, vectorised.

    ``indices_x`` and ``indices_y`` (``(reps, runs, tasks)``) are the resampled runs of the first and second
    algorithm of each pair (the production function seeds every pair alike, so every pair gets the same ones);
    each unordered pair is bootstrapped once in dict order and its reverse is the mirrored interval.
    """
    names = list(scores)
    tail = (1.0 - confidence) / 2.0
    result: dict[tuple[str, str], tuple[float, float]] = {}
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            mx, my = np.asarray(scores[x], dtype=np.float64), np.asarray(scores[y], dtype=np.float64)
            tasks = np.arange(mx.shape[1])
            bx, by = mx[indices_x, tasks], my[indices_y, tasks]  # (reps, runs, tasks)
            signs = np.sign(bx[:, :, None, :] - by[:, None, :, :]).mean(axis=(1, 2))  # wins - losses, per task
            values = (0.5 + 0.5 * signs).mean(axis=1)  # wins + ties / 2
            lower, upper = np.percentile(values, [100.0 * tail, 100.0 * (1.0 - tail)])
            result[(x, y)] = (float(lower), float(upper))
            result[(y, x)] = (1.0 - float(upper), 1.0 - float(lower))
    return result


def old_rule_separations(scores: Mapping[str, np.ndarray], indices_x: np.ndarray, indices_y: np.ndarray,
                         confidence: float = 0.95) -> frozenset[tuple[str, str]]:
    """The pairs the old rule separated: the lower bound of the CI of P(X > Y) above 0.5 (no correction)."""
    return frozenset(pair for pair, (lower, _) in
                     poi_bootstrap_intervals(scores, indices_x, indices_y, confidence).items() if lower > 0.5)


def has_cycle(better: frozenset[tuple[str, str]], algorithms: Sequence[str]) -> bool:
    """Whether the directed graph of ``better`` has a cycle."""
    reach = {a: {b for b in algorithms if (a, b) in better} for a in algorithms}
    for middle in algorithms:
        for start in algorithms:
            if middle in reach[start]:
                reach[start] |= reach[middle]
    return any(a in reach[a] for a in algorithms)


def ranking_cell(settings: CalibrationSettings, scenario: str, runs: int, tasks: int, algorithms: int,
                  distributions: Sequence[TaskDistribution], shifts: dict[str, list[float]]) -> list[dict[str, object]]:
    """Both ranking rules on one cell's simulated suites (the old rule on the first ``old_rule_simulations``)."""
    names = tuple(shifts)
    truth = true_improvement(distributions, shifts)
    ordered = [pair for pair, p in truth.items() if p > 0.5 + 1e-9]
    stream = cell_stream(settings.seed, "better_exact_holm", scenario, runs, tasks, algorithms)
    suites_stream, bootstrap_stream = stream.spawn(2)
    suites_rng = _generator(suites_stream)
    draws = {a: draw_matrices(suites_rng, distributions, settings.simulations, runs, shifts[a]) for a in names}
    bootstrap_rng = _generator(bootstrap_stream)
    rows: list[dict[str, object]] = []
    for rule in ("better_exact_holm", "better_poi_ci"):
        count = settings.simulations if rule == "better_exact_holm" else settings.old_rule_simulations
        false, detected, cyclic = np.zeros(count, bool), np.zeros(count), np.zeros(count, bool)
        for s in range(count):
            suite = {a: draws[a][s] for a in names}
            if rule == "better_exact_holm":
                relation = better_relation(suite, settings.alpha)
                better, cyclic[s] = relation.better, bool(cycles(relation))
            else:
                shape = (settings.old_rule_reps, runs, tasks)
                better = old_rule_separations(suite, bootstrap_rng.integers(0, runs, shape),
                                              bootstrap_rng.integers(0, runs, shape), 1.0 - settings.alpha)
                cyclic[s] = has_cycle(better, names)
            false[s] = any(truth[pair] <= 0.5 + 1e-9 for pair in better)
            if ordered:
                detected[s] = np.mean([pair in better for pair in ordered])
        if scenario == "cycle":
            rows.append(_row(rule, scenario, runs, tasks, algorithms, CYCLE, math.nan, rate(cyclic)))
            rows.append(_row(rule, scenario, runs, tasks, algorithms, FALSE_ORDER, settings.alpha, rate(false)))
        else:
            rows.append(_row(rule, scenario, runs, tasks, algorithms, FALSE_SEPARATION, settings.alpha, rate(false)))
            if ordered:
                rows.append(_row(rule, scenario, runs, tasks, algorithms, POWER, math.nan, mean_rate(detected)))
    return rows


def ranking_rates(settings: CalibrationSettings, real: np.ndarray) -> list[dict[str, object]]:
    """Rows of both "clearly better" rules: false separations of identical algorithms in every scenario, power and
    strong control with one better algorithm, cycles."""
    rows: list[dict[str, object]] = []
    grid = [(runs, tasks, settings.algorithms) for runs in settings.seeds for tasks in settings.tasks]
    grid.append(settings.wide)
    for scenario in ("normal", "resampled", "ceiling", "heavy_tail"):
        for runs, tasks, algorithms in grid:
            distributions = scenario_tasks(scenario, tasks, real)
            shifts = {a: [0.0] * tasks for a in names_of(algorithms)}
            rows += ranking_cell(settings, scenario, runs, tasks, algorithms, distributions, shifts)
    for runs, tasks, algorithms in grid[:-1]:
        distributions = scenario_tasks("one_better", tasks)
        shifts = {a: [settings.effect if k == 0 else 0.0] * tasks for k, a in enumerate(names_of(algorithms))}
        rows += ranking_cell(settings, "one_better", runs, tasks, algorithms, distributions, shifts)
    for runs in settings.seeds:
        distributions = tuple(normal_task(0.0, 1.0) for _ in range(3))
        step = settings.cycle_step
        shifts = {"A": [2 * step, 0.0, step], "B": [step, 2 * step, 0.0], "C": [0.0, step, 2 * step]}
        rows += ranking_cell(settings, "cycle", runs, 3, 3, distributions, shifts)
    return rows


# --------------------------------------------------------------------------------------------
# Rule 2: interval coverage
# --------------------------------------------------------------------------------------------


def bootstrap_iqm_mean(matrix: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """IQM and mean of every stratified resample of ``matrix`` (``(runs x tasks)``; ``indices`` ``(reps, runs,
    tasks)``, the resampled run of every cell): ``(reps, 2)``, as rliable computes them (the IQM is the 25%-trimmed
    mean of all runs and tasks, ``int(0.25 N)`` cut at each end)."""
    resampled = np.asarray(matrix, dtype=np.float64)[indices, np.arange(matrix.shape[1])]
    flat = np.sort(resampled.reshape(resampled.shape[0], -1), axis=1)
    cut = int(0.25 * flat.shape[1])
    iqm = flat[:, cut:flat.shape[1] - cut].mean(axis=1)
    return np.stack([iqm, resampled.mean(axis=(1, 2))], axis=1)


def bootstrap_interval(values: np.ndarray, confidence: float, method: str, runs: int) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the bootstrap interval from resampled ``values`` (``(reps, k)``), as
    :func:`rlbench.stats.bootstrap.bootstrap_band` takes them (arch's percentile rule: ``numpy.percentile`` at
    ``(1 - level) / 2`` and ``(1 + level) / 2``; the expanded interval's level for ``runs`` runs per task)."""
    if method not in (PERCENTILE, EXPANDED):
        raise RlbenchError(f"unknown interval method {method!r}")
    level = expanded_confidence(confidence, runs) if method == EXPANDED and runs > 1 else confidence
    tail = (1.0 - level) / 2.0
    lower, upper = np.percentile(values, [100.0 * tail, 100.0 * (1.0 - tail)], axis=0)
    return lower, upper


def coverage_cell(settings: CalibrationSettings, scenario: str, runs: int, tasks: int,
                  distributions: Sequence[TaskDistribution]) -> list[dict[str, object]]:
    """Coverage of the population IQM and mean by the percentile and expanded bootstrap intervals in one cell."""
    truth = population_aggregates(distributions)
    stream = cell_stream(settings.seed, "interval_iqm_percentile", scenario, runs, tasks, 1)
    matrices_stream, indices_stream = stream.spawn(2)
    matrices = draw_matrices(_generator(matrices_stream), distributions, settings.coverage_simulations, runs)
    indices_rng = _generator(indices_stream)
    covered = {(metric, method): np.zeros(settings.coverage_simulations, bool)
               for metric in ("iqm", "mean") for method in (PERCENTILE, EXPANDED)}
    for s in range(settings.coverage_simulations):
        values = bootstrap_iqm_mean(matrices[s], indices_rng.integers(0, runs, (settings.bootstrap_reps, runs, tasks)))
        for method in (PERCENTILE, EXPANDED):
            lower, upper = bootstrap_interval(values, settings.confidence, method, runs)
            for k, metric in enumerate(("iqm", "mean")):
                covered[(metric, method)][s] = lower[k] <= truth[metric] <= upper[k]
    return [_row(f"interval_{metric}_{method}", scenario, runs, tasks, 1, COVERAGE, settings.confidence, rate(hits))
            for (metric, method), hits in covered.items()]


def coverage_rates(settings: CalibrationSettings, real: np.ndarray) -> list[dict[str, object]]:
    """Rows of the interval rules: coverage of the population IQM and mean by the percentile and expanded
    bootstrap intervals, in every identical-algorithms scenario."""
    rows: list[dict[str, object]] = []
    for scenario in ("normal", "resampled", "ceiling", "heavy_tail"):
        for runs in settings.seeds:
            for tasks in settings.tasks:
                rows += coverage_cell(settings, scenario, runs, tasks, scenario_tasks(scenario, tasks, real))
    return rows


# --------------------------------------------------------------------------------------------
# Rule 3: reproduction verdicts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundedTask:
    """The CartPole-like raw-return scenario of the verdicts: bounds, the equivalence margin, failures."""

    low: float
    """Lowest return (CartPole: 0)."""
    high: float
    """Highest return (CartPole: 500), where most runs end."""
    random: float
    """The random policy's score (failed runs land between it and ``fail_high``)."""
    margin: float
    """The equivalence margin, ``margin_fraction * (reference - random)``."""
    fail_share: float = 0.2
    """Share of our runs that fail."""
    fail_high: float = 300.0
    """Highest return of a failed run."""

    def task(self, fail_share: float) -> TaskDistribution:
        return bounded_task(self.low, self.high, fail_share, self.random, self.fail_high)

    def share_for_mean(self, mean: float) -> float:
        """The failure share whose true mean is ``mean``."""
        share = (self.high - mean) / (self.high - (self.random + self.fail_high) / 2.0)
        if not 0.0 <= share < 1.0:
            raise RlbenchError(f"no failure share gives a mean of {mean}")
        return share


def cartpole_like(low: float, high: float, random: float, reference: float, margin_fraction: float) -> BoundedTask:
    """The bounded scenario for an environment's bounds and its normalisation row."""
    return BoundedTask(float(low), float(high), float(random), margin_fraction * abs(float(reference) - float(random)))


def equivalence_cell(settings: CalibrationSettings, scenario: str, runs: int, ours: TaskDistribution,
                     published: TaskDistribution, bounds: tuple[float, float] | None, margin: float,
                     kind: str) -> dict[str, object]:
    """How often the equivalence test says "reproduced" of our ``runs`` runs against the mean and standard deviation
    of as many published runs (``kind``: a false verdict when the truth is at the margin, power when equal)."""
    count = settings.verdict_simulations
    rng = _generator(cell_stream(settings.seed, "reproduced_tost", scenario, runs, 1, 2))
    ours_runs = draw_matrices(rng, [ours], count, runs)[:, :, 0]
    published_runs = draw_matrices(rng, [published], count, runs)[:, :, 0]
    hits = np.array([
        equivalence_verdict(ours_runs[s], float(published_runs[s].mean()), float(published_runs[s].std(ddof=1)), runs,
                            margin, bounds).outcome == REPRODUCED
        for s in range(count)])
    return _row("reproduced_tost", scenario, runs, 1, 2, kind, 0.05 if kind == FALSE_VERDICT else math.nan, rate(hits))


def single_run_cell(settings: CalibrationSettings, scenario: str, runs: int, task: TaskDistribution,
                    bounds: tuple[float, float] | None) -> dict[str, object]:
    """How often the single-case test says "inconsistent" of a published run drawn from our own distribution."""
    count = settings.verdict_simulations
    rng = _generator(cell_stream(settings.seed, "single_run_consistent", scenario, runs, 1, 2))
    ours = draw_matrices(rng, [task], count, runs)[:, :, 0]
    published = draw_matrices(rng, [task], count, 1)[:, 0, 0]
    hits = np.array([single_run_verdict(ours[s], float(published[s]), bounds).outcome == INCONSISTENT
                     for s in range(count)])
    return _row("single_run_consistent", scenario, runs, 1, 2, FALSE_VERDICT, 0.05, rate(hits))


def verdict_rates(settings: CalibrationSettings, bounded: BoundedTask) -> list[dict[str, object]]:
    """Rows of the reproduction verdicts: false "reproduced" at the margin and its power at equal truth (a
    published mean over as many seeds as ours), false "inconsistent" for a single published run from our own
    distribution; normal and CartPole-like bounded scores."""
    mean, sd, margin = 0.8, settings.verdict_sd, settings.margin_fraction
    ours_bounded = bounded.task(bounded.fail_share)
    centre = bounded_mean(bounded.high, bounded.fail_share, bounded.random, bounded.fail_high)
    limits = (bounded.low, bounded.high)
    equivalence = {
        "normal_at_margin": (normal_task(mean, sd), normal_task(mean - margin, sd), None, margin, FALSE_VERDICT),
        "normal_equal": (normal_task(mean, sd), normal_task(mean, sd), None, margin, POWER),
        "bounded_at_margin_below": (ours_bounded, bounded.task(bounded.share_for_mean(centre - bounded.margin)),
                                    limits, bounded.margin, FALSE_VERDICT),
        "bounded_at_margin_above": (ours_bounded, bounded.task(bounded.share_for_mean(centre + bounded.margin)),
                                    limits, bounded.margin, FALSE_VERDICT),
        "bounded_equal": (ours_bounded, ours_bounded, limits, bounded.margin, POWER),
    }
    rows = [equivalence_cell(settings, scenario, runs, *arguments)
            for scenario, arguments in equivalence.items() for runs in settings.seeds]
    single = {"single_run_normal": (normal_task(mean, sd), None), "single_run_bounded": (ours_bounded, limits)}
    rows += [single_run_cell(settings, scenario, runs, *arguments)
             for scenario, arguments in single.items() for runs in settings.seeds]
    return rows


# --------------------------------------------------------------------------------------------
# The table, its summary and look-ups
# --------------------------------------------------------------------------------------------


def calibration_table(settings: CalibrationSettings, real: np.ndarray, bounded: BoundedTask) -> pd.DataFrame:
    """Every rule's measured rates (columns :data:`COLUMNS`), rules in :data:`RULES` order."""
    rows = ranking_rates(settings, real) + coverage_rates(settings, real) + verdict_rates(settings, bounded)
    table = pd.DataFrame(rows, columns=COLUMNS)
    order = {name: k for k, name in enumerate(RULES)}
    table = table.iloc[sorted(range(len(table)), key=lambda i: (order[table.at[i, "rule"]], i))]
    return table.reset_index(drop=True)


def _setting(row: pd.Series) -> str:
    return (f"{row['scenario']}, {int(row['seeds'])} seeds, {int(row['tasks'])} task{'s' * (int(row['tasks']) > 1)}"
            + (f", {int(row['algorithms'])} algorithms" if int(row["algorithms"]) > 2 else ""))


def rule_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per rule (columns :data:`SUMMARY_COLUMNS`): the worst measured false-positive rate over every
    scenario and setting (for an interval, 1 - its lowest coverage) and where it occurs; the power in the rule's
    first power scenario (``one_better``, ``normal_equal``) at its largest setting (most seeds, then most tasks);
    the lowest coverage."""
    rows = []
    for rule in RULES:
        part = table[table["rule"] == rule]
        if part.empty:
            continue
        entry: dict[str, object] = {"rule": rule}
        false = part[part["rate_kind"].isin(FALSE_KINDS)]
        covering = part[part["rate_kind"] == COVERAGE]
        if not false.empty:
            worst = false.loc[false["measured"].idxmax()]
            entry.update(false_positive=str(worst["rate_kind"]), nominal=float(worst["nominal"]),
                         worst_rate=float(worst["measured"]), worst_mc_se=float(worst["mc_se"]),
                         worst_simulations=int(worst["simulations"]), worst_at=_setting(worst))
        if not covering.empty:
            lowest = covering.loc[covering["measured"].idxmin()]
            entry.update(false_positive="non-coverage", nominal=1.0 - float(lowest["nominal"]),
                         worst_rate=1.0 - float(lowest["measured"]), worst_mc_se=float(lowest["mc_se"]),
                         worst_simulations=int(lowest["simulations"]), worst_at=_setting(lowest),
                         min_coverage=float(lowest["measured"]), min_coverage_at=_setting(lowest))
        powered = part[part["rate_kind"] == POWER]
        if not powered.empty:
            powered = powered[powered["scenario"] == powered.iloc[0]["scenario"]]  # the rule's first power scenario
            best = powered.sort_values(["seeds", "tasks", "algorithms"], kind="stable").iloc[-1]
            entry.update(power=float(best["measured"]), power_mc_se=float(best["mc_se"]), power_at=_setting(best))
        rows.append(entry)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def summary_statement(summary: pd.DataFrame, rule: str) -> str:
    """One sentence a report can quote: the rule's worst measured false-positive rate against its nominal one (and
    its power), with the Monte-Carlo error, the number of simulations and the setting."""
    found = summary[summary["rule"] == rule]
    if found.empty:
        raise RlbenchError(f"no calibration of rule {rule!r}; calibrated: {list(summary['rule'])}")
    row = found.iloc[0]
    text = (f"measured {row['false_positive']} rate at most {100 * row['worst_rate']:.1f}% "
            f"(± {100 * row['worst_mc_se']:.1f}%, {int(row['worst_simulations'])} simulations; nominal "
            f"{100 * row['nominal']:.0f}%; worst at {row['worst_at']})")
    if pd.notna(row["power"]):
        text += f", power {100 * row['power']:.0f}% ({row['power_at']})"
    return text


def false_verdict_rates(summary: pd.DataFrame) -> dict[str, float]:
    """The worst measured false-verdict rate of each reproduction test, keyed by the test's name as
    :class:`rlbench.stats.reproduction.Verdict` states it."""
    rates = {}
    for rule, test in (("reproduced_tost", EQUIVALENCE_TEST), ("single_run_consistent", SINGLE_CASE_TEST)):
        found = summary[summary["rule"] == rule]
        if not found.empty:
            rates[test] = float(found.iloc[0]["worst_rate"])
    return rates


def measured_coverage(table: pd.DataFrame, method: str, seeds: int, tasks: int, metric: str = "iqm",
                      scenario: str | None = None) -> float:
    """The measured coverage of the ``metric`` interval (``iqm`` or ``mean``) by ``method`` (``percentile`` or
    ``expanded``) at the calibrated setting nearest to ``seeds`` and ``tasks`` (fewer seeds and tasks on a tie: the
    more cautious), in ``scenario``, or the lowest over every scenario when None."""
    rule = f"interval_{metric}_{method}"
    part = table[(table["rule"] == rule) & (table["rate_kind"] == COVERAGE)]
    if scenario is not None:
        part = part[part["scenario"] == scenario]
    if part.empty:
        raise RlbenchError(f"no calibrated coverage of {rule!r}" + (f" in scenario {scenario!r}" if scenario else ""))
    near_seeds = min(sorted(set(part["seeds"])), key=lambda s: abs(int(s) - int(seeds)))
    part = part[part["seeds"] == near_seeds]
    near_tasks = min(sorted(set(part["tasks"])), key=lambda t: abs(int(t) - int(tasks)))
    return float(part[part["tasks"] == near_tasks]["measured"].min())


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _percent(value: float, se: float | None = None) -> str:
    if pd.isna(value):
        return "—"
    return f"{100 * value:.1f}%" + (f" ± {100 * se:.1f}" if se is not None and pd.notna(se) else "")


def _pivot(table: pd.DataFrame, rules: Sequence[str], kind: str) -> pd.DataFrame:
    part = table[table["rule"].isin(rules) & (table["rate_kind"] == kind)]
    if part.empty:
        return pd.DataFrame()
    frame = part.assign(
        setting=[f"{s} seeds" + (f" × {t} tasks" if t > 1 else "") + (f" × {a} algos" if a > 2 else "")
                 for s, t, a in zip(part["seeds"], part["tasks"], part["algorithms"])],
        value=[_percent(m, e) for m, e in zip(part["measured"], part["mc_se"])],
    )
    pivot = frame.pivot_table(index=["rule", "scenario"], columns="setting", values="value", aggfunc="first",
                              sort=False)
    return pivot.reset_index()


def calibration_markdown(table: pd.DataFrame, summary: pd.DataFrame, settings: CalibrationSettings,
                         cost: str) -> str:
    """The page ``results/calibration/rates.md``: the rules, the scenarios, the summary, then compact pivots of the
    rates (measured ± Monte-Carlo standard error, in %); the full table is ``rates.csv``. ``cost`` states what the
    stage costs (a fixed, measured sentence: the page has no timings of its own, so it is identical on rerun)."""
    def markdown(frame: pd.DataFrame) -> str:
        return frame.fillna("—").to_markdown(index=False) + "\n"

    lines = [
        "# Calibration: the measured error rates of rlbench's decision rules",
        "",
        f"Every decision rule of rlbench run on simulated suites with known truth (`rlbench/stats/calibration.py`, "
        f"stage `calibration`). Cost: {cost}",
        "",
        f"Simulations per cell: {settings.simulations} for the exact ranking test (the old bootstrap rule on the "
        f"first {settings.old_rule_simulations} of them, {settings.old_rule_reps} resamples each), "
        f"{settings.coverage_simulations} for the interval coverage ({settings.bootstrap_reps} resamples each, as "
        f"published), {settings.verdict_simulations} for the reproduction verdicts. Random streams: "
        f"`SeedSequence({settings.seed})`, one child per cell. Rates are measured ± the Monte-Carlo standard error.",
        "",
        "## Rules",
        "",
        *[f"* `{name}`: {text}" for name, text in RULES.items()],
        "",
        "## Scenarios",
        "",
        *[f"* `{name}`: {text}" for name, text in SCENARIOS.items()],
        "",
        f"Settings: `effect` = {settings.effect:g}, `cycle_step` = {settings.cycle_step:g}, `verdict_sd` = "
        f"{settings.verdict_sd:g}, margin = {settings.margin_fraction:g} × (reference − random). Rate kinds: "
        "**false separation** = any pair separated that the truth does not order (family-wise); **power** = share of "
        "truly ordered pairs separated the right way (for a verdict: \"reproduced\" when the truth is equal); "
        "**cycle** = the relation has a cycle; **false order** = a pair separated against the truth's direction; "
        "**coverage** = the interval contains the population value; **false verdict** = \"reproduced\" at the "
        "margin, or \"inconsistent\" for a run from our own distribution.",
        "",
        "## Summary (`summary.csv`)",
        "",
    ]
    shown = summary.assign(
        worst=[_percent(r, e) for r, e in zip(summary["worst_rate"], summary["worst_mc_se"])],
        nominal=[_percent(v) for v in summary["nominal"]],
        power=[_percent(p, e) for p, e in zip(summary["power"], summary["power_mc_se"])],
        min_coverage=[_percent(c) for c in summary["min_coverage"]],
    )[["rule", "false_positive", "nominal", "worst", "worst_at", "power", "power_at", "min_coverage"]]
    lines += [markdown(shown)]
    sections = [
        ("\"Clearly better\": false separations of identical algorithms, strong control and power",
         ["better_exact_holm", "better_poi_ci"], [FALSE_SEPARATION, POWER]),
        ("\"Clearly better\": cycles across tasks", ["better_exact_holm", "better_poi_ci"], [CYCLE, FALSE_ORDER]),
        (f"Interval coverage (nominal {100 * settings.confidence:.0f}%)",
         [r for r in RULES if r.startswith("interval_")], [COVERAGE]),
        ("Reproduction verdicts", ["reproduced_tost", "single_run_consistent"], [FALSE_VERDICT, POWER]),
    ]
    for title, rules, kinds in sections:
        lines += [f"## {title}", ""]
        for kind in kinds:
            pivot = _pivot(table, rules, kind)
            if not pivot.empty:
                lines += [f"**{kind}**", "", markdown(pivot)]
    return "\n".join(lines)


__all__ = [
    "COLUMNS", "COVERAGE", "CYCLE", "FALSE_ORDER", "FALSE_SEPARATION", "FALSE_VERDICT", "POWER", "RULES",
    "SCENARIOS", "SUMMARY_COLUMNS", "BoundedTask", "CalibrationSettings", "TaskDistribution", "bootstrap_interval",
    "bootstrap_iqm_mean", "bounded_mean", "bounded_task", "calibration_markdown", "calibration_table",
    "cartpole_like", "ceiling_task", "cell_stream", "coverage_cell", "coverage_rates", "draw_matrices",
    "empirical_task", "equivalence_cell", "false_verdict_rates", "has_cycle", "heavy_tail_task", "mean_rate",
    "measured_coverage", "names_of", "normal_task", "old_rule_separations", "poi_bootstrap_intervals",
    "population_aggregates", "ranking_cell", "ranking_rates", "rate", "rule_summary", "scenario_tasks",
    "settings_from_mapping", "single_run_cell", "summary_statement", "true_improvement", "verdict_rates",
]
