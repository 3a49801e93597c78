"""The comparison report: Markdown and a self-contained HTML page, from a suite's analysis.

Sections: leaderboard (with its column glossary), what the results can and cannot support (the caveats),
setup and evaluation protocol, aggregate metrics, per-environment results, probability of improvement, seed
variance, seeds needed, sample efficiency, diagnostics (distance to Q*, gradient variance), figures, published vs ours (with reproduction verdicts),
hyperparameters, provenance, failures. Everything in it is deterministic (no clock, no host).
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

from rlbench.reporting.analysis import PROFILE_FLOOR
from rlbench.reporting.caveats import normalisation_statement
from rlbench.reporting.comparisons import EQUIVALENCE_RULE, budget_statement, comparison_statement
from rlbench.reporting.diagnostics import DESCRIPTIONS
from rlbench.reporting.glossary import glossary_markdown
from rlbench.reporting.leaderboard import displayed, execution_statement, leaderboard_note, protocol_statement
from rlbench.reporting.plots import CURVE_RANGE_QUANTILES, FAR_BEYOND
from rlbench.reporting.policy import FAILURE_POLICY, MEANINGFUL_DIFFERENCE
from rlbench.reporting.published import ATARI100K_NOTE, VERDICT_RULE
from rlbench.stats.power import ALPHA, POWER
from rlbench.stats.ranking import RANK_RULE

from rlbench.config.params import PipelineConfig
from rlbench.config.plan import SuitePlan
from rlbench.reporting.tables import markdown_table
from rlbench.storage.provenance import package_versions

SECTIONS = (
    "Decision", "Leaderboard", "What these results can and cannot support", "Setup and evaluation protocol", "Aggregate metrics",
    "Per-environment results", "Probability of improvement", "Seed variance", "Seeds needed", "Sample efficiency",
    "Diagnostics", "Figures", "Published vs ours", "Decision rules and their measured error rates", "Hyperparameters",
    "Provenance", "Failed runs",
)


FIGURE_CAPTIONS = {
    "interval_estimates": "Aggregate metrics of the normalised final scores (all seeds x environments) with 95% "
                          "stratified-bootstrap CIs, rows in leaderboard order; higher is better except for the "
                          "optimality gap.",
    "performance_profiles": "Fraction of runs (seeds x environments) whose normalised final score exceeds the "
                            "threshold, with pointwise 95% CIs: a curve above another is better at that threshold. "
                            "Thresholds run from the worst score (but not below {floor:g}: runs below lie off the left "
                            "edge) to the best.",
    "probability_of_improvement": "P(X > Y) of the first row of the leaderboard (X) over every other algorithm (Y), "
                                  "with 95% percentile-bootstrap CIs (an estimate to read, not the decision: "
                                  "\"clearly better\" is the permutation test with Holm's correction, next figure).",
    "clearly_better": "The \"clearly better\" relation: row X against column Y, coloured by P(X > Y), with the "
                      "Holm-adjusted p-value of the exact stratified permutation test; a framed bold cell means X is "
                      "clearly better than Y (family-wise error rate 0.05 over all pairs).",
    "learning_curves": "Raw evaluation return against environment steps per environment: the mean over seeds (thick) "
                       "with its 95% bootstrap CI, each seed a faint line. Each panel shows every mean whole and every "
                       "seed value not far beyond the {low:.0%} to {high:.0%} quantiles of the values (by more than "
                       "{far:.0%} of their spread); a collapsed seed's line leaves the panel.",
    "seed_variance": "Final raw return of every seed (one marker each) over a box plot (median, quartiles, whiskers "
                     "to 1.5 IQR) per algorithm and environment: the spread a single-seed claim would hide.",
    "sample_efficiency": "IQM over seeds of the normalised evaluation score at every evaluation step on {env}, with "
                         "95% stratified-bootstrap CIs.",
}
"""One line under each figure of the report saying what it shows (keyed by figure name, or its prefix before
the environment for per-environment figures)."""


def figure_caption(name: str) -> str:
    """The caption of figure ``name`` (empty for a figure without one, e.g. a diagnostic's own)."""
    if name in FIGURE_CAPTIONS:
        low, high = CURVE_RANGE_QUANTILES
        return FIGURE_CAPTIONS[name].format(floor=PROFILE_FLOOR, low=low, high=high, far=FAR_BEYOND)
    for key, caption in FIGURE_CAPTIONS.items():
        if "{env}" in caption and name.startswith(key + "_"):
            return caption.format(env=name[len(key) + 1:])
    return ""


def _figure_markdown(name: str) -> str:
    caption = figure_caption(name)
    return f"### {name.replace('_', ' ')}\n\n![{name}]({name}.png)\n" + (f"\n{caption}\n" if caption else "")


MAIN_FIGURE = "interval_estimates"
"""The figure a report shows first, under its decision: every algorithm's aggregate with its interval."""


def decision_statement(board: pd.DataFrame | None) -> str:
    """The report's first line: which algorithms share rank 1 and which pairs are clearly better (the relation
    behind the leaderboard's ranks), or that the runs cannot order them."""
    if board is None or board.empty:
        return "No finished runs: nothing to decide."
    if len(board) == 1:
        return f"One algorithm, `{board['algo'].iloc[0]}`: nothing to rank (its scores are below)."
    first = [f"`{a}`" for a in board.loc[board["rank"] == board["rank"].min(), "algo"]]
    pairs = [f"`{row.algo}` over {', '.join(f'`{b.strip()}`' for b in str(row.clearly_better_than).split(','))}"
             for row in board.itertuples()
             if isinstance(row.clearly_better_than, str) and row.clearly_better_than.strip()]
    if not pairs:
        return (f"No algorithm is clearly better than another (family-wise error rate 0.05): these runs cannot "
                f"order {', '.join(first)}.")
    shared = "shares" if len(first) == 1 else "share"
    return (f"{', '.join(first)} {shared} rank 1. Clearly better (family-wise error rate 0.05): "
            f"{'; '.join(pairs)}.")


def _table(frame: pd.DataFrame | None, empty: str = "_none_") -> str:
    return markdown_table(frame) if frame is not None and not frame.empty else empty + "\n"


def render_markdown(
    title: str,
    plan: SuitePlan,
    pipeline: PipelineConfig,
    tables: Mapping[str, pd.DataFrame],
    figure_names: Sequence[str],
    caveats: Sequence[str] = (),
    error_rates: str = "",
) -> str:
    """The report as Markdown; figures are referenced as ``<name>.png`` next to the report."""
    config, suite = plan.suite, plan.name
    algos = list(plan.algos)
    budgets = ", ".join(f"{env}: {steps:,} steps" for env, steps in config.budget.items())
    board = tables.get("leaderboard")
    normalization = tables.get("normalization")
    normalised = normalisation_statement(normalization) if normalization is not None else ""
    out = [f"# {title}\n"]
    comparisons = tables.get("comparisons")
    out.append("## Decision\n")
    out.append(f"**{decision_statement(board)}** Details: the leaderboard below.\n")
    out.append(budget_statement(tables.get("published_vs_ours")))  # what limits the decision, right under it
    if comparisons is not None:
        out.append(comparison_statement(comparisons, tables.get("implementation_equivalence")))
    if MAIN_FIGURE in figure_names:
        out.append(_figure_markdown(MAIN_FIGURE).replace("### ", "### Main figure: ", 1))
    out.append("## Leaderboard\n")
    out.append(f"{len(config.seeds)} seeds; {budgets}. {normalised}\n")
    out.append(" ".join(filter(None, [execution_statement(plan), protocol_statement(config.envs)])) + "\n")
    if board is not None and not board.empty:
        out.append(leaderboard_note(board))
        out.append(_table(displayed(board)))
        out.append(glossary_markdown(displayed(board).columns))
    else:
        out.append("_no finished runs_\n")
    out.append("## What these results can and cannot support\n")
    out.append("\n".join(f"- {c}" for c in caveats) + "\n" if caveats else "_no results_\n")
    out.append("## Setup and evaluation protocol\n")
    out.append(
        f"- Suite `{suite}`: algorithms {', '.join(f'`{a}`' for a in algos)}; environments "
        f"{', '.join(f'`{e}`' for e in config.envs)}; seeds {list(config.seeds)}; budgets {budgets}.\n"
        f"- Evaluation: every {config.eval_every:,} environment steps (and at step 0 and at the budget), "
        f"{config.eval_episodes} episodes of the greedy/deterministic policy on a separately seeded evaluation "
        "environment (round k reseeded from the k-th child of the run's `eval_env` stream). Steps are environment "
        "steps; SB3 agents with n parallel environments count n steps per vector step.\n"
        "- Final score of a run: mean evaluation return at its last evaluation step (the budget).\n"
        "- Statistics: rliable (Agarwal et al. 2021) with a seeded stratified bootstrap "
        f"({pipeline.bootstrap_reps} resamples, seed {pipeline.stats_seed}).\n"
    )
    out.append("### Normalisation table\n")
    out.append(_table(tables.get("normalization")))
    out.append("## Aggregate metrics\n")
    out.append("Normalised final scores of all runs and environments (reference as in the normalisation table). As "
               "in rliable, the median is the median over environments of the per-environment mean (with two "
               "environments it equals the mean); IQM pools all runs x environments; optimality gap = mean shortfall "
               "below 1 (the reference). `at_reference_*`: the fraction of run × environment final scores at or "
               "above the reference with its 95% Wilson interval; `below_random`: the share below the random "
               "policy.\n")
    out.append(_table(tables.get("aggregate")))
    out.append("## Per-environment results\n")
    out.append("Raw final returns except `normalized_mean` and `auc` (normalised as in the normalisation table); "
               "the solved threshold is gymnasium's `reward_threshold` (the `solved` column of the normalisation "
               "table). `median_steps_to_solve` describes only the runs that end solved (`solved_runs`); runs that "
               "reached the threshold and fell back below it by the end are counted in `reached_then_lost`.\n")
    out.append(_table(tables.get("per_env")))
    if tables.get("per_env") is not None:
        out.append(glossary_markdown(tables["per_env"].columns))
    out.append("## Probability of improvement\n")
    out.append("P(X > Y): probability that a run of X scores higher than a run of Y on a random environment "
               "(normalised scores; ties count half), with 95% percentile-bootstrap CIs: an estimate to read. The "
               "leaderboard's ranks do not come from these intervals (tested pair by pair at 5% each, they separated "
               "identical algorithms on about a quarter of simulated leaderboards) but from the test below.\n")
    out.append(_table(tables.get("probability_of_improvement")))
    out.append("### Clearly better: the relation behind the ranks\n")
    out.append(f"{RANK_RULE}. The test is exact (no resampling): it cannot separate identical algorithms more often "
               "than the family-wise rate, and with few runs it cannot separate anything (3 runs each on one task: "
               "smallest p-value 0.1).\n")
    if board is not None and board.attrs.get("relation"):
        out.append(board.attrs["relation"] + "\n")
    out.append(_table(tables.get("clearly_better")))
    if tables.get("clearly_better") is not None:
        out.append(glossary_markdown(tables["clearly_better"].columns))
    out.append("## What each pair differs in\n")
    out.append("Every pair of algorithms, from their resolved settings in one vocabulary (`rlbench/config/settings.py`). "
               "A pair is **confounded** when it is measured under different protocols (budget, environment, "
               "evaluation) or, being the same algorithm, changes two or more settings at once; a **matched** pair "
               "differs only in its implementation.\n")
    out.append(_table(comparisons))
    out.append("### Implementation equivalence of the matched pairs\n")
    out.append(f"{EQUIVALENCE_RULE}.\n")
    out.append(_table(tables.get("implementation_equivalence"), "_no matched pair in this suite_"))
    out.append("## Seed variance\n")
    out.append(_table(tables.get("seed_variance")))
    out.append("## Seeds needed\n")
    out.append(f"For every pair of algorithms (X above Y on the leaderboard): the seeds per algorithm a two-sided "
               f"two-sample t-test at alpha {ALPHA} needs to detect the observed difference of mean normalised score "
               f"(a seed's score: its mean over environments) with power {POWER}, from the observed seed variance "
               f"(exact noncentral-t power), and the same for a stated difference of {MEANINGFUL_DIFFERENCE}. The "
               "observed difference is itself uncertain: read the counts as orders of magnitude. "
               "`seeds_for_stated_without_extreme` is the stated figure again with the pair's most extreme run "
               "(`extreme_run`) left out: a figure far above it rests on that one run.\n")
    out.append(_table(tables.get("seeds_needed")))
    if tables.get("seeds_needed") is not None:
        out.append(glossary_markdown(tables["seeds_needed"].columns))
    out.append("## Sample efficiency\n")
    out.append("IQM of the normalised evaluation score at every evaluation step, with 95% CIs: see "
               "`sample_efficiency.csv` and the figures below.\n")
    out.append("## Diagnostics\n")
    out.append(_diagnostics_section(tables.get("diagnostics"), tables.get("gradient_variance")))
    out.append("## Figures\n")
    out.extend(_figure_markdown(name) for name in figure_names if name != MAIN_FIGURE)  # the main one leads
    out.append("## Published vs ours\n")
    out.append("Published numbers (sources: `rlbench/data/PUBLISHED_SOURCES.md`) use their own protocols and budgets, "
               "written next to them; ours are raw final evaluation returns under rlbench's protocol. "
               f"{VERDICT_RULE}\n")
    out.append(_table(tables.get("published_vs_ours")))
    if tables.get("atari100k_beside") is not None and not tables["atari100k_beside"].empty:
        out.append("### Beside the published Atari 100k agents (mean human-normalised score per game)\n")
        out.append(f"{ATARI100K_NOTE}\n")
        out.append(_table(tables["atari100k_beside"]))
    out.append("## Decision rules and their measured error rates\n")
    out.append(error_rates or "_not measured (run the `calibration` stage)_\n")
    out.append("## Hyperparameters\n")
    for algo in algos:
        out.append(f"### {algo} (`{plan.algos[algo].agent}`)\n")
        for env in config.envs:
            spec = next(s for s in plan.runs if s.algo == algo and s.env == env)
            out.append(f"- {env}: `{json.dumps(spec.hyperparameters, sort_keys=True)}`\n")
        out.append("")
    out.append("## Provenance\n")
    versions = ", ".join(f"{name} {version}" for name, version in package_versions().items())
    out.append(f"Packages: {versions}. Run ids, environment versions and wrappers are in each run's `config.json`; "
               "wall times, speeds, hosts, git commits and the processor of every run in `results/provenance/` (kept out "
               "of hashed results). A run is bitwise reproducible on the same processor model; on another, the math "
               "library may round differently and the run becomes another sample of the same distribution.\n")
    out.append("## Failed runs\n")
    out.append(f"{FAILURE_POLICY}.\n")
    out.append(_table(tables.get("failures"), "_no failed runs_"))
    return "\n".join(out)


def _diagnostics_section(table: pd.DataFrame | None, variance: pd.DataFrame | None = None) -> str:
    """What the runs measured besides returns, at the last evaluation step (the whole curves in the CSV), and how
    much the baseline shrinks the gradient estimate's variance."""
    if table is None or table.empty:
        return "_none measured in this suite (see `rlbench/training/diagnostics.py` for what is measured where)_\n"
    last = table[table["step"] == table.groupby(["algo", "env", "name"])["step"].transform("max")]
    names = "\n".join(f"- `{name}`: {DESCRIPTIONS.get(name, name)}." for name in sorted(set(table["name"])))
    return (f"{names}\n\nMean over runs at the last evaluation step with 95% bootstrap CIs over runs (every evaluation "
            "step: `diagnostics.csv`; curves and, on a maze, the optimal and learned policies in the figures).\n\n"
            + markdown_table(last.reset_index(drop=True)) + _variance_ratio_section(variance))


def _variance_ratio_section(variance: pd.DataFrame | None) -> str:
    if variance is None or variance.empty:
        return ""
    return ("\n\n**The baseline and the variance of the gradient estimate** (`gradient_variance.csv`): the variance "
            "without the baseline divided by the variance with it, both measured on the same episodes under the same "
            "parameters at every evaluation; geometric mean over evaluations, then over runs, with a 95% bootstrap CI "
            "over runs. Above 1: subtracting the baseline makes the estimate less noisy.\n\n"
            + markdown_table(variance.reset_index(drop=True)))


def render_html(markdown: str, figure_dir: Path, title: str) -> str:
    """A self-contained HTML page: the Markdown rendered, PNG figures inlined as data URIs."""
    # html=False: raw HTML in the Markdown (an algorithm label, a suite name, a caveat) is shown as text, never
    # run as markup; the report's own Markdown writes none.
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)

    def inline(match: re.Match[str]) -> str:
        path = figure_dir / match.group(1)
        if not path.is_file():
            return match.group(0)
        return f'src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'

    body = re.sub(r'src="([^"/]+\.png)"', inline, body)
    # A wide table scrolls inside its own box, so the page itself never gets wider than the window.
    body = body.replace("<table>", '<div class="table">\n<table>').replace("</table>", "</table>\n</div>")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}table{border-collapse:collapse;"
             "font-size:0.85em}div.table{overflow-x:auto;max-width:100%}td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}code{font-size:0.9em}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            # No icon to fetch: the page is self-contained and asks no server for anything.
            f"<link rel=\"icon\" href=\"data:,\"><style>{style}</style>"
            f"</head><body>\n{body}</body></html>\n")
