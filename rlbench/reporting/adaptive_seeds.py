"""The seeds-used table: AdaStop's adaptive seeds against a fixed number of seeds, on real comparisons and on
simulated suites with known truth.

Two tables (``results/classic/adaptive_seeds.csv`` and ``adaptive_seeds_simulation.csv``, one Markdown page
``adaptive_seeds.md``), written by the stage ``pipelines/adaptive_seeds.py``:

* **comparisons**: per compared pair of a suite, AdaStop's decision (:func:`rlbench.stats.adaptive.adaptive_decision`,
  replayed on the suite's seeds in order) and the seeds per algorithm it needed, beside the decision of the same
  permutation test at one look on a fixed number of seeds (:func:`rlbench.stats.adaptive.fixed_design`);
* **simulation**: false-decision rate, power and mean seeds of both designs on simulated suites
  (:func:`rlbench.stats.adaptive.simulation_table`).

A seed's score is the mean over the suite's tasks of its normalised final score, failed runs counted as the random
score (:func:`per_seed_scores`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError
from rlbench.reporting.analysis import count_failed_runs
from rlbench.reporting.tables import markdown_table
from rlbench.scores.matrices import final_scores
from rlbench.scores.normalization import normalize
from rlbench.stats.adaptive import (METHOD, AdaptiveConfig, adaptive_decision, design_label, fixed_design,
                                    seed_scores)
from rlbench.storage.run_store import Failure

COMPARISON_COLUMNS = ["first", "second", "design", "adaptive_decision", "adaptive_looks", "adaptive_seeds", "fixed_seeds",
                      "fixed_decision", "seeds_saved", "mean_first", "mean_second"]
"""``adaptive_seeds``: seeds per algorithm the adaptive design used (the larger of the pair's two);
``seeds_saved``: fixed minus adaptive seeds per algorithm; means: over each algorithm's seeds the adaptive design
used, of the per-seed score."""


def per_seed_scores(eval_frame: pd.DataFrame, failures: Sequence[Failure], normalization: pd.DataFrame,
                    algos: Sequence[str], envs: Sequence[str], seeds: Sequence[int]) -> dict[str, np.ndarray]:
    """Per algorithm, one score per seed of ``seeds`` (in that order): the mean over ``envs`` of the seed's
    normalised final score, failed and diverged runs counted as the random score (0).

    Every seed must have every task (finished or failed) for every algorithm; otherwise the error names what is
    missing.
    """
    if eval_frame.empty and not failures:
        return {algo: np.zeros(0) for algo in algos}
    frame, _ = count_failed_runs(eval_frame, failures, normalization)
    frame = frame[frame["algo"].isin(list(algos)) & frame["seed"].isin([int(s) for s in seeds])]
    scores = normalize(final_scores(frame.reset_index(drop=True), list(envs)), normalization)
    out = {}
    for algo in algos:
        rows = {int(seed): i for i, seed in enumerate(scores.run_ids.get(algo, []))}
        missing = [int(s) for s in seeds if int(s) not in rows]
        if missing:
            raise RlbenchError(f"algorithm {algo!r}: no runs of seed(s) {missing}")
        per_seed = seed_scores(scores.scores[algo])
        out[algo] = np.array([per_seed[rows[int(seed)]] for seed in seeds])
    return out


def comparison_table(scores: Mapping[str, np.ndarray], pairs: Sequence[tuple[str, str]],
                     designs: Sequence[AdaptiveConfig], fixed_seeds: int) -> pd.DataFrame:
    """Per pair and adaptive design, AdaStop's decision and seeds used, beside the one-look test on the first
    ``fixed_seeds`` seeds (the design's level and permutations).

    Each pair is its own comparison (its own family), as ``rlbench compare A B --adaptive`` would run it.
    """
    rows = []
    for first, second in pairs:
        for algo in (first, second):
            if algo not in scores:
                raise RlbenchError(f"no per-seed scores of {algo!r}; have {', '.join(sorted(scores))}")
            if len(scores[algo]) < fixed_seeds:
                raise RlbenchError(f"algorithm {algo!r} has {len(scores[algo])} seed(s), the fixed design needs "
                                   f"{fixed_seeds}")
        pair = {first: scores[first], second: scores[second]}
        for config in designs:
            adaptive = adaptive_decision(pair, config)
            fixed = adaptive_decision({a: v[:fixed_seeds] for a, v in pair.items()},
                                      fixed_design(config, fixed_seeds))
            used = max(adaptive.seeds_used.values())
            rows.append({"first": first, "second": second, "design": design_label(config),
                         "adaptive_decision": adaptive.decisions[(first, second)], "adaptive_looks": adaptive.looks,
                         "adaptive_seeds": used, "fixed_seeds": int(fixed_seeds),
                         "fixed_decision": fixed.decisions[(first, second)], "seeds_saved": int(fixed_seeds) - used,
                         "mean_first": adaptive.means[first], "mean_second": adaptive.means[second]})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def adaptive_seeds_markdown(suite: str, comparisons: pd.DataFrame, simulation: pd.DataFrame,
                            designs: Sequence[AdaptiveConfig], fixed_seeds: int, tasks: int) -> str:
    """The Markdown page of both tables, with the designs and how to read them."""
    first = designs[0]
    named = "; ".join(f"{design_label(d)}: groups of n = {d.group_size} seeds, at most K = {d.max_groups} looks "
                      f"(at most {d.max_seeds} seeds per algorithm)" for d in designs)
    return "\n".join([
        f"# Adaptive seeds on suite `{suite}`: AdaStop against a fixed {fixed_seeds} seeds",
        "",
        f"Method: {METHOD}. Designs: {named}; family-wise alpha = {first.alpha} (two-sided), "
        f"B = {first.permutations} permutations on the real runs, seed {first.seed}. A seed's score is the mean over "
        f"the suite's {tasks} tasks of its normalised final score (failed runs count as random). The fixed design is "
        f"the same permutation test at one look on the first {fixed_seeds} seeds, two-sided at alpha. A decision "
        "reads `first <decision> than second`; `equal` means no difference was found after the last look.",
        "",
        "## Real comparisons",
        "",
        markdown_table(comparisons),
        "## Simulated suites with known truth",
        "",
        "`effect`: the second algorithm is better by this many seed standard deviations on every task (0: the two "
        "are identical, so any difference declared is a false decision; otherwise a false decision declares the "
        "wrong direction). `power`: the right direction declared. `mean_seeds`: seeds per algorithm. Rates come "
        "with their Monte-Carlo standard errors; every design sees the same simulated suites.",
        "",
        markdown_table(simulation),
    ])
