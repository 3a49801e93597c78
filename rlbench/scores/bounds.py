"""The lowest and highest episode return an environment allows, where its reward structure bounds them.

``rlbench/data/score_bounds.csv`` lists them with their source; an environment not listed is unbounded at both ends.
The reproduction verdicts use them where our runs pile up at a bound (:mod:`rlbench.stats.reproduction`): all runs at
CartPole's 500 have no spread, and only the bound says how far below it a run could have ended.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

from rlbench.errors import RlbenchError


@cache
def _bounds_table() -> dict[str, tuple[float, float]]:
    table = pd.read_csv(files("rlbench") / "data" / "score_bounds.csv")
    bounds = {str(env): (float(low), float(high)) for env, low, high in
              zip(table["env"], table["lowest"], table["highest"])}
    bad = [env for env, (low, high) in bounds.items() if not low < high]
    if bad or len(bounds) != len(table):
        raise RlbenchError(f"rlbench/data/score_bounds.csv: lowest < highest once per env is required; bad: {bad}")
    return bounds


def score_bounds(env: str) -> tuple[float | None, float | None]:
    """``(lowest, highest)`` return of environment ``env``, ``(None, None)`` where it is not bounded."""
    return _bounds_table().get(str(env), (None, None))


__all__ = ["score_bounds"]
