"""Reproduced, not reproduced or inconclusive: our runs against one published number, with an equivalence margin.

A published number is either **one run** (e.g. rl-baselines3-zoo's benchmark: one trained agent, its ``±`` the
spread over evaluation episodes, not over seeds) or **a mean over seeds** with the standard deviation across
them (e.g. CleanRL's docs: 3 seeds). The test matches what was published:

* one run: the published score is one draw of a single run's final score. The difference of our mean and that
  draw has standard error ``s * sqrt(1 + 1/n)`` (our seed standard deviation ``s`` over ``n`` seeds standing for
  the spread of single runs; a t prediction interval, df ``n - 1``);
* a mean over seeds: Welch's interval of the difference of two means (Welch-Satterthwaite degrees of freedom).

Both give a ``1 - 2 alpha`` confidence interval of *ours minus published* (90% for ``alpha = 0.05``: two
one-sided tests, TOST). With an equivalence margin ``m`` (stated by the caller):

* **reproduced**: the whole interval lies within ``[-m, m]`` (bounds included);
* **not reproduced**: the whole interval lies outside it (above ``m`` or below ``-m``);
* **inconclusive**: anything else (the data cannot tell, usually too few seeds or too wide a spread).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import Interval

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"

ONE_RUN = "one published run vs the spread of our single runs (t prediction interval)"
MEAN_OVER_SEEDS = "published mean over seeds vs our mean over seeds (Welch interval)"

ALPHA = 0.05
"""Level of each of the two one-sided tests (the interval is ``1 - 2 * ALPHA``)."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of a reproduction test and what it rests on."""

    outcome: str
    """:data:`REPRODUCED`, :data:`NOT_REPRODUCED` or :data:`INCONCLUSIVE`."""
    difference: Interval
    """Ours minus published, with its ``1 - 2 alpha`` interval."""
    margin: float
    """The equivalence margin (same units as the scores)."""
    test: str
    """:data:`ONE_RUN` or :data:`MEAN_OVER_SEEDS`."""


def outcome_of(difference: Interval, margin: float) -> str:
    """The verdict of an interval of ours minus published against the equivalence margin (see the module docstring)."""
    margin = float(margin)
    if not math.isfinite(margin) or margin <= 0:
        raise RlbenchError(f"the equivalence margin must be positive and finite, got {margin!r}")
    if -margin <= difference.lower and difference.upper <= margin:
        return REPRODUCED
    if difference.lower > margin or difference.upper < -margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def _ours(values: np.ndarray) -> np.ndarray:
    ours = np.asarray(values, dtype=np.float64).ravel()
    if ours.size < 2 or not np.all(np.isfinite(ours)):
        raise RlbenchError(f"a reproduction test needs at least 2 finite scores of ours, got {ours.tolist()}")
    return ours


def _interval(point: float, standard_error: float, df: float, alpha: float) -> Interval:
    if standard_error == 0.0:
        return Interval(point, point, point)
    half = float(scipy.stats.t.ppf(1.0 - alpha, df)) * standard_error
    return Interval(point, point - half, point + half)


def single_run_interval(ours: np.ndarray, published: float, alpha: float = ALPHA) -> Interval:
    """Ours (mean over seeds) minus one published run, with its ``1 - 2 alpha`` prediction-based interval."""
    values = _ours(ours)
    n = values.size
    standard_error = float(np.std(values, ddof=1)) * math.sqrt(1.0 + 1.0 / n)
    return _interval(float(np.mean(values)) - float(published), standard_error, n - 1, alpha)


def mean_interval(ours: np.ndarray, published_mean: float, published_std: float, published_runs: int,
                  alpha: float = ALPHA) -> Interval:
    """Ours minus a published mean over ``published_runs`` seeds (std ``published_std``), Welch's interval."""
    values = _ours(ours)
    if int(published_runs) < 2 or not math.isfinite(float(published_std)) or float(published_std) < 0:
        raise RlbenchError(f"a published mean needs at least 2 seeds and a finite std, got {published_runs} seeds, "
                           f"std {published_std!r}")
    n, m = values.size, int(published_runs)
    ours_var, published_var = float(np.var(values, ddof=1)) / n, float(published_std) ** 2 / m
    standard_error = math.sqrt(ours_var + published_var)
    df = (ours_var + published_var) ** 2 / (
        (ours_var**2 / (n - 1) if ours_var else 0.0) + (published_var**2 / (m - 1) if published_var else 0.0)
    ) if standard_error else math.inf
    return _interval(float(np.mean(values)) - float(published_mean), standard_error, df, alpha)


def single_run_verdict(ours: np.ndarray, published: float, margin: float, alpha: float = ALPHA) -> Verdict:
    """Is one published run consistent with the spread of our runs, within ``margin``?"""
    difference = single_run_interval(ours, published, alpha)
    return Verdict(outcome_of(difference, margin), difference, float(margin), ONE_RUN)


def mean_verdict(ours: np.ndarray, published_mean: float, published_std: float, published_runs: int, margin: float,
                 alpha: float = ALPHA) -> Verdict:
    """Is a published mean over seeds equal to ours within ``margin``?"""
    difference = mean_interval(ours, published_mean, published_std, published_runs, alpha)
    return Verdict(outcome_of(difference, margin), difference, float(margin), MEAN_OVER_SEEDS)


__all__ = [
    "ALPHA", "INCONCLUSIVE", "MEAN_OVER_SEEDS", "NOT_REPRODUCED", "ONE_RUN", "REPRODUCED", "Verdict",
    "mean_interval", "mean_verdict", "outcome_of", "single_run_interval", "single_run_verdict",
]
