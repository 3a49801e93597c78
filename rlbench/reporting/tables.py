"""Result tables as DataFrames and their Markdown rendering (fixed formatting, stable order)."""

from __future__ import annotations

import pandas as pd

from rlbench.stats.aggregates import METRICS
from rlbench.stats.bootstrap import Interval

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


def markdown_table(frame: pd.DataFrame, decimals: int = DECIMALS) -> str:
    """``frame`` as a GitHub Markdown table (``DataFrame.to_markdown``): fixed decimals, ``—`` for missing."""
    escaped = frame.map(lambda value: value.replace("|", "\\|") if isinstance(value, str) else value)
    cells = escaped.astype(object).where(frame.notna(), None)
    return cells.to_markdown(index=False, floatfmt=f".{decimals}f", missingval="—") + "\n"
