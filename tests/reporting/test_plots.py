"""Every plot function draws from a small fixture; saved figures are byte-identical."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rlbench.errors import RlbenchError
from rlbench.reporting.figures import save_figure
from rlbench.reporting.analysis import PROFILE_FLOOR, profile_thresholds
from rlbench.reporting.plots import (
    curve_range,
    plot_interval_estimates,
    plot_learning_curves,
    plot_performance_profiles,
    plot_probability_of_improvement,
    plot_sample_efficiency,
    plot_seed_variance,
)
from rlbench.scores.matrices import final_scores
from rlbench.stats.aggregates import (
    aggregate_metrics,
    performance_profiles,
    probability_of_improvement,
    sample_efficiency_curves,
)

REPS = 50
TAUS = np.linspace(0.0, 2.0, 11)


def scores() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(0)
    return {"DQN": rng.gamma(2.0, 0.3, size=(5, 4)), "PPO": rng.gamma(2.0, 0.4, size=(3, 4))}


def eval_frame() -> pd.DataFrame:
    rng = np.random.RandomState(1)
    rows = []
    for algo in ("DQN", "PPO"):
        for env in ("CartPole-v1", "Acrobot-v1"):
            for seed in range(3):
                for step in (0, 500, 1000, 1500):
                    for episode in range(2):
                        rows.append((algo, env, seed, step, episode, step / 10 + rng.normal(0, 20)))
    return pd.DataFrame(rows, columns=["algo", "env", "seed", "step", "episode", "return"])


def build_interval_estimates() -> Figure:
    return plot_interval_estimates(aggregate_metrics(scores(), seed=0, reps=REPS))


def build_performance_profiles() -> Figure:
    return plot_performance_profiles(performance_profiles(scores(), TAUS, seed=0, reps=REPS), TAUS)


def build_probability_of_improvement() -> Figure:
    return plot_probability_of_improvement(probability_of_improvement(scores(), seed=0, reps=REPS))


def build_sample_efficiency() -> Figure:
    rng = np.random.RandomState(2)
    curves = {"DQN": np.cumsum(rng.rand(4, 3, 6), axis=2), "PPO": np.cumsum(rng.rand(3, 3, 6), axis=2)}
    steps = np.arange(6) * 1000
    return plot_sample_efficiency(sample_efficiency_curves(curves, seed=0, reps=REPS), steps)


def build_learning_curves() -> Figure:
    return plot_learning_curves(eval_frame(), seed=0, n_boot=REPS)


def build_seed_variance() -> Figure:
    return plot_seed_variance(final_scores(eval_frame()))


BUILDERS: dict[str, Callable[[], Figure]] = {
    "interval_estimates": build_interval_estimates,
    "performance_profiles": build_performance_profiles,
    "probability_of_improvement": build_probability_of_improvement,
    "sample_efficiency": build_sample_efficiency,
    "learning_curves": build_learning_curves,
    "seed_variance": build_seed_variance,
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_plot_returns_figure(name: str) -> None:
    fig = BUILDERS[name]()
    assert isinstance(fig, Figure)
    assert any(ax.has_data() for ax in fig.axes)


@pytest.mark.parametrize("name", ["interval_estimates", "learning_curves", "seed_variance"])
def test_save_figure_is_byte_identical(tmp_path: Path, name: str) -> None:
    first = save_figure(BUILDERS[name](), tmp_path / "one" / name)
    second = save_figure(BUILDERS[name](), tmp_path / "two" / name)
    assert [p.name for p in first] == [f"{name}.png", f"{name}.svg"]
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()
    svg = first[1].read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"Software" not in first[0].read_bytes()
    fig = BUILDERS[name]()
    again = save_figure(fig, tmp_path / "three" / name)
    assert again[0].read_bytes() == save_figure(fig, tmp_path / "four" / name)[0].read_bytes()
    assert not list((tmp_path / "one").glob("*.tmp"))


def test_plot_subsets_and_unknown_names() -> None:
    estimates = aggregate_metrics(scores(), seed=0, reps=REPS)
    fig = plot_interval_estimates(estimates, metrics=["iqm"], algorithms=["PPO"])
    assert len(fig.axes) == 1
    with pytest.raises(RlbenchError, match="SAC"):
        plot_interval_estimates(estimates, algorithms=["SAC"])
    with pytest.raises(RlbenchError, match="pairs"):
        plot_probability_of_improvement(
            probability_of_improvement(scores(), seed=0, reps=REPS), pairs=[("DQN", "SAC")]
        )


def test_learning_curve_panel_is_not_squashed_by_one_collapsed_seed() -> None:
    """A seed that collapses far below the others leaves the panel; the means all stay inside it."""
    rng = np.random.RandomState(3)
    frame = pd.DataFrame(
        [(algo, "Acrobot-v1", seed, step, 0, step / 10 + rng.normal(0, 20))
         for algo in ("DQN", "PPO") for seed in range(20) for step in (0, 500, 1000, 1500)],
        columns=["algo", "env", "seed", "step", "episode", "return"],
    )
    collapsed = (frame["algo"] == "DQN") & (frame["seed"] == 0) & (frame["step"] == 1000)
    frame.loc[collapsed, "return"] = -9000.0
    fig = plot_learning_curves(frame, seed=0, n_boot=REPS, envs=["Acrobot-v1"])
    low, high = fig.axes[0].get_ylim()
    means = frame.groupby(["algo", "step"])["return"].mean()
    assert low <= means.min() and high >= means.max()  # the DQN mean at step 1000 (near -360) included
    assert -9000.0 < low < means.min() - 0.01 * (means.max() - means.min())  # the collapsed seed's value is not
    assert low > means.min() - 0.1 * (means.max() - means.min())


def test_curve_range_holds_the_quantiles_and_every_mean() -> None:
    values = np.concatenate([np.linspace(0.0, 100.0, 99), [-1e4]])
    low, high = curve_range(values, means=np.array([10.0, 90.0]))
    assert -1e4 < low < 0.0 and 100.0 <= high < 106.0
    low, high = curve_range(values, means=np.array([-500.0, 50.0]))
    assert low < -500.0 and low > -1e4
    assert curve_range(np.full(5, 500.0), np.array([500.0])) == (475.0, 525.0)
    best_seed = np.concatenate([np.linspace(0.0, 100.0, 99), [130.0]])  # beyond the 98% quantile, but near
    assert curve_range(best_seed, means=np.array([50.0]))[1] > 130.0


def test_profile_thresholds_span_the_scores_down_to_the_floor() -> None:
    near = profile_thresholds({"a": np.array([[0.2, 1.3]]), "b": np.array([[-0.5, 0.9]])})
    assert near[0] < -0.5 and near[-1] > 1.3  # every score inside, with a margin
    assert near[0] > -0.6
    far = profile_thresholds({"a": np.array([[-11.0, 1.0]])})
    assert np.isclose(far[0], PROFILE_FLOOR - 0.02 * (1.0 - PROFILE_FLOOR))  # a collapsed run lies off the edge
    ones = profile_thresholds({"a": np.array([[0.5, 0.5]])})
    assert ones[0] < 0.0 and ones[-1] > 1.0  # 0 (random) to 1 (reference) always shown


def test_learning_curve_range_ignores_undrawn_algorithms_and_missing_values() -> None:
    frame = eval_frame()
    frame.loc[(frame["algo"] == "PPO") & (frame["step"] == 1500), "return"] = 1e5  # PPO is not drawn
    frame.loc[(frame["algo"] == "DQN") & (frame["seed"] == 1), "return"] = np.nan  # a run with no finite value
    fig = plot_learning_curves(frame, seed=0, n_boot=REPS, algorithms=["DQN"], envs=["CartPole-v1"])
    low, high = fig.axes[0].get_ylim()
    drawn = frame[(frame["algo"] == "DQN") & (frame["env"] == "CartPole-v1")]["return"].dropna()
    assert np.isfinite([low, high]).all() and high < 1e4
    assert low <= drawn.groupby(frame["step"]).mean().min() and high >= drawn.groupby(frame["step"]).mean().max()
