"""What every column of the leaderboard and the report's tables means (the one definition), rendered under them."""

from __future__ import annotations

from collections.abc import Iterable

from rlbench.reporting.policy import MEANINGFUL_DIFFERENCE
from rlbench.stats.power import ALPHA, POWER
from rlbench.stats.ranking import RANK_RULE

COLUMN_GLOSSARY: dict[str, str] = {
    "rank": f"shared rank: {RANK_RULE}; rows of equal rank cannot be told apart, their order within the rank "
            "(by IQM) means nothing",
    "algo": "algorithm id in `params.yaml`",
    "label": "algorithm's display name",
    "runs": "runs counted (seeds); failed runs included, as the random score",
    "failed_runs": "runs (seed × environment) that failed or diverged, counted as the random score",
    "iqm": "interquartile mean of the normalised final scores of all runs × environments (25% trimmed at each end)",
    "iqm_lower": "lower bound of the 95% stratified-bootstrap CI of the IQM",
    "iqm_upper": "upper bound of the 95% stratified-bootstrap CI of the IQM",
    "mean": "mean normalised final score over runs × environments",
    "median": "median over environments of the per-environment mean normalised score (with two environments it "
              "equals the mean)",
    "optimality_gap": "mean shortfall of the normalised final score below 1 (the reference)",
    "auc": "area under the normalised learning curve divided by the steps: the mean normalised evaluation score over "
           "training, averaged over runs and environments (1 = at the reference from the first evaluation)",
    "seed_std": "standard deviation across seeds (ddof 1) of the normalised final score, averaged over environments",
    "clearly_better_than": "algorithms this one is clearly better than (lower CI bound of P(this > that) above 0.5)",
    "poi_vs_best_builtin": "P(row > the best built-in algorithm): the probability that a run of the row's algorithm "
                           "scores higher than a run of the best built-in one on a random environment, ties counting "
                           "half; empty when no built-in algorithm is clearly better than all others",
    "poi_lower": "lower bound of the 95% bootstrap CI of `poi_vs_best_builtin`",
    "poi_upper": "upper bound of the 95% bootstrap CI of `poi_vs_best_builtin`",
    "mean_return": "mean raw final return over seeds",
    "ci_lower": "lower bound of the 95% bootstrap CI of the mean raw final return",
    "ci_upper": "upper bound of the 95% bootstrap CI of the mean raw final return",
    "std": "standard deviation of the raw final return across seeds (ddof 1)",
    "iqr": "interquartile range of the raw final return across seeds",
    "curve_std": "mean over evaluation steps of the across-seed standard deviation of the raw learning curve",
    "normalized_mean": "mean normalised final score over seeds",
    "solved_runs": "runs whose final return is at or above the solved threshold",
    "ever_solved_runs": "runs whose evaluation return reached the solved threshold at some evaluation step",
    "median_steps_to_solve": "Kaplan-Meier median of the first evaluation step reaching the solved threshold; "
                             "`>budget` when half or more of the runs never reach it",
    "algo_x": "first algorithm of the pair (X)",
    "algo_y": "second algorithm of the pair (Y)",
    "difference": "observed difference (X − Y for pairs; ours − published for verdicts)",
    "difference_lower": "lower bound of the 90% interval of the difference (two one-sided tests at 0.05)",
    "difference_upper": "upper bound of the 90% interval of the difference",
    "pooled_seed_std": "pooled standard deviation across seeds of a seed's mean normalised score",
    "seeds_now": "seeds per algorithm in this suite (X / Y)",
    "seeds_for_observed": f"seeds per algorithm for a two-sided t-test at {ALPHA} to detect the observed difference "
                          f"with power {POWER} (`inf`: zero difference or beyond 100,000)",
    "seeds_for_stated": f"the same for a difference of {MEANINGFUL_DIFFERENCE} normalised score",
    "margin": "equivalence margin in raw return",
    "verdict": "reproduced / not reproduced / inconclusive / not tested: other budget (rule above)",
}
"""Column name -> what it means."""


def glossary_markdown(columns: Iterable[str]) -> str:
    """A Markdown list defining ``columns`` (those the glossary knows), in their order."""
    lines = [f"- `{name}`: {COLUMN_GLOSSARY[name]}" for name in dict.fromkeys(columns) if name in COLUMN_GLOSSARY]
    return "\n".join(lines) + "\n" if lines else ""


__all__ = ["COLUMN_GLOSSARY", "glossary_markdown"]
