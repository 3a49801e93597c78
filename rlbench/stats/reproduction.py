"""Our runs against one published number, with the test that matches what was published.

A published number is either **a mean over seeds** with the standard deviation across them (e.g. CleanRL's docs:
3 seeds) or **one run** (e.g. rl-baselines3-zoo's benchmark: one trained agent, its ``±`` the spread over
evaluation episodes, not over seeds). The two support different claims:

* a published mean over seeds can be **reproduced**: an equivalence test, two one-sided tests (TOST, Schuirmann
  1987) of "our mean and the published mean differ by at least the margin ``m``". Its ``1 - 2 alpha`` interval of
  *ours minus published* is Welch's (Welch-Satterthwaite degrees of freedom). **reproduced**: the interval lies
  within ``[-m, m]``; **not reproduced**: it lies wholly outside; **inconclusive**: otherwise. Scores are often
  bounded (CartPole's 500): when all our runs sit at a bound, their spread is zero and Welch's interval would have
  zero width, so our side's bound away from the wall is instead the exact binomial one: with all ``n`` runs at the
  ceiling ``hi``, the share of runs that end below it is at most ``1 - (alpha / 2) ** (1 / n)`` (Clopper-Pearson),
  and such a run is at worst at the floor ``lo``, so our mean is at least ``hi - (hi - lo) (1 - (alpha / 2) **
  (1 / n))``. The published side then gets its own one-sided ``alpha / 2`` bound (Bonferroni), so each side of
  the interval still holds at ``alpha``. With no known bound and no spread there is no interval: inconclusive;
* a published single run can only be **consistent** or **inconsistent** with our distribution of single runs: the
  single-case t test of Crawford & Howell 1998, ``t = (published - our mean) / (s sqrt((n + 1) / n))`` on
  ``n - 1`` degrees of freedom, two-sided at :data:`SINGLE_CASE_ALPHA`. It can never show equivalence, however
  many seeds we add: one run is one draw from its own author's seed distribution, so the difference to our mean
  keeps the spread of a single run (its prediction interval never narrows below about 1.96 seed standard
  deviations). Where our runs have no spread, the single-case t test is undefined and the published run is ranked
  among ours instead (exchangeable under the null: two-sided p = ``2 (min(#ours <= it, #ours >= it) + 1) / (n + 1)``,
  capped at 1).

Each test's false-verdict rate is measured in ``results/calibration/`` on simulated scores with known truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import Interval

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
CONSISTENT = "consistent"
INCONSISTENT = "inconsistent"

EQUIVALENCE_TEST = "TOST equivalence test (Schuirmann 1987), Welch interval; exact binomial bound at a score bound"
SINGLE_CASE_TEST = "single-case t test (Crawford & Howell 1998); rank test where our runs have no spread"

ALPHA = 0.05
"""Level of each of the two one-sided tests of the equivalence test (its interval is ``1 - 2 * ALPHA``)."""
SINGLE_CASE_ALPHA = 0.05
"""Two-sided level of the single-case test (its interval is a 95% prediction interval)."""

Bounds = Sequence[float | None] | None
"""``(lowest, highest)`` score a run can get, either end None where unbounded; None: no bounds known."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of a reproduction test and what it rests on."""

    outcome: str
    """:data:`REPRODUCED`, :data:`NOT_REPRODUCED`, :data:`INCONCLUSIVE` (a mean over seeds) or :data:`CONSISTENT`,
    :data:`INCONSISTENT` (a single run)."""
    difference: Interval
    """Ours minus published, with its interval (NaN bounds where no interval exists)."""
    margin: float
    """The equivalence margin (same units as the scores; NaN for a single run, which has none)."""
    test: str
    """:data:`EQUIVALENCE_TEST` or :data:`SINGLE_CASE_TEST`."""
    p_value: float = math.nan
    """The single-case test's two-sided p-value (NaN for the equivalence test, which is decided by its interval)."""
    note: str = ""
    """What the verdict rests on where it is not the plain test (a bound, no spread)."""


def outcome_of(difference: Interval, margin: float) -> str:
    """The equivalence verdict of an interval of ours minus published against the margin (see the module docstring)."""
    margin = float(margin)
    if not math.isfinite(margin) or margin <= 0:
        raise RlbenchError(f"the equivalence margin must be positive and finite, got {margin!r}")
    if not (math.isfinite(difference.lower) and math.isfinite(difference.upper)):
        return INCONCLUSIVE
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


def _bounds(bounds: Bounds) -> tuple[float, float]:
    if bounds is None:
        return -math.inf, math.inf
    low, high = bounds
    low = -math.inf if low is None else float(low)
    high = math.inf if high is None else float(high)
    if not low < high:
        raise RlbenchError(f"score bounds must satisfy lowest < highest, got {bounds!r}")
    return low, high


def wall_bound(n: int, at: float, other_end: float, alpha: float) -> float:
    """With all ``n`` runs at the bound ``at``: the one-sided ``1 - alpha`` bound of the mean away from it (exact
    binomial: at most ``1 - alpha ** (1 / n)`` of runs end off the bound, each at worst at ``other_end``)."""
    share_off = 1.0 - alpha ** (1.0 / n)
    return at + (other_end - at) * share_off


