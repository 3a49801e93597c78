"""How many seeds a claim needs: the sample size of a two-sample t-test from the observed seed variance.

A claim "X scores higher than Y" is a difference of means across seeds. With ``n`` seeds per algorithm, a
two-sided two-sample t-test at level ``alpha`` detects a true difference ``delta`` with probability (power)

    P(|T| > t_{1 - alpha/2, 2n - 2}),   T ~ noncentral t(df = 2n - 2, nc = (delta / sigma) * sqrt(n / 2)),

where ``sigma`` is the standard deviation of a seed's score (pooled over the two algorithms). :func:`seeds_needed`
returns the smallest ``n`` whose power reaches the target; the normal approximation
``n ≈ 2 (z_{1-alpha/2} + z_{power})² / (delta / sigma)²`` (e.g. Cohen 1988, ch. 2) is a lower bound it starts from.

One collapsed run far below random inflates ``sigma`` and with it every figure of its pairs (one run at -11
normalised turns 21 seeds into 600). :func:`pairwise_seeds_needed` therefore also reports each pair's figure for
the stated difference with the pair's most extreme run left out (:attr:`SeedsNeeded.for_stated_without_extreme`):
a large gap between the two says the figure rests on that one run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import score_arrays
from rlbench.stats.tails import ExtremeRun, most_extreme_run

ALPHA = 0.05
"""Two-sided significance level of the seeds-needed calculation."""
POWER = 0.8
"""Target power of the seeds-needed calculation."""
MAX_SEEDS = 100_000
"""Search limit: a claim needing more seeds per algorithm is reported as needing infinitely many."""


def _check_probability(value: float, what: str) -> float:
    if not 0.0 < float(value) < 1.0:
        raise RlbenchError(f"{what} must be in (0, 1), got {value!r}")
    return float(value)


def t_test_power(n: int, effect_size: float, alpha: float = ALPHA) -> float:
    """Power of the two-sided two-sample t-test with ``n`` seeds per group at standardised difference ``effect_size``
    (difference / seed standard deviation)."""
    if n < 2:
        raise RlbenchError(f"a two-sample t-test needs at least 2 seeds per group, got {n}")
    df = 2 * n - 2
    critical = scipy.stats.t.ppf(1.0 - alpha / 2.0, df)
    noncentrality = abs(effect_size) * math.sqrt(n / 2.0)
    distribution = scipy.stats.nct(df, noncentrality)
    return float(distribution.sf(critical) + distribution.cdf(-critical))


def normal_approximation_seeds(effect_size: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The closed-form normal approximation ``2 (z_{1-alpha/2} + z_power)² / effect_size²`` (not rounded)."""
    z = scipy.stats.norm.ppf(1.0 - alpha / 2.0) + scipy.stats.norm.ppf(power)
    return 2.0 * z**2 / effect_size**2 if effect_size != 0 else math.inf


