"""The leaderboard: algorithms ranked by IQM of normalised final score, as a table and as Markdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import numpy as np
import pandas as pd

from rlbench.config.plan import SuitePlan
from rlbench.reporting.tables import markdown_table
from rlbench.stats.bootstrap import Interval

LEADERBOARD_COLUMNS = ["rank", "algo", "label", "runs", "iqm", "iqm_lower", "iqm_upper", "median", "optimality_gap",
                       "auc", "seed_std", "poi_vs_best_builtin", "poi_lower", "poi_upper"]


def leaderboard(
    estimates: Mapping[str, Mapping[str, Interval]],
    labels: Mapping[str, str],
    reference_algos: Sequence[str],
    scores: Mapping[str, np.ndarray],
    auc_by_algo: Mapping[str, list[float]],
    probabilities: Mapping[tuple[str, str], Interval],
) -> pd.DataFrame:
    """Algorithms ranked by IQM of normalised score, with the leaderboard's columns."""
    ranked = sorted(estimates, key=lambda a: (-estimates[a]["iqm"].point, a))
    references = [a for a in ranked if a in reference_algos]
    best = references[0] if references else None
    rows = []
    for rank, algo in enumerate(ranked, start=1):
        iqm = estimates[algo]["iqm"]
        row = {
            "rank": rank, "algo": algo, "label": labels[algo], "runs": int(scores[algo].shape[0]),
            "iqm": iqm.point, "iqm_lower": iqm.lower, "iqm_upper": iqm.upper,
            "median": estimates[algo]["median"].point,
            "optimality_gap": estimates[algo]["optimality_gap"].point,
            "auc": float(np.mean(auc_by_algo[algo])),
            "seed_std": float(np.mean(np.std(scores[algo], axis=0, ddof=1))) if scores[algo].shape[0] > 1 else np.nan,
            "poi_vs_best_builtin": np.nan, "poi_lower": np.nan, "poi_upper": np.nan,
        }
        if best is not None and algo != best:
            poi = probabilities[(algo, best)]  # the same interval as in the probability-of-improvement table
            row.update(poi_vs_best_builtin=poi.point, poi_lower=poi.lower, poi_upper=poi.upper)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    frame.attrs["best_builtin"] = best
    return frame


def leaderboard_markdown(plan: SuitePlan, board: pd.DataFrame, failures: pd.DataFrame | None) -> str:
    """``leaderboard.md``: the suite's settings, the ranked table and the failed runs."""
    config, suite = plan.suite, plan.name
    budgets = ", ".join(f"{env} {steps:,} steps" for env, steps in config.budget.items())
    lines = [
        f"# Leaderboard: suite `{suite}`\n",
        f"Budget: {budgets}; {len(config.seeds)} seeds; evaluation every {config.eval_every:,} steps, "
        f"{config.eval_episodes} episodes. Ranked by IQM of normalised final score with 95% stratified-bootstrap "
        f"CIs; `poi_vs_best_builtin` = P(row > {board.attrs.get('best_builtin')}).\n",
        markdown_table(board) if not board.empty else "_no finished runs_\n",
    ]
    if failures is not None and not failures.empty:
        lines += ["## Failed runs (not counted)\n", markdown_table(failures)]
    return "\n".join(lines)
