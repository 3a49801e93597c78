"""Result tables as DataFrames and their Markdown rendering (fixed formatting, stable order)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rlbench.stats.aggregates import METRICS
from rlbench.stats.bootstrap import Interval
from rlbench.stats.power import SeedsNeeded

DECIMALS = 4


def aggregate_frame(estimates: dict[str, dict[str, Interval]]) -> pd.DataFrame:
    """One row per algorithm (sorted by name): ``algorithm`` then ``<metric>_point/_lower/_upper``."""
    rows = []
    for algo in sorted(estimates, key=lambda a: (a.lower(), a)):
        row: dict[str, object] = {"algorithm": algo}
        for metric in METRICS:
            interval = estimates[algo][metric]
            row[f"{metric}_point"] = interval.point
            row[f"{metric}_lower"] = interval.lower
            row[f"{metric}_upper"] = interval.upper
        rows.append(row)
    return pd.DataFrame(rows)


def improvement_frame(probabilities: dict[tuple[str, str], Interval]) -> pd.DataFrame:
    """One row per ordered pair (sorted): ``algorithm_x, algorithm_y, point, lower, upper`` of P(X > Y)."""
    rows = [
        {"algorithm_x": x, "algorithm_y": y, "point": i.point, "lower": i.lower, "upper": i.upper}
        for (x, y), i in sorted(probabilities.items(), key=lambda kv: (kv[0][0].lower(), kv[0][1].lower(), kv[0]))
    ]
    return pd.DataFrame(rows)


def _count(value: float) -> int | float:
    """A seed count as an integer (``inf`` stays a float)."""
    return int(value) if np.isfinite(value) else float(value)


def extreme_run_name(needed: SeedsNeeded, tasks: Sequence[str], run_ids: Mapping[str, Sequence[int]]) -> str:
    """The pair's most extreme run in words: ``<algo> <task> seed <seed> (<normalised score>)``."""
    run = needed.extreme
    if run is None:
        return ""
    return f"{run.algo} {tasks[run.task]} seed {run_ids[run.algo][run.row]} ({run.score:.2f})"


def seeds_needed_frame(needed: dict[tuple[str, str], SeedsNeeded], tasks: Sequence[str] = (),
                       run_ids: Mapping[str, Sequence[int]] | None = None) -> pd.DataFrame:
    """One row per pair (in the given order): ``algo_x, algo_y, difference, pooled_seed_std, seeds_now,
    seeds_for_observed, seeds_for_stated, seeds_for_stated_without_extreme, extreme_run``.

    ``tasks`` and ``run_ids`` (the score matrices' task names and seeds) name the extreme run; without them
    ``extreme_run`` is empty."""
    rows = [
        {"algo_x": x, "algo_y": y, "difference": n.difference, "pooled_seed_std": n.std,
         "seeds_now": f"{n.seeds_x}/{n.seeds_y}", "seeds_for_observed": _count(n.for_observed),
         "seeds_for_stated": _count(n.for_stated),
         "seeds_for_stated_without_extreme": (_count(n.for_stated_without_extreme)
                                              if not np.isnan(n.for_stated_without_extreme) else np.nan),
         "extreme_run": extreme_run_name(n, tasks, run_ids) if run_ids is not None else ""}
        for (x, y), n in needed.items()
    ]
    frame = pd.DataFrame(rows)
    if rows:  # counts stay integers beside the NaN of a pair too small to leave a seed out
        frame["seeds_for_stated_without_extreme"] = pd.Series(
            [row["seeds_for_stated_without_extreme"] for row in rows], dtype=object)
    return frame


def markdown_table(frame: pd.DataFrame, decimals: int = DECIMALS) -> str:
    """``frame`` as a GitHub Markdown table (``DataFrame.to_markdown``): fixed decimals, ``—`` for missing,
    integer columns as integers even where values are missing (nullable ``Int64``)."""
    escaped = frame.map(lambda value: value.replace("|", "\\|") if isinstance(value, str) else value)
    cells = escaped.astype(object).where(frame.notna(), None)
    for column in frame.columns[[pd.api.types.is_integer_dtype(dtype) for dtype in frame.dtypes]]:
        cells[column] = [None if pd.isna(value) else str(value) for value in frame[column]]
    return cells.to_markdown(index=False, floatfmt=f".{decimals}f", missingval="—") + "\n"
