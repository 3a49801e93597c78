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
    "iqm_lower": "lower bound of the 95% expanded stratified-bootstrap CI of the IQM (Hesterberg 2015: percentile "
                 "quantiles at a level widened by the small-sample t factor)",
    "iqm_upper": "upper bound of the 95% expanded stratified-bootstrap CI of the IQM",
    "at_reference": "fraction of the run × environment final scores at or above the reference (normalised score "
                    ">= 1, up to 1e-9; where the reference is a best achievable expected return, a maze's optimal "
                    "return or perfect accuracy, >= 0.9, since an optimal run's few evaluation episodes miss it by "
                    "noise half of the time): what the IQM cannot show, since it trims the lowest quarter of the runs; where "
                    "the reference is the solved threshold (classic control) this is the fraction of runs that end "
                    "solved",
    "at_reference_lower": "lower bound of the 95% Wilson score interval of `at_reference` over the run × environment "
                          "cells (each an independently trained run that ends at the reference or not)",
    "at_reference_upper": "upper bound of the 95% Wilson score interval of `at_reference`",
    "below_random": "share of the run × environment final scores below the uniform random policy (normalised score "
                    "< 0): the negative tail that pulls the mean down",
    "mean": "mean normalised final score over runs × environments (one collapsed run far below random can move it "
            "a lot: compare `mean_without_extreme`)",
    "mean_without_extreme": "the mean with the algorithm's single most extreme run left out (the run × environment "
                            "score farthest from the algorithm's mean on that environment); far from `mean`, one "
                            "run drives the mean",
    "median": "median over environments of the per-environment mean normalised score (with two environments it "
              "equals the mean)",
    "optimality_gap": "mean shortfall of the normalised final score below 1 (the reference)",
    "auc": "area under the normalised learning curve divided by the steps: the mean normalised evaluation score over "
           "training, averaged over runs and environments (1 = at the reference from the first evaluation)",
    "seed_std": "standard deviation across seeds (ddof 1) of the normalised final score, averaged over environments",
    "clearly_better_than": "algorithms this one is clearly better than (exact stratified permutation test of P(this > "
                           "that), Holm-corrected over all pairs: family-wise error rate 0.05)",
    "poi": "P(X > Y): the probability that a run of X scores higher than a run of Y on a random environment, ties "
           "counting half (the statistic of the permutation test)",
    "p_value": "exact two-sided p-value of the stratified permutation test of \"X and Y are the same\" (runs "
               "relabelled within each environment)",
    "holm_adjusted": "the p-value after Holm's step-down correction over all pairs of the suite",
    "clearly_better": "whether X is clearly better than Y: Holm-adjusted p-value at most 0.05 and P(X > Y) > 0.5",
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
    "solved_runs": "runs whose final return (last evaluation) is at or above the solved threshold, of all runs",
    "reached_then_lost": "runs whose evaluation return reached the solved threshold at some evaluation step but whose "
                         "final return is below it, of all runs",
    "median_steps_to_solve": "over the runs that end solved (`solved_runs`) only: the median (lower median, an "
                             "evaluated step) of the first evaluation step from which a run stays at or above the "
                             "solved threshold through its last evaluation; `none solved at the end` when no run "
                             "ends solved",
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
    "seeds_for_stated_without_extreme": "`seeds_for_stated` recomputed with the seed holding `extreme_run` left out "
                                        "of its algorithm: far below `seeds_for_stated`, the figure rests on that one "
                                        "run (empty when its algorithm would keep fewer than 2 seeds)",
    "extreme_run": "the pair's most extreme run: over both algorithms, the run × environment whose normalised final "
                   "score (in brackets) is farthest from its algorithm's mean on that environment",
    "margin": "equivalence margin in raw return",
    "verdict": "reproduced / not reproduced / inconclusive / not tested: other budget (reproduction rule above); "
               "equivalent / different / inconclusive (implementation equivalence of a matched pair)",
    "confounded": "whether a difference in the pair's scores cannot be put down to one change: measured under "
                  "different protocols, or the same algorithm with two or more settings changed",
    "why_confounded": "which of the two, and how many settings changed",
    "matched": "the same algorithm with the same settings in two implementations (it gets an equivalence verdict)",
    "differs_in": "every setting in which the two compared differ, `setting: first's value vs second's` (X vs Y; "
                  "published vs ours), in one vocabulary for every agent (`rlbench/config/settings.py`); `nothing` "
                  "for identical settings",
    "runs_x": "runs of X on this environment",
    "runs_y": "runs of Y on this environment",
    "mean_x": "mean final return of X's runs",
    "mean_y": "mean final return of Y's runs",
}
"""Column name -> what it means."""


def glossary_markdown(columns: Iterable[str]) -> str:
    """A Markdown list defining ``columns`` (those the glossary knows), in their order."""
    lines = [f"- `{name}`: {COLUMN_GLOSSARY[name]}" for name in dict.fromkeys(columns) if name in COLUMN_GLOSSARY]
    return "\n".join(lines) + "\n" if lines else ""


__all__ = ["COLUMN_GLOSSARY", "glossary_markdown"]
