"""Pure statistics over score matrices, with rliable's stratified bootstrap underneath.

Following Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical
Precipice" (NeurIPS), results are reported as *interval estimates* of aggregate metrics (median,
interquartile mean (IQM), mean, optimality gap), *performance profiles* (score distributions),
and the *probability of improvement* between algorithms, each with stratified-bootstrap
confidence intervals (runs are resampled with replacement within every task).

Conventions:

* inputs are ``dict[str, np.ndarray]`` keyed by algorithm: ``(runs × tasks)`` final scores or
  ``(runs × tasks × checkpoints)`` learning curves (see :mod:`rlbench.scores`); outputs are dicts
  keyed by algorithm (or by ordered algorithm pair);
* every function is pure: no I/O, no global state. Bootstrap functions take an explicit integer
  ``seed``; each algorithm (or pair) gets its own ``np.random.RandomState(seed)``, so the same
  inputs and seed give identical intervals every time, and an algorithm's intervals do not depend
  on which other algorithms are in the dict;
* intervals are percentile bootstrap intervals (95 % by default) as in rliable;
* bad input raises :class:`rlbench.errors.RlbenchError`.

rliable 1.2's ``StratifiedBootstrap`` draws its resampling indices from NumPy's *global* random
state, ignoring the ``random_state`` it is given, so two calls with the same ``random_state`` give
different intervals. The small subclasses below draw the same indices (same shapes, same
stratification) from the bootstrap's own generator instead; that ``RandomState(seed)`` is handed to
rliable/arch through arch's ``seed`` keyword (the non-deprecated spelling of ``random_state``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.stats
from rliable import library as rly
from rliable import metrics as rlm

from rlbench.errors import RlbenchError

__all__ = [
    "METRICS",
    "METRIC_LABELS",
    "Interval",
    "Band",
    "SeedSpread",
    "ThresholdSteps",
    "ThresholdSummary",
    "iqm",
    "median",
    "mean",
    "optimality_gap",
    "improvement_probability",
    "score_distribution",
    "aggregate_metrics",
    "performance_profiles",
    "probability_of_improvement",
    "sample_efficiency_curves",
    "seed_variance",
    "seed_variance_frame",
    "curve_variability",
    "area_under_curve",
    "steps_to_threshold",
    "threshold_summary",
]

METRICS: tuple[str, ...] = ("median", "iqm", "mean", "optimality_gap")
"""Aggregate metrics of :func:`aggregate_metrics`, in the order of Agarwal et al. 2021, Fig. 1."""

METRIC_LABELS: dict[str, str] = {
    "median": "Median",
    "iqm": "IQM",
    "mean": "Mean",
    "optimality_gap": "Optimality Gap",
}
"""Display names of :data:`METRICS`."""


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval ``[lower, upper]``."""

    point: float
    lower: float
    upper: float

    @property
    def width(self) -> float:
        """``upper - lower``."""
        return self.upper - self.lower

    def contains(self, value: float) -> bool:
        """Whether ``lower <= value <= upper``."""
        return self.lower <= value <= self.upper


class Band(NamedTuple):
    """Point estimates over a grid (thresholds or checkpoints) with pointwise CI bounds.

    Unpacks as ``profile, lower, upper = band``.
    """

    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class SeedSpread:
    """How much one algorithm's final score on one task varies across seeds."""

    n_runs: int
    mean: float
    std: float
    """Sample standard deviation across seeds (``ddof=1``)."""
    iqr: float
    """Interquartile range across seeds (75th - 25th percentile, linear interpolation)."""
    ci_lower: float
    """Lower bound of the bootstrap CI of the mean across seeds."""
    ci_upper: float
    """Upper bound of the bootstrap CI of the mean across seeds."""

    @property
    def ci_width(self) -> float:
        """Width of the bootstrap CI of the mean across seeds."""
        return self.ci_upper - self.ci_lower


