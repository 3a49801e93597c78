"""The non-inferiority test of a regression gate: is a candidate at most ``margin`` worse than a reference?

Hypotheses on the suite's mean normalised score (tasks weighted equally, as the aggregate "mean" of
:mod:`rlbench.stats.aggregates`): H0 ``mu_candidate - mu_reference <= -margin`` (the candidate is worse by more than
the margin) against H1 ``mu_candidate - mu_reference > -margin``. The test is the one-sided Welch t test stratified
over tasks (Welch 1947; the non-inferiority form of Schuirmann's 1987 one-sided tests): per task ``j`` the difference
of the mean final scores ``d_j`` and its variance ``v_j = s_c^2 / n_c + s_r^2 / n_r``; over the suite
``D = mean_j d_j`` with standard error ``sqrt(sum_j v_j) / k`` and Welch-Satterthwaite degrees of freedom. The gate
**passes** when the one-sided ``1 - alpha`` lower confidence bound of ``D`` lies above ``-margin`` (non-inferiority
shown); otherwise it **fails**: the candidate is worse, or the runs cannot show it is not.

Seeds are independent runs (no pairing by seed: an unchanged revision reuses the reference's very runs, which a
paired test would count as perfect agreement). The false-pass rate (a candidate worse by exactly the margin passing)
and the power (an equal candidate passing) are measured on simulated suites shaped like the comparison
(:func:`simulated_rates`, with the task distributions of :mod:`rlbench.stats.calibration`: normal scores and the
reference runs resampled): with 3-5 seeds a Welch test's nominal rate holds for normal scores and can be exceeded for
skewed ones, which is why the measured rate is printed beside the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import Interval
from rlbench.stats.calibration import TaskDistribution, draw_matrices, empirical_task, normal_task
from rlbench.stats.power import POWER, seeds_needed

ALPHA = 0.05
"""One-sided level of the non-inferiority test (the nominal false-pass rate)."""

NONINFERIORITY_TEST = ("one-sided Welch t test of the mean normalised score, stratified over tasks "
                       "(non-inferiority form of Schuirmann 1987)")

PASS, FAIL = "pass", "fail"


@dataclass(frozen=True)
class NonInferiority:
    """The outcome of :func:`noninferiority_test`."""

    difference: Interval
    """Candidate minus reference (mean normalised score): the point, the one-sided ``1 - alpha`` lower bound and
    the (symmetric) upper bound of the two-sided ``1 - 2 alpha`` interval."""
    margin: float
    alpha: float
    p_value: float
    """P-value of H0 ``difference <= -margin``."""
    df: float

    @property
    def passed(self) -> bool:
        """Non-inferiority shown: the lower bound lies above ``-margin``."""
        return self.difference.lower > -self.margin

    @property
    def outcome(self) -> str:
        return PASS if self.passed else FAIL


def _check(candidate: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c, r = (np.asarray(m, dtype=np.float64) for m in (candidate, reference))
    if c.ndim != 2 or r.ndim != 2 or c.shape[1] != r.shape[1] or c.shape[1] == 0:
        raise RlbenchError(f"non-inferiority needs two (runs x tasks) matrices over the same tasks, got shapes "
                           f"{c.shape} and {r.shape}")
    if c.shape[0] < 2 or r.shape[0] < 2:
        raise RlbenchError(f"non-inferiority needs at least 2 runs per task on each side, got {c.shape[0]} and "
                           f"{r.shape[0]}")
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(r))):
        raise RlbenchError("non-inferiority needs finite scores")
    return c, r


def _welch(c: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised over leading axes: ``(..., runs, tasks)`` -> the aggregate difference, its standard error and
    Welch-Satterthwaite degrees of freedom."""
    nc, nr, k = c.shape[-2], r.shape[-2], c.shape[-1]
    vc = c.var(axis=-2, ddof=1) / nc
    vr = r.var(axis=-2, ddof=1) / nr
    d = (c.mean(axis=-2) - r.mean(axis=-2)).mean(axis=-1)
    total = (vc + vr).sum(axis=-1)
    se = np.sqrt(total) / k
    denominator = (vc**2 / (nc - 1) + vr**2 / (nr - 1)).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(denominator > 0, total**2 / np.where(denominator > 0, denominator, 1.0), np.inf)
    return d, se, df


