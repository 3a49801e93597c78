"""Score matrices in rliable's layout, built from the run store's evaluation frame.

Every statistic in :mod:`rlbench.stats` works on score *matrices* (Agarwal et al. 2021, "Deep
Reinforcement Learning at the Edge of the Statistical Precipice"):

* final scores: one ``(runs × tasks)`` array per algorithm (:class:`ScoreSet`);
* learning curves: one ``(runs × tasks × evaluation steps)`` array per algorithm (:class:`CurveSet`).

These containers record what the axes mean (which task each column is, which seed each row is,
which environment step each evaluation is). Nothing is broadcast or dropped to make a matrix
rectangular: runs of unequal length, seeds missing on some task, or evaluations missing from a
run raise :class:`~rlbench.errors.RlbenchError` naming exactly what is missing. Normalisation is
in :mod:`rlbench.scores.normalization`, published scores in :mod:`rlbench.scores.external`;
:func:`combine` puts in-house and published algorithms in one set.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError
from rlbench.storage.schema import SCORE_SOURCE_COLUMNS as EVAL_COLUMNS

__all__ = ["ScoreSet", "CurveSet", "final_scores", "curve_scores", "combine"]

_MAX_LISTED = 12
"""How many problems an error message lists before summarising the rest."""

PathLike = str | os.PathLike[str]


def _listing(problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:_MAX_LISTED])
    if len(problems) > _MAX_LISTED:
        shown += f"; ... and {len(problems) - _MAX_LISTED} more"
    return shown


def _fmt_steps(steps: Iterable[int]) -> str:
    return "[" + ", ".join(str(int(s)) for s in steps) + "]"


# --------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreSet:
    """Final scores: per algorithm a ``(runs × tasks)`` matrix with labelled axes.

    ``scores[algo][i, j]`` is the score of run ``run_ids[algo][i]`` (its seed) on task
    ``tasks[j]``. Every algorithm has the same tasks in the same order; algorithms may have
    different numbers of runs.
    """

    scores: dict[str, np.ndarray]
    """Algorithm -> ``(runs × tasks)`` float array."""
    tasks: list[str]
    """Task (environment / game) of each column."""
    run_ids: dict[str, list[int]]
    """Algorithm -> run id (seed) of each row."""

    def __post_init__(self) -> None:
        _check_labelled(self.scores, self.tasks, self.run_ids, ndim=2, kind="score matrix")

    @property
    def algorithms(self) -> list[str]:
        """The algorithms, in insertion order."""
        return list(self.scores)

    def select(self, algorithms: Sequence[str]) -> "ScoreSet":
        """A ScoreSet with only ``algorithms``, in that order."""
        missing = [a for a in algorithms if a not in self.scores]
        if missing:
            raise RlbenchError(f"unknown algorithms {missing}; have {sorted(self.scores)}")
        return ScoreSet(
            {a: self.scores[a] for a in algorithms},
            list(self.tasks),
            {a: list(self.run_ids[a]) for a in algorithms},
        )

    def to_frame(self) -> pd.DataFrame:
        """Long frame with columns ``algo, env, seed, score`` (one row per run and task)."""
        rows: list[tuple[str, str, int, float]] = []
        for algo, matrix in self.scores.items():
            for i, run in enumerate(self.run_ids[algo]):
                for j, task in enumerate(self.tasks):
                    rows.append((algo, task, run, float(matrix[i, j])))
        return pd.DataFrame(rows, columns=["algo", "env", "seed", "score"])


@dataclass(frozen=True)
class CurveSet:
    """Learning curves: per algorithm a ``(runs × tasks × evaluation steps)`` array with labelled axes.

    ``curves[algo][i, j, k]`` is the mean evaluation return of run ``run_ids[algo][i]`` on task
    ``tasks[j]`` at environment step ``steps[algo][k]``.
    """

    curves: dict[str, np.ndarray]
    """Algorithm -> ``(runs × tasks × evaluation steps)`` float array."""
    tasks: list[str]
    """Task of axis 1."""
    run_ids: dict[str, list[int]]
    """Algorithm -> run id (seed) of each row."""
    steps: dict[str, np.ndarray]
    """Algorithm -> the evaluation steps (environment steps), strictly increasing."""

    def __post_init__(self) -> None:
        _check_labelled(self.curves, self.tasks, self.run_ids, ndim=3, kind="curve array")
        if set(self.steps) != set(self.curves):
            raise RlbenchError("CurveSet.steps must name exactly the algorithms of CurveSet.curves")
        for algo, array in self.curves.items():
            steps = np.asarray(self.steps[algo])
            if steps.ndim != 1 or steps.shape[0] != array.shape[2]:
                raise RlbenchError(
                    f"algorithm {algo!r}: {array.shape[2]} evaluation steps but steps has shape {steps.shape}"
                )

    @property
    def algorithms(self) -> list[str]:
        """The algorithms, in insertion order."""
        return list(self.curves)

    def final(self) -> ScoreSet:
        """The scores at each run's last evaluation step, as a ScoreSet."""
        return ScoreSet(
            {a: np.array(c[:, :, -1]) for a, c in self.curves.items()},
            list(self.tasks),
            {a: list(r) for a, r in self.run_ids.items()},
        )


