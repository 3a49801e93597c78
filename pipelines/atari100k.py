"""DVC stage: reproduce the Atari 100k aggregate table of Agarwal et al. 2021 from published scores.

Loads the per-run scores released with "Deep Reinforcement Learning at the Edge of the
Statistical Precipice" (and republished; see ``rlbench/data/atari100k/SOURCES.md``),
human-normalises them, and writes

* ``<out-table>/aggregate.csv`` and ``aggregate.md``: median, IQM, mean and optimality gap with
  95 % stratified-bootstrap CIs per agent (columns ``algorithm`` then ``<metric>_point/_lower/_upper``,
  4 decimals, rows sorted by algorithm name);
* ``<out-table>/probability_of_improvement.csv``: P(X > Y) with CIs for every ordered pair;
* ``<out-plots>/interval_estimates``, ``performance_profiles``, ``probability_of_improvement``
  (``.png`` and ``.svg``).

All writes are atomic. Run from the repository root::

    python pipelines/atari100k.py --seed 0 --reps 2000
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (``python pipelines/atari100k.py``): make the repository's package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from rlbench.errors import RlbenchError  # noqa: E402
from rlbench.figures_io import save_figure  # noqa: E402
from rlbench.io_utils import write_csv_atomic, write_text_atomic  # noqa: E402
from rlbench.plots import (  # noqa: E402
    algorithm_colors,
    plot_interval_estimates,
    plot_performance_profiles,
    plot_probability_of_improvement,
)
from rlbench.scores import atari100k_data_dir, load_external_scores  # noqa: E402
from rlbench.tables import DECIMALS, aggregate_frame, improvement_frame, markdown_table  # noqa: E402
from rlbench.stats import (  # noqa: E402
    METRIC_LABELS,
    METRICS,
    aggregate_metrics,
    performance_profiles,
    probability_of_improvement,
)

AGENTS: tuple[str, ...] = (
    "DER", "OTRainbow", "DrQ", "DrQ(eps)", "SPR", "CURL", "SimPLe", "IRIS", "PlayVirtual",
)
"""The agents of the reproduced table."""

AGENT_FILES: dict[str, str] = {agent: agent for agent in AGENTS} | {"CURL": "CURL_10_evals"}
"""Agent -> stem of its published score file (``<stem>.json`` in ``--data``)."""

TAUS = np.linspace(0.0, 8.0, 81)
"""Thresholds of the performance profiles (human-normalised score), as in Agarwal et al. 2021."""



def aggregate_markdown(frame: pd.DataFrame, seed: int, reps: int) -> str:
    """``aggregate.md``: a short header and the aggregate table."""
    metrics = ", ".join(METRIC_LABELS[m] for m in METRICS)
    header = (
        "# Atari 100k: aggregate human-normalised scores\n\n"
        f"{metrics} with 95% stratified-bootstrap confidence intervals "
        f"(percentile, {reps} resamples, seed {seed}); optimality gap at threshold 1. "
        "Published per-run scores, see rlbench/data/atari100k/SOURCES.md; statistics of "
        "Agarwal et al. 2021, \"Deep Reinforcement Learning at the Edge of the Statistical Precipice\".\n\n"
    )
    return header + markdown_table(frame)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=atari100k_data_dir(), help="directory of the published JSON files")
    parser.add_argument("--out-table", type=Path, default=Path("results/atari100k"), help="directory for the tables")
    parser.add_argument("--out-plots", type=Path, default=Path("reports/atari100k"), help="directory for the figures")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--reps", type=int, default=2000, help="bootstrap resamples")
    return parser.parse_args(argv)


def run(data: Path, out_table: Path, out_plots: Path, seed: int, reps: int) -> pd.DataFrame:
    """Compute and write everything; returns the aggregate table."""
    files = [data / f"{AGENT_FILES[agent]}.json" for agent in AGENTS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise RlbenchError(f"published score files not found: {missing}")
    names = {stem: agent for agent, stem in AGENT_FILES.items() if stem != agent}
    scores = load_external_scores(files, data / "HUMAN.json", data / "RANDOM.json", names=names)

    estimates = aggregate_metrics(scores.scores, seed=seed, reps=reps)
    table = aggregate_frame(estimates)
    write_csv_atomic(out_table / "aggregate.csv", table, float_format=f"%.{DECIMALS}f")
    write_text_atomic(out_table / "aggregate.md", aggregate_markdown(table, seed, reps))

    probabilities = probability_of_improvement(scores.scores, seed=seed, reps=reps)
    write_csv_atomic(
        out_table / "probability_of_improvement.csv", improvement_frame(probabilities), float_format=f"%.{DECIMALS}f"
    )

    # Figures: agents ordered by IQM (best on top); stable colours by the fixed agent order.
    by_iqm = sorted(AGENTS, key=lambda a: (-estimates[a]["iqm"].point, a))
    colours = algorithm_colors(list(AGENTS))
    save_figure(plot_interval_estimates(estimates, algorithms=by_iqm, colors=colours), out_plots / "interval_estimates")
    profiles = performance_profiles(scores.scores, TAUS, seed=seed, reps=reps)
    save_figure(
        plot_performance_profiles(profiles, TAUS, algorithms=by_iqm, colors=colours), out_plots / "performance_profiles"
    )
    best = by_iqm[0]
    pairs = [(best, other) for other in by_iqm[1:]]
    save_figure(plot_probability_of_improvement(probabilities, pairs=pairs), out_plots / "probability_of_improvement")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        run(args.data, args.out_table, args.out_plots, args.seed, args.reps)
    except RlbenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