def noninferiority_test(candidate: np.ndarray, reference: np.ndarray, margin: float,
                        alpha: float = ALPHA) -> NonInferiority:
    """Test H0 "the candidate's mean normalised score is below the reference's by ``margin`` or more" (module
    docstring) on ``(runs x tasks)`` matrices of normalised final scores."""
    if not (math.isfinite(margin) and margin > 0):
        raise RlbenchError(f"the non-inferiority margin must be positive, got {margin!r}")
    if not 0 < alpha < 0.5:
        raise RlbenchError(f"alpha must be in (0, 0.5), got {alpha!r}")
    c, r = _check(candidate, reference)
    d, se, df = (float(v) for v in _welch(c, r))
    if se == 0.0:  # no spread at all: the difference is known exactly
        return NonInferiority(Interval(d, d, d), margin, alpha, 0.0 if d > -margin else 1.0, df)
    t = float(scipy.stats.t.ppf(1 - alpha, df)) if math.isfinite(df) else float(scipy.stats.norm.ppf(1 - alpha))
    p = float(scipy.stats.t.sf((d + margin) / se, df)) if math.isfinite(df) else float(
        scipy.stats.norm.sf((d + margin) / se))
    return NonInferiority(Interval(d, d - t * se, d + t * se), margin, alpha, p, df)


@dataclass(frozen=True)
class GateRates:
    """Measured rates of the gate on simulated suites with known truth."""

    false_pass: float
    """Share of candidates worse by exactly the margin that pass (nominal: ``alpha``)."""
    false_pass_se: float
    power: float
    """Share of candidates as good as the reference that pass."""
    power_se: float
    simulations: int


SCENARIOS = ("normal", "resampled")
"""The simulated truths of :func:`simulated_rates`: normal scores with the reference's mean and spread per task, and
the reference's own runs resampled (skewed, few distinct values: where a t test's nominal rate is least safe)."""


def simulated_rates(reference: np.ndarray, candidate_runs: int, margin: float, alpha: float = ALPHA,
                    simulations: int = 2000, seed: int = 0) -> GateRates:
    """The gate's false-pass rate and power on simulated suites shaped like this comparison, the worse of the
    :data:`SCENARIOS` (highest false-pass rate, lowest power): per task a distribution from the reference runs
    (:func:`rlbench.stats.calibration.normal_task` with their mean and standard deviation, at least 1% of the margin;
    :func:`rlbench.stats.calibration.empirical_task` of the runs themselves), ``candidate_runs`` candidate runs and
    the reference's number of runs; the candidate is shifted by ``-margin`` (H0's boundary: a pass is a false pass)
    or not at all (power). Seeded with ``numpy.random.SeedSequence(seed)``; vectorised, milliseconds."""
    r = np.asarray(reference, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2:
        raise RlbenchError(f"the simulation needs a (runs x tasks) reference with 2 runs or more, got {r.shape}")
    floor = 0.01 * margin
    worst_false, worst_power = (0.0, 0.0), (1.0, 0.0)
    for scenario, stream in zip(SCENARIOS, np.random.SeedSequence(seed).spawn(len(SCENARIOS))):
        if scenario == "normal":
            tasks: Sequence[TaskDistribution] = [
                normal_task(float(r[:, j].mean()), max(float(r[:, j].std(ddof=1)), floor)) for j in range(r.shape[1])]
        elif np.all(r.std(axis=0, ddof=1) > 0):
            tasks = [empirical_task(r[:, j]) for j in range(r.shape[1])]
        else:
            continue  # a task without spread: resampling it simulates no uncertainty at all
        rng_r, rng_boundary, rng_equal = (np.random.default_rng(s) for s in stream.spawn(3))
        ref = draw_matrices(rng_r, tasks, simulations, r.shape[0])
        rates = []
        for rng, shift in ((rng_boundary, -margin), (rng_equal, 0.0)):
            cand = draw_matrices(rng, tasks, simulations, candidate_runs) + shift
            d, se, df = _welch(cand, ref)
            t = scipy.stats.t.ppf(1 - alpha, df)
            share = float(((d - t * se) > -margin).mean())
            rates.append((share, math.sqrt(share * (1 - share) / simulations)))
        worst_false = max(worst_false, rates[0])
        worst_power = min(worst_power, rates[1])
    return GateRates(worst_false[0], worst_false[1], worst_power[0], worst_power[1], simulations)


def gate_seeds_needed(candidate: np.ndarray, reference: np.ndarray, margin: float, alpha: float = ALPHA,
                      power: float = POWER) -> float:
    """Seeds per side for the gate to pass an equal candidate with probability ``power``: the one-sided test at
    ``alpha`` is the two-sided one at ``2 alpha``, with the pooled seed standard deviation of the suite's mean
    score (:func:`rlbench.stats.power.seeds_needed`)."""
    c, r = _check(candidate, reference)
    k = c.shape[1]
    pooled = np.sqrt((c.var(axis=0, ddof=1) + r.var(axis=0, ddof=1)) / 2.0)
    std_of_mean = float(np.sqrt((pooled**2).sum()) / k)
    return seeds_needed(margin, std_of_mean, alpha=2 * alpha, power=power)


__all__ = ["ALPHA", "FAIL", "GateRates", "NONINFERIORITY_TEST", "NonInferiority", "PASS", "SCENARIOS", "gate_seeds_needed",
           "noninferiority_test", "simulated_rates"]