@dataclass(frozen=True)
class ThresholdSteps:
    """Per run, the first checkpoint at which the learning curve reaches a threshold.

    Runs that never reach it are *censored*: all we know is that they would need more than
    ``budget`` steps. They are kept, with ``steps = NaN`` and ``censored = True``.
    """

    steps: np.ndarray
    """First step reaching the threshold (float), ``NaN`` where censored."""
    censored: np.ndarray
    """Boolean, same shape: the run never reached the threshold within ``budget``."""
    budget: float
    """The last checkpoint (the training budget)."""
    threshold: float


@dataclass(frozen=True)
class ThresholdSummary:
    """Summary of :class:`ThresholdSteps` that counts censored runs instead of dropping them."""

    n_runs: int
    n_reached: int
    n_censored: int
    median: float
    """Kaplan-Meier median steps to threshold: the first checkpoint by which at least half of the
    runs reached it; ``inf`` when fewer than half ever do (reported as "> budget")."""
    budget: float

    @property
    def fraction_reached(self) -> float:
        """Fraction of runs that reached the threshold."""
        return self.n_reached / self.n_runs

    @property
    def median_censored(self) -> bool:
        """True when the median lies beyond the budget (it is then only known to exceed it)."""
        return not np.isfinite(self.median)


# --------------------------------------------------------------------------------------------
# Seeded stratified bootstrap (rliable)
# --------------------------------------------------------------------------------------------


class _SeededStratifiedBootstrap(rly.StratifiedBootstrap):
    """rliable's stratified bootstrap, drawing its indices from its own generator."""

    def update_indices(self) -> tuple[np.ndarray, ...]:
        generator = self.generator
        indices = generator.choice(self._num_items, self._args_shape, replace=True)
        if self._task_bootstrap:
            task_indices = generator.choice(self._num_tasks, self._strata_indices[0].shape, replace=True)
            return (indices, task_indices, *self._strata_indices[1:])
        return (indices, *self._strata_indices)


class _SeededStratifiedIndependentBootstrap(rly.StratifiedIndependentBootstrap):
    """rliable's stratified independent-samples bootstrap, drawing from its own generator."""

    def _get_indices(
        self, num_runs: int, array_shape: tuple[int, ...], strata_indices: list[np.ndarray]
    ) -> tuple[np.ndarray, ...]:
        indices = self.generator.choice(num_runs, array_shape, replace=True)
        return (indices, *strata_indices)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise RlbenchError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def _check_reps(reps: int) -> int:
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or int(reps) < 1:
        raise RlbenchError(f"reps must be a positive integer, got {reps!r}")
    return int(reps)


def _check_confidence(confidence: float) -> float:
    if not 0.0 < float(confidence) < 1.0:
        raise RlbenchError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(confidence)


def _bootstrap(
    arrays: Sequence[np.ndarray],
    func: Callable[..., np.ndarray],
    seed: int,
    reps: int,
    confidence: float,
) -> Band:
    """Point estimate of ``func(*arrays)`` and its stratified percentile-bootstrap CI."""
    point = np.atleast_1d(np.asarray(func(*arrays), dtype=np.float64))
    generator = np.random.RandomState(seed)
    if len(arrays) == 1:
        bootstrap = _SeededStratifiedBootstrap(arrays[0], seed=generator)
    else:
        bootstrap = _SeededStratifiedIndependentBootstrap(*arrays, seed=generator)
    ci = bootstrap.conf_int(func, reps=reps, size=confidence, method="percentile")
    return Band(point, np.asarray(ci[0], dtype=np.float64), np.asarray(ci[1], dtype=np.float64))


def _score_arrays(scores: Mapping[str, np.ndarray], ndim: int, what: str) -> dict[str, np.ndarray]:
    """Validate a dict of score arrays: right rank, non-empty, finite; return float copies."""
    if not isinstance(scores, Mapping) or not scores:
        raise RlbenchError(f"expected a non-empty dict of {what} keyed by algorithm")
    layout = "(runs × tasks)" if ndim == 2 else "(runs × tasks × checkpoints)"
    checked: dict[str, np.ndarray] = {}
    for algo, array in scores.items():
        try:
            values = np.array(array, dtype=np.float64)
        except (TypeError, ValueError):
            raise RlbenchError(f"algorithm {algo!r}: {what} are not numeric") from None
        if values.ndim != ndim:
            raise RlbenchError(f"algorithm {algo!r}: {what} must be {layout}, got shape {values.shape}")
        if 0 in values.shape:
            raise RlbenchError(f"algorithm {algo!r}: {what} are empty, shape {values.shape}")
        if not np.all(np.isfinite(values)):
            raise RlbenchError(f"algorithm {algo!r}: {what} contain NaN or infinite values")
        checked[str(algo)] = values
    return checked


