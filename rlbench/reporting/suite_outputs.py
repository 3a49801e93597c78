"""One suite's outputs: tables, leaderboard, figures and report, written from its plan and its runs.

``results/<suite>/``: normalization, aggregate, per_env, probability_of_improvement, seed_variance,
sample_efficiency, seeds_needed, diagnostics, leaderboard, failures (``.csv`` and ``.md``)
and ``metrics.json``; atari100k_beside (ours beside the published Atari 100k agents; empty in a suite without
Atari).
``results/published_vs_ours/<suite>``: the suite's reproduction verdicts (``.csv`` and ``.md``), in one directory for
every suite so the cross-suite verdict stage (:mod:`rlbench.reporting.verdicts`) depends on that directory.
``reports/<suite>/``: every figure as ``.png`` and ``.svg``, ``report.md`` and ``report.html``.
A comparison of selected algorithms goes to ``reports/compare/<suite>/<A>_vs_<B>.../`` (outside the
pipeline's outputs, so ``dvc status`` is not disturbed). Everything here reads what training
wrote, through the suite's plan: no agent is imported and no run id recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from rlbench.config.params import PipelineConfig
from rlbench.config.plan import SuitePlan
from rlbench.envs.registry import env_info
from rlbench.reporting.analysis import SuiteAnalysis, analyze_suite
from rlbench.reporting.caveats import normalisation_statement
from rlbench.reporting.diagnostics import diagnostic_figures, diagnostics_table, gradient_variance_ratios
from rlbench.reporting.error_rates import (interval_statement, rank_statement, read_rates, rules_markdown,
                                           verdict_rate_texts)
from rlbench.reporting.plots import algorithm_styles
from rlbench.reporting.figures import save_figure
from rlbench.reporting.comparisons import comparisons_markdown
from rlbench.reporting.leaderboard import leaderboard_markdown
from rlbench.reporting.published import atari100k_beside, training_finals, training_return_algos
from rlbench.reporting.report import render_html, render_markdown
from rlbench.reporting.tables import DECIMALS, markdown_table
from rlbench.reporting.verdicts import VERDICTS_DIR
from rlbench.scores.external import atari100k_scores
from rlbench.scores.normalization import read_normalization
from rlbench.storage.files import write_csv_atomic, write_text_atomic
from rlbench.storage.run_store import RunStore


def analyze(plan: SuitePlan, pipeline: PipelineConfig, results: Path | str, skip_unverified: bool = False) -> SuiteAnalysis:
    """Load the plan's runs and analyse them.

    A run that fails verification stops the analysis with an error naming it, unless
    ``skip_unverified``: then it is left out and listed with the failed runs.
    """
    store = RunStore(results)
    references = [name for name, algo in plan.algos.items() if algo.builtin]
    normalization = read_normalization(results, plan.name)
    failures = store.failures(plan.runs) + (store.unverified(plan.runs) if skip_unverified else [])
    measured = read_rates(results)
    compared_in_training = training_return_algos()
    training = training_finals(store.load_train([r for r in plan.runs if r.algo in compared_in_training],
                                                skip_unverified))
    analysis = analyze_suite(
        store.load_eval(plan.runs, skip_unverified), normalization, plan.labels, references,
        failures, pipeline.stats_seed, pipeline.bootstrap_reps, training, verdict_rate_texts(measured), plan.settings,
    )
    analysis.error_rates = rules_markdown(measured)
    board = analysis.tables.get("leaderboard")
    if board is not None and not board.empty:
        board.attrs["error_rates"] = " ".join([rank_statement(measured), interval_statement(
            measured, len(plan.suite.seeds), len(plan.suite.envs))])
    analysis.tables.setdefault("normalization", normalization)  # shown in the report even when no run finished
    games = {env: info["make_kwargs"]["game"] for env in plan.suite.envs
             if (info := env_info(env))["family"] == "atari"}
    beside = pd.DataFrame(columns=["env", "game"])  # written for every suite (a DVC output); empty without Atari
    if games and not analysis.tables["per_env"].empty:
        published = atari100k_scores()
        means = {agent: pd.Series(published.scores[agent].mean(axis=0), index=published.tasks)
                 for agent in published.algorithms}
        beside = atari100k_beside(analysis.tables["per_env"], games, means)
    analysis.tables["atari100k_beside"] = beside
    diagnostics = store.load_diagnostics(plan.runs, skip_unverified)
    analysis.tables["diagnostics"] = diagnostics_table(diagnostics, pipeline.stats_seed, pipeline.bootstrap_reps)
    analysis.tables["gradient_variance"] = gradient_variance_ratios(diagnostics, pipeline.stats_seed,
                                                                    pipeline.bootstrap_reps)
    if not diagnostics.empty:
        finished = [a for a in plan.labels if a in set(diagnostics["algo"])]
        analysis.figures.update(diagnostic_figures(diagnostics, finished, plan.labels, pipeline.stats_seed,
                                                   algorithm_styles(list(plan.labels))))
    return analysis


def table_stem(table_dir: Path, suite: str, name: str) -> Path:
    """Where a suite's table ``name`` is written (without suffix): ``table_dir/name``, except the published-vs-ours
    table, which goes to ``results/published_vs_ours/<suite>`` (``table_dir`` is ``results/<suite>``)."""
    return table_dir.parent / VERDICTS_DIR / suite if name == "published_vs_ours" else table_dir / name


def write_outputs(
    plan: SuitePlan, pipeline: PipelineConfig, analysis: SuiteAnalysis, table_dir: Path | None, report_dir: Path,
    title: str,
) -> None:
    """Write tables (when ``table_dir`` is given), figures and the report."""
    if table_dir is not None:
        for name, frame in analysis.tables.items():
            if name == "normalization":  # the normalisation stage's output, only shown in the report
                continue
            stem = table_stem(table_dir, plan.name, name)
            write_csv_atomic(stem.with_suffix(".csv"), frame, float_format=f"%.{DECIMALS}f")
            if name == "leaderboard":
                markdown = leaderboard_markdown(plan, frame, analysis.tables.get("failures"), analysis.caveats,
                                                normalisation_statement(analysis.tables["normalization"]),
                                                analysis.tables.get("comparisons"),
                                                analysis.tables.get("published_vs_ours"),
                                                analysis.tables.get("implementation_equivalence"))
            elif name == "comparisons":
                markdown = comparisons_markdown(frame, analysis.tables.get("implementation_equivalence"))
            else:
                markdown = markdown_table(frame)
            write_text_atomic(stem.with_suffix(".md"), markdown)
        metrics = {algo: {metric: round(interval.point, DECIMALS) for metric, interval in per.items()}
                   for algo, per in sorted(analysis.estimates.items())}
        write_text_atomic(table_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    for name, figure in analysis.figures.items():
        save_figure(figure, report_dir / name)
        plt.close(figure)
    markdown = render_markdown(title, plan, pipeline, analysis.tables, sorted(analysis.figures), analysis.caveats,
                               analysis.error_rates)
    write_text_atomic(report_dir / "report.md", markdown)
    write_text_atomic(report_dir / "report.html", render_html(markdown, report_dir, title))


def publish_suite(plan: SuitePlan, pipeline: PipelineConfig, results: Path | str = "results",
                  reports: Path | str = "reports", skip_unverified: bool = False) -> SuiteAnalysis:
    """The analysis stage: every table, figure and the report of a whole suite."""
    analysis = analyze(plan, pipeline, results, skip_unverified)
    write_outputs(plan, pipeline, analysis, Path(results) / plan.name, Path(reports) / plan.name,
                  f"rlbench report: suite `{plan.name}`")
    return analysis


def compare(plan: SuitePlan, pipeline: PipelineConfig, algos: Sequence[str], results: Path | str = "results",
            reports: Path | str = "reports", skip_unverified: bool = False) -> Path:
    """A comparison report of selected algorithms of a suite; returns its directory."""
    selected = plan.select(list(algos))
    analysis = analyze(selected, pipeline, results, skip_unverified)
    directory = Path(reports) / "compare" / plan.name / "_vs_".join(algos)
    write_outputs(selected, pipeline, analysis, None, directory,
                  f"rlbench comparison: {' vs '.join(algos)} (suite `{plan.name}`)")
    return directory
