"""What the runs measured besides returns (their ``diagnostics.csv``), as tables and figures.

* ``diagnostics`` table: every scalar diagnostic per algorithm, environment and evaluation step, the
  mean over runs with a 95% percentile-bootstrap CI (seeded, resampling runs);
* on a maze (an environment with a known model): DQN's and Q-learning's distance to the Bellman
  solution over training (``q_error``: mean |Q - Q*| over non-terminal states and actions) and the
  fraction of states whose greedy action is optimal, and the lecture's pictures: the maze with the
  arrows of a policy and v(s) in each cell, for the optimal policy (value iteration) and for each
  algorithm's learned greedy policy at the end of training (its first seed);
* REINFORCE's variance point: the variance of the policy-gradient estimate (REINFORCE on any task,
  ``policy_grad_variance/*``) and of the location policy's (the glimpse model, ``location_grad_variance/*``),
  each with and without the baseline subtracted from the same episodes, over training, and the
  ``gradient_variance`` table: how many times larger the variance is without the baseline.

Pure: frames in, frames and figures out (the suite's outputs module writes them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rlbench.envs.registry import make_env
from rlbench.planning.dynamic_programming import value_iteration
from rlbench.reporting.plots import Style, _new_figure, _style, plot_learning_curves
from rlbench.stats.bootstrap import bootstrap_band

DIAGNOSTICS_COLUMNS = ["algo", "env", "name", "step", "runs", "mean", "lower", "upper"]

PER_STATE = ("action/", "value/")
"""Prefixes of the per-state diagnostics of a maze's last evaluation (the pictures, not the table)."""

GRADIENT_VARIANCES = {"policy_grad_variance/": ("policy_gradient_variance", "policy"),
                      "location_grad_variance/": ("location_gradient_variance", "location-policy")}
"""Prefix of a gradient-variance diagnostic pair (``baseline``, ``no_baseline``) -> (its figure, whose gradient)."""
GRADIENT_VARIANCE_COLUMNS = ["algo", "env", "gradient", "runs", "evaluations", "ratio", "lower", "upper"]
DESCRIPTIONS = {
    "q_error": "Mean |Q(s, a) - Q*(s, a)| over non-terminal states and actions (Q* by value iteration, agent's discount)",
    "greedy_optimal": "Fraction of non-terminal states whose greedy action is optimal",
    **{f"{prefix}{kind}": f"Variance (trace of the covariance across episodes) of the {whose} gradient estimate, "
                          f"{'baseline subtracted' if kind == 'baseline' else 'no baseline'}"
       for prefix, (_, whose) in GRADIENT_VARIANCES.items() for kind in ("baseline", "no_baseline")},
}
"""What each scalar diagnostic is (the report's glossary of them)."""

ARROWS = {0: (0.0, 0.32), 1: (0.32, 0.0), 2: (0.0, -0.32), 3: (-0.32, 0.0)}
"""Arrow (dx, dy) per maze action N, E, S, W (image rows grow downwards, so N points up)."""


