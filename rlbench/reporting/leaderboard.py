"""The leaderboard: shared ranks from the probability of improvement, IQM and the other columns, as a table and as
Markdown (with the column glossary and the caveats)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rlbench.config.plan import SuitePlan
from rlbench.envs.registry import env_info
from rlbench.reporting.comparisons import budget_statement, comparison_statement
from rlbench.reporting.glossary import glossary_markdown
from rlbench.reporting.tables import markdown_table
from rlbench.stats.bootstrap import Interval
from rlbench.stats.tails import below_random_fraction, mean_without_extreme, reference_fraction
from rlbench.stats.ranking import RANK_RULE, BetterRelation, best_algorithm, relation_statement, shared_ranks

LEADERBOARD_COLUMNS = ["rank", "algo", "label", "runs", "failed_runs", "iqm", "iqm_lower", "iqm_upper",
                       "at_reference", "at_reference_lower", "at_reference_upper", "below_random", "mean",
                       "mean_without_extreme", "median", "optimality_gap", "auc", "seed_std", "clearly_better_than",
                       "poi_vs_best_builtin", "poi_lower", "poi_upper"]
"""Beside the IQM, what it trims away (:mod:`rlbench.stats.tails`): ``at_reference`` (fraction of run × environment
final scores at or above the reference, 95% Wilson interval), ``below_random`` (share below the random policy) and,
beside the mean, ``mean_without_extreme`` (the mean with its single most extreme run left out)."""

def tail_columns(scores: np.ndarray, reach: float | np.ndarray = 1.0) -> dict[str, float]:
    """``at_reference`` with its interval and ``below_random`` of one algorithm's ``(runs × tasks)`` normalised
    final scores (``reach``: the normalised score that counts as at the reference, per task;
    :func:`rlbench.stats.tails.reference_fraction`)."""
    at_reference = reference_fraction(scores, reach=reach)
    return {"at_reference": at_reference.point, "at_reference_lower": at_reference.lower,
            "at_reference_upper": at_reference.upper, "below_random": below_random_fraction(scores)}


MEDIAN_NEEDS_TASKS = 3
"""With fewer environments the median over environments is the mean (one or two values), so it is not shown."""


def leaderboard(
    estimates: Mapping[str, Mapping[str, Interval]],
    labels: Mapping[str, str],
    reference_algos: Sequence[str],
    scores: Mapping[str, np.ndarray],
    auc_by_algo: Mapping[str, list[float]],
    probabilities: Mapping[tuple[str, str], Interval],
    failed_runs: Mapping[str, int],
    relation: BetterRelation,
    tails: Mapping[str, Mapping[str, float]],
) -> pd.DataFrame:
    """Algorithms by shared rank (:func:`rlbench.stats.ranking.shared_ranks` of the "clearly better" ``relation``),
    then IQM, with the leaderboard's columns; ``tails[algo]`` are the algorithm's :func:`tail_columns`.

    The probability-of-improvement columns compare every row with the best built-in algorithm, named only when one
    built-in algorithm is clearly better than every other built-in one (``attrs["best_builtin"]``, else None).
    """
    algos = list(estimates)
    ranks = shared_ranks(relation)
    ordered = sorted(algos, key=lambda a: (ranks[a], -estimates[a]["iqm"].point, a))
    builtins = [a for a in algos if a in reference_algos]
    best = best_algorithm(relation, builtins)
    rows = []
    for algo in ordered:
        iqm = estimates[algo]["iqm"]
        beaten = [other for other in ordered if other != algo and relation.clearly_better(algo, other)]
        row = {
            "rank": ranks[algo], "algo": algo, "label": labels[algo], "runs": int(scores[algo].shape[0]),
            "failed_runs": int(failed_runs.get(algo, 0)),
            "iqm": iqm.point, "iqm_lower": iqm.lower, "iqm_upper": iqm.upper,
            **tails[algo],
            "mean": estimates[algo]["mean"].point, "mean_without_extreme": mean_without_extreme(scores[algo]),
            "median": estimates[algo]["median"].point,
            "optimality_gap": estimates[algo]["optimality_gap"].point,
            "auc": float(np.mean(auc_by_algo[algo])),
            "seed_std": float(np.mean(np.std(scores[algo], axis=0, ddof=1))) if scores[algo].shape[0] > 1 else np.nan,
            "clearly_better_than": ", ".join(beaten),
            "poi_vs_best_builtin": np.nan, "poi_lower": np.nan, "poi_upper": np.nan,
        }
        if best is not None and algo != best:
            poi = probabilities[(algo, best)]  # the same interval as in the probability-of-improvement table
            row.update(poi_vs_best_builtin=poi.point, poi_lower=poi.lower, poi_upper=poi.upper)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    frame.attrs["best_builtin"] = best
    frame.attrs["best"] = best_algorithm(relation)
    frame.attrs["relation"] = relation_statement(relation)
    frame.attrs["tasks"] = int(next(iter(scores.values())).shape[1]) if scores else 0
    return frame


RELATION_COLUMNS = ["algo_x", "algo_y", "poi", "p_value", "holm_adjusted", "clearly_better"]
"""Columns of ``clearly_better.csv``: every ordered pair's P(x > y), its permutation p-value, Holm-adjusted, and
whether x is clearly better than y."""


def relation_frame(relation: BetterRelation, order: Sequence[str] | None = None) -> pd.DataFrame:
    """The "clearly better" relation as a table, one row per ordered pair (rows in ``order``, default the
    relation's)."""
    names = list(order) if order is not None else list(relation.algorithms)
    rows = [{"algo_x": x, "algo_y": y, "poi": relation.probability[(x, y)], "p_value": relation.p_values[(x, y)],
             "holm_adjusted": relation.adjusted[(x, y)], "clearly_better": (x, y) in relation.better}
            for x in names for y in names if x != y]
    return pd.DataFrame(rows, columns=RELATION_COLUMNS)


def displayed(board: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as shown: without the median where it is only the mean again, without empty columns of the
    probability of improvement (no best built-in algorithm)."""
    dropped = []
    if board.attrs.get("tasks", 0) < MEDIAN_NEEDS_TASKS:
        dropped.append("median")
    if board.attrs.get("best_builtin") is None:
        dropped += ["poi_vs_best_builtin", "poi_lower", "poi_upper"]
    return board.drop(columns=[c for c in dropped if c in board.columns])


def leaderboard_note(board: pd.DataFrame) -> str:
    """What the ranking is and who, if anyone, is best (one paragraph)."""
    best = board.attrs.get("best_builtin")
    tasks = board.attrs.get("tasks", 0)
    ranked = board[board["rank"] == 1]["algo"].tolist() if not board.empty else []
    if len(board) == 1:  # nothing to rank against, and no other built-in to be best among
        top, poi = f"`{board['algo'].iloc[0]}` is the suite's only algorithm: its rank compares it with nothing.", ""
    else:
        if board.attrs.get("best"):
            top = f"`{board.attrs['best']}` is clearly better than every other algorithm."
        elif len(ranked) > 1:
            shared = ", ".join(f"`{a}`" for a in ranked)
            top = f"No algorithm is clearly better than all others; rank 1 is shared by {shared}."
        elif not ranked:
            top = "No algorithm is clearly better than all others, and every one has another clearly better than it."
        else:
            top = "No algorithm is clearly better than all others."
        if board.attrs.get("relation"):
            top += " " + board.attrs["relation"]
        if best:
            poi = (f" `poi_vs_best_builtin` = P(row > `{best}`), the one built-in algorithm clearly better than every "
                   "other built-in one.")
        else:
            poi = (" No built-in algorithm is clearly better than every other built-in one, so no probability of "
                   "improvement over a \"best\" is shown (all pairs: the probability-of-improvement table).")
    median = (f" The median is not shown: with {tasks} environment(s) it is the mean again."
              if tasks < MEDIAN_NEEDS_TASKS else "")
    error = f" {board.attrs['error_rates']}" if board.attrs.get("error_rates") else ""
    return (f"Rank rule: {RANK_RULE}.{error} Rows are ordered by rank, then by IQM of normalised final score (95% "
            f"expanded stratified-bootstrap CIs). The relation itself, with every pair's p-values: "
            f"`clearly_better.csv` and the figure `clearly_better`. {top}{poi}{median}\n")


def execution_statement(plan: SuitePlan) -> str:
    """How the suite's runs were executed: every seed alone, or which algorithms trained their seeds together."""
    batched = sorted({(run.algo, run.mode.partition(":")[2]) for run in plan.runs if run.batched})
    if not batched:
        return "Execution: every seed trained as its own run (one torch thread)."
    groups = "; ".join(f"`{algo}` seeds {seeds}" for algo, seeds in batched)
    return (f"Execution: seeds trained together in one process (batched arithmetic, part of each run's identity): "
            f"{groups}; any other run alone.")


def protocol_statement(envs: Sequence[str]) -> str:
    """The environment settings that shape scores (Atari's sticky actions, action set, evaluation epsilon, ...),
    environments with identical settings together; empty where no environment has any."""
    groups: dict[str, list[str]] = {}
    for env in envs:
        info = env_info(env)
        settings = ", ".join(f"{k} {v}" for k, v in info["make_kwargs"].items() if k != "game")
        evaluation = ", ".join(f"{k} {v}" for k, v in info["evaluation_kwargs"].items())
        if settings or evaluation:
            text = "; ".join(part for part in (settings, f"evaluation environment: {evaluation}" if evaluation else "")
                             if part)
            groups.setdefault(text, []).append(f"`{env}`")
    return " ".join(f"Environment protocol of {', '.join(names)}: {text}." for text, names in groups.items())


def leaderboard_markdown(plan: SuitePlan, board: pd.DataFrame, failures: pd.DataFrame | None,
                         caveats: Sequence[str] = (), normalisation: str = "",
                         comparisons: pd.DataFrame | None = None, published: pd.DataFrame | None = None,
                         equivalence: pd.DataFrame | None = None) -> str:
    """``leaderboard.md``: the suite's settings, the comparisons it makes (confounded pairs first), the ranked table,
    its column glossary, caveats and failed runs."""
    config, suite = plan.suite, plan.name
    budgets = ", ".join(f"{env} {steps:,} steps" for env, steps in config.budget.items())
    shown = displayed(board)
    lines = [
        f"# Leaderboard: suite `{suite}`\n",
        f"Budget (every algorithm): {budgets}; {len(config.seeds)} seeds; evaluation every {config.eval_every:,} steps, "
        f"{config.eval_episodes} episodes. {normalisation}\n",
        " ".join(filter(None, [execution_statement(plan), protocol_statement(config.envs)])) + "\n",
        budget_statement(published),
        comparison_statement(comparisons, equivalence) if comparisons is not None else "",
        leaderboard_note(board) if not board.empty else "",
        markdown_table(shown) if not board.empty else "_no finished runs_\n",
        "## Columns\n",
        glossary_markdown(shown.columns),
    ]
    if caveats:
        lines += ["## What these results can and cannot support\n", "\n".join(f"- {c}" for c in caveats) + "\n"]
    if failures is not None and not failures.empty:
        lines += ["## Failed runs (counted as the random score)\n", markdown_table(failures)]
    return "\n".join(lines)
