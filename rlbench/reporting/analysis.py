"""Analyse one suite: from the run store's evaluation returns to tables and figures.

Pure with respect to files: ``analyze_suite`` takes frames and returns DataFrames and Figures;
the ``analyze`` stage (``pipelines/analyze.py``) writes them. Scores are normalised per
environment with the normalisation table, so aggregates across environments are meaningful.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rlbench.reporting.leaderboard import LEADERBOARD_COLUMNS, leaderboard
from rlbench.reporting.plots import (
    algorithm_colors,
    plot_interval_estimates,
    plot_learning_curves,
    plot_performance_profiles,
    plot_probability_of_improvement,
    plot_sample_efficiency,
    plot_seed_variance,
)
from rlbench.reporting.tables import aggregate_frame, improvement_frame
from rlbench.scores.matrices import curve_scores, final_scores
from rlbench.scores.normalization import normalize
from rlbench.stats.aggregates import (
    METRICS,
    aggregate_metrics,
    performance_profiles,
    probability_of_improvement,
    sample_efficiency_curves,
)
from rlbench.stats.bootstrap import Interval
from rlbench.stats.variability import (
    area_under_curve,
    curve_variability,
    seed_variance,
    seed_variance_frame,
    steps_to_threshold,
    threshold_summary,
)
from rlbench.storage.run_store import Failure

NORMALISED = "Normalised score (0 = random, 1 = solved threshold)"

TAUS = np.linspace(-0.5, 1.5, 81)
"""Thresholds of the performance profiles (normalised score; 1 = gymnasium's solved threshold)."""


EMPTY_TABLES = {
    "aggregate": ["algo", "label", "runs"] + [f"{m}_{part}" for m in METRICS for part in ("point", "lower", "upper")],
    "probability_of_improvement": ["algo_x", "algo_y", "point", "lower", "upper"],
    "per_env": ["algo", "env", "runs", "mean_return", "ci_lower", "ci_upper", "std", "iqr", "curve_std",
                "normalized_mean", "auc", "solved_runs", "median_steps_to_solve"],
    "seed_variance": ["algo", "env", "n_runs", "mean", "std", "iqr", "ci_lower", "ci_upper", "ci_width"],
    "sample_efficiency": ["algo", "env", "step", "iqm", "lower", "upper"],
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
    excluded: list[str] = field(default_factory=list)
    """Runs left out of the matrices because a run of the same algorithm and seed failed."""


def drop_failed_seeds(frame: pd.DataFrame, failures: Sequence[Failure]) -> tuple[pd.DataFrame, list[str]]:
    """Remove every run of an (algorithm, seed) that failed on any environment.

    A score matrix needs the same seeds on every task of an algorithm; the finished runs of a
    partly failed seed are reported as excluded, never counted silently.
    """
    failed = {(f.algo, f.seed) for f in failures}
    if not failed:
        return frame, []
    mask = [(a, s) in failed for a, s in zip(frame["algo"], frame["seed"])]
    dropped = frame[mask]
    excluded = sorted({f"{a}/{e}/seed_{s}" for a, e, s in zip(dropped["algo"], dropped["env"], dropped["seed"])})
    return frame[~np.asarray(mask, dtype=bool)].reset_index(drop=True), excluded


def analyze_suite(
    eval_frame: pd.DataFrame,
    normalization: pd.DataFrame,
    labels: Mapping[str, str],
    reference_algos: Sequence[str],
    failures: Sequence[Failure],
    seed: int,
    reps: int,
) -> SuiteAnalysis:
    """Aggregate, per-environment, pairwise, variance and sample-efficiency results of a suite.

    ``reference_algos`` are the built-in algorithms: the leaderboard reports every entry's
    probability of improvement over the best of them.
    """
    frame, excluded = drop_failed_seeds(eval_frame, failures)
    result = SuiteAnalysis(excluded=excluded)
    if frame.empty:  # every run failed: the tables still exist (empty), the failures say why
        result.tables.update({name: pd.DataFrame(columns=columns) for name, columns in EMPTY_TABLES.items()})
        result.tables["leaderboard"] = pd.DataFrame(columns=LEADERBOARD_COLUMNS)
        result.tables["failures"] = failures_frame(failures)
        return result
    algos = [a for a in labels if a in set(frame["algo"])]
    envs = list(dict.fromkeys(frame["env"]))
    raw = final_scores(frame, envs)
    scores = normalize(raw, normalization)
    colors = algorithm_colors(algos)

    result.estimates = aggregate_metrics(scores.scores, seed=seed, reps=reps)
    aggregate = aggregate_frame(result.estimates).rename(columns={"algorithm": "algo"})
    aggregate.insert(1, "label", [labels[a] for a in aggregate["algo"]])
    aggregate.insert(2, "runs", [len(scores.run_ids[a]) for a in aggregate["algo"]])
    result.tables["aggregate"] = aggregate

    probabilities = probability_of_improvement(scores.scores, seed=seed, reps=reps) if len(algos) > 1 else {}
    result.tables["probability_of_improvement"] = improvement_frame(probabilities).reindex(
        columns=["algorithm_x", "algorithm_y", "point", "lower", "upper"]).rename(
        columns={"algorithm_x": "algo_x", "algorithm_y": "algo_y"})

    # Spread across seeds needs two runs; an algorithm left with one (failures) gets NaN, the others theirs.
    several = [a for a in algos if len(raw.run_ids[a]) > 1]
    spreads = seed_variance({a: raw.scores[a] for a in several}, raw.tasks, seed=seed, reps=reps) if several else {}
    per_env_rows, efficiency_rows, auc_by_algo = [], [], {a: [] for a in algos}
    for env in envs:
        curves = normalize(curve_scores(frame[frame["env"] == env], [env]), normalization)
        raw_curves = curve_scores(frame[frame["env"] == env], [env])
        variability = curve_variability({a: raw_curves.curves[a] for a in several}) if several else {}
        bands = sample_efficiency_curves(curves.curves, seed=seed, reps=reps)
        result.figures[f"sample_efficiency_{env}"] = plot_sample_efficiency(
            bands, curves.steps, algorithms=algos, colors=colors, ylabel=f"IQM normalised score ({env})")
        for algo in algos:
            steps = curves.steps[algo]
            auc = area_under_curve(curves.curves[algo], steps)[:, 0]
            auc_by_algo[algo].extend(auc.tolist())
            reach = threshold_summary(steps_to_threshold(curves.curves[algo][:, 0, :], steps, 1.0))
            final = raw.scores[algo][:, raw.tasks.index(env)]
            spread = spreads.get(algo, {}).get(env)
            per_env_rows.append({
                "algo": algo, "env": env, "runs": len(final),
                "mean_return": float(np.mean(final)),
                "ci_lower": spread.ci_lower if spread else np.nan,
                "ci_upper": spread.ci_upper if spread else np.nan,
                "std": spread.std if spread else np.nan,
                "iqr": spread.iqr if spread else np.nan,
                "curve_std": float(variability[algo][0]) if algo in variability else np.nan,
                "normalized_mean": float(np.mean(scores.scores[algo][:, scores.tasks.index(env)])),
                "auc": float(np.mean(auc)),
                "solved_runs": f"{reach.n_reached}/{reach.n_runs}",
                "median_steps_to_solve": (f">{int(reach.budget)}" if reach.median_censored else str(int(reach.median))),
            })
            band = bands[algo]
            efficiency_rows += [
                {"algo": algo, "env": env, "step": int(s), "iqm": p, "lower": lo, "upper": hi}
                for s, p, lo, hi in zip(steps, band.point, band.lower, band.upper)
            ]
    result.tables["per_env"] = pd.DataFrame(per_env_rows)
    result.tables["sample_efficiency"] = pd.DataFrame(efficiency_rows)
    result.tables["seed_variance"] = seed_variance_frame(spreads)
    result.tables["failures"] = failures_frame(failures)
    result.tables["leaderboard"] = leaderboard(result.estimates, labels, reference_algos, scores.scores, auc_by_algo, probabilities)

    by_iqm = list(result.tables["leaderboard"]["algo"])
    result.figures["interval_estimates"] = plot_interval_estimates(
        result.estimates, algorithms=by_iqm, colors=colors, xlabel=NORMALISED)
    profiles = performance_profiles(scores.scores, TAUS, seed=seed, reps=reps)
    result.figures["performance_profiles"] = plot_performance_profiles(
        profiles, TAUS, algorithms=by_iqm, colors=colors, xlabel=NORMALISED + r" $(\tau)$")
    if probabilities:
        pairs = [(by_iqm[0], other) for other in by_iqm[1:]]
        result.figures["probability_of_improvement"] = plot_probability_of_improvement(probabilities, pairs=pairs)
    result.figures["learning_curves"] = plot_learning_curves(frame, seed=seed, envs=envs, algorithms=algos, colors=colors)
    result.figures["seed_variance"] = plot_seed_variance(raw, envs=envs, algorithms=algos, colors=colors)
    return result


def failures_frame(failures: Sequence[Failure]) -> pd.DataFrame:
    rows = [{"algo": f.algo, "env": f.env, "seed": f.seed, "attempts": f.attempts, "reason": f.reason}
            for f in sorted(failures, key=lambda f: (f.algo, f.env, f.seed))]
    return pd.DataFrame(rows, columns=["algo", "env", "seed", "attempts", "reason"])


__all__ = ["SuiteAnalysis", "analyze_suite", "drop_failed_seeds", "failures_frame"]