def scalar_diagnostics(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a diagnostics frame that are one number per run and step (not the per-state pictures)."""
    return frame[~frame["name"].str.startswith(PER_STATE)]


def diagnostics_table(frame: pd.DataFrame, seed: int, reps: int) -> pd.DataFrame:
    """Mean over runs and its 95% bootstrap CI of every scalar diagnostic, per algorithm, env, name and step."""
    scalars = scalar_diagnostics(frame)
    rows = []
    for (algo, env, name), group in scalars.groupby(["algo", "env", "name"], sort=True):
        table = group.pivot_table(index="seed", columns="step", values="value", aggfunc="first")
        table = table.dropna(axis=1)  # steps every run measured
        if table.empty:
            continue
        values = table.to_numpy(dtype=np.float64)
        if len(values) > 1:
            band = bootstrap_band([values], lambda a: a.mean(axis=0), seed, reps, 0.95)
            lower, upper = band.lower, band.upper
        else:
            lower = upper = np.full(values.shape[1], np.nan)
        rows += [{"algo": algo, "env": env, "name": name, "step": int(step), "runs": len(values),
                  "mean": float(values[:, i].mean()), "lower": float(lower[i]), "upper": float(upper[i])}
                 for i, step in enumerate(table.columns)]
    return pd.DataFrame(rows, columns=DIAGNOSTICS_COLUMNS)


def gradient_variance_ratios(frame: pd.DataFrame, seed: int, reps: int) -> pd.DataFrame:
    """How many times larger the gradient estimate's variance is without the baseline than with it, per algorithm,
    environment and gradient (``policy`` or ``location-policy``).

    Both variances are measured on the same episodes under the same parameters, so their ratio at one evaluation
    is a paired comparison. Each run's ratio is the geometric mean over its evaluations; ``ratio`` is the geometric
    mean over runs, with a 95% percentile-bootstrap CI resampling runs (seeded). Evaluations where either variance
    is not positive are left out (``evaluations``: how many were used, over all runs).
    """
    rows = []
    for prefix, (_, whose) in GRADIENT_VARIANCES.items():
        pairs = frame[frame["name"].isin([f"{prefix}baseline", f"{prefix}no_baseline"])]
        if pairs.empty:
            continue
        wide = pairs.pivot_table(index=["algo", "env", "seed", "step"], columns="name", values="value", aggfunc="first")
        if f"{prefix}baseline" not in wide or f"{prefix}no_baseline" not in wide:
            continue
        ratio = wide[f"{prefix}no_baseline"] / wide[f"{prefix}baseline"]
        log_ratio = np.log(ratio[(wide[f"{prefix}baseline"] > 0) & (wide[f"{prefix}no_baseline"] > 0)])
        for (algo, env), group in log_ratio.groupby(level=["algo", "env"], sort=True):
            per_run = group.groupby(level="seed").mean().to_numpy(dtype=np.float64)
            band = bootstrap_band([per_run[:, None]], lambda a: a.mean(axis=0), seed, reps, 0.95)
            lower, upper = (band.lower[0], band.upper[0]) if len(per_run) > 1 else (np.nan, np.nan)
            rows.append({"algo": algo, "env": env, "gradient": whose, "runs": len(per_run), "evaluations": len(group),
                         "ratio": float(np.exp(band.point[0])), "lower": float(np.exp(lower)),
                         "upper": float(np.exp(upper))})
    return pd.DataFrame(rows, columns=GRADIENT_VARIANCE_COLUMNS)


def _as_curves(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    rows = frame[frame["name"] == name]
    return pd.DataFrame({"algo": rows["algo"], "env": rows["env"], "seed": rows["seed"], "step": rows["step"],
                         "episode": 0, "return": rows["value"]})


def diagnostic_figures(frame: pd.DataFrame, algos: Sequence[str], labels: Mapping[str, str], seed: int,
                       styles: Mapping[str, Style]) -> dict[str, Figure]:
    """The curves of the scalar diagnostics present in ``frame`` and the maze pictures."""
    figures: dict[str, Figure] = {}
    names = set(frame["name"])
    for name, ylabel, log in (("q_error", "mean |Q - Q*|", True), ("greedy_optimal", "greedy action optimal (fraction)", False)):
        if name in names:
            curves = _as_curves(frame, name)
            present = [a for a in algos if a in set(curves["algo"])]
            figures[name] = plot_learning_curves(curves, seed=seed, algorithms=present, styles={a: styles[a] for a in present},
                                                 labels=labels, ylabel=ylabel, log_y=log)
    for prefix, (figure, whose) in GRADIENT_VARIANCES.items():
        variance = frame[frame["name"].str.startswith(prefix)]
        if variance.empty:
            continue
        # One colour per algorithm (its usual one), solid with the baseline subtracted, dashed without.
        curves = variance.assign(algo=variance["algo"] + " " + variance["name"].str.removeprefix(prefix))
        present = set(curves["algo"])
        order = [f"{algo} {kind}" for algo in algos for kind in ("baseline", "no_baseline")
                 if f"{algo} {kind}" in present]
        line_styles, names_of = {}, {}
        for key in order:
            algo, kind = key.split(" ")
            line_styles[key] = Style(styles[algo].color, styles[algo].marker, "-" if kind == "baseline" else "--")
            names_of[key] = f"{labels[algo]}:\n{'with' if kind == 'baseline' else 'without'} the baseline subtracted"
        figures[figure] = plot_learning_curves(
            curves.rename(columns={"value": "return"}).assign(episode=0), seed=seed, algorithms=order,
            styles=line_styles, labels=names_of, ylabel=f"variance of the {whose} gradient", log_y=True)
    figures.update(maze_figures(frame, algos, labels))
    return figures


def maze_figures(frame: pd.DataFrame, algos: Sequence[str], labels: Mapping[str, str]) -> dict[str, Figure]:
    """For every maze env in ``frame``: the optimal policy and V*, and each algorithm's final greedy policy and
    values (its lowest seed) in the same picture."""
    figures: dict[str, Figure] = {}
    per_state = frame[frame["name"].str.startswith(PER_STATE)]
    for env in sorted(set(per_state["env"])):
        maze = make_env(env, evaluation=True).unwrapped
        solution = value_iteration(maze.model(), gamma=1.0)
        panels = [("Optimal policy and V* (value iteration, undiscounted)", solution.q.argmax(axis=1), solution.v)]
        for algo in algos:
            rows = per_state[(per_state["env"] == env) & (per_state["algo"] == algo)]
            if rows.empty:
                continue
            first = rows[rows["seed"] == rows["seed"].min()]
            first = first[first["step"] == first["step"].max()]
            values = {name: value for name, value in zip(first["name"], first["value"])}
            states = len(maze.cells)
            actions = np.array([values.get(f"action/{s}", -1) for s in range(states)], dtype=int)
            v = np.array([values.get(f"value/{s}", np.nan) for s in range(states)])
            v[maze.goal] = 0.0  # terminal: worth nothing, learned or not
            panels.append((f"{labels[algo]}, seed {int(first['seed'].iloc[0])}, final: greedy policy, max_a Q(s, a)",
                           actions, v))
        figures[f"maze_{env}"] = plot_maze_panels(maze, panels)
    return figures


def plot_maze_panels(maze: object, panels: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> Figure:
    """The maze drawn once per panel: walls dark, v(s) as a heat map and a number per cell, the policy as arrows.

    ``maze`` is a :class:`rlbench.envs.maze.MazeEnv`; each panel is (title, greedy action per state (-1: none),
    value per state (NaN: none)). The goal is marked G and the start S.
    """
    rows, cols = maze.shape  # type: ignore[attr-defined]
    finite = np.concatenate([v[np.isfinite(v)] for _, _, v in panels])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    with _style():
        fig = _new_figure(3.0 * cols / 4 * len(panels) + 1.2, 3.0 * rows / 4 + 0.9)
        axes = fig.subplots(1, len(panels), squeeze=False).ravel()
        image = None
        for ax, (title, actions, values) in zip(axes, panels):
            grid = np.full((rows, cols), np.nan)
            for state, (r, c) in enumerate(maze.cells):  # type: ignore[attr-defined]
                grid[r, c] = values[state]
            walls = np.array([[ch == "#" for ch in line] for line in maze.grid])  # type: ignore[attr-defined]
            ax.imshow(np.where(walls, 1.0, np.nan), cmap="Greys", vmin=0, vmax=1.2)
            image = ax.imshow(np.where(walls, np.nan, grid), cmap="viridis", vmin=low, vmax=high)
            for state, (r, c) in enumerate(maze.cells):  # type: ignore[attr-defined]
                if state == maze.goal:  # type: ignore[attr-defined]
                    ax.text(c, r, "G", ha="center", va="center", fontsize=11, weight="bold", color="white")
                    continue
                if np.isfinite(values[state]):
                    ax.text(c, r + 0.32, f"{values[state]:.1f}", ha="center", va="center", fontsize=6.5, color="white")
                if actions[state] >= 0:
                    dx, dy = ARROWS[int(actions[state])]
                    ax.annotate("", xy=(c + dx, r - dy - 0.08), xytext=(c - dx * 0.4, r + dy * 0.4 - 0.08),
                                arrowprops={"arrowstyle": "->", "color": "white", "lw": 1.2})
                if state == maze.start:  # type: ignore[attr-defined]
                    ax.text(c - 0.38, r - 0.3, "S", ha="left", va="center", fontsize=7, weight="bold", color="#FFD700")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        if image is not None:
            fig.colorbar(image, ax=list(axes), shrink=0.8, label="v(s)")
    return fig
