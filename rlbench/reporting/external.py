"""Aggregate tables and plots for score files from other tools (e.g. published Atari 100k runs).

Any set of files of the shape ``load_external_scores`` reads (``{game: [score per run]}``, or
records ``{game, seed, score|HNS}``) becomes the same aggregate table as the Atari 100k
reproduction: median, IQM, mean and optimality gap with 95% stratified-bootstrap CIs, every
pairwise probability of improvement, and interval-estimate, performance-profile and
probability-of-improvement plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rlbench.reporting.figures import save_figure
from rlbench.reporting.plots import (
    algorithm_styles,
    plot_interval_estimates,
    plot_performance_profiles,
    plot_probability_of_improvement,
)
from rlbench.reporting.tables import (
    DECIMALS,
    aggregate_frame,
    improvement_frame,
    markdown_table,
)
from rlbench.scores.matrices import ScoreSet
from rlbench.stats.aggregates import (
    METRIC_LABELS,
    METRICS,
    aggregate_metrics,
    performance_profiles,
    probability_of_improvement,
)
from rlbench.storage.files import write_csv_atomic, write_text_atomic


def aggregate_markdown(frame: pd.DataFrame, seed: int, reps: int, title: str) -> str:
    """``aggregate.md``: a short header and the aggregate table."""
    metrics = ", ".join(METRIC_LABELS[m] for m in METRICS)
    header = (
        f"# {title}\n\n"
        f"{metrics} with 95% stratified-bootstrap confidence intervals "
        f"(percentile, {reps} resamples, seed {seed}); optimality gap at threshold 1. "
        "Statistics of Agarwal et al. 2021, \"Deep Reinforcement Learning at the Edge of the Statistical "
        "Precipice\".\n\n"
    )
    return header + markdown_table(frame)


def publish_external(
    scores: ScoreSet, out_table: Path, out_plots: Path, seed: int, reps: int, taus: Sequence[float] | np.ndarray,
    title: str,
) -> pd.DataFrame:
    """Write the aggregate table, pairwise probabilities and plots of normalised ``scores``."""
    agents = scores.algorithms
    estimates = aggregate_metrics(scores.scores, seed=seed, reps=reps)
    table = aggregate_frame(estimates)
    write_csv_atomic(out_table / "aggregate.csv", table, float_format=f"%.{DECIMALS}f")
    write_text_atomic(out_table / "aggregate.md", aggregate_markdown(table, seed, reps, title))
    probabilities = probability_of_improvement(scores.scores, seed=seed, reps=reps) if len(agents) > 1 else {}
    write_csv_atomic(
        out_table / "probability_of_improvement.csv", improvement_frame(probabilities), float_format=f"%.{DECIMALS}f"
    )
    # Agents ordered by IQM (best on top); colours fixed by the given agent order.
    by_iqm = sorted(agents, key=lambda a: (-estimates[a]["iqm"].point, a))
    styles = algorithm_styles(list(agents))
    save_figure(plot_interval_estimates(estimates, algorithms=by_iqm, styles=styles), out_plots / "interval_estimates")
    profiles = performance_profiles(scores.scores, taus, seed=seed, reps=reps)
    save_figure(
        plot_performance_profiles(profiles, taus, algorithms=by_iqm, styles=styles), out_plots / "performance_profiles"
    )
    if probabilities:
        pairs = [(by_iqm[0], other) for other in by_iqm[1:]]
        save_figure(plot_probability_of_improvement(probabilities, pairs=pairs), out_plots / "probability_of_improvement")
    return table
