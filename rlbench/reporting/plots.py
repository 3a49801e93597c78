"""Figures of the statistics in :mod:`rlbench.stats` (seaborn styling, Agg backend).

Every function builds and returns a :class:`matplotlib.figure.Figure` (created directly, not
through pyplot, so nothing accumulates in pyplot's figure registry) and does no file I/O; write
figures with :func:`rlbench.reporting.figures.save_figure`, which makes PNG/SVG output byte-identical
across runs. Nothing here is clock- or RNG-dependent except the seaborn bootstrap of
:func:`plot_learning_curves`, which takes an explicit ``seed``.

The figure types follow Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the
Statistical Precipice": interval estimates of aggregate metrics, performance profiles,
probability of improvement and sample-efficiency (IQM) curves; plus per-environment learning
curves and the spread of final scores across seeds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rlbench.errors import RlbenchError  # noqa: E402
from rlbench.scores.matrices import ScoreSet  # noqa: E402
from rlbench.stats.aggregates import METRIC_LABELS, METRICS  # noqa: E402
from rlbench.stats.bootstrap import Band, Interval  # noqa: E402
from rlbench.stats.ranking import BetterRelation  # noqa: E402
from rlbench.storage.schema import SCORE_SOURCE_COLUMNS as EVAL_COLUMNS  # noqa: E402

__all__ = [
    "PALETTE",
    "Style",
    "algorithm_colors",
    "algorithm_styles",
    "plot_interval_estimates",
    "plot_performance_profiles",
    "plot_probability_of_improvement",
    "plot_sample_efficiency",
    "plot_learning_curves",
    "plot_seed_variance",
    "curve_range",
]

Color = Any
"""Anything matplotlib accepts as a colour."""

_RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "svg.hashsalt": "rlbench",
}


@contextlib.contextmanager
def _style() -> Iterator[None]:
    """Fixed seaborn/matplotlib style, independent of the caller's global rcParams."""
    with matplotlib.rc_context(), sns.axes_style("whitegrid"), matplotlib.rc_context(_RC):
        yield


PALETTE: tuple[str, ...] = ("#332288", "#CC6677", "#117733", "#88CCEE", "#882255", "#DDCC77", "#44AA99",
                            "#AA4499", "#999933")
"""Paul Tol's "muted" qualitative colour scheme (P. Tol, "Colour Schemes", SRON technical note
SRON/EPS/TN/09-002): nine colours that stay distinct for colour-blind readers, reordered so that the first few
differ most in lightness as well as hue."""
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
LINESTYLES: tuple[str, ...] = ("-", "--", ":", "-.")


@dataclass(frozen=True)
class Style:
    """How one algorithm is drawn: colour, marker and line style together keep 12 and more algorithms apart."""

    color: str
    marker: str
    linestyle: str


def algorithm_styles(algorithms: Sequence[str]) -> dict[str, Style]:
    """A stable style per algorithm, in the given order: the k-th algorithm gets colour k mod 9 of :data:`PALETTE`,
    marker k mod 12 and, from the tenth on, another line style; no two of the first 36 algorithms look alike."""
    return {
        algo: Style(PALETTE[k % len(PALETTE)], MARKERS[k % len(MARKERS)],
                    LINESTYLES[(k // len(PALETTE)) % len(LINESTYLES)])
        for k, algo in enumerate(algorithms)
    }


def algorithm_colors(algorithms: Sequence[str]) -> dict[str, Color]:
    """The colour of each algorithm's :func:`algorithm_styles`."""
    return {algo: style.color for algo, style in algorithm_styles(algorithms).items()}


def _order(available: Sequence[str], requested: Sequence[str] | None, what: str) -> list[str]:
    if requested is None:
        order = list(available)
    else:
        order = [str(a) for a in requested]
        unknown = [a for a in order if a not in available]
        if unknown:
            raise RlbenchError(f"no {what} for {unknown}; have {list(available)}")
    if not order:
        raise RlbenchError(f"nothing to plot: no {what}")
    return order


def _styles(order: Sequence[str], styles: Mapping[str, Style] | None) -> dict[str, Style]:
    default = algorithm_styles(order)
    if styles is not None:
        default.update({k: v for k, v in styles.items() if k in default})
    return default


def _names(order: Sequence[str], labels: Mapping[str, str] | None) -> dict[str, str]:
    """Display names: ``labels[algo]`` where given, else the id."""
    return {algo: (labels or {}).get(algo, algo) for algo in order}


def _legend_outside(fig: Figure, order: Sequence[str], styles: Mapping[str, Style], names: Mapping[str, str],
                    markers: bool = True) -> None:
    """One legend for the whole figure, to the right of the axes (never over the data)."""
    handles = [
        matplotlib.lines.Line2D([], [], color=styles[a].color, linestyle=styles[a].linestyle, linewidth=2,
                                marker=styles[a].marker if markers else None, markersize=5)
        for a in order
    ]
    fig.legend(handles, [names[a] for a in order], loc="outside right upper", frameon=False)


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _steps_axis(ax: Axes) -> None:
    """Environment steps as 50k, 1M (full numbers run into each other past 100,000)."""
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5, integer=True))
    ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(sep=""))


