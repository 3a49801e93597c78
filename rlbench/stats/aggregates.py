"""Aggregate metrics, performance profiles, probability of improvement and sample-efficiency curves.

Following Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical
Precipice" (NeurIPS), results are reported as *interval estimates* of aggregate metrics (median,
interquartile mean (IQM), mean, optimality gap), *performance profiles* (score distributions),
and the *probability of improvement* between algorithms, each with stratified-bootstrap
confidence intervals (runs are resampled with replacement within every task).

Conventions:

* inputs are ``dict[str, np.ndarray]`` keyed by algorithm: ``(runs × tasks)`` final scores or
  ``(runs × tasks × evaluation steps)`` learning curves (see :mod:`rlbench.scores.matrices`); outputs are dicts
  keyed by algorithm (or by ordered algorithm pair);
* every function is pure: no I/O, no global state. Bootstrap functions take an explicit integer
  ``seed``; each algorithm (or pair) gets its own ``np.random.RandomState(seed)``, so the same
  inputs and seed give identical intervals every time, and an algorithm's intervals do not depend
  on which other algorithms are in the dict;
* intervals of the aggregate metrics and sample-efficiency curves are Hesterberg's expanded percentile bootstrap
  intervals (95 % by default; ``method="percentile"`` gives rliable's percentile intervals, too narrow with few
  runs: see :mod:`rlbench.stats.bootstrap`); profiles and the probability of improvement keep percentile bands
  (they are displayed, not decided on: "clearly better" is :mod:`rlbench.stats.ranking`'s exact test);
* bad input raises :class:`rlbench.errors.RlbenchError`.

The bootstrap itself is :mod:`rlbench.stats.bootstrap`.
"""


from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.stats
from rliable import metrics as rlm

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import (
    EXPANDED,
    Band,
    Interval,
    bootstrap_band,
    check_confidence,
    check_reps,
    check_seed,
    score_arrays,
)

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
    method: str = EXPANDED,
) -> dict[str, dict[str, Interval]]:
    """Median, IQM, mean and optimality gap with stratified-bootstrap CIs, per algorithm.

    Agarwal et al. 2021, Sec. 4. ``scores`` maps each algorithm to its ``(runs × tasks)`` matrix of
    normalised scores; the optimality gap uses threshold ``gamma`` (1 = human level for
    human-normalised scores). The four metrics share one joint bootstrap (``reps`` resamples of the
    runs within every task) per algorithm, seeded with ``RandomState(seed)``.

    Returns ``{algo: {metric: Interval}}`` with metrics named as in :data:`METRICS`.
    """
    checked = score_arrays(scores, 2, "scores")
    seed, reps, confidence = check_seed(seed), check_reps(reps), check_confidence(confidence)
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
        band = bootstrap_band([matrix], metrics_of, seed, reps, confidence, method)
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
    checked = score_arrays(scores, 2, "scores")
    seed, reps, confidence = check_seed(seed), check_reps(reps), check_confidence(confidence)
    grid = np.asarray(taus, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise RlbenchError(f"taus must be a non-empty 1-D array of finite thresholds, got shape {grid.shape}")
    return {
        algo: bootstrap_band([matrix], lambda m: score_distribution(m, grid), seed, reps, confidence)
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
    checked = score_arrays(scores, 2, "scores")
    seed, reps, confidence = check_seed(seed), check_reps(reps), check_confidence(confidence)
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
            band = bootstrap_band([checked[first], checked[second]], poi, seed, reps, confidence)
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
    method: str = EXPANDED,
) -> dict[str, Band]:
    """IQM over runs × tasks at every evaluation step, with pointwise stratified-bootstrap CIs.

    The sample-efficiency curves of Agarwal et al. 2021 (Fig. 8): ``curves`` maps each algorithm
    to a ``(runs × tasks × evaluation steps)`` array of normalised scores. As in rliable, the runs are
    resampled within every task independently at each evaluation step. Returns ``{algo: Band}`` with
    one value per evaluation step.
    """
    checked = score_arrays(curves, 3, "learning curves")
    seed, reps, confidence = check_seed(seed), check_reps(reps), check_confidence(confidence)

    def iqm_per_step(array: np.ndarray) -> np.ndarray:
        flat = array.reshape(-1, array.shape[-1])
        return np.asarray(scipy.stats.trim_mean(flat, proportiontocut=0.25, axis=0), dtype=np.float64)

    return {algo: bootstrap_band([array], iqm_per_step, seed, reps, confidence, method)
            for algo, array in checked.items()}
