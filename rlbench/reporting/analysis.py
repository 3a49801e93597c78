"""Analyse one suite: from the run store's evaluation returns to tables and figures.

Pure with respect to files: ``analyze_suite`` takes frames and returns DataFrames and Figures;
the ``analyze`` stage (``pipelines/analyze.py``) writes them. Scores are normalised per
environment with the normalisation table, so aggregates across environments are meaningful.
Failed and diverged runs are counted as the random score (:data:`~rlbench.reporting.policy.FAILURE_POLICY`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rlbench.reporting.caveats import caveats
from rlbench.reporting.comparisons import (COMPARISON_COLUMNS, EQUIVALENCE_COLUMNS, comparison_frame,
                                           implementation_equivalence, suite_comparisons)
from rlbench.reporting.leaderboard import (LEADERBOARD_COLUMNS, RELATION_COLUMNS, leaderboard, relation_frame,
                                           tail_columns)
from rlbench.reporting.plots import (
    algorithm_styles,
    plot_clearly_better,
    plot_interval_estimates,
    plot_learning_curves,
    plot_performance_profiles,
    plot_probability_of_improvement,
    plot_sample_efficiency,
    plot_seed_variance,
)
from rlbench.reporting.policy import COUNTED_AS, MEANINGFUL_DIFFERENCE
from rlbench.reporting.published import COLUMNS as PUBLISHED_COLUMNS
from rlbench.reporting.published import published_results, published_vs_ours
from rlbench.reporting.tables import aggregate_frame, improvement_frame, seeds_needed_frame
from rlbench.scores.matrices import curve_scores, final_scores
from rlbench.scores.normalization import BEST_ACHIEVABLE, normalize
from rlbench.stats.aggregates import (
    METRICS,
    aggregate_metrics,
    performance_profiles,
    probability_of_improvement,
    sample_efficiency_curves,
)
from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import Interval
from rlbench.stats.power import pairwise_seeds_needed
from rlbench.stats.ranking import better_relation
from rlbench.stats.variability import (
    area_under_curve,
    curve_variability,
    seed_variance,
    seed_variance_frame,
    steps_to_threshold,
    threshold_summary,
)
from rlbench.storage.run_store import Failure

NORMALISED = "Normalised score (0 = random, 1 = reference)"

TAU_POINTS = 101
"""Thresholds of the performance profiles: this many, evenly spread over the range of the scores."""

FAILURE_COLUMNS = ["algo", "env", "seed", "attempts", "reason", "counted_as"]
SEEDS_NEEDED_COLUMNS = ["algo_x", "algo_y", "difference", "pooled_seed_std", "seeds_now", "seeds_for_observed",
                        "seeds_for_stated", "seeds_for_stated_without_extreme", "extreme_run"]
TAIL_COLUMNS = ["at_reference_point", "at_reference_lower", "at_reference_upper", "below_random"]
"""The aggregate table's columns beside the rliable metrics: the fraction of run × environment final scores at or
above the reference with its 95% Wilson interval, and the share below random (:mod:`rlbench.stats.tails`)."""
NONE_SOLVED = "none solved at the end"
"""``median_steps_to_solve`` where no run ends at or above the solved threshold (there is no median to give)."""

EMPTY_TABLES = {
    "aggregate": ["algo", "label", "runs"] + [f"{m}_{part}" for m in METRICS for part in ("point", "lower", "upper")]
                 + TAIL_COLUMNS,
    "probability_of_improvement": ["algo_x", "algo_y", "point", "lower", "upper"],
    "per_env": ["algo", "env", "runs", "mean_return", "ci_lower", "ci_upper", "std", "iqr", "curve_std",
                "normalized_mean", "auc", "solved_runs", "reached_then_lost", "median_steps_to_solve"],
    "seed_variance": ["algo", "env", "n_runs", "mean", "std", "iqr", "ci_lower", "ci_upper", "ci_width"],
    "sample_efficiency": ["algo", "env", "step", "iqm", "lower", "upper"],
    "seeds_needed": SEEDS_NEEDED_COLUMNS,
    "clearly_better": RELATION_COLUMNS,
    "published_vs_ours": PUBLISHED_COLUMNS,
    "comparisons": COMPARISON_COLUMNS,
    "implementation_equivalence": EQUIVALENCE_COLUMNS,
}
"""Columns of every table the analysis stage declares, written empty when no run finished."""


@dataclass
class SuiteAnalysis:
    """Everything the reports are made of."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Table name -> frame (written as ``results/<suite>/<name>.csv|md``)."""
    figures: dict[str, Figure] = field(default_factory=dict)
    """Figure name -> figure (written as ``reports/<suite>/<name>.png|svg``)."""
    estimates: dict[str, dict[str, Interval]] = field(default_factory=dict)
    """Aggregate interval estimates per algorithm (normalised scores)."""
    caveats: list[str] = field(default_factory=list)
    """What the results can and cannot support (sentences)."""
    error_rates: str = ""
    """The decision rules' measured error rates, as the report's section prints them
    (:func:`rlbench.reporting.error_rates.rules_markdown`)."""


