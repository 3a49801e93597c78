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

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError
from rlbench.reporting.external import publish_external
from rlbench.scores.external import atari100k_data_dir, atari100k_scores

TITLE = "Atari 100k: aggregate human-normalised scores (published per-run scores, see rlbench/data/atari100k/SOURCES.md)"

TAUS = np.linspace(0.0, 8.0, 81)
"""Thresholds of the performance profiles (human-normalised score), as in Agarwal et al. 2021."""


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
    scores = atari100k_scores(data)
    return publish_external(scores, out_table, out_plots, seed, reps, TAUS, TITLE)


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
