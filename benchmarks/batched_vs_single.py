"""Is batched training statistically indistinguishable from separate runs?

Compares the in-house DQN of the published ``default`` suite (each seed its own run) with the same
algorithm, environments, budgets and seeds of ``default-batched`` (the five seeds trained together,
``batch_seeds: 5``), through the suite analysis every report uses: aggregates of normalised final
score with stratified-bootstrap CIs, per-environment means, the probability of improvement both
ways and the seeds a two-sided t-test would need to tell them apart. Reads the committed runs
(verified against their plans); trains nothing.

    python benchmarks/batched_vs_single.py            # -> results/benchmarks/batched_vs_single.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rlbench.config.params import load_params
from rlbench.reporting.analysis import analyze_suite
from rlbench.reporting.tables import markdown_table
from rlbench.scores.normalization import read_normalization
from rlbench.storage.files import write_text_atomic
from rlbench.storage.plans import read_plan
from rlbench.storage.run_store import RunStore

SINGLE, BATCHED, ALGO = "default", "default-batched", "dqn"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/batched_vs_single.md"))
    args = parser.parse_args()
    pipeline = load_params().pipeline
    store = RunStore(args.results)
    frames = []
    for suite, name in ((SINGLE, "dqn_single"), (BATCHED, "dqn_batched")):
        runs = [run for run in read_plan(args.results, suite).runs if run.algo == ALGO]
        frames.append(store.load_eval(runs).assign(algo=name))
    plan = read_plan(args.results, BATCHED)
    labels = {"dqn_single": "DQN, each seed its own run", "dqn_batched": "DQN, 5 seeds batched"}
    analysis = analyze_suite(pd.concat(frames, ignore_index=True), read_normalization(args.results, SINGLE), labels,
                             list(labels), [], pipeline.stats_seed, pipeline.bootstrap_reps)
    modes = sorted({run.mode for run in plan.runs})
    text = "\n".join([
        "# Batched seeds against separate runs (in-house DQN)\n",
        f"`{SINGLE}`'s `{ALGO}` runs against `{BATCHED}`'s (modes {', '.join(modes)}): the same hyperparameters, "
        f"environments, budgets ({', '.join(f'{e} {b:,}' for e, b in plan.suite.budget.items())} steps) and seeds "
        f"({', '.join(map(str, plan.suite.seeds))}). Normalised final scores, "
        f"{pipeline.bootstrap_reps} stratified-bootstrap resamples (random state {pipeline.stats_seed}).\n",
        "## Aggregates\n", markdown_table(analysis.tables["aggregate"]),
        "## Per environment\n", markdown_table(analysis.tables["per_env"]),
        "## Probability of improvement\n", markdown_table(analysis.tables["probability_of_improvement"]),
        "## Seeds needed to tell them apart\n", markdown_table(analysis.tables["seeds_needed"]),
    ])
    write_text_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
