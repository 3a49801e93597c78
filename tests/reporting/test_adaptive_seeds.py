"""The seeds-used table (rlbench.reporting.adaptive_seeds): a seed's score is its normalised mean over tasks with
failed runs at the random score; the table sets each adaptive design beside the fixed design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rlbench.errors import RlbenchError
from rlbench.reporting.adaptive_seeds import COMPARISON_COLUMNS, comparison_table, per_seed_scores
from rlbench.stats.adaptive import AdaptiveConfig
from rlbench.storage.run_store import Failure

NORMALIZATION = pd.DataFrame({"env": ["A", "B"], "random": [0.0, 10.0], "reference": [100.0, 20.0],
                              "clip": [True, True]})


def _frame(rows):
    return pd.DataFrame([{"algo": a, "env": e, "seed": s, "step": 100, "episode": 0, "return": r}
                         for a, e, s, r in rows])


def test_a_seed_scores_its_normalised_mean_over_tasks_and_a_failed_run_the_random_score():
    frame = _frame([("x", "A", 0, 50.0), ("x", "B", 0, 20.0), ("x", "A", 1, 100.0)])
    failures = [Failure("x", "B", 1, "crashed", 2)]
    scores = per_seed_scores(frame, failures, NORMALIZATION, ["x"], ["A", "B"], [1, 0])
    assert scores["x"].tolist() == [pytest.approx(0.5), pytest.approx(0.75)]


def test_a_missing_seed_is_named():
    frame = _frame([("x", "A", 0, 50.0), ("x", "B", 0, 20.0)])
    with pytest.raises(RlbenchError, match=r"seed\(s\) \[1\]"):
        per_seed_scores(frame, [], NORMALIZATION, ["x"], ["A", "B"], [0, 1])


def test_the_table_puts_every_design_beside_the_fixed_design():
    rng = np.random.default_rng(0)
    scores = {"a": rng.normal(0.5, 0.1, 10), "b": rng.normal(1.5, 0.1, 10), "c": rng.normal(0.5, 0.1, 10)}
    designs = [AdaptiveConfig(group_size=5, max_groups=2, permutations=200),
               AdaptiveConfig(group_size=2, max_groups=5, permutations=200)]
    table = comparison_table(scores, [("a", "b"), ("a", "c")], designs, 10)
    assert list(table.columns) == COMPARISON_COLUMNS and len(table) == 4
    assert (table["seeds_saved"] == table["fixed_seeds"] - table["adaptive_seeds"]).all()
    clear = table[table["second"] == "b"]
    assert (clear["adaptive_decision"] == "smaller").all() and (clear["fixed_decision"] == "smaller").all()
    assert (clear["adaptive_seeds"] < 10).all()
    with pytest.raises(RlbenchError, match="needs 10"):
        comparison_table({k: v[:8] for k, v in scores.items()}, [("a", "b")], designs, 10)