CURVE_RANGE_QUANTILES = (0.02, 0.98)
"""A learning-curve panel's core range: these quantiles of the seed curves' values, and every mean curve whole."""

FAR_BEYOND = 0.5
"""A seed value further than this fraction of the core range beyond it is cut from the panel (drawn to the edge)."""


def curve_range(values: np.ndarray, means: np.ndarray) -> tuple[float, float]:
    """The y range of a learning-curve panel: every seed value except those far beyond the core range
    (:data:`CURVE_RANGE_QUANTILES` of the values, widened to hold every mean curve; :data:`FAR_BEYOND`), plus a
    5% margin. One collapsed seed (a LunarLander run at -9,000) would otherwise squash the range where the
    algorithms differ; the means (what the panel compares) are always shown whole."""
    low, high = np.quantile(values, CURVE_RANGE_QUANTILES)
    low, high = min(float(low), float(means.min())), max(float(high), float(means.max()))
    reach = FAR_BEYOND * (high - low)
    near = values[(values >= low - reach) & (values <= high + reach)]
    low, high = min(low, float(near.min())), max(high, float(near.max()))
    pad = 0.05 * (high - low) if high > low else max(1.0, abs(high)) * 0.05
    return low - pad, high + pad


def _interval_rows(
    ax: Axes,
    labels: Sequence[str],
    intervals: Sequence[Interval],
    colors: Sequence[Color],
) -> None:
    """Horizontal CI bars (one row per label, first label on top) with a tick at the point."""
    positions = np.arange(len(labels))[::-1]
    for y, interval, colour in zip(positions, intervals, colors):
        ax.barh(y, interval.upper - interval.lower, left=interval.lower, height=0.6, color=colour, alpha=0.75)
        ax.vlines(interval.point, y - 0.3, y + 0.3, color="black", linewidth=1.5)
    ax.use_sticky_edges = False  # keep a margin around the outermost CI bounds
    ax.margins(x=0.05)
    ax.set_yticks(positions, labels=list(labels))
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.grid(axis="y", visible=False)


