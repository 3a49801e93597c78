"""The seeds-needed figure beside the same figure without the pair's most extreme run."""

from __future__ import annotations

import math

import numpy as np

from rlbench.reporting.tables import seeds_needed_frame
from rlbench.stats.power import pairwise_seeds_needed, pooled_seed_std, seed_scores, seeds_needed


def _pair() -> dict[str, np.ndarray]:
    """10 seeds × 2 tasks each, both algorithms close to their means, except one run of y at -11.3 on task 1."""
    rng = np.random.default_rng(5)
    x = 0.9 + 0.05 * rng.standard_normal((10, 2))
    y = 0.8 + 0.05 * rng.standard_normal((10, 2))
    y[5, 1] = -11.3
    return {"x": x, "y": y}


def test_one_extreme_run_drives_the_seeds_needed_figure() -> None:
    scores = _pair()
    found = pairwise_seeds_needed(scores, stated=0.1)[("x", "y")]
    assert (found.extreme.algo, found.extreme.row, found.extreme.task) == ("y", 5, 1)
    assert found.extreme.score == -11.3
    # The figure with the run: hundreds of seeds; without the seed that holds it: a handful.
    assert found.for_stated > 300
    assert found.for_stated_without_extreme < 20
    assert found.for_stated_without_extreme < found.for_stated / 10
    # It is exactly the figure of the same test on the data with that seed left out of y.
    kept = np.delete(scores["y"], 5, axis=0)
    std = pooled_seed_std(seed_scores(scores["x"]), seed_scores(kept))
    assert found.for_stated_without_extreme == seeds_needed(0.1, std)
    assert found.for_stated == seeds_needed(0.1, found.std)  # the figure itself is unchanged


def test_without_an_outlier_the_two_figures_stay_close() -> None:
    rng = np.random.default_rng(0)
    scores = {"x": 0.9 + 0.1 * rng.standard_normal((20, 2)), "y": 0.8 + 0.1 * rng.standard_normal((20, 2))}
    found = pairwise_seeds_needed(scores, stated=0.1)[("x", "y")]
    assert 0.5 * found.for_stated <= found.for_stated_without_extreme <= found.for_stated


def test_two_seeds_leave_no_figure_without_the_extreme_run() -> None:
    scores = {"x": np.array([[0.1], [0.9]]), "y": np.array([[0.2], [0.4]])}
    found = pairwise_seeds_needed(scores, stated=0.1)[("x", "y")]
    assert math.isnan(found.for_stated_without_extreme) and found.extreme is not None


def test_seeds_needed_table_names_the_extreme_run() -> None:
    scores = _pair()
    needed = pairwise_seeds_needed(scores, stated=0.1)
    frame = seeds_needed_frame(needed, ["CartPole-v1", "LunarLander-v3"], {"x": list(range(10)), "y": list(range(10))})
    row = frame.iloc[0]
    assert row["extreme_run"] == "y LunarLander-v3 seed 5 (-11.30)"
    assert row["seeds_for_stated_without_extreme"] == int(needed[("x", "y")].for_stated_without_extreme)
    assert row["seeds_for_stated"] > 10 * row["seeds_for_stated_without_extreme"]
    small = seeds_needed_frame(pairwise_seeds_needed({"x": scores["x"][:2], "y": scores["y"][:2]}, stated=0.1))
    assert small.iloc[0]["extreme_run"] == "" and np.isnan(small.iloc[0]["seeds_for_stated_without_extreme"])
