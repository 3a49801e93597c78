"""Write a suite's tables, figures, leaderboard and report (the analysis stage's file I/O).

``results/<suite>/``: normalization, aggregate, per_env, probability_of_improvement, seed_variance,
sample_efficiency, leaderboard, failures (``.csv`` and ``.md``) and ``metrics.json``.
``reports/<suite>/``: every figure as ``.png`` and ``.svg``, ``report.md`` and ``report.html``.
A comparison of selected algorithms goes to ``reports/compare/<suite>/<A>_vs_<B>.../`` (outside the
pipeline's outputs, so ``dvc status`` is not disturbed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from rlbench.agents.registry import is_builtin
from rlbench.analysis import SuiteAnalysis, analyze_suite
from rlbench.config import Params, plan_runs
from rlbench.errors import RlbenchError
from rlbench.figures_io import save_figure
from rlbench.io_utils import read_csv_checked, write_csv_atomic, write_text_atomic
from rlbench.normalization import COLUMNS as NORMALIZATION_COLUMNS
from rlbench.report import render_html, render_markdown
from rlbench.store import RunStore
from rlbench.tables import DECIMALS, markdown_table


def normalization_path(results: Path, suite: str) -> Path:
    return Path(results) / suite / "normalization.csv"


def read_normalization(path: Path) -> pd.DataFrame:
    return read_csv_checked(path, "normalisation table", "run the `normalization` stage (dvc repro) first",
                            NORMALIZATION_COLUMNS)


def analyze(params: Params, suite: str, results: Path, algos: Sequence[str] | None = None) -> tuple[SuiteAnalysis, list]:
    """Load the suite's runs (restricted to ``algos`` if given) and analyse them."""
    specs = plan_runs(params, suite)
    if algos:
        unknown = sorted(set(algos) - {s.algo for s in specs})
        if unknown:
            valid = ", ".join(sorted({s.algo for s in specs}))
            raise RlbenchError(f"algorithm(s) {', '.join(unknown)} not in suite {suite}; valid choices: {valid}")
        specs = [s for s in specs if s.algo in algos]
    store = RunStore(results)
    labels = {name: params.algos[name].label for name in dict.fromkeys(s.algo for s in specs)}
    references = [name for name in labels if is_builtin(params.algos[name].agent)]
    analysis = analyze_suite(
        store.load_eval(specs), read_normalization(normalization_path(results, suite)), labels, references,
        store.failures(specs), params.pipeline.stats_seed, params.pipeline.bootstrap_reps,
    )
    analysis.tables["normalization"] = read_normalization(normalization_path(results, suite))
    return analysis, specs


def write_outputs(
    params: Params, suite: str, analysis: SuiteAnalysis, specs: list, table_dir: Path | None, report_dir: Path,
    title: str,
) -> None:
    """Write tables (when ``table_dir`` is given), figures and the report."""
    if table_dir is not None:
        for name, frame in analysis.tables.items():
            if name == "normalization":
                continue
            write_csv_atomic(table_dir / f"{name}.csv", frame, float_format=f"%.{DECIMALS}f")
            write_text_atomic(table_dir / f"{name}.md", markdown_table(frame))
        write_text_atomic(table_dir / "leaderboard.md", leaderboard_markdown(params, suite, analysis))
        metrics = {algo: {metric: round(interval.point, DECIMALS) for metric, interval in per.items()}
                   for algo, per in sorted(analysis.estimates.items())}
        write_text_atomic(table_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    for name, figure in analysis.figures.items():
        save_figure(figure, report_dir / name)
        plt.close(figure)
    markdown = render_markdown(title, params, suite, specs, analysis.tables, sorted(analysis.figures), analysis.excluded)
    write_text_atomic(report_dir / "report.md", markdown)
    write_text_atomic(report_dir / "report.html", render_html(markdown, report_dir, title))


def leaderboard_markdown(params: Params, suite: str, analysis: SuiteAnalysis) -> str:
    config = params.suite(suite)
    board = analysis.tables.get("leaderboard", pd.DataFrame())
    budgets = ", ".join(f"{env} {steps:,} steps" for env, steps in config.budget.items())
    lines = [
        f"# Leaderboard: suite `{suite}`\n",
        f"Budget: {budgets}; {len(config.seeds)} seeds; evaluation every {config.eval_every:,} steps, "
        f"{config.eval_episodes} episodes. Ranked by IQM of normalised final score with 95% stratified-bootstrap "
        f"CIs; `poi_vs_best_builtin` = P(row > {board.attrs.get('best_builtin')}).\n",
        markdown_table(board) if not board.empty else "_no finished runs_\n",
    ]
    failures = analysis.tables.get("failures")
    if failures is not None and not failures.empty:
        lines += ["## Failed runs (not counted)\n", markdown_table(failures)]
    return "\n".join(lines)


def publish_suite(params: Params, suite: str, results: Path = Path("results"), reports: Path = Path("reports")) -> SuiteAnalysis:
    """The analysis stage: every table, figure and the report of a whole suite."""
    analysis, specs = analyze(params, suite, results)
    write_outputs(params, suite, analysis, specs, Path(results) / suite, Path(reports) / suite,
                  f"rlbench report: suite `{suite}`")
    return analysis


def compare(params: Params, suite: str, algos: Sequence[str], results: Path = Path("results"),
            reports: Path = Path("reports")) -> Path:
    """A comparison report of selected algorithms of a suite; returns its directory."""
    analysis, specs = analyze(params, suite, results, algos)
    directory = Path(reports) / "compare" / suite / "_vs_".join(algos)
    write_outputs(params, suite, analysis, specs, None, directory,
                  f"rlbench comparison: {' vs '.join(algos)} (suite `{suite}`)")
    return directory
