"""What every pair of a suite's algorithms differs in, which pairs are confounded, and the equivalence verdict of the
pairs that differ only in their implementation.

The settings come from the plan (:attr:`rlbench.config.plan.SuitePlan.settings`); the rule for "confounded" is
:mod:`rlbench.config.comparison`'s. A matched pair (same algorithm, same settings, two implementations) gets an
**implementation-equivalence verdict** per environment: the equivalence test of the reproduction verdicts
(:func:`rlbench.stats.reproduction.equivalence_verdict`: TOST at 5% per side on final returns, Welch's interval, the
exact binomial bound at a score bound) with the margin :data:`~rlbench.reporting.policy.MEANINGFUL_DIFFERENCE` ×
(reference − random) of the environment. Over the suite, **equivalent** needs every environment equivalent (an
intersection-union test: its false-equivalence rate is at most the per-environment test's, 5% nominal, measured in
``results/calibration/``); **different** needs one environment whose interval lies wholly outside the margin (each
at 5%, so with k environments up to k × 5% false "different"); anything else is **inconclusive**.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rlbench.config.comparison import Comparison, comparisons
from rlbench.reporting.policy import MEANINGFUL_DIFFERENCE
from rlbench.reporting.published import equivalence_margin, margin_scale
from rlbench.reporting.tables import markdown_table
from rlbench.scores.bounds import score_bounds
from rlbench.stats.reproduction import EQUIVALENCE_TEST, INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, equivalence_verdict

COMPARISON_COLUMNS = ["algo_x", "algo_y", "confounded", "why_confounded", "matched", "differs_in"]
"""Columns of ``comparisons.csv``: one row per unordered pair of algorithms."""

EQUIVALENCE_COLUMNS = ["algo_x", "algo_y", "env", "runs_x", "runs_y", "mean_x", "mean_y", "difference",
                       "difference_lower", "difference_upper", "margin", "verdict", "note"]
"""Columns of ``implementation_equivalence.csv``: per matched pair, one row per environment and one for the suite."""

EQUIVALENT, DIFFERENT = "equivalent", "different"
OUTCOMES = {REPRODUCED: EQUIVALENT, NOT_REPRODUCED: DIFFERENT, INCONCLUSIVE: INCONCLUSIVE}
"""The reproduction test's outcomes as an implementation comparison reads them."""

SUITE_ROW = "all environments"
"""``env`` of a matched pair's suite-level row."""

EQUIVALENCE_RULE = (
    f"Two implementations of the same algorithm with the same settings are **equivalent** on an environment when the "
    f"90% Welch interval of the difference of their mean final returns lies within ± {MEANINGFUL_DIFFERENCE} × "
    f"(reference − random) of that environment ({EQUIVALENCE_TEST}, 5% per side), **different** when it lies wholly "
    "outside, **inconclusive** otherwise; over the suite, equivalent when every environment is (intersection-union "
    "test, false-equivalence rate at most 5%), different when any environment is (up to k × 5% false \"different\" "
    "with k environments)")


def ordered_settings(settings: Mapping[str, Mapping[str, Mapping[str, str]]], order: Sequence[str]
                     ) -> dict[str, Mapping[str, Mapping[str, str]]]:
    """``settings`` restricted to ``order``'s algorithms, in that order (algorithms without settings left out)."""
    return {algo: settings[algo] for algo in order if algo in settings}


def comparison_frame(pairs: Sequence[Comparison]) -> pd.DataFrame:
    """The pairs as a table (:data:`COMPARISON_COLUMNS`)."""
    rows = [{"algo_x": c.x, "algo_y": c.y, "confounded": c.confounded, "why_confounded": c.reason,
             "matched": c.matched, "differs_in": c.differs_in} for c in pairs]
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def comparison_statement(frame: pd.DataFrame, equivalence: pd.DataFrame | None = None) -> str:
    """One paragraph naming the confounded pairs and the matched ones with their suite-level equivalence verdict
    (``equivalence``: :func:`implementation_equivalence`'s table), for the top of a leaderboard or report."""
    if frame is None or frame.empty:
        return "Comparisons: one algorithm, nothing compared.\n"
    confounded = frame[frame["confounded"]]
    matched = frame[frame["matched"]]
    parts = []
    if confounded.empty:
        parts.append("No pair is confounded: every pair of the same algorithm changes at most one setting, and every "
                     "pair is measured under the same protocol.")
    else:
        listed = "; ".join(f"`{x}` vs `{y}` ({why}: {differs})" for x, y, why, differs in
                           zip(confounded["algo_x"], confounded["algo_y"], confounded["why_confounded"],
                               confounded["differs_in"]))
        parts.append(f"**Confounded comparisons** (a difference in their scores cannot be put down to one change): "
                     f"{listed}.")
    if not matched.empty:
        verdicts = {}
        if equivalence is not None and not equivalence.empty:
            overall = equivalence[equivalence["env"] == SUITE_ROW]
            verdicts = {(x, y): f": **{v}** ({note})" for x, y, v, note in
                        zip(overall["algo_x"], overall["algo_y"], overall["verdict"], overall["note"])}
        parts.append("Matched pairs (the same algorithm and settings in two implementations; implementation "
                     "equivalence per environment in `implementation_equivalence.csv`): "
                     + "; ".join(f"`{x}` vs `{y}`{verdicts.get((x, y), '')}"
                                 for x, y in zip(matched["algo_x"], matched["algo_y"])) + ".")
    parts.append("What every pair differs in: `comparisons.csv` (one vocabulary for every agent: "
                 "`rlbench/config/settings.py`).")
    return "Comparisons: " + " ".join(parts) + "\n"