def _check_labelled(
    arrays: Mapping[str, np.ndarray],
    tasks: Sequence[str],
    run_ids: Mapping[str, Sequence[int]],
    ndim: int,
    kind: str,
) -> None:
    if set(arrays) != set(run_ids):
        raise RlbenchError(f"run_ids must name exactly the algorithms of the {kind}s")
    if len(set(tasks)) != len(tasks):
        raise RlbenchError(f"duplicate task names: {sorted(t for t in set(tasks) if list(tasks).count(t) > 1)}")
    for algo, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.ndim != ndim:
            shape = getattr(array, "shape", None)
            raise RlbenchError(f"algorithm {algo!r}: {kind} must be a {ndim}-D numpy array, got shape {shape}")
        if array.shape[1] != len(tasks):
            raise RlbenchError(f"algorithm {algo!r}: {array.shape[1]} task columns but {len(tasks)} task names")
        if array.shape[0] != len(run_ids[algo]):
            raise RlbenchError(f"algorithm {algo!r}: {array.shape[0]} rows but {len(run_ids[algo])} run ids")


# --------------------------------------------------------------------------------------------
# From the run store's evaluation frame
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Runs:
    """Per-run mean evaluation returns, validated to form complete matrices."""

    means: pd.Series  # index (algo, env, seed, step) -> mean return over evaluation episodes
    tasks: list[str]
    algos: list[str]
    seeds: dict[str, list[int]]
    grid: dict[tuple[str, str], list[int]]  # (algo, env) -> evaluation steps