def _by_env(normalization: pd.DataFrame, column: str) -> dict[str, float]:
    if column not in normalization.columns:
        raise RlbenchError(f"normalisation table lacks the column {column!r}")
    return {str(env): float(value) for env, value in zip(normalization["env"], normalization[column])}


def _failure_rows(failures: Sequence[Failure]) -> list[dict[str, object]]:
    return [{"algo": f.algo, "env": f.env, "seed": f.seed, "attempts": f.attempts, "reason": f.reason,
             "counted_as": COUNTED_AS} for f in failures]


def count_failed_runs(
    frame: pd.DataFrame, failures: Sequence[Failure], normalization: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The evaluation frame with failed and diverged runs counted as the random score, and the table listing them.

    A failed run gets one evaluation episode at the random score of its environment at every evaluation step of
    the environment (the steps of its algorithm's other runs there, else of any run there); a non-finite
    evaluation return (a diverged run) is replaced by the random score. Returns ``(frame, failures table)`` with
    the table's columns :data:`FAILURE_COLUMNS`.
    """
    random = _by_env(normalization, "random")
    listed = _failure_rows(failures)
    returns = pd.to_numeric(frame["return"], errors="coerce")
    diverged = ~np.isfinite(returns.to_numpy(dtype=float))
    filled = frame.assign(**{"return": returns})
    if diverged.any():
        bad = frame[diverged]
        for (algo, env, seed), rows in bad.groupby(["algo", "env", "seed"], sort=True):
            steps = ", ".join(str(int(s)) for s in sorted(set(rows["step"])))
            listed.append({"algo": algo, "env": env, "seed": int(seed), "attempts": np.nan,
                           "reason": f"diverged: non-finite evaluation return at steps {steps}", "counted_as": COUNTED_AS})
        filled.loc[diverged, "return"] = [random[str(e)] for e in frame.loc[diverged, "env"]]
    added = []
    for failure in failures:
        own = filled[(filled["algo"] == failure.algo) & (filled["env"] == failure.env)]["step"]
        steps = sorted(set(own)) or sorted(set(filled[filled["env"] == failure.env]["step"])) or [0]
        added += [{"algo": failure.algo, "env": failure.env, "seed": failure.seed, "step": int(step), "episode": 0,
                   "return": random[failure.env]} for step in steps]
    if added:
        filled = pd.concat([filled, pd.DataFrame(added)], ignore_index=True)
    table = pd.DataFrame(listed, columns=FAILURE_COLUMNS).sort_values(["algo", "env", "seed"], kind="mergesort")
    return filled, table.reset_index(drop=True)


PROFILE_FLOOR = -1.0
"""Lowest performance-profile threshold: a run more than one (reference - random) below random is off the
profile's left edge, where the profile reads as the fraction of runs above this floor."""


def profile_thresholds(scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """Performance-profile thresholds spanning the scores (and 0 to 1, but not below :data:`PROFILE_FLOOR`), so
    the part where algorithms differ fills the plot: one collapsed run at -11 would otherwise squash 0 to 1 into
    a tenth of the width."""
    values = np.concatenate([np.ravel(m) for m in scores.values()])
    low = max(PROFILE_FLOOR, min(0.0, float(values.min())))
    high = max(1.0, float(values.max()))
    pad = 0.02 * (high - low)  # the last drop (at the best score) stays visible
    return np.linspace(low - pad, high + pad, TAU_POINTS)


def reach_levels(normalization: pd.DataFrame, envs: Sequence[str]) -> np.ndarray:
    """Per environment, the normalised score that counts as at the reference: 1, except where the reference is the
    best achievable *expected* return (a maze's optimal return, perfect accuracy), which an optimal run's few
    evaluation episodes miss by noise half of the time: there ``1 - MEANINGFUL_DIFFERENCE``."""
    kinds = dict(zip(normalization["env"].astype(str), normalization["reference_kind"]))
    return np.array([1.0 - MEANINGFUL_DIFFERENCE if kinds.get(env) == BEST_ACHIEVABLE else 1.0 for env in envs])


def analyze_suite(
    eval_frame: pd.DataFrame,
    normalization: pd.DataFrame,
    labels: Mapping[str, str],
    reference_algos: Sequence[str],
    failures: Sequence[Failure],
    seed: int,
    reps: int,
    training_returns: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    false_verdict_rates: Mapping[str, str] | None = None,
    settings: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
) -> SuiteAnalysis:
    """Aggregate, per-environment, pairwise, variance, seeds-needed and sample-efficiency results of a suite, with
    the published numbers' reproduction verdicts and the caveats.

    ``reference_algos`` are the built-in algorithms: the leaderboard reports every entry's probability of
    improvement over the best of them, when one is clearly best. Failed runs count as the random score.
    ``training_returns`` (:func:`rlbench.reporting.published.training_finals`) are compared with published training
    returns; ``false_verdict_rates`` (by test name) are written beside the reproduction verdicts. ``settings`` (the
    plan's, :attr:`rlbench.config.plan.SuitePlan.settings`) say what every pair differs in
    (:mod:`rlbench.reporting.comparisons`); matched pairs get their implementation-equivalence verdict.
    """
    result = SuiteAnalysis()
    if eval_frame.empty:  # every run failed: the tables still exist (empty), the failures say why
        result.tables.update({name: pd.DataFrame(columns=columns) for name, columns in EMPTY_TABLES.items()})
        result.tables["leaderboard"] = pd.DataFrame(columns=LEADERBOARD_COLUMNS)
        result.tables["failures"] = pd.DataFrame(_failure_rows(failures), columns=FAILURE_COLUMNS)
        return result
    frame, failed = count_failed_runs(eval_frame, failures, normalization)
    # An algorithm none of whose runs finished measured nothing: listed with its failures, not ranked.
    finished = set(eval_frame["algo"])
    algos = [a for a in labels if a in finished]
    unranked = sorted(set(frame["algo"]) - finished)
    frame = frame[frame["algo"].isin(algos)].reset_index(drop=True)
    envs = list(dict.fromkeys(frame["env"]))
    raw = final_scores(frame, envs)
    result.tables["normalization"] = normalization
    scores = normalize(raw, normalization)
    styles = algorithm_styles(algos)
    solved = _by_env(normalization, "solved")

    result.estimates = aggregate_metrics(scores.scores, seed=seed, reps=reps)
    aggregate = aggregate_frame(result.estimates).rename(columns={"algorithm": "algo"})
    aggregate.insert(1, "label", [labels[a] for a in aggregate["algo"]])
    aggregate.insert(2, "runs", [len(scores.run_ids[a]) for a in aggregate["algo"]])
    reference_levels = reach_levels(normalization, scores.tasks)
    tails = {a: tail_columns(scores.scores[a], reference_levels) for a in algos}
    for column in ("at_reference_lower", "at_reference_upper", "below_random"):
        aggregate[column] = [tails[a][column] for a in aggregate["algo"]]
    aggregate.insert(len(aggregate.columns) - 3, "at_reference_point", [tails[a]["at_reference"] for a in aggregate["algo"]])
    result.tables["aggregate"] = aggregate

    probabilities = probability_of_improvement(scores.scores, seed=seed, reps=reps) if len(algos) > 1 else {}
    relation = better_relation(scores.scores)
    result.tables["probability_of_improvement"] = improvement_frame(probabilities).reindex(
        columns=["algorithm_x", "algorithm_y", "point", "lower", "upper"]).rename(
        columns={"algorithm_x": "algo_x", "algorithm_y": "algo_y"})

    # Spread across seeds needs two runs; an algorithm left with one gets NaN, the others theirs.
    several = [a for a in algos if len(raw.run_ids[a]) > 1]
    spreads = seed_variance({a: raw.scores[a] for a in several}, raw.tasks, seed=seed, reps=reps) if several else {}
    per_env_rows, efficiency_rows, auc_by_algo = [], [], {a: [] for a in algos}
    for env in envs:
        raw_curves = curve_scores(frame[frame["env"] == env], [env])
        curves = normalize(raw_curves, normalization)
        variability = curve_variability({a: raw_curves.curves[a] for a in several}) if several else {}
        bands = sample_efficiency_curves(curves.curves, seed=seed, reps=reps)
        result.figures[f"sample_efficiency_{env}"] = plot_sample_efficiency(
            bands, curves.steps, algorithms=algos, styles=styles, labels=labels,
            ylabel=f"IQM normalised score ({env})")
        for algo in algos:
            steps = curves.steps[algo]
            auc = area_under_curve(curves.curves[algo], steps)[:, 0]
            auc_by_algo[algo].extend(auc.tolist())
            final = raw.scores[algo][:, raw.tasks.index(env)]
            spread = spreads.get(algo, {}).get(env)
            row = {
                "algo": algo, "env": env, "runs": len(final),
                "mean_return": float(np.mean(final)),
                "ci_lower": spread.ci_lower if spread else np.nan,
                "ci_upper": spread.ci_upper if spread else np.nan,
                "std": spread.std if spread else np.nan,
                "iqr": spread.iqr if spread else np.nan,
                "curve_std": float(variability[algo][0]) if algo in variability else np.nan,
                "normalized_mean": float(np.mean(scores.scores[algo][:, scores.tasks.index(env)])),
                "auc": float(np.mean(auc)),
                "solved_runs": None, "reached_then_lost": None, "median_steps_to_solve": None,
            }
            if np.isfinite(solved.get(env, np.nan)):
                # Solved = the final score (the last evaluation) at or above the threshold; the median is over those
                # runs only, of the step from which each stays solved.
                reach = threshold_summary(steps_to_threshold(raw_curves.curves[algo][:, 0, :], steps, solved[env]))
                row.update(
                    solved_runs=f"{reach.n_solved_at_end}/{reach.n_runs}",
                    reached_then_lost=f"{reach.n_reached_then_lost}/{reach.n_runs}",
                    median_steps_to_solve=NONE_SOLVED if reach.none_solved else str(int(reach.median)),
                )
            per_env_rows.append(row)
            band = bands[algo]
            efficiency_rows += [
                {"algo": algo, "env": env, "step": int(s), "iqm": p, "lower": lo, "upper": hi}
                for s, p, lo, hi in zip(steps, band.point, band.lower, band.upper)
            ]
    result.tables["per_env"] = pd.DataFrame(per_env_rows, columns=EMPTY_TABLES["per_env"])
    result.tables["sample_efficiency"] = pd.DataFrame(efficiency_rows)
    result.tables["seed_variance"] = seed_variance_frame(spreads)
    result.tables["failures"] = failed
    failed_per_algo = failed[failed["algo"].isin(algos)]["algo"].value_counts().to_dict()
    board = leaderboard(result.estimates, labels, reference_algos, scores.scores, auc_by_algo, probabilities,
                        failed_per_algo, relation, tails)
    result.tables["leaderboard"] = board
    by_rank = list(board["algo"])
    result.tables["clearly_better"] = relation_frame(relation, by_rank)

    needed = pairwise_seeds_needed({a: scores.scores[a] for a in by_rank if a in several}, MEANINGFUL_DIFFERENCE) \
        if len(several) > 1 else {}
    result.tables["seeds_needed"] = seeds_needed_frame(needed, scores.tasks, scores.run_ids).reindex(
        columns=SEEDS_NEEDED_COLUMNS)
    budgets = {env: int(frame[frame["env"] == env]["step"].max()) for env in envs}
    final_returns = {a: {env: raw.scores[a][:, raw.tasks.index(env)] for env in envs} for a in algos}
    implementations = {a: per_env[next(iter(per_env))].get("implementation", "")
                       for a, per_env in (settings or {}).items() if per_env}
    result.tables["published_vs_ours"] = published_vs_ours(published_results(), final_returns, normalization, budgets,
                                                           training_returns, false_verdict_rates, implementations)
    pairs = suite_comparisons(settings or {}, by_rank)
    result.tables["comparisons"] = comparison_frame(pairs)
    result.tables["implementation_equivalence"] = implementation_equivalence(pairs, final_returns, normalization)
    result.caveats = caveats(envs, {a: len(raw.run_ids[a]) for a in algos}, result.estimates,
                             result.tables["per_env"], normalization[normalization["env"].isin(envs)],
                             int(failed["algo"].isin(algos).sum()), reps, result.tables["seeds_needed"], unranked)

    result.figures["interval_estimates"] = plot_interval_estimates(
        result.estimates, algorithms=by_rank, styles=styles, labels=labels, xlabel=NORMALISED)
    taus = profile_thresholds(scores.scores)
    profiles = performance_profiles(scores.scores, taus, seed=seed, reps=reps)
    result.figures["performance_profiles"] = plot_performance_profiles(
        profiles, taus, algorithms=by_rank, styles=styles, labels=labels, xlabel=NORMALISED + r" $(\tau)$")
    if probabilities:
        pairs = [(by_rank[0], other) for other in by_rank[1:]]
        result.figures["probability_of_improvement"] = plot_probability_of_improvement(
            probabilities, pairs=pairs, labels=labels)
        result.figures["clearly_better"] = plot_clearly_better(relation, order=by_rank, labels=labels)
    result.figures["learning_curves"] = plot_learning_curves(
        frame, seed=seed, envs=envs, algorithms=algos, styles=styles, labels=labels)
    result.figures["seed_variance"] = plot_seed_variance(raw, envs=envs, algorithms=algos, styles=styles, labels=labels)
    return result


__all__ = ["NONE_SOLVED", "PROFILE_FLOOR", "SuiteAnalysis", "analyze_suite", "count_failed_runs", "profile_thresholds"]