def mean_interval(ours: np.ndarray, published_mean: float, published_std: float, published_runs: int,
                  alpha: float = ALPHA, bounds: Bounds = None) -> tuple[Interval, str]:
    """Ours minus a published mean over ``published_runs`` seeds (std ``published_std``): the ``1 - 2 alpha`` interval
    and a note on what it rests on (empty for Welch's interval)."""
    values = _ours(ours)
    if int(published_runs) < 2 or not math.isfinite(float(published_std)) or float(published_std) < 0:
        raise RlbenchError(f"a published mean needs at least 2 seeds and a finite std, got {published_runs} seeds, "
                           f"std {published_std!r}")
    n, m = values.size, int(published_runs)
    low, high = _bounds(bounds)
    point = float(np.mean(values)) - float(published_mean)
    ours_var, published_var = float(np.var(values, ddof=1)) / n, float(published_std) ** 2 / m
    if ours_var > 0.0:
        standard_error = math.sqrt(ours_var + published_var)
        df = (ours_var + published_var) ** 2 / (
            ours_var**2 / (n - 1) + (published_var**2 / (m - 1) if published_var else 0.0))
        half = float(scipy.stats.t.ppf(1.0 - alpha, df)) * standard_error
        return Interval(point, point - half, point + half), ""
    common = float(values[0])
    published_half = float(scipy.stats.t.ppf(1.0 - alpha / 2.0, m - 1)) * math.sqrt(published_var)
    if common == high and math.isfinite(low):
        ours_low, ours_high = wall_bound(n, high, low, alpha / 2.0), high
    elif common == low and math.isfinite(high):
        ours_low, ours_high = low, wall_bound(n, low, high, alpha / 2.0)
    else:
        return Interval(point, math.nan, math.nan), f"all {n} runs of ours scored {common:g}, off any known bound"
    note = (f"all {n} runs of ours at the bound {common:g}: exact binomial bound for ours, "
            "Bonferroni with the published side")
    return Interval(point, ours_low - float(published_mean) - published_half,
                    ours_high - float(published_mean) + published_half), note


def equivalence_verdict(ours: np.ndarray, published_mean: float, published_std: float, published_runs: int,
                        margin: float, bounds: Bounds = None, alpha: float = ALPHA) -> Verdict:
    """Is a published mean over seeds equal to ours within ``margin``? (TOST; see the module docstring)."""
    difference, note = mean_interval(ours, published_mean, published_std, published_runs, alpha, bounds)
    return Verdict(outcome_of(difference, margin), difference, float(margin), EQUIVALENCE_TEST, math.nan, note)


def single_case_p_value(ours: np.ndarray, published: float) -> float:
    """Two-sided p-value of "the published run is one more draw from the distribution of our runs" (Crawford &
    Howell 1998; the rank test where our runs have no spread)."""
    values = _ours(ours)
    n, published = values.size, float(published)
    spread = float(np.std(values, ddof=1))
    if spread > 0.0:
        t = (published - float(np.mean(values))) / (spread * math.sqrt((n + 1.0) / n))
        return float(2.0 * scipy.stats.t.sf(abs(t), n - 1))
    below, above = int(np.sum(values <= published)), int(np.sum(values >= published))
    return min(1.0, 2.0 * (min(below, above) + 1) / (n + 1))


def single_run_verdict(ours: np.ndarray, published: float, bounds: Bounds = None,
                       alpha: float = SINGLE_CASE_ALPHA) -> Verdict:
    """Is one published run consistent with the distribution of our single runs? (single-case test; see the module
    docstring). The difference is our mean minus the published run, with the ``1 - alpha`` prediction interval of a
    single run of ours minus it (NaN bounds where our runs have no spread)."""
    del bounds  # a single run is ranked among ours; bounds do not change that test
    values = _ours(ours)
    n = values.size
    p_value = single_case_p_value(values, published)
    point = float(np.mean(values)) - float(published)
    spread = float(np.std(values, ddof=1))
    if spread > 0.0:
        half = float(scipy.stats.t.ppf(1.0 - alpha / 2.0, n - 1)) * spread * math.sqrt(1.0 + 1.0 / n)
        difference, note = Interval(point, point - half, point + half), ""
    else:
        difference = Interval(point, math.nan, math.nan)
        note = f"all {n} runs of ours scored {float(values[0]):g}: the published run ranked among them"
    outcome = INCONSISTENT if p_value < alpha else CONSISTENT
    return Verdict(outcome, difference, math.nan, SINGLE_CASE_TEST, p_value, note)


__all__ = [
    "ALPHA", "CONSISTENT", "EQUIVALENCE_TEST", "INCONCLUSIVE", "INCONSISTENT", "NOT_REPRODUCED", "REPRODUCED",
    "SINGLE_CASE_ALPHA", "SINGLE_CASE_TEST", "Verdict", "equivalence_verdict", "mean_interval", "outcome_of",
    "single_case_p_value", "single_run_verdict", "wall_bound",
]
