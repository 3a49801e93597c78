"""The comparison report: Markdown and a self-contained HTML page, from a suite's analysis.

Sections: leaderboard, setup and evaluation protocol, aggregate metrics, per-environment results,
probability of improvement, seed variance, sample efficiency, figures, published vs ours,
hyperparameters, provenance, failures. Everything in it is deterministic (no clock, no host).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path

import pandas as pd
from markdown_it import MarkdownIt

from rlbench.config.params import PipelineConfig
from rlbench.config.plan import SuitePlan
from rlbench.reporting.tables import markdown_table
from rlbench.storage.provenance import package_versions

SECTIONS = (
    "Leaderboard", "Setup and evaluation protocol", "Aggregate metrics", "Per-environment results",
    "Probability of improvement", "Seed variance", "Sample efficiency", "Figures", "Published vs ours",
    "Hyperparameters", "Provenance", "Failed runs",
)

# Which of our algorithms a published row speaks about (published name -> params algo keys).
PUBLISHED_MATCH = {"SB3 DQN": ("sb3_dqn", "dqn"), "CleanRL dqn.py": ("dqn",), "SB3 PPO": ("sb3_ppo",)}


def published_results() -> pd.DataFrame:
    """The published reference numbers shipped with rlbench (sources in PUBLISHED_SOURCES.md)."""
    return pd.read_csv(files("rlbench") / "data" / "published_results.csv")


def published_vs_ours(per_env: pd.DataFrame, budgets: Mapping[str, int]) -> pd.DataFrame:
    """Published scores next to ours for the same algorithm family and environment."""
    published = published_results()
    rows = []
    for record in published.itertuples(index=False):
        for algo in PUBLISHED_MATCH.get(record.algorithm, ()):
            ours = per_env[(per_env["algo"] == algo) & (per_env["env"] == record.env_id)]
            if ours.empty:
                continue
            mine = ours.iloc[0]
            rows.append({
                "env": record.env_id, "published": f"{record.algorithm} ({record.source})",
                "published_steps": record.timesteps, "published_score": f"{record.score} ± {record.score_err}",
                "published_protocol": record.protocol, "ours": algo, "our_steps": budgets[record.env_id],
                "our_score": f"{mine.mean_return:.2f} [{mine.ci_lower:.2f}, {mine.ci_upper:.2f}]",
            })
    columns = ["env", "published", "published_steps", "published_score", "published_protocol", "ours", "our_steps",
               "our_score"]
    return pd.DataFrame(rows, columns=columns)


def _table(frame: pd.DataFrame | None, empty: str = "_none_") -> str:
    return markdown_table(frame) if frame is not None and not frame.empty else empty + "\n"


def render_markdown(
    title: str,
    plan: SuitePlan,
    pipeline: PipelineConfig,
    tables: Mapping[str, pd.DataFrame],
    figure_names: Sequence[str],
    excluded: Sequence[str] = (),
) -> str:
    """The report as Markdown; figures are referenced as ``<name>.png`` next to the report."""
    config, suite = plan.suite, plan.name
    algos = list(plan.algos)
    budgets = ", ".join(f"{env}: {steps:,} steps" for env, steps in config.budget.items())
    board = tables.get("leaderboard")
    best = board.attrs.get("best_builtin") if board is not None else None
    out = [f"# {title}\n"]
    out.append("## Leaderboard\n")
    out.append(f"Ranked by IQM of normalised final score (95% stratified-bootstrap CI); {len(config.seeds)} seeds; "
               f"{budgets}. `poi_vs_best_builtin` is P(algorithm > {best or 'n/a'}), the best built-in algorithm. "
               "Normalised score = (return − random) / (solved threshold − random); see `normalization`.\n")
    out.append(_table(board))
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
    out.append("Normalised final scores of all runs and environments. As in rliable, the median is the median over "
               "environments of the per-environment mean (with two environments it equals the mean); IQM pools all "
               "runs x environments; optimality gap = mean shortfall below 1 (the solved threshold).\n")
    out.append(_table(tables.get("aggregate")))
    out.append("## Per-environment results\n")
    out.append("Raw final returns: mean over seeds with the bootstrap CI of the mean, std and IQR across seeds; "
               "`curve_std`: mean over evaluation steps of the across-seed std of the learning curve; `auc`: mean "
               "normalised score over training (area under the normalised curve / steps); `solved_runs` and "
               "`median_steps_to_solve`: first evaluation step at which the normalised score reaches 1, runs that never "
               "do are censored (counted, not dropped; `>budget` when half or more are censored).\n")
    out.append(_table(tables.get("per_env")))
    out.append("## Probability of improvement\n")
    out.append("P(X > Y): probability that a run of X scores higher than a run of Y on a random task (normalised).\n")
    out.append(_table(tables.get("probability_of_improvement")))
    out.append("## Seed variance\n")
    out.append(_table(tables.get("seed_variance")))
    out.append("## Sample efficiency\n")
    out.append("IQM of the normalised evaluation score at every evaluation step, with 95% CIs: see "
               "`sample_efficiency.csv` and the figures below.\n")
    out.append("## Figures\n")
    out.extend(f"### {name.replace('_', ' ')}\n\n![{name}]({name}.png)\n" for name in figure_names)
    out.append("## Published vs ours\n")
    out.append("Published numbers (sources: `rlbench/data/PUBLISHED_SOURCES.md`) use their own protocols and budgets, "
               "written next to them; ours are mean final evaluation returns [95% CI] under rlbench's protocol.\n")
    out.append(_table(published_vs_ours(tables["per_env"], config.budget) if "per_env" in tables else None))
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
    out.append(_table(tables.get("failures"), "_no failed runs_"))
    if excluded:
        out.append("Finished runs excluded because another run of the same algorithm and seed failed: "
                   + ", ".join(excluded) + "\n")
    return "\n".join(out)


def render_html(markdown: str, figure_dir: Path, title: str) -> str:
    """A self-contained HTML page: the Markdown rendered, PNG figures inlined as data URIs."""
    body = MarkdownIt("commonmark").enable("table").render(markdown)

    def inline(match: re.Match[str]) -> str:
        path = figure_dir / match.group(1)
        if not path.is_file():
            return match.group(0)
        return f'src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}"'

    body = re.sub(r'src="([^"/]+\.png)"', inline, body)
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}table{border-collapse:collapse;"
             "font-size:0.85em}td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}code{font-size:0.9em}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title><style>{style}</style>"
            f"</head><body>\n{body}</body></html>\n")