def _integral_column(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | (numeric != np.floor(numeric))
    if bool(bad.any()):
        examples = sorted({repr(v) for v in values[bad]})[:5]
        raise RlbenchError(f"column {column!r} must hold integers; found {', '.join(examples)}")
    return numeric.astype(np.int64)


def _evaluation_runs(frame: pd.DataFrame, envs: Sequence[str] | None) -> _Runs:
    """Validate the long evaluation frame and average evaluation episodes per evaluation step."""
    if not isinstance(frame, pd.DataFrame):
        raise RlbenchError(f"expected a pandas DataFrame of evaluation returns, got {type(frame).__name__}")
    missing_cols = [c for c in EVAL_COLUMNS if c not in frame.columns]
    if missing_cols:
        raise RlbenchError(f"evaluation frame lacks columns {missing_cols}; needs {list(EVAL_COLUMNS)}")
    if frame.empty:
        raise RlbenchError("evaluation frame has no rows")
    data = frame.loc[:, list(EVAL_COLUMNS)].copy()
    for column in ("algo", "env"):
        if bool(data[column].isna().any()):
            raise RlbenchError(f"column {column!r} has missing values")
        data[column] = data[column].astype(str)
    data["seed"] = _integral_column(data, "seed")
    data["step"] = _integral_column(data, "step")
    data["return"] = pd.to_numeric(data["return"], errors="coerce")
    bad_return = ~np.isfinite(data["return"].to_numpy(dtype=float))
    if bool(bad_return.any()):
        where = data.loc[bad_return, ["algo", "env", "seed", "step"]].drop_duplicates()
        problems = [f"algo={r.algo} env={r.env} seed={r.seed} step={r.step}" for r in where.itertuples()]
        raise RlbenchError(f"non-finite evaluation returns at {_listing(problems)}")

    if envs is not None:
        envs = [str(e) for e in envs]
        if len(set(envs)) != len(envs):
            raise RlbenchError(f"duplicate envs requested: {envs}")
        present = set(data["env"])
        absent = [e for e in envs if e not in present]
        if absent:
            raise RlbenchError(f"no evaluation returns at all for envs {absent}")
        data = data[data["env"].isin(envs)]
        tasks = list(envs)
    else:
        tasks = sorted(set(data["env"]))

    dup = data.duplicated(subset=["algo", "env", "seed", "step", "episode"], keep=False)
    if bool(dup.any()):
        where = data.loc[dup, ["algo", "env", "seed", "step", "episode"]].drop_duplicates()
        problems = [
            f"algo={r.algo} env={r.env} seed={r.seed} step={r.step} episode={r.episode}" for r in where.itertuples()
        ]
        raise RlbenchError(f"duplicate evaluation episodes: {_listing(problems)}")

    means = data.groupby(["algo", "env", "seed", "step"], sort=True)["return"].mean()
    algos = sorted(set(data["algo"]))

    problems: list[str] = []
    # Every algorithm must have run on every task, with the same seeds on each task.
    seeds: dict[str, list[int]] = {}
    run_index = means.index.droplevel("step").unique()
    seeds_of: dict[tuple[str, str], set[int]] = {}
    for algo, env, seed in run_index:
        seeds_of.setdefault((algo, env), set()).add(int(seed))
    for algo in algos:
        all_seeds = sorted(set().union(*(seeds_of.get((algo, env), set()) for env in tasks)))
        seeds[algo] = all_seeds
        for env in tasks:
            have = seeds_of.get((algo, env))
            if not have:
                problems.append(f"algo={algo} env={env}: no runs (seeds {all_seeds} expected)")
                continue
            lacking = [s for s in all_seeds if s not in have]
            if lacking:
                problems.append(f"algo={algo} env={env}: missing seeds {lacking}")
    if problems:
        raise RlbenchError(f"score matrix would be incomplete: {_listing(problems)}")

    # Runs must have equal length per task (same last evaluation step for every algorithm and seed) and
    # no evaluation step missing in between (same evaluation steps for every seed of an algorithm on a task).
    steps_of: dict[tuple[str, str, int], list[int]] = {}
    for (algo, env, seed, step) in means.index:
        steps_of.setdefault((algo, env, int(seed)), []).append(int(step))
    last_of_env: dict[str, int] = {}
    for (algo, env, seed), steps in steps_of.items():
        last_of_env[env] = max(last_of_env.get(env, steps[-1]), steps[-1])
    grid: dict[tuple[str, str], list[int]] = {}
    for algo in algos:
        for env in tasks:
            union = sorted(set().union(*(steps_of[(algo, env, s)] for s in seeds[algo])))
            grid[(algo, env)] = union
            for seed in seeds[algo]:
                steps = steps_of[(algo, env, seed)]
                if steps[-1] != last_of_env[env]:
                    problems.append(
                        f"algo={algo} env={env} seed={seed}: run ends at step {steps[-1]} but other runs "
                        f"on {env} end at step {last_of_env[env]} (unequal run length)"
                    )
                    continue
                lacking = sorted(set(union) - set(steps))
                if lacking:
                    problems.append(f"algo={algo} env={env} seed={seed}: missing evaluation steps {_fmt_steps(lacking)}")
    if problems:
        raise RlbenchError(f"incomplete runs: {_listing(problems)}")
    return _Runs(means=means, tasks=tasks, algos=algos, seeds=seeds, grid=grid)


def final_scores(frame: pd.DataFrame, envs: Sequence[str] | None = None) -> ScoreSet:
    """Per algorithm the ``(runs × tasks)`` matrix of final scores.

    A run's final score is its mean evaluation return (over the evaluation episodes) at its last
    evaluation step. Rows are seeds in increasing order (``run_ids``); columns are ``envs`` in the given
    order, or every env of the frame sorted by name.

    Raises :class:`RlbenchError` naming the algo/env/seed (and evaluation steps) when an algorithm lacks
    a seed on some task, when runs on a task end at different evaluation steps, or when a run misses a
    evaluation step the other seeds of its algorithm have: the matrix is never filled in silently.
    """
    runs = _evaluation_runs(frame, envs)
    scores: dict[str, np.ndarray] = {}
    for algo in runs.algos:
        matrix = np.empty((len(runs.seeds[algo]), len(runs.tasks)), dtype=np.float64)
        for j, env in enumerate(runs.tasks):
            last = runs.grid[(algo, env)][-1]
            for i, seed in enumerate(runs.seeds[algo]):
                matrix[i, j] = runs.means[(algo, env, seed, last)]
        scores[algo] = matrix
    return ScoreSet(scores, list(runs.tasks), {a: list(runs.seeds[a]) for a in runs.algos})


def curve_scores(frame: pd.DataFrame, envs: Sequence[str] | None = None) -> CurveSet:
    """Per algorithm the ``(runs × tasks × evaluation steps)`` array of mean evaluation returns.

    Besides the checks of :func:`final_scores`, every task of an algorithm must share one evaluation step
    schedule (otherwise the tasks cannot be stacked; the error names the env and the evaluation steps it
    lacks or has in excess — select tasks with a common schedule through ``envs``).
    """
    runs = _evaluation_runs(frame, envs)
    curves: dict[str, np.ndarray] = {}
    steps: dict[str, np.ndarray] = {}
    problems: list[str] = []
    for algo in runs.algos:
        union = sorted(set().union(*(runs.grid[(algo, env)] for env in runs.tasks)))
        for env in runs.tasks:
            lacking = sorted(set(union) - set(runs.grid[(algo, env)]))
            if lacking:
                problems.append(
                    f"algo={algo} env={env}: missing evaluation steps {_fmt_steps(lacking)} "
                    f"that its other envs have"
                )
        if problems:
            continue
        array = np.empty((len(runs.seeds[algo]), len(runs.tasks), len(union)), dtype=np.float64)
        for j, env in enumerate(runs.tasks):
            for i, seed in enumerate(runs.seeds[algo]):
                array[i, j, :] = runs.means.loc[(algo, env, seed)].reindex(union).to_numpy()
        curves[algo] = array
        steps[algo] = np.asarray(union, dtype=np.int64)
    if problems:
        raise RlbenchError(f"learning curves cannot be stacked across tasks: {_listing(problems)}")
    return CurveSet(curves, list(runs.tasks), {a: list(runs.seeds[a]) for a in runs.algos}, steps)



def combine(*sets: ScoreSet) -> ScoreSet:
    """Put the algorithms of several :class:`ScoreSet` objects in one table.

    All sets must cover the same tasks (columns are reordered to the first set's order); an
    algorithm name may appear in one set only. Use it to rank in-house runs (normalised with
    :func:`normalize`) next to published agents (:func:`load_external_scores`).
    """
    if not sets:
        raise RlbenchError("combine needs at least one ScoreSet")
    tasks = list(sets[0].tasks)
    scores: dict[str, np.ndarray] = {}
    run_ids: dict[str, list[int]] = {}
    for number, item in enumerate(sets):
        if set(item.tasks) != set(tasks):
            raise RlbenchError(
                f"score set {number} has different tasks: lacks {sorted(set(tasks) - set(item.tasks))}, "
                f"extra {sorted(set(item.tasks) - set(tasks))}"
            )
        order = [item.tasks.index(t) for t in tasks]
        for algo, matrix in item.scores.items():
            if algo in scores:
                raise RlbenchError(f"algorithm {algo!r} appears in more than one score set")
            scores[algo] = matrix[:, order]
            run_ids[algo] = list(item.run_ids[algo])
    return ScoreSet(scores, tasks, run_ids)
