"""What an environment's reward structure allows an episode to be: the plausibility bounds (the one table of them).

``rlbench/data/score_bounds.csv`` declares, per environment, with the source of every number in ``source``:

* ``lowest``, ``highest``: the episode return's bounds (the statistics use them where runs pile up at a bound,
  :mod:`rlbench.scores.bounds`);
* ``reward_low``, ``reward_high``: every step's reward bounds, so an episode of ``length`` steps returns between
  ``length * reward_low`` and ``length * reward_high`` (this catches a return of 500 on a 23-step CartPole episode,
  which the return bounds alone allow);
* ``max_length``: the most steps an episode can last (the environment's time limit or its game's end).

An empty cell declares nothing (that end is unbounded): a bound is written only where the environment's code or
its documented rules fix it, never guessed. An environment not listed is unbounded everywhere. Run verification
(:func:`rlbench.storage.manifest.verify_run`) checks every evaluation and training episode against these bounds, and
the launcher checks a resume checkpoint's records against them (:mod:`rlbench.execution.checkpoint_check`), so a
forged return of 1e9 on CartPole, or one above its episode's length, is never published or resumed. The table lives
here, in ``config``, because both storage and the statistics read it and the layer rule lets both import config.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

from rlbench.errors import RlbenchError

TABLE = "rlbench/data/score_bounds.csv"
"""Where the bounds are declared (named in error messages)."""

COLUMNS: tuple[str, ...] = ("env", "lowest", "highest", "reward_low", "reward_high", "max_length", "source")
"""The table's columns, in order."""

TOLERANCE = 1e-9
"""Relative slack of every return check: a return is a float sum of per-step rewards, so one at a bound exactly
(Pendulum's worst cost at every step) may differ from ``length * reward_low`` in its last bits."""


@dataclass(frozen=True)
class EnvBounds:
    """The declared bounds of one environment; None where nothing is declared (unbounded)."""

    env: str
    lowest: float | None = None
    """Lowest episode return."""
    highest: float | None = None
    """Highest episode return."""
    reward_low: float | None = None
    """Lowest reward of one step."""
    reward_high: float | None = None
    """Highest reward of one step."""
    max_length: int | None = None
    """Most steps in one episode."""
    source: str = ""
    """Where every declared number comes from (appended to each violation, so a reader can check the bound)."""

    def episode_problem(self, episode_return: float, length: int) -> str | None:
        """Why an episode of ``length`` steps cannot have returned ``episode_return`` here, or None when it can."""
        found = self.first_problem(np.array([episode_return], dtype=float), np.array([length], dtype=float))
        return None if found is None else found[1]

    def first_problem(self, returns: np.ndarray, lengths: np.ndarray) -> tuple[int, str] | None:
        """The first episode (index, why) whose return and length these bounds rule out, or None.

        ``returns`` and ``lengths`` are parallel arrays, one entry per episode; lengths must be integral (the
        callers check that first). Vectorised: verification runs over every published run's training episodes.
        """
        returns, lengths = np.asarray(returns, dtype=float), np.asarray(lengths, dtype=float)
        checks = self._checks(returns, lengths)
        bad = np.zeros(returns.shape, dtype=bool)
        for mask, _ in checks:
            bad |= mask
        if not bad.any():
            return None
        row = int(np.argmax(bad))
        message = next(describe(row) for mask, describe in checks if mask[row])
        return row, message

    def _checks(self, returns: np.ndarray, lengths: np.ndarray) -> list[tuple[np.ndarray, Callable[[int], str]]]:
        """(rows that fail, row -> one-line reason) for every check, in the order a reader should hear them."""
        name, source = self.env, f" ({self.source})" if self.source else ""
        checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
            (~np.isfinite(returns), lambda i: f"return {float(returns[i])!r} is not a finite number"),
            (~(lengths >= 1), lambda i: f"length {_number(lengths[i])} is not a positive integer"),
        ]
        if self.max_length is not None:
            checks.append((lengths > self.max_length, lambda i: f"length {_number(lengths[i])} above {name}'s "
                                                                f"max_length {self.max_length}{source}"))
        if self.highest is not None:
            checks.append((returns > _upper(self.highest), lambda i: f"return {float(returns[i])!r} above {name}'s "
                                                                     f"highest {_number(self.highest)}{source}"))
        if self.lowest is not None:
            checks.append((returns < _lower(self.lowest), lambda i: f"return {float(returns[i])!r} below {name}'s "
                                                                    f"lowest {_number(self.lowest)}{source}"))
        if self.reward_high is not None:
            high = lengths * self.reward_high
            checks.append((returns > _upper(high), lambda i: (
                f"return {float(returns[i])!r} above {_number(lengths[i])} steps x {name}'s reward_high "
                f"{_number(self.reward_high)} = {_number(high[i])}{source}")))
        if self.reward_low is not None:
            low = lengths * self.reward_low
            checks.append((returns < _lower(low), lambda i: (
                f"return {float(returns[i])!r} below {_number(lengths[i])} steps x {name}'s reward_low "
                f"{_number(self.reward_low)} = {_number(low[i])}{source}")))
        return checks