# --------------------------------------------------------------------------------------------
# Point estimators (pure, on one matrix)
# --------------------------------------------------------------------------------------------


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean: the 25 %-trimmed mean over all runs and tasks (Agarwal et al. 2021)."""
    return float(rlm.aggregate_iqm(scores))


def median(scores: np.ndarray) -> float:
    """Median over tasks of the mean score across runs (Agarwal et al. 2021)."""
    return float(rlm.aggregate_median(scores))


def mean(scores: np.ndarray) -> float:
    """Mean over tasks of the mean score across runs."""
    return float(rlm.aggregate_mean(scores))


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> float:
    """``gamma`` minus the mean of ``min(score, gamma)`` over all runs and tasks (Agarwal et al. 2021)."""
    return float(rlm.aggregate_optimality_gap(scores, gamma))


def improvement_probability(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """Average probability of improvement P(X > Y) (Agarwal et al. 2021, Sec. 4.3).

    Per task, the Mann-Whitney U statistic of X against Y divided by ``runs_x * runs_y``, i.e.
    ``P(X_m > Y_m) + 0.5 P(X_m = Y_m)`` over all pairs of runs; then the mean over tasks. Equal to
    ``rliable.metrics.probability_of_improvement`` but vectorised over tasks (ranks instead of one
    ``scipy.stats.mannwhitneyu`` call per task), which matters inside the bootstrap.
    """
    n_x, n_y = scores_x.shape[0], scores_y.shape[0]
    ranks = scipy.stats.rankdata(np.concatenate([scores_x, scores_y], axis=0), axis=0)
    u_x = ranks[:n_x].sum(axis=0) - n_x * (n_x + 1) / 2.0
    return float(np.mean(u_x / (n_x * n_y)))


def score_distribution(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of all runs × tasks scores strictly above each ``tau`` (the run-score
    performance profile of Agarwal et al. 2021; same values as ``rliable.library.score_distributions``)."""
    flat = np.sort(np.ravel(scores))
    return 1.0 - np.searchsorted(flat, np.asarray(taus, dtype=np.float64), side="right") / flat.size


# --------------------------------------------------------------------------------------------
# Interval estimates
# --------------------------------------------------------------------------------------------


def aggregate_metrics(
    scores: Mapping[str, np.ndarray],
    seed: int,
    reps: int = 2000,
    gamma: float = 1.0,
    confidence: float = 0.95,
) -> dict[str, dict[str, Interval]]:
    """Median, IQM, mean and optimality gap with stratified-bootstrap CIs, per algorithm.

    Agarwal et al. 2021, Sec. 4. ``scores`` maps each algorithm to its ``(runs × tasks)`` matrix of
    normalised scores; the optimality gap uses threshold ``gamma`` (1 = human level for
    human-normalised scores). The four metrics share one joint bootstrap (``reps`` resamples of the
    runs within every task) per algorithm, seeded with ``RandomState(seed)``.

    Returns ``{algo: {metric: Interval}}`` with metrics named as in :data:`METRICS`.
    """
    checked = _score_arrays(scores, 2, "scores")
    seed, reps, confidence = _check_seed(seed), _check_reps(reps), _check_confidence(confidence)
    gamma = float(gamma)

    def metrics_of(matrix: np.ndarray) -> np.ndarray:
        return np.array(
            [
                rlm.aggregate_median(matrix),
                rlm.aggregate_iqm(matrix),
                rlm.aggregate_mean(matrix),
                rlm.aggregate_optimality_gap(matrix, gamma),
            ]
        )

    result: dict[str, dict[str, Interval]] = {}
    for algo, matrix in checked.items():
        band = _bootstrap([matrix], metrics_of, seed, reps, confidence)
        result[algo] = {
            name: Interval(float(band.point[k]), float(band.lower[k]), float(band.upper[k]))
            for k, name in enumerate(METRICS)
        }
    return result