def seeds_needed(difference: float, std: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest number of seeds per algorithm for a two-sided t-test at ``alpha`` to detect ``difference`` with
    probability ``power``, when a seed's score has standard deviation ``std``.

    Returns ``inf`` when the difference is zero (nothing to detect) or more than :data:`MAX_SEEDS` would be
    needed, and 2 (the least a t-test needs) when ``std`` is zero and the difference is not.
    """
    alpha, power = _check_probability(alpha, "alpha"), _check_probability(power, "power")
    difference, std = abs(float(difference)), float(std)
    if not (math.isfinite(difference) and math.isfinite(std)) or std < 0:
        raise RlbenchError(f"difference and std must be finite and std non-negative, got {difference!r}, {std!r}")
    if difference == 0.0:
        return math.inf
    if std == 0.0:
        return 2.0
    effect = difference / std
    n = max(2, math.floor(normal_approximation_seeds(effect, alpha, power)))
    while n <= MAX_SEEDS:
        if t_test_power(n, effect, alpha) >= power:
            # The normal approximation can overshoot by a seed at tiny n: step back while power still holds.
            while n > 2 and t_test_power(n - 1, effect, alpha) >= power:
                n -= 1
            return float(n)
        n += 1
    return math.inf


@dataclass(frozen=True)
class SeedsNeeded:
    """How many seeds the comparison of two algorithms needs."""

    difference: float
    """Observed difference of mean per-seed scores, X minus Y."""
    std: float
    """Pooled standard deviation of a seed's score (``ddof=1``)."""
    seeds_x: int
    seeds_y: int
    for_observed: float
    """Seeds per algorithm to detect the observed difference (``inf``: zero difference or beyond the search limit)."""
    for_stated: float
    """Seeds per algorithm to detect the stated difference."""
    stated: float
    """The stated difference of interest."""
    for_stated_without_extreme: float = math.nan
    """:attr:`for_stated` with the seed holding :attr:`extreme` left out of its algorithm (NaN when that would leave
    it fewer than 2 seeds)."""
    extreme: ExtremeRun | None = field(default=None)
    """The pair's most extreme run (:func:`rlbench.stats.tails.most_extreme_run` over both algorithms: the run ×
    task cell farthest from its algorithm's mean on that task)."""


def seed_scores(matrix: np.ndarray) -> np.ndarray:
    """A seed's score: its mean over tasks (row means of a ``(runs × tasks)`` matrix)."""
    return np.mean(np.asarray(matrix, dtype=np.float64), axis=1)


def pooled_seed_std(x: np.ndarray, y: np.ndarray) -> float:
    """Pooled standard deviation (``ddof=1`` within each group) of two groups' seed scores."""
    pooled = ((x.size - 1) * np.var(x, ddof=1) + (y.size - 1) * np.var(y, ddof=1)) / (x.size + y.size - 2)
    return float(np.sqrt(pooled))


def without_extreme(x: str, y: str, matrices: Mapping[str, np.ndarray], stated: float, alpha: float,
                    power: float) -> tuple[float, ExtremeRun]:
    """Seeds needed for ``stated`` when the pair's most extreme run is left out, and that run.

    The run × task cell farthest from its algorithm's per-task mean, over both algorithms, is found; the seed that
    holds it is left out of its algorithm (a seed's score is its mean over tasks, which that run would still drive),
    and the pooled seed standard deviation is recomputed. NaN when its algorithm would keep fewer than 2 seeds.
    """
    extreme = most_extreme_run({x: matrices[x], y: matrices[y]})
    kept = {a: np.delete(matrices[a], extreme.row, axis=0) if a == extreme.algo else matrices[a] for a in (x, y)}
    if min(m.shape[0] for m in kept.values()) < 2:
        return math.nan, extreme
    std = pooled_seed_std(seed_scores(kept[x]), seed_scores(kept[y]))
    return seeds_needed(stated, std, alpha, power), extreme


def pairwise_seeds_needed(
    scores: Mapping[str, np.ndarray], stated: float, alpha: float = ALPHA, power: float = POWER
) -> dict[tuple[str, str], SeedsNeeded]:
    """For every unordered pair of algorithms (in dict order), the seeds needed to detect their observed difference
    and the ``stated`` difference, from the observed seed variance.

    ``scores`` maps each algorithm to its ``(runs × tasks)`` normalised scores; a seed's score is its mean over
    tasks (:func:`seed_scores`), so the claim is about the mean normalised score. Every algorithm needs at least
    two seeds. Each pair also gets the stated figure with its most extreme run left out (:func:`without_extreme`).
    """
    checked = score_arrays(scores, 2, "scores")
    few = {a: m.shape[0] for a, m in checked.items() if m.shape[0] < 2}
    if few:
        raise RlbenchError(f"seeds needed: every algorithm needs at least 2 seeds; have {few}")
    order = list(checked)
    result: dict[tuple[str, str], SeedsNeeded] = {}
    for i, x in enumerate(order):
        for y in order[i + 1:]:
            a, b = seed_scores(checked[x]), seed_scores(checked[y])
            std = pooled_seed_std(a, b)
            difference = float(np.mean(a) - np.mean(b))
            sensitivity, extreme = without_extreme(x, y, checked, stated, alpha, power)
            result[(x, y)] = SeedsNeeded(
                difference=difference, std=std, seeds_x=int(a.size), seeds_y=int(b.size),
                for_observed=seeds_needed(difference, std, alpha, power),
                for_stated=seeds_needed(stated, std, alpha, power), stated=float(stated),
                for_stated_without_extreme=sensitivity, extreme=extreme,
            )
    return result


__all__ = [
    "ALPHA", "MAX_SEEDS", "POWER", "SeedsNeeded", "normal_approximation_seeds", "pairwise_seeds_needed",
    "pooled_seed_std", "seed_scores", "seeds_needed", "t_test_power", "without_extreme",
]