def _upper(bound: float | np.ndarray) -> float | np.ndarray:
    return bound + TOLERANCE * np.maximum(1.0, np.abs(bound))


def _lower(bound: float | np.ndarray) -> float | np.ndarray:
    return bound - TOLERANCE * np.maximum(1.0, np.abs(bound))


def _number(value: float) -> str:
    """A bound or length as a reader writes it: ``500``, not ``500.0``; other numbers to 12 significant digits."""
    value = float(value)
    return str(int(value)) if value.is_integer() else format(value, ".12g")


def _cell(row: dict[str, str], column: str, integer: bool = False) -> float | int | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (integer and not (value.is_integer() and value >= 1)):
        allowed = "a positive integer" if integer else "a finite number"
        raise RlbenchError(f"{TABLE}: {row.get('env')} {column} is {text!r}; allowed: {allowed} or empty")
    return int(value) if integer else value


@cache
def bounds_table() -> dict[str, EnvBounds]:
    """Every declared environment's bounds (read and checked once)."""
    return parse_bounds((files("rlbench") / "data" / "score_bounds.csv").read_text(encoding="utf-8"))


def parse_bounds(text: str) -> dict[str, EnvBounds]:
    """The bounds declared by the CSV ``text`` of the table; a malformed table is a one-line error."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise RlbenchError(f"{TABLE} has columns {reader.fieldnames}; expected {list(COLUMNS)}")
    rows = list(reader)
    table: dict[str, EnvBounds] = {}
    for row in rows:
        env = (row.get("env") or "").strip()
        bounds = EnvBounds(env, _cell(row, "lowest"), _cell(row, "highest"), _cell(row, "reward_low"),
                           _cell(row, "reward_high"), _cell(row, "max_length", integer=True),
                           (row.get("source") or "").strip())
        if not env or env in table:
            raise RlbenchError(f"{TABLE}: environment {env!r} is empty or listed twice; "
                               "allowed: one row per environment")
        # The statistics need a return range with width (stats.reproduction); a step's reward may be one value.
        for low, high, strict in (("lowest", "highest", True), ("reward_low", "reward_high", False)):
            low_value, high_value = getattr(bounds, low), getattr(bounds, high)
            if low_value is not None and high_value is not None and not (
                    low_value < high_value if strict else low_value <= high_value):
                raise RlbenchError(f"{TABLE}: {env} has {low} {low_value:g} and {high} {high_value:g}; "
                                   f"allowed: {low} {'<' if strict else '<='} {high}")
        if not bounds.source:
            raise RlbenchError(f"{TABLE}: {env} has no source; allowed: every row names where its numbers come from")
        table[env] = bounds
    return table


def env_bounds(env: str) -> EnvBounds:
    """The declared bounds of environment ``env`` (nothing declared, so unbounded, when it is not listed)."""
    return bounds_table().get(str(env), EnvBounds(str(env)))


__all__ = ["COLUMNS", "EnvBounds", "TABLE", "bounds_table", "env_bounds", "parse_bounds"]