def performance_profiles(
    scores: Mapping[str, np.ndarray],
    taus: Sequence[float] | np.ndarray,
    seed: int,
    reps: int = 2000,
    confidence: float = 0.95,
) -> dict[str, Band]:
    """Score-distribution performance profiles with pointwise bootstrap CIs (Agarwal et al. 2021, Sec. 4.2).

    For each threshold ``tau`` the fraction of runs × tasks with score ``> tau``. Returns
    ``{algo: Band(profile, lower, upper)}``, each array of ``len(taus)``.
    """
    checked = _score_arrays(scores, 2, "scores")
    seed, reps, confidence = _check_seed(seed), _check_reps(reps), _check_confidence(confidence)
    grid = np.asarray(taus, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise RlbenchError(f"taus must be a non-empty 1-D array of finite thresholds, got shape {grid.shape}")
    return {
        algo: _bootstrap([matrix], lambda m: score_distribution(m, grid), seed, reps, confidence)
        for algo, matrix in checked.items()
    }


def probability_of_improvement(
    scores: Mapping[str, np.ndarray],
    seed: int,
    reps: int = 2000,
    pairs: Sequence[tuple[str, str]] | None = None,
    confidence: float = 0.95,
) -> dict[tuple[str, str], Interval]:
    """Average probability of improvement P(X > Y) with bootstrap CIs (Agarwal et al. 2021, Sec. 4.3).

    For every ordered pair of distinct algorithms (or the given ``pairs``), the mean over tasks of
    the probability that a run of X scores higher than a run of Y on that task (ties count half).
    The CI resamples the runs of X and of Y independently within each task (rliable's
    ``StratifiedIndependentBootstrap``), so X and Y may have different numbers of runs but must have
    the same tasks in the same order.

    ``P(Y > X) = 1 - P(X > Y)`` exactly, so each unordered pair is bootstrapped once (in dict order)
    and its reverse is the mirrored interval.
    """
    checked = _score_arrays(scores, 2, "scores")
    seed, reps, confidence = _check_seed(seed), _check_reps(reps), _check_confidence(confidence)
    task_counts = {a: m.shape[1] for a, m in checked.items()}
    if len(set(task_counts.values())) > 1:
        raise RlbenchError(f"algorithms must have the same number of tasks; have {task_counts}")
    order = list(checked)
    if pairs is None:
        wanted = [(x, y) for x in order for y in order if x != y]
    else:
        wanted = [(str(x), str(y)) for x, y in pairs]
        unknown = sorted({a for pair in wanted for a in pair} - set(order))
        if unknown:
            raise RlbenchError(f"pairs name unknown algorithms {unknown}; have {order}")
        same = [p for p in wanted if p[0] == p[1]]
        if same:
            raise RlbenchError(f"pairs must name two different algorithms, got {same}")

    def poi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.array([improvement_probability(x, y)])

    canonical: dict[tuple[str, str], Interval] = {}
    result: dict[tuple[str, str], Interval] = {}
    for x, y in wanted:
        first, second = (x, y) if order.index(x) < order.index(y) else (y, x)
        if (first, second) not in canonical:
            band = _bootstrap([checked[first], checked[second]], poi, seed, reps, confidence)
            canonical[(first, second)] = Interval(float(band.point[0]), float(band.lower[0]), float(band.upper[0]))
        found = canonical[(first, second)]
        if (x, y) == (first, second):
            result[(x, y)] = found
        else:
            result[(x, y)] = Interval(1.0 - found.point, 1.0 - found.upper, 1.0 - found.lower)
    return result


def sample_efficiency_curves(
    curves: Mapping[str, np.ndarray],
    seed: int,
    reps: int = 2000,
    confidence: float = 0.95,
) -> dict[str, Band]:
    """IQM over runs × tasks at every checkpoint, with pointwise stratified-bootstrap CIs.

    The sample-efficiency curves of Agarwal et al. 2021 (Fig. 8): ``curves`` maps each algorithm
    to a ``(runs × tasks × checkpoints)`` array of normalised scores. As in rliable, the runs are
    resampled within every task independently at each checkpoint. Returns ``{algo: Band}`` with
    one value per checkpoint.
    """
    checked = _score_arrays(curves, 3, "learning curves")
    seed, reps, confidence = _check_seed(seed), _check_reps(reps), _check_confidence(confidence)

    def iqm_per_checkpoint(array: np.ndarray) -> np.ndarray:
        flat = array.reshape(-1, array.shape[-1])
        return np.asarray(scipy.stats.trim_mean(flat, proportiontocut=0.25, axis=0), dtype=np.float64)

    return {algo: _bootstrap([array], iqm_per_checkpoint, seed, reps, confidence) for algo, array in checked.items()}


# --------------------------------------------------------------------------------------------
# Seed variance
# --------------------------------------------------------------------------------------------


def seed_variance(
    scores: Mapping[str, np.ndarray],
    tasks: Sequence[str],
    seed: int,
    reps: int = 2000,
    confidence: float = 0.95,
) -> dict[str, dict[str, SeedSpread]]:
    """Spread of final scores across seeds, per algorithm and task.

    ``scores`` maps each algorithm to its ``(runs × tasks)`` matrix of final scores (raw returns
    are fine: nothing is aggregated across tasks) and ``tasks`` names the columns. For every task:
    the standard deviation and interquartile range across seeds, and the width of the bootstrap CI
    of the mean across seeds (the uncertainty a reader should attach to a per-task mean; cf.
    Agarwal et al. 2021 on reporting few-run results). Needs at least 2 runs per algorithm.
    """
    checked = _score_arrays(scores, 2, "scores")
    seed, reps, confidence = _check_seed(seed), _check_reps(reps), _check_confidence(confidence)
    tasks = [str(t) for t in tasks]
    result: dict[str, dict[str, SeedSpread]] = {}
    for algo, matrix in checked.items():
        if matrix.shape[1] != len(tasks):
            raise RlbenchError(f"algorithm {algo!r}: {matrix.shape[1]} task columns but {len(tasks)} task names")
        if matrix.shape[0] < 2:
            raise RlbenchError(f"algorithm {algo!r}: seed variance needs at least 2 runs, has {matrix.shape[0]}")
        band = _bootstrap([matrix], lambda m: np.mean(m, axis=0), seed, reps, confidence)
        q75, q25 = np.percentile(matrix, [75, 25], axis=0)
        std = np.std(matrix, axis=0, ddof=1)
        result[algo] = {
            task: SeedSpread(
                n_runs=int(matrix.shape[0]),
                mean=float(band.point[j]),
                std=float(std[j]),
                iqr=float(q75[j] - q25[j]),
                ci_lower=float(band.lower[j]),
                ci_upper=float(band.upper[j]),
            )
            for j, task in enumerate(tasks)
        }
    return result


def seed_variance_frame(spreads: Mapping[str, Mapping[str, SeedSpread]]) -> pd.DataFrame:
    """:func:`seed_variance` as a table: ``algo, env, n_runs, mean, std, iqr, ci_lower, ci_upper, ci_width``,
    sorted by algorithm and env."""
    rows = [
        (algo, task, s.n_runs, s.mean, s.std, s.iqr, s.ci_lower, s.ci_upper, s.ci_width)
        for algo, per_task in spreads.items()
        for task, s in per_task.items()
    ]
    frame = pd.DataFrame(
        rows, columns=["algo", "env", "n_runs", "mean", "std", "iqr", "ci_lower", "ci_upper", "ci_width"]
    )
    return frame.sort_values(["algo", "env"], kind="mergesort").reset_index(drop=True)


def curve_variability(curves: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Variability of learning curves across seeds: per algorithm and task, the mean over
    checkpoints of the across-seed standard deviation (``ddof=1``).

    ``curves`` maps each algorithm to ``(runs × tasks × checkpoints)``; returns ``{algo: array of
    len(tasks)}``. Needs at least 2 runs per algorithm.
    """
    checked = _score_arrays(curves, 3, "learning curves")
    result: dict[str, np.ndarray] = {}
    for algo, array in checked.items():
        if array.shape[0] < 2:
            raise RlbenchError(f"algorithm {algo!r}: curve variability needs at least 2 runs, has {array.shape[0]}")
        result[algo] = np.mean(np.std(array, axis=0, ddof=1), axis=-1)
    return result


# --------------------------------------------------------------------------------------------
# Sample efficiency of single learning curves
# --------------------------------------------------------------------------------------------


def _curve_and_steps(curve: np.ndarray, steps: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(curve, dtype=np.float64)
    grid = np.asarray(steps, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 2:
        raise RlbenchError(f"steps must be a 1-D array of at least 2 checkpoints, got shape {grid.shape}")
    if not np.all(np.isfinite(grid)) or not np.all(np.diff(grid) > 0):
        raise RlbenchError("steps must be finite and strictly increasing")
    if values.ndim < 1 or values.shape[-1] != grid.size:
        raise RlbenchError(f"curve's last axis must match the {grid.size} steps, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise RlbenchError("curve contains NaN or infinite values")
    return values, grid


def area_under_curve(curve: np.ndarray, steps: Sequence[float] | np.ndarray) -> np.ndarray:
    """Normalised area under a learning curve: the trapezoid integral over ``steps`` divided by
    the step range, i.e. the time-averaged (normalised) score between the first and last checkpoint.

    ``curve`` has checkpoints on its last axis (e.g. ``(runs × tasks × checkpoints)``); the result
    has the remaining shape. A constant curve at ``c`` has area ``c``.
    """
    values, grid = _curve_and_steps(curve, steps)
    return np.asarray(np.trapezoid(values, x=grid, axis=-1) / (grid[-1] - grid[0]), dtype=np.float64)


def steps_to_threshold(curve: np.ndarray, steps: Sequence[float] | np.ndarray, threshold: float) -> ThresholdSteps:
    """Per run, the first checkpoint at which ``curve >= threshold``; censored runs kept explicitly.

    ``curve`` has checkpoints on its last axis. Runs that never reach ``threshold`` get
    ``steps = NaN`` and ``censored = True`` (they would need more than the budget, the last step).
    Summarise with :func:`threshold_summary`, which counts them rather than dropping them.
    """
    values, grid = _curve_and_steps(curve, steps)
    reached = values >= float(threshold)
    censored = ~np.any(reached, axis=-1)
    first = np.argmax(reached, axis=-1)
    found = np.where(censored, np.nan, grid[first])
    return ThresholdSteps(steps=found, censored=censored, budget=float(grid[-1]), threshold=float(threshold))


def threshold_summary(result: ThresholdSteps) -> ThresholdSummary:
    """Median steps to threshold over all runs, counting censored runs as taking ``> budget``.

    The Kaplan-Meier median: the first step ``t`` at which at least half of the runs have reached
    the threshold (every run is censored at the same budget, so the survival curve is the
    empirical one). It is always an evaluated checkpoint, and ``inf`` (only known to exceed the
    budget) when fewer than half of the runs ever reach the threshold. Flattens all axes: slice
    ``result`` per task first for per-task summaries.
    """
    censored = np.ravel(result.censored)
    if censored.size == 0:
        raise RlbenchError("no runs to summarise")
    times = np.sort(np.where(censored, np.inf, np.ravel(result.steps)))
    n_censored = int(np.sum(censored))
    half = int(np.ceil(censored.size / 2))  # runs that must have reached the threshold by the median
    return ThresholdSummary(
        n_runs=int(censored.size),
        n_reached=int(censored.size - n_censored),
        n_censored=n_censored,
        median=float(times[half - 1]),
        budget=result.budget,
    )
