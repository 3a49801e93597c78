"""DVC stage `calibration`: the measured error rates of every decision rule (:mod:`rlbench.stats.calibration`).

Reads ``params.yaml`` (its ``calibration:`` section and ``pipeline.bootstrap_reps``), the final scores of
`sb3_dqn` on the `classic` suite (the resampled-runs scenario) and the suite's normalisation table (CartPole's
random and reference scores: the bounded verdict scenario's margin), and writes ``results/calibration/rates.csv``,
``rates.md`` and ``summary.csv``. The CPU time it took goes to stderr, never into the files (identical on rerun).
"""

import sys
import time
from pathlib import Path

import numpy as np
import yaml

from rlbench.config.params import load_params
from rlbench.scores.bounds import score_bounds
from rlbench.errors import RlbenchError
from rlbench.scores.matrices import final_scores
from rlbench.scores.normalization import normalize, read_normalization
from rlbench.stats.calibration import (
    calibration_markdown,
    calibration_table,
    cartpole_like,
    rule_summary,
    settings_from_mapping,
)
from rlbench.storage.files import write_csv_atomic, write_text_atomic
from rlbench.storage.plans import read_plan
from rlbench.storage.run_store import RunStore

RESULTS = Path("results")
OUT = RESULTS / "calibration"
REAL_SUITE, REAL_ALGO, BOUNDED_ENV = "classic", "sb3_dqn", "CartPole-v1"
COST = ("about 175 s of CPU time on one core, 3 minutes of wall time (measured: `python pipelines/calibration.py` "
        "with the default settings on a 2-core machine); the two ranking rules are most of it.")
"""What the stage costs, as measured (stated here, not timed into the files, so they are identical on rerun)."""


def real_runs() -> np.ndarray:
    """Normalised final scores of `sb3_dqn` on the `classic` suite, ``(runs x tasks)``, tasks as the suite lists them."""
    plan = read_plan(RESULTS, REAL_SUITE).select([REAL_ALGO])
    finals = final_scores(RunStore(RESULTS).load_eval(plan.runs), list(plan.suite.envs))
    return normalize(finals, read_normalization(RESULTS, REAL_SUITE)).scores[REAL_ALGO]


if __name__ == "__main__":
    started = time.process_time()
    try:
        pipeline = load_params("params.yaml").pipeline
        raw = yaml.safe_load(Path("params.yaml").read_text()).get("calibration")
        settings = settings_from_mapping(raw, bootstrap_reps=pipeline.bootstrap_reps)
        scale = read_normalization(RESULTS, REAL_SUITE).set_index("env")
        low, high = score_bounds(BOUNDED_ENV)
        bounded = cartpole_like(low, high, scale.loc[BOUNDED_ENV, "random"], scale.loc[BOUNDED_ENV, "reference"],
                                settings.margin_fraction)
        table = calibration_table(settings, real_runs(), bounded)
    except RlbenchError as error:
        sys.exit(f"error: {error}")
    summary = rule_summary(table)
    write_csv_atomic(OUT / "rates.csv", table, float_format="%.4f")
    write_csv_atomic(OUT / "summary.csv", summary, float_format="%.4f")
    write_text_atomic(OUT / "rates.md", calibration_markdown(table, summary, settings, COST))
    print(f"calibration: {len(table)} rates in {time.process_time() - started:.0f} s of CPU time", file=sys.stderr)
