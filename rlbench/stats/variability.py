"""How much results vary across seeds, and single-curve sample efficiency (AUC, steps to a threshold)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import (
    bootstrap_band,
    check_confidence,
    check_reps,
    check_seed,
    score_arrays,
)


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
    """Per run, when its learning curve reaches a threshold, and from when on it stays there.

    Runs that never reach it are *censored*: all we know is that they would need more than
    ``budget`` steps. They are kept, with ``steps = NaN`` and ``censored = True``. A run whose last evaluation is
    below the threshold has ``stays_from = NaN``: it may have reached the threshold and lost it again.
    """

    steps: np.ndarray
    """First step reaching the threshold (float), ``NaN`` where censored."""
    censored: np.ndarray
    """Boolean, same shape: the run never reached the threshold within ``budget``."""
    budget: float
    """The last evaluation step (the training budget)."""
    threshold: float
    stays_from: np.ndarray
    """First evaluation step from which the curve stays at or above the threshold through the last evaluation
    (float); ``NaN`` where the last evaluation is below it (the run does not end solved)."""

    @property
    def solved_at_end(self) -> np.ndarray:
        """Boolean: the run's last evaluation is at or above the threshold."""
        return ~np.isnan(self.stays_from)


@dataclass(frozen=True)
class ThresholdSummary:
    """Summary of :class:`ThresholdSteps`: how many runs end at the threshold, how many reached it and lost it, and
    how long those that end there took to get there for good."""

    n_runs: int
    n_reached: int
    """Runs that reached the threshold at some evaluation step."""
    n_solved_at_end: int
    """Runs whose last evaluation is at or above the threshold."""
    median: float
    """Median, over the runs that end at the threshold, of the first evaluation step from which they stay at or
    above it (the lower median: always an evaluated step); ``NaN`` when no run ends there."""
    budget: float

    @property
    def n_reached_then_lost(self) -> int:
        """Runs that reached the threshold at some evaluation but end below it."""
        return self.n_reached - self.n_solved_at_end

    @property
    def fraction_reached(self) -> float:
        """Fraction of runs that reached the threshold at some evaluation."""
        return self.n_reached / self.n_runs

    @property
    def none_solved(self) -> bool:
        """True when no run ends at the threshold (there is then no median)."""
        return self.n_solved_at_end == 0


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
    checked = score_arrays(scores, 2, "scores")
    seed, reps, confidence = check_seed(seed), check_reps(reps), check_confidence(confidence)
    tasks = [str(t) for t in tasks]
    result: dict[str, dict[str, SeedSpread]] = {}
    for algo, matrix in checked.items():
        if matrix.shape[1] != len(tasks):
            raise RlbenchError(f"algorithm {algo!r}: {matrix.shape[1]} task columns but {len(tasks)} task names")
        if matrix.shape[0] < 2:
            raise RlbenchError(f"algorithm {algo!r}: seed variance needs at least 2 runs, has {matrix.shape[0]}")
        band = bootstrap_band([matrix], lambda m: np.mean(m, axis=0), seed, reps, confidence)
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
    evaluation steps of the across-seed standard deviation (``ddof=1``).

    ``curves`` maps each algorithm to ``(runs × tasks × evaluation steps)``; returns ``{algo: array of
    len(tasks)}``. Needs at least 2 runs per algorithm.
    """
    checked = score_arrays(curves, 3, "learning curves")
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
        raise RlbenchError(f"steps must be a 1-D array of at least 2 evaluation steps, got shape {grid.shape}")
    if not np.all(np.isfinite(grid)) or not np.all(np.diff(grid) > 0):
        raise RlbenchError("steps must be finite and strictly increasing")
    if values.ndim < 1 or values.shape[-1] != grid.size:
        raise RlbenchError(f"curve's last axis must match the {grid.size} steps, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise RlbenchError("curve contains NaN or infinite values")
    return values, grid


def area_under_curve(curve: np.ndarray, steps: Sequence[float] | np.ndarray) -> np.ndarray:
    """Normalised area under a learning curve: the trapezoid integral over ``steps`` divided by
    the step range, i.e. the time-averaged (normalised) score between the first and last evaluation step.

    ``curve`` has evaluation steps on its last axis (e.g. ``(runs × tasks × evaluation steps)``); the result
    has the remaining shape. A constant curve at ``c`` has area ``c``.
    """
    values, grid = _curve_and_steps(curve, steps)
    return np.asarray(np.trapezoid(values, x=grid, axis=-1) / (grid[-1] - grid[0]), dtype=np.float64)


def steps_to_threshold(curve: np.ndarray, steps: Sequence[float] | np.ndarray, threshold: float) -> ThresholdSteps:
    """Per run, the first evaluation step at which ``curve >= threshold``, and the first step from which it stays
    there through the last evaluation; censored runs kept explicitly.

    ``curve`` has evaluation steps on its last axis. Runs that never reach ``threshold`` get
    ``steps = NaN`` and ``censored = True`` (they would need more than the budget, the last step); runs whose last
    evaluation is below it get ``stays_from = NaN``. Summarise with :func:`threshold_summary`.
    """
    values, grid = _curve_and_steps(curve, steps)
    reached = values >= float(threshold)
    censored = ~np.any(reached, axis=-1)
    first = np.argmax(reached, axis=-1)
    found = np.where(censored, np.nan, grid[first])
    below = ~reached
    # Index of the last evaluation below the threshold (-1 where none is): the run stays from the next one on.
    last_below = np.where(np.any(below, axis=-1), grid.size - 1 - np.argmax(below[..., ::-1], axis=-1), -1)
    stays = np.where(reached[..., -1], grid[np.minimum(last_below + 1, grid.size - 1)], np.nan)
    return ThresholdSteps(steps=found, censored=censored, budget=float(grid[-1]), threshold=float(threshold),
                          stays_from=stays)


def threshold_summary(result: ThresholdSteps) -> ThresholdSummary:
    """Counts of runs that end at the threshold and that reached it then lost it, and the median steps to solve.

    Only runs whose last evaluation is at or above the threshold count towards the median: for each, the first
    evaluation step from which it stays at or above the threshold (a run that touched the threshold early and
    fell back is not "solved at" that early step, and a run that ends below it is not solved at all). The median
    is the lower median of those steps (an evaluated step, never an average of two); ``NaN`` when no run ends at
    the threshold. Read it beside ``n_solved_at_end``: it describes those runs only. Flattens all axes: slice
    ``result`` per task first for per-task summaries.
    """
    censored = np.ravel(result.censored)
    if censored.size == 0:
        raise RlbenchError("no runs to summarise")
    stays = np.ravel(result.stays_from)
    solved = np.sort(stays[~np.isnan(stays)])
    return ThresholdSummary(
        n_runs=int(censored.size),
        n_reached=int(np.sum(~censored)),
        n_solved_at_end=int(solved.size),
        median=float(solved[(solved.size - 1) // 2]) if solved.size else float("nan"),
        budget=result.budget,
    )
