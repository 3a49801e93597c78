"""The lowest and highest episode return an environment allows, where its reward structure bounds them.

The bounds are declared once, with their source, in ``rlbench/data/score_bounds.csv`` and read by the one loader,
:mod:`rlbench.config.bounds` (run verification checks episodes against the same table); an environment not listed
is unbounded at both ends. The reproduction verdicts use them where our runs pile up at a bound
(:mod:`rlbench.stats.reproduction`): all runs at CartPole's 500 have no spread, and only the bound says how far below
it a run could have ended.
"""

from __future__ import annotations

from rlbench.config.bounds import env_bounds


def score_bounds(env: str) -> tuple[float | None, float | None]:
    """``(lowest, highest)`` return of environment ``env``, None at an end it does not bound."""
    bounds = env_bounds(env)
    return bounds.lowest, bounds.highest


__all__ = ["score_bounds"]