def budget_statement(published: pd.DataFrame | None) -> str:
    """Which algorithms run at a budget other than their published reference's (from the published-vs-ours table):
    every algorithm of a suite runs at the suite's budget, which is not every algorithm's reference budget."""
    if published is None or published.empty:
        return ""
    steps = pd.to_numeric(published["published_steps"], errors="coerce")
    other = published[steps.notna() & (steps != published["our_steps"])]
    if other.empty:
        return ""
    parts = []
    for algo, rows in other.groupby("ours", sort=False):
        budgets = ", ".join(f"{env} {int(float(s)):,}" for env, s in zip(rows["env"], rows["published_steps"]))
        parts.append(f"`{algo}` (its reference, {rows['published'].iloc[0]}: {budgets} steps)")
    return ("Budgets: every algorithm runs at this suite's budgets, which are not the published reference budgets of "
            + "; ".join(parts) + ". Their ranks here are at this budget, not at theirs.\n")


def comparisons_markdown(frame: pd.DataFrame, equivalence: pd.DataFrame | None = None) -> str:
    """``comparisons.md``: the statement and the table."""
    return comparison_statement(frame, equivalence) + "\n" + markdown_table(frame)


def implementation_equivalence(pairs: Sequence[Comparison], final_returns: Mapping[str, Mapping[str, np.ndarray]],
                               normalization: pd.DataFrame) -> pd.DataFrame:
    """The equivalence verdict of every matched pair (:data:`EQUIVALENCE_COLUMNS`; see the module docstring).

    ``final_returns[algo][env]`` are the runs' final returns; ``normalization`` gives each environment's random and
    reference score (the margin's scale).
    """
    scale = margin_scale(normalization)
    rows = []
    for pair in (p for p in pairs if p.matched):
        if pair.x not in final_returns or pair.y not in final_returns:
            continue
        outcomes = []
        for env in final_returns[pair.x]:
            x = np.asarray(final_returns[pair.x][env], dtype=float)
            y = np.asarray(final_returns[pair.y].get(env, []), dtype=float)
            if x.size < 2 or y.size < 2:
                continue
            margin = equivalence_margin(scale, env)
            verdict = equivalence_verdict(x, float(np.mean(y)), float(np.std(y, ddof=1)), int(y.size), margin,
                                          score_bounds(env))
            outcome = OUTCOMES[verdict.outcome]
            outcomes.append(outcome)
            rows.append({"algo_x": pair.x, "algo_y": pair.y, "env": env, "runs_x": int(x.size), "runs_y": int(y.size),
                         "mean_x": float(np.mean(x)), "mean_y": float(np.mean(y)),
                         "difference": verdict.difference.point, "difference_lower": verdict.difference.lower,
                         "difference_upper": verdict.difference.upper, "margin": margin, "verdict": outcome,
                         "note": verdict.note})
        if outcomes:
            overall = (EQUIVALENT if all(o == EQUIVALENT for o in outcomes)
                       else DIFFERENT if DIFFERENT in outcomes else INCONCLUSIVE)
            counts = ", ".join(f"{outcomes.count(o)} {o}" for o in (EQUIVALENT, DIFFERENT, INCONCLUSIVE) if o in outcomes)
            rows.append({"algo_x": pair.x, "algo_y": pair.y, "env": SUITE_ROW, "runs_x": np.nan, "runs_y": np.nan,
                         "mean_x": np.nan, "mean_y": np.nan, "difference": np.nan, "difference_lower": np.nan,
                         "difference_upper": np.nan, "margin": np.nan, "verdict": overall,
                         "note": f"{len(outcomes)} environments: {counts}"})
    table = pd.DataFrame(rows, columns=EQUIVALENCE_COLUMNS)
    return table.astype({"runs_x": "Int64", "runs_y": "Int64"})  # run counts stay integers beside the suite row


def suite_comparisons(settings: Mapping[str, Mapping[str, Mapping[str, str]]], order: Sequence[str]) -> list[Comparison]:
    """Every unordered pair of ``order``'s algorithms that have settings, in that order."""
    return comparisons(ordered_settings(settings, order))


__all__ = ["COMPARISON_COLUMNS", "budget_statement", "DIFFERENT", "EQUIVALENCE_COLUMNS", "EQUIVALENCE_RULE", "EQUIVALENT", "SUITE_ROW",
           "comparison_frame", "comparison_statement", "comparisons_markdown", "implementation_equivalence",
           "suite_comparisons"]
