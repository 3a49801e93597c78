"""AdaStop's wrapper (rlbench.stats.adaptive): equal algorithms mostly kept equal, a clear difference decided at the
first look with half the seeds, the same seed giving the same decision, bad input one error."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rlbench.errors import RlbenchError
from rlbench.stats.adaptive import (EQUAL, LARGER, SMALLER, UNDECIDED, AdaptiveConfig, adaptive_decision,
                                    fixed_design, seed_scores, simulation_table)
from rlbench.stats.calibration import scenario_tasks

FAST = AdaptiveConfig(group_size=5, max_groups=2, alpha=0.05, permutations=200, seed=3)


def _draw(seed: int, shift: float, seeds: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(0.5, 0.2, seeds), "b": rng.normal(0.5 + shift, 0.2, seeds)}


def test_equal_algorithms_are_mostly_decided_equal_after_every_look():
    decisions = [adaptive_decision(_draw(seed, 0.0), FAST) for seed in range(12)]
    # "equal" only after the last look (AdaStop never accepts early with beta = 0)
    assert all(d.looks == 2 for d in decisions if d.decisions[("a", "b")] == EQUAL)
    assert sum(d.decisions[("a", "b")] == EQUAL for d in decisions) >= 10


def test_a_clear_difference_is_decided_at_the_first_look_with_half_the_seeds():
    decision = adaptive_decision(_draw(0, 1.0), FAST)
    assert decision.decisions == {("a", "b"): SMALLER} and decision.decision("b", "a") == LARGER
    assert decision.looks == 1 and decision.seeds_used == {"a": 5, "b": 5} and decision.finished


def test_three_algorithms_drop_the_decided_one_and_count_its_seeds():
    rng = np.random.default_rng(1)
    scores = {"a": rng.normal(0.5, 0.2, 10), "b": rng.normal(0.5, 0.2, 10), "c": rng.normal(3.0, 0.2, 10)}
    decision = adaptive_decision(scores, FAST)
    assert decision.decision("c", "a") == LARGER and decision.decision("c", "b") == LARGER
    assert decision.seeds_used["c"] == 5 and decision.finished


def test_too_few_seeds_for_the_next_look_is_undecided():
    decision = adaptive_decision(_draw(2, 0.0, seeds=7), FAST)
    assert decision.decisions[("a", "b")] == UNDECIDED and decision.needs_more_seeds and decision.looks == 1


def test_same_seed_same_decision_and_one_group_at_a_time_equals_all_at_once():
    scores = _draw(5, 0.15)
    first, again = adaptive_decision(scores, FAST), adaptive_decision(scores, FAST)
    assert first == again
    partial = adaptive_decision({k: v[:5] for k, v in scores.items()}, FAST)
    if partial.finished:
        assert partial == first
    else:
        assert first.looks == 2


def test_seed_score_is_the_mean_over_tasks():
    assert seed_scores(np.array([[0.0, 1.0], [0.5, 0.5]])).tolist() == [0.5, 0.5]


def test_the_fixed_design_is_one_look_at_all_seeds():
    fixed = fixed_design(FAST, 10)
    assert (fixed.group_size, fixed.max_groups, fixed.max_seeds) == (10, 1, 10)
    assert adaptive_decision(_draw(0, 1.0), fixed).seeds_used == {"a": 10, "b": 10}


def test_simulation_saves_seeds_on_a_large_effect_and_is_reproducible():
    scenarios = {"normal": scenario_tasks("normal", 2)}
    table = simulation_table([dataclasses.replace(FAST, permutations=100)], scenarios, [2.0], 15, 10)
    assert table.equals(simulation_table([dataclasses.replace(FAST, permutations=100)], scenarios, [2.0], 15, 10))
    adaptive, fixed = table.iloc[0], table.iloc[1]
    assert adaptive["power"] >= 0.9 and fixed["power"] >= 0.9
    assert adaptive["mean_seeds"] < fixed["mean_seeds"] == 10


@pytest.mark.parametrize("scores, match", [
    ({"a": [1.0, 2.0]}, "at least 2 algorithms"),
    ({"a": [1.0, np.nan], "b": [1.0, 2.0]}, "non-finite"),
    ({"a": [[1.0]], "b": [1.0]}, "one number per seed"),
])
def test_bad_scores_are_one_error(scores, match):
    with pytest.raises(RlbenchError, match=match):
        adaptive_decision(scores, FAST)


@pytest.mark.parametrize("changes, match", [
    ({"group_size": 1}, "group size"), ({"max_groups": 0}, "max groups"), ({"alpha": 1.5}, "alpha"),
    ({"permutations": 10}, "permutations"), ({"seed": -1}, "seed"),
])
def test_bad_design_is_one_error(changes, match):
    with pytest.raises(RlbenchError, match=match):
        AdaptiveConfig(**changes)
