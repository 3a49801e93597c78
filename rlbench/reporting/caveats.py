"""What the data can and cannot support: the caveats section, generated from the analysis itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rlbench.reporting.policy import FAILURE_POLICY, MEANINGFUL_DIFFERENCE
from rlbench.scores.normalization import clip_rule
from rlbench.stats.bootstrap import Interval


def normalisation_statement(normalization: pd.DataFrame) -> str:
    """The suite's normalisation rule (:func:`rlbench.scores.normalization.clip_rule`: clipped everywhere or
    nowhere), which reference each environment's normalised score uses, and whether scores above it are clipped."""
    parts = []
    for row in normalization.itertuples(index=False):
        clipped = ", scores above it clipped to 1" if bool(row.clip) else ""
        parts.append(f"{row.env}: 1 = {row.reference_kind} {row.reference:g}{clipped}")
    return ("Normalised score = (return − random) / (reference − random), 0 = uniform random policy; "
            + "; ".join(parts) + ". " + clip_rule(normalization))


def _finite_counts(column: pd.Series | None) -> pd.Series:
    """The finite numbers of a seeds-needed column (empty when there is no such column)."""
    if column is None:
        return pd.Series(dtype=float)
    return pd.to_numeric(column, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()


def degenerate_intervals(estimates: Mapping[str, Mapping[str, Interval]], per_env: pd.DataFrame) -> list[str]:
    """Intervals of zero width: aggregate metrics per algorithm and per-environment means."""
    found = [f"{algo} {metric}" for algo, per in estimates.items() for metric, interval in per.items()
             if interval.width == 0.0]
    if not per_env.empty:
        flat = per_env[np.isclose(per_env["ci_upper"] - per_env["ci_lower"], 0.0)]
        found += [f"{r.algo} on {r.env} [{r.ci_lower:g}, {r.ci_upper:g}]" for r in flat.itertuples(index=False)]
    return found


def caveats(
    tasks: Sequence[str],
    runs: Mapping[str, int],
    estimates: Mapping[str, Mapping[str, Interval]],
    per_env: pd.DataFrame,
    normalization: pd.DataFrame,
    failed_runs: int,
    reps: int,
    seeds_needed: pd.DataFrame,
    unranked: Sequence[str] = (),
) -> list[str]:
    """The caveats of a suite's results, as sentences (one list item each)."""
    counts = sorted(set(runs.values()))
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
    notes = [
        f"**{len(tasks)} environment(s) × {seeds} seeds per algorithm.** Aggregates over so few tasks say little about "
        "other environments, and every interval rests on the few runs of each task.",
        f"**Intervals** of the aggregates are 95% expanded percentile intervals of a stratified bootstrap ({reps} "
        f"resamples of the {seeds} runs within each environment; Hesterberg 2015): plain percentile intervals cover "
        "too rarely with this few runs (about 85% at 3 to 5 runs), the expanded ones widen them by the t interval's "
        "small-sample factor. Their measured coverage is in `results/calibration/`; the bootstrap still cannot see "
        "values the runs never took.",
        f"**Normalisation.** {normalisation_statement(normalization)}",
        "**What the IQM hides.** The IQM trims a quarter of the runs at each end, which is where failed seeds sit, so "
        "an IQM near 1 can stand beside several runs that never learned: `at_reference` (the fraction of run × "
        "environment final scores at or above the reference, with a 95% Wilson interval) and `below_random` (the "
        "share below the random policy) show them, and `mean_without_extreme` shows when one run drives the mean.",
        "**P(X > Y)** is the probability that a run of X beats a run of Y on a random environment; ties count half, "
        "so algorithms that both reach the reference on every run get 0.5 there.",
        f"**Failures.** {FAILURE_POLICY}; {failed_runs} run(s) counted so in this suite.",
    ]
    if not normalization.empty and not normalization["clip"].astype(bool).any():
        notes.append("**At the reference, unclipped.** No score is clipped in this suite. Where the reference is a "
                     "best achievable expected return (a maze's optimal return, perfect accuracy) a run counts as at "
                     "it within 0.1 normalised score, since an optimal run's few evaluation episodes land just below "
                     "1 about as often as above it; where it is a published mean (MinAtar's paper DQN, Atari's human "
                     "score) it is a target, and `at_reference` counts the runs that reach it.")
    if unranked:
        notes.append(f"**Not ranked:** {', '.join(unranked)}: none of its runs finished, so nothing was measured; its "
                     "failures are listed under \"Failed runs\".")
    degenerate = degenerate_intervals(estimates, per_env)
    if degenerate:
        notes.append("**Zero-width intervals** (every run scored the same, or the resamples could not differ): "
                     + ", ".join(degenerate) + ". They mean the runs agree, not that the value is certain.")
    if len(tasks) < 3:
        notes.append(f"**Median.** With {len(tasks)} environment(s) the median over environments equals the mean "
                     "(the midpoint of the per-environment means), so it carries no information of its own.")
    if not seeds_needed.empty:
        finite = seeds_needed["seeds_for_stated"].replace(np.inf, np.nan).dropna()
        if not finite.empty:
            without = _finite_counts(seeds_needed.get("seeds_for_stated_without_extreme"))
            sensitivity = (f"; with each pair's most extreme run left out, {int(without.min())} to "
                           f"{int(without.max())} (`seeds_for_stated_without_extreme`: where it is far below "
                           "`seeds_for_stated`, one run drives the figure)" if not without.empty else "")
            notes.append(f"**Seeds.** To detect a difference of {MEANINGFUL_DIFFERENCE} normalised score between two "
                         f"algorithms (t-test, alpha 0.05, power 0.8) the observed seed variance calls for "
                         f"{int(finite.min())} to {int(finite.max())} seeds per algorithm, depending on the pair "
                         f"(see the seeds-needed table){sensitivity}.")
    return notes


__all__ = ["caveats", "degenerate_intervals", "normalisation_statement"]
