"""Where the runs end, not only their centre: the fraction at the reference, the share below random, and how much
the single most extreme run moves a mean.

An interquartile mean trims the lowest quarter of the runs, which is exactly where failed seeds sit (a suite where
3 of 10 runs never learn can still show an IQM near 1), and a mean is moved by one collapsed run far below random.
These functions report what those summaries hide, on ``(runs × tasks)`` matrices of *normalised* final scores
(0 = random, 1 = the reference, see :mod:`rlbench.scores.normalization`):

* :func:`reference_fraction`: the fraction of run × task cells at or above the reference (normalised score >= 1,
  up to :data:`TOLERANCE`), with a Wilson score interval (:func:`wilson_interval`); in a suite normalised by
  solved thresholds and clipped at 1, this is the fraction of runs that end solved;
* :func:`below_random_fraction`: the share of cells below the random policy (normalised score < 0);
* :func:`most_extreme_run` and :func:`mean_without_extreme`: the cell farthest from its algorithm's mean on its
  task, and the mean with it left out.

Pure functions, no I/O; bad input raises :class:`rlbench.errors.RlbenchError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import Interval, check_confidence, score_arrays

TOLERANCE = 1e-9
"""Float tolerance of the comparisons with 1 (the reference) and 0 (random): a normalised score within it of the
reference counts as at the reference (a clipped score is exactly 1, an unclipped one can land a rounding error
below), and only a score more than it below 0 counts as below random (a failed run counted as the random score is
exactly 0)."""


def _matrix(scores: np.ndarray) -> np.ndarray:
    return score_arrays({"scores": scores}, 2, "scores")["scores"]


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """The observed proportion ``successes / trials`` with its Wilson score interval (Wilson 1927).

    The interval inverts the normal score test of a binomial proportion:
    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``. Unlike the Wald interval (or a percentile
    bootstrap) it does not collapse to a point when every trial succeeds or every one fails (10 of 10 gives
    [0.72, 1], not [1, 1]) and keeps close to its nominal coverage at the few trials of an RL suite.
    """
    confidence = check_confidence(confidence)
    if not (isinstance(trials, (int, np.integer)) and isinstance(successes, (int, np.integer))):
        raise RlbenchError(f"successes and trials must be integers, got {successes!r}, {trials!r}")
    if trials < 1 or not 0 <= successes <= trials:
        raise RlbenchError(f"need 0 <= successes <= trials and trials >= 1, got {successes} of {trials}")
    p = successes / trials
    z = float(scipy.stats.norm.ppf(0.5 + confidence / 2.0))
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # At 0 and 1 successes the bound equals the point up to rounding: pin it there.
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(point=float(p), lower=float(lower), upper=float(upper))


def reference_fraction(scores: np.ndarray, confidence: float = 0.95, reach: float | np.ndarray = 1.0) -> Interval:
    """Fraction of run × task cells of a ``(runs × tasks)`` matrix of normalised final scores at or above the
    reference (``score >= reach - TOLERANCE``; ``reach`` is 1, or one level per task: where the reference is an
    expected optimum measured over a few noisy episodes, such as a slippery maze's optimal return, an optimal run
    lands just below 1 half of the time, so the caller counts "within a stated distance of the reference"), with its
    Wilson score interval over the cells.

    Why Wilson over the cells rather than a stratified bootstrap over runs within tasks: each cell is one
    independently trained run that either ends at the reference or not, so the count is a sum of independent
    Bernoulli trials; the Wilson interval keeps its coverage near 0 and 1 (where these fractions mostly are), while a
    bootstrap of 10 runs that all succeed returns the zero-width interval [1, 1]. The cells of different tasks can
    have different success probabilities; with equally many runs per task the variance of the pooled fraction is
    then at most the binomial variance at the pooled rate, so the interval errs on the wide side.
    """
    matrix = _matrix(scores)
    levels = np.broadcast_to(np.asarray(reach, dtype=np.float64), matrix.shape[1:])
    return wilson_interval(int(np.sum(matrix >= levels - TOLERANCE)), int(matrix.size), confidence)


def below_random_fraction(scores: np.ndarray) -> float:
    """Share of run × task cells whose normalised final score is below the random policy's
    (``score < -TOLERANCE``): the negative tail that drags a mean down while an IQM trims it away."""
    matrix = _matrix(scores)
    return float(np.mean(matrix < -TOLERANCE))


@dataclass(frozen=True)
class ExtremeRun:
    """The run × task cell farthest from its algorithm's mean on its task."""

    algo: str
    row: int
    """Row of the run in its algorithm's ``(runs × tasks)`` matrix."""
    task: int
    """Column of the task."""
    score: float
    deviation: float
    """``score`` minus the algorithm's mean over runs on that task."""


def most_extreme_run(scores: Mapping[str, np.ndarray]) -> ExtremeRun:
    """Across every algorithm of ``scores`` (``{algo: (runs × tasks)}``), the cell with the largest absolute
    deviation from its own algorithm's mean on its task. Ties go to the first algorithm (dict order), then the
    first row, then the first task."""
    checked = score_arrays(scores, 2, "scores")
    best: ExtremeRun | None = None
    for algo, matrix in checked.items():
        deviation = matrix - matrix.mean(axis=0, keepdims=True)
        row, task = np.unravel_index(int(np.argmax(np.abs(deviation))), matrix.shape)
        candidate = ExtremeRun(algo, int(row), int(task), float(matrix[row, task]), float(deviation[row, task]))
        if best is None or abs(candidate.deviation) > abs(best.deviation):
            best = candidate
    assert best is not None  # score_arrays rejects an empty dict and empty matrices
    return best


def mean_without_extreme(scores: np.ndarray) -> float:
    """The aggregate mean (mean over tasks of the per-task mean over runs) with the algorithm's most extreme
    cell (:func:`most_extreme_run`) left out: that task's mean is then over the other runs. Far from the mean
    itself, it says that one run drives the mean. NaN with a single run (nothing would be left on its task)."""
    matrix = _matrix(scores)
    if matrix.shape[0] < 2:
        return float("nan")
    extreme = most_extreme_run({"scores": matrix})
    per_task = matrix.mean(axis=0)
    per_task[extreme.task] = np.delete(matrix[:, extreme.task], extreme.row).mean()
    return float(per_task.mean())


__all__ = ["TOLERANCE", "ExtremeRun", "below_random_fraction", "mean_without_extreme", "most_extreme_run",
           "reference_fraction", "wilson_interval"]