def plot_interval_estimates(
    estimates: Mapping[str, Mapping[str, Interval]],
    metrics: Sequence[str] | None = None,
    algorithms: Sequence[str] | None = None,
    styles: Mapping[str, Style] | None = None,
    xlabel: str = "Human Normalized Score",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Aggregate metrics with CIs: one panel per metric, one row per algorithm (Agarwal et al. 2021, Fig. 1).

    ``estimates`` is the output of :func:`rlbench.stats.aggregates.aggregate_metrics`. Bars span the CI; the
    black tick is the point estimate.
    """
    order = _order(list(estimates), algorithms, "interval estimates")
    present = [m for m in METRICS if all(m in estimates[a] for a in order)]
    extra = [m for m in estimates[order[0]] if m not in METRICS and all(m in estimates[a] for a in order)]
    panels = _order(present + extra, metrics, "metrics")
    palette, names = _styles(order, styles), _names(order, labels)
    with _style():
        fig = _new_figure(2.6 * len(panels) + 2.4, 0.38 * len(order) + 1.1)
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
        for ax, metric in zip(axes, panels):
            _interval_rows(ax, [names[a] for a in order], [estimates[a][metric] for a in order],
                           [palette[a].color for a in order])
            ax.set_title(METRIC_LABELS.get(metric, metric))
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        fig.supxlabel(xlabel)
    return fig


def plot_performance_profiles(
    profiles: Mapping[str, Band],
    taus: Sequence[float] | np.ndarray,
    algorithms: Sequence[str] | None = None,
    styles: Mapping[str, Style] | None = None,
    xlabel: str = r"Human Normalized Score $(\tau)$",
    ylabel: str = r"Fraction of runs with score $> \tau$",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Score-distribution performance profiles with pointwise CI bands (Agarwal et al. 2021, Fig. 5).

    ``profiles`` is the output of :func:`rlbench.stats.aggregates.performance_profiles` for ``taus``.
    """
    order = _order(list(profiles), algorithms, "performance profiles")
    grid = np.asarray(taus, dtype=np.float64)
    for algo in order:
        if np.shape(profiles[algo].point) != grid.shape:
            raise RlbenchError(f"profile of {algo!r} has {np.size(profiles[algo].point)} points but {grid.size} taus")
    palette, names = _styles(order, styles), _names(order, labels)
    with _style():
        fig = _new_figure(8.0, 4.0)
        ax = fig.subplots()
        for algo in order:
            band, style = profiles[algo], palette[algo]
            ax.plot(grid, band.point, color=style.color, linestyle=style.linestyle, linewidth=2,
                    marker=style.marker, markevery=max(1, grid.size // 8), markersize=5)
            ax.fill_between(grid, band.lower, band.upper, color=style.color, alpha=0.15, linewidth=0)
        ax.set_xlim(grid[0], grid[-1])
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _legend_outside(fig, order, palette, names)
    return fig


def plot_probability_of_improvement(
    probabilities: Mapping[tuple[str, str], Interval],
    pairs: Sequence[tuple[str, str]] | None = None,
    color: Color | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Probability of improvement P(X > Y) with CIs, one row per pair (Agarwal et al. 2021, Fig. 6).

    ``probabilities`` is the output of :func:`rlbench.stats.aggregates.probability_of_improvement`; ``pairs``
    picks and orders the rows (default: all, in the given order). The dashed line marks 0.5.
    """
    available = list(probabilities)
    if pairs is None:
        rows = available
    else:
        rows = [(str(x), str(y)) for x, y in pairs]
        unknown = [p for p in rows if p not in probabilities]
        if unknown:
            raise RlbenchError(f"no probability of improvement for pairs {unknown}")
    if not rows:
        raise RlbenchError("nothing to plot: no pairs")
    bar_colour = color if color is not None else PALETTE[0]
    names = _names(sorted({a for pair in rows for a in pair}), labels)
    with _style():
        fig = _new_figure(5.5, 0.36 * len(rows) + 1.0)
        ax = fig.subplots()
        _interval_rows(ax, [f"{names[x]} vs {names[y]}" for x, y in rows], [probabilities[p] for p in rows], [bar_colour] * len(rows))
        ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("P(X > Y) (ties count half)")
        ax.set_ylabel("Algorithm X vs Algorithm Y")
    return fig


def plot_clearly_better(relation: BetterRelation, order: Sequence[str] | None = None,
                        labels: Mapping[str, str] | None = None) -> Figure:
    """The "clearly better" relation as a matrix: row X, column Y, coloured by P(X > Y), each cell with its
    Holm-adjusted p-value, and a frame round the cells where X is clearly better than Y
    (:func:`rlbench.stats.ranking.better_relation`)."""
    rows = _order(list(relation.algorithms), order, "algorithms")
    if len(rows) < 2:
        raise RlbenchError("nothing to plot: a relation needs two algorithms")
    names = _names(rows, labels)
    matrix = np.full((len(rows), len(rows)), np.nan)
    for i, x in enumerate(rows):
        for j, y in enumerate(rows):
            if x != y:
                matrix[i, j] = relation.probability[(x, y)]
    with _style():
        size = 1.1 + 0.75 * len(rows)
        fig = _new_figure(size + 2.2, size)
        ax = fig.subplots()
        image = ax.imshow(matrix, cmap="RdBu", vmin=0.0, vmax=1.0)
        for i, x in enumerate(rows):
            for j, y in enumerate(rows):
                if x == y:
                    continue
                adjusted = relation.adjusted[(x, y)]
                better = (x, y) in relation.better
                ax.text(j, i, f"{matrix[i, j]:.2f}\np={adjusted:.2g}", ha="center", va="center", fontsize=7,
                        color="white" if abs(matrix[i, j] - 0.5) > 0.3 else "black",
                        fontweight="bold" if better else "normal")
                if better:
                    ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, linewidth=2.5,
                                                              edgecolor="black"))
        ax.set_xticks(range(len(rows)), [names[a] for a in rows], rotation=30, ha="right")
        ax.set_yticks(range(len(rows)), [names[a] for a in rows])
        ax.set_xlabel("Algorithm Y")
        ax.set_ylabel("Algorithm X")
        ax.grid(False)
        fig.colorbar(image, ax=ax, label="P(X > Y)", shrink=0.8)
    return fig


def plot_sample_efficiency(
    curves: Mapping[str, Band],
    steps: Mapping[str, Sequence[float] | np.ndarray] | Sequence[float] | np.ndarray,
    algorithms: Sequence[str] | None = None,
    styles: Mapping[str, Style] | None = None,
    xlabel: str = "Environment steps",
    ylabel: str = "IQM normalized score",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """IQM normalised score vs environment steps with CI bands (Agarwal et al. 2021, Fig. 8).

    ``curves`` is the output of :func:`rlbench.stats.aggregates.sample_efficiency_curves`; ``steps`` are the
    evaluation steps, one array for all algorithms or a dict per algorithm (``CurveSet.steps``).
    """
    order = _order(list(curves), algorithms, "sample-efficiency curves")
    palette, names = _styles(order, styles), _names(order, labels)
    with _style():
        fig = _new_figure(8.0, 4.0)
        ax = fig.subplots()
        for algo in order:
            grid = np.asarray(steps[algo] if isinstance(steps, Mapping) else steps, dtype=np.float64)
            band = curves[algo]
            if np.shape(band.point) != grid.shape:
                raise RlbenchError(f"curve of {algo!r} has {np.size(band.point)} points but {grid.size} steps")
            style = palette[algo]
            ax.plot(grid, band.point, color=style.color, linestyle=style.linestyle, linewidth=2, marker=style.marker,
                    markersize=4)
            ax.fill_between(grid, band.lower, band.upper, color=style.color, alpha=0.15, linewidth=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _steps_axis(ax)
        _legend_outside(fig, order, palette, names)
    return fig


def _grid_shape(n: int, max_cols: int) -> tuple[int, int]:
    cols = min(n, max_cols)
    return (n + cols - 1) // cols, cols


def plot_learning_curves(
    frame: pd.DataFrame,
    seed: int = 0,
    envs: Sequence[str] | None = None,
    algorithms: Sequence[str] | None = None,
    styles: Mapping[str, Style] | None = None,
    n_boot: int = 1000,
    max_cols: int = 3,
    labels: Mapping[str, str] | None = None,
    ylabel: str = "Evaluation return",
    log_y: bool = False,
) -> Figure:
    """Per-environment learning curves: mean over seeds with a 95 % bootstrap CI band, each seed faint; the y
    range of each panel is :func:`curve_range` (linear axes).

    ``frame`` is the run store's long evaluation frame (``algo, env, seed, step, episode,
    return``); evaluation episodes are first averaged per run and evaluation step. The CI band is
    seaborn's bootstrap over seeds with ``n_boot`` resamples, seeded by ``seed``.
    """
    missing = [c for c in EVAL_COLUMNS if c not in frame.columns]
    if missing:
        raise RlbenchError(f"evaluation frame lacks columns {missing}; needs {list(EVAL_COLUMNS)}")
    runs = (
        frame.groupby(["algo", "env", "seed", "step"], sort=True)["return"].mean().reset_index()
    )
    runs["algo"] = runs["algo"].astype(str)
    runs["env"] = runs["env"].astype(str)
    env_order = _order(sorted(runs["env"].unique()), envs, "environments")
    algo_order = _order(sorted(runs["algo"].unique()), algorithms, "algorithms")
    palette, names = _styles(algo_order, styles), _names(algo_order, labels)
    rows, cols = _grid_shape(len(env_order), max_cols)
    with _style():
        fig = _new_figure(4.2 * cols + 2.0, 3.2 * rows)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, env in zip(axes, env_order):
            panel = runs[(runs["env"] == env) & runs["algo"].isin(algo_order)]
            for algo in algo_order:
                data = panel[panel["algo"] == algo]
                style = palette[algo]
                sns.lineplot(data=data, x="step", y="return", units="seed", estimator=None, color=style.color,
                             alpha=0.2, linewidth=0.7, legend=False, ax=ax)
                sns.lineplot(data=data, x="step", y="return", estimator="mean", errorbar=("ci", 95), n_boot=n_boot,
                             seed=seed, color=style.color, linestyle=style.linestyle, linewidth=2,
                             err_kws={"alpha": 0.12, "linewidth": 0}, legend=False, ax=ax)
            ax.set_title(env)
            ax.set_xlabel("Environment steps")
            ax.set_ylabel(ylabel)
            _steps_axis(ax)
            if log_y:
                ax.set_yscale("log")
            else:  # over the drawn algorithms' finite values (seaborn leaves NaN out of the lines too)
                finite = panel[np.isfinite(panel["return"])]
                means = finite.groupby(["algo", "step"])["return"].mean().to_numpy()
                if means.size:
                    ax.set_ylim(*curve_range(finite["return"].to_numpy(), means))
        for ax in axes[len(env_order):]:
            ax.set_visible(False)
        _legend_outside(fig, algo_order, palette, names, markers=False)
    return fig


def plot_seed_variance(
    scores: ScoreSet | pd.DataFrame,
    envs: Sequence[str] | None = None,
    algorithms: Sequence[str] | None = None,
    styles: Mapping[str, Style] | None = None,
    ylabel: str = "Final return",
    max_cols: int = 3,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Final score of every seed, per algorithm and environment (box plot plus one dot per seed).

    ``scores`` is a :class:`~rlbench.scores.matrices.ScoreSet` (e.g. raw :func:`rlbench.scores.matrices.final_scores`)
    or a long frame with columns ``algo, env, seed, score``. One panel per environment, since raw
    returns are not comparable across environments.
    """
    frame = scores.to_frame() if isinstance(scores, ScoreSet) else scores
    missing = [c for c in ("algo", "env", "seed", "score") if c not in frame.columns]
    if missing:
        raise RlbenchError(f"seed-variance frame lacks columns {missing}; needs ['algo', 'env', 'seed', 'score']")
    frame = frame.assign(algo=frame["algo"].astype(str), env=frame["env"].astype(str))
    env_order = _order(sorted(frame["env"].unique()) if not isinstance(scores, ScoreSet) else scores.tasks, envs, "environments")
    algo_order = _order(
        sorted(frame["algo"].unique()) if not isinstance(scores, ScoreSet) else scores.algorithms, algorithms, "algorithms"
    )
    palette, names = _styles(algo_order, styles), _names(algo_order, labels)
    rows, cols = _grid_shape(len(env_order), max_cols)
    with _style():
        fig = _new_figure(max(3.0, 0.9 * len(algo_order) + 1.5) * cols, 3.4 * rows)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, env in zip(axes, env_order):
            data = frame[(frame["env"] == env) & frame["algo"].isin(algo_order)]
            per_algo = [
                data[data["algo"] == algo].sort_values("seed", kind="mergesort")["score"].to_numpy()
                for algo in algo_order
            ]
            # Box plots drawn with matplotlib directly (seaborn 0.13's boxplot uses an argument
            # matplotlib 3.11 deprecates); one dot per seed, spread evenly in seed order.
            drawn = [k for k, values in enumerate(per_algo) if values.size]
            boxes = ax.boxplot(
                [per_algo[k] for k in drawn], positions=drawn, widths=0.6, showfliers=False,
                patch_artist=True, medianprops={"color": "black"},
            )
            for k, patch in zip(drawn, boxes["boxes"]):
                patch.set_facecolor(palette[algo_order[k]].color)
                patch.set_alpha(0.4)
            for k, values in enumerate(per_algo):
                offsets = np.linspace(-0.18, 0.18, values.size) if values.size > 1 else np.zeros(values.size)
                ax.scatter(
                    k + offsets, values, s=22, color=palette[algo_order[k]].color, marker=palette[algo_order[k]].marker,
                    edgecolor="black", linewidth=0.5, zorder=3
                )
            ax.set_xticks(range(len(algo_order)), labels=[names[a] for a in algo_order], ha="right")
            ax.set_xlim(-0.6, len(algo_order) - 0.4)
            ax.grid(axis="x", visible=False)
            ax.set_title(env)
            ax.set_xlabel("")
            ax.set_ylabel(ylabel)
            ax.tick_params(axis="x", labelrotation=30)
        for ax in axes[len(env_order):]:
            ax.set_visible(False)
    return fig
