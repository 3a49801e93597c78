"""DVC stage `adaptive_seeds`: seeds used by AdaStop's adaptive design against a fixed 10 on the classic suite.

Reads the `classic` suite's plan, runs and normalisation table and ``pipeline.stats_seed``; writes
``results/classic/adaptive_seeds.csv`` (the real comparisons: DQN vs PPO, in-house vs SB3 DQN),
``adaptive_seeds_simulation.csv`` (false-decision rate, power and mean seeds on simulated suites with known truth)
and ``adaptive_seeds.md`` (both, with the design) (:mod:`rlbench.reporting.adaptive_seeds`). Nothing is trained:
the design never needs more seeds than the suite has (K = seeds // n).
"""

import dataclasses
import sys
from pathlib import Path

from rlbench.config.params import load_params
from rlbench.errors import RlbenchError
from rlbench.reporting.adaptive_seeds import (adaptive_seeds_markdown, comparison_table, per_seed_scores)
from rlbench.reporting.tables import DECIMALS
from rlbench.scores.matrices import final_scores
from rlbench.scores.normalization import normalize, read_normalization
from rlbench.stats.adaptive import AdaptiveConfig, simulation_table
from rlbench.stats.calibration import scenario_tasks
from rlbench.storage.files import write_csv_atomic, write_text_atomic
from rlbench.storage.plans import read_plan
from rlbench.storage.run_store import RunStore

RESULTS = Path("results")
SUITE = "classic"
PAIRS = (("dqn", "sb3_ppo"), ("dqn", "sb3_dqn"))
"""The issue's comparisons: DQN against PPO, and the in-house DQN against Stable-Baselines3's."""
GROUP_SIZES = (5, 2)
"""n of each adaptive design, with K = the suite's seeds // n (never more seeds than the suite has): 5, AdaStop's
default and the paper's (K = 2 looks); 2, more looks (K = 5), so more chances to stop early."""
ALPHA = 0.05
PERMUTATIONS = 10_000
SIMULATIONS = 500
"""Simulated suites per cell (Monte-Carlo standard error about 1 point at a 5% rate). Cost: 200 per cell took
about 530 s of wall time on a loaded 2-core machine (measured), so 500 take roughly 10 to 20 minutes."""
SIMULATION_PERMUTATIONS = 1_000
"""B in the simulations (the permutation p-value's resolution, 0.001, is far below the level spent per look)."""
EFFECTS = (0.0, 0.5, 1.0)
"""The second algorithm's shift in seed standard deviations on every task (0: identical algorithms)."""
REAL_ALGO = "sb3_dqn"
"""The algorithm whose real runs the resampled scenario draws from (as the calibration stage's)."""


def tables(results: Path = RESULTS, simulations: int = SIMULATIONS):
    """Both tables and the Markdown page of the classic suite, from its committed runs."""
    plan = read_plan(results, SUITE)
    seed = load_params("params.yaml").pipeline.stats_seed
    store = RunStore(results)
    algos = sorted({a for pair in PAIRS for a in pair} | {REAL_ALGO})
    runs = plan.select(algos).runs
    normalization = read_normalization(results, SUITE)
    envs, seeds = list(plan.suite.envs), list(plan.suite.seeds)
    scores = per_seed_scores(store.load_eval([r for r in runs if store.is_finished(r)]), store.failures(runs),
                             normalization, algos, envs, seeds)
    fixed = len(seeds)
    designs = [AdaptiveConfig(group_size=n, max_groups=max(1, fixed // n), alpha=ALPHA, permutations=PERMUTATIONS,
                              seed=seed) for n in GROUP_SIZES]
    comparisons = comparison_table(scores, PAIRS, designs, fixed)
    real = normalize(final_scores(store.load_eval(plan.select([REAL_ALGO]).runs), envs), normalization)
    scenarios = {"normal": scenario_tasks("normal", len(envs)), "ceiling": scenario_tasks("ceiling", len(envs)),
                 f"resampled {REAL_ALGO}": scenario_tasks("resampled", len(envs), real.scores[REAL_ALGO])}
    simulated = [dataclasses.replace(d, permutations=SIMULATION_PERMUTATIONS) for d in designs]
    simulation = simulation_table(simulated, scenarios, EFFECTS, simulations, fixed)
    markdown = adaptive_seeds_markdown(SUITE, comparisons, simulation, designs, fixed, len(envs))
    return comparisons, simulation, markdown


if __name__ == "__main__":
    try:
        comparisons, simulation, markdown = tables()
    except RlbenchError as error:
        sys.exit(f"error: {error}")
    out = RESULTS / SUITE
    write_csv_atomic(out / "adaptive_seeds.csv", comparisons, float_format=f"%.{DECIMALS}f")
    write_csv_atomic(out / "adaptive_seeds_simulation.csv", simulation, float_format=f"%.{DECIMALS}f")
    write_text_atomic(out / "adaptive_seeds.md", markdown)
