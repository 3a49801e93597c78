"""The seeded stratified bootstrap every interval of rlbench comes from, and its result types.

rliable 1.2's ``StratifiedBootstrap`` draws its resampling indices from NumPy's *global* random
state, ignoring the ``random_state`` it is given, so two calls with the same ``random_state`` give
different intervals. The small subclasses below draw the same indices (same shapes, same
stratification) from the bootstrap's own generator instead; that ``RandomState(seed)`` is handed to
rliable/arch through arch's ``seed`` keyword (the non-deprecated spelling of ``random_state``).
Intervals are percentile bootstrap intervals (95 % by default) as in rliable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from rliable import library as rly

from rlbench.errors import RlbenchError


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
    """Point estimates over a grid (thresholds or evaluation steps) with pointwise CI bounds.

    Unpacks as ``profile, lower, upper = band``.
    """

    point: np.ndarray
    lower: np.ndarray
    upper: np.ndarray




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


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise RlbenchError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def check_reps(reps: int) -> int:
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or int(reps) < 1:
        raise RlbenchError(f"reps must be a positive integer, got {reps!r}")
    return int(reps)


def check_confidence(confidence: float) -> float:
    if not 0.0 < float(confidence) < 1.0:
        raise RlbenchError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(confidence)


def bootstrap_band(
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


def score_arrays(scores: Mapping[str, np.ndarray], ndim: int, what: str) -> dict[str, np.ndarray]:
    """Validate a dict of score arrays: right rank, non-empty, finite; return float copies."""
    if not isinstance(scores, Mapping) or not scores:
        raise RlbenchError(f"expected a non-empty dict of {what} keyed by algorithm")
    layout = "(runs × tasks)" if ndim == 2 else "(runs × tasks × evaluation steps)"
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
