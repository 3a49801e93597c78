"""The gradient-variance ratio table and figures (what the baseline does to the estimate's variance)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rlbench.reporting.diagnostics import diagnostic_figures, gradient_variance_ratios
from rlbench.reporting.plots import Style


def _frame(factors: dict[int, float], prefix: str = "policy_grad_variance/") -> pd.DataFrame:
    """Runs whose variance without the baseline is ``factors[seed]`` times the variance with it, at three steps."""
    rows = []
    for seed, factor in factors.items():
        for step, base in ((100, 2.0), (200, 0.5), (300, 8.0)):
            rows += [{"algo": "reinforce", "env": "CartPole-v1", "seed": seed, "step": step,
                      "name": f"{prefix}baseline", "value": base},
                     {"algo": "reinforce", "env": "CartPole-v1", "seed": seed, "step": step,
                      "name": f"{prefix}no_baseline", "value": base * factor}]
    return pd.DataFrame(rows)


def test_the_ratio_is_the_geometric_mean_over_evaluations_and_runs():
    table = gradient_variance_ratios(_frame({0: 2.0, 1: 8.0, 2: 4.0}), seed=0, reps=200)
    (row,) = table.itertuples(index=False)
    assert (row.algo, row.env, row.gradient, row.runs, row.evaluations) == ("reinforce", "CartPole-v1", "policy", 3, 9)
    assert np.isclose(row.ratio, 4.0)  # (2 * 8 * 4) ** (1 / 3)
    assert 2.0 <= row.lower <= row.ratio <= row.upper <= 8.0
    again = gradient_variance_ratios(_frame({0: 2.0, 1: 8.0, 2: 4.0}), seed=0, reps=200)
    pd.testing.assert_frame_equal(table, again)  # seeded bootstrap


def test_evaluations_without_a_positive_variance_are_left_out():
    frame = _frame({0: 3.0, 1: 3.0})
    frame.loc[(frame["seed"] == 1) & (frame["step"] == 100), "value"] = 0.0  # e.g. every return equal
    (row,) = gradient_variance_ratios(frame, seed=0, reps=100).itertuples(index=False)
    assert row.evaluations == 5 and np.isclose(row.ratio, 3.0)


def test_each_gradient_kind_gets_its_rows_and_figure():
    frame = pd.concat([_frame({0: 2.0, 1: 2.0}), _frame({0: 5.0, 1: 5.0}, "location_grad_variance/")])
    table = gradient_variance_ratios(frame, seed=0, reps=100)
    assert dict(zip(table["gradient"], table["ratio"].round(6))) == {"policy": 2.0, "location-policy": 5.0}
    figures = diagnostic_figures(frame, ["reinforce"], {"reinforce": "REINFORCE"}, 0,
                                 {"reinforce": Style("C0", "o", "-")})
    assert {"policy_gradient_variance", "location_gradient_variance"} <= set(figures)
    assert gradient_variance_ratios(frame.iloc[0:0], seed=0, reps=100).empty
