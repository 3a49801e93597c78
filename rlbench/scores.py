"""Score matrices from evaluation returns, normalisation, and import of published scores.

Every statistic in :mod:`rlbench.stats` works on score *matrices* in the layout of rliable
(Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical Precipice"):

* final scores: one ``(runs × tasks)`` array per algorithm;
* learning curves: one ``(runs × tasks × checkpoints)`` array per algorithm.

This module builds those arrays and records what their axes mean (which task each column is,
which seed each row is, which environment step each checkpoint is) in :class:`ScoreSet` and
:class:`CurveSet`. It never broadcasts or drops data to make a matrix rectangular: runs of unequal
length, seeds missing on some task, or checkpoints missing from a run raise
:class:`~rlbench.errors.RlbenchError` naming exactly what is missing.

Sources of scores:

* the run store's long evaluation frame (``algo, env, seed, step, episode, return``; one row per
  evaluation episode) -> :func:`final_scores`, :func:`curve_scores`;
* published per-run scores (the Atari 100k JSON files released with rliable) ->
  :func:`load_external_scores`.

Both give :class:`ScoreSet` objects, which :func:`combine` puts in one table so in-house runs and
published agents can be compared with the same statistics.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError

__all__ = [
    "EVAL_COLUMNS",
    "TABLE_COLUMNS",
    "ScoreSet",
    "CurveSet",
    "final_scores",
    "curve_scores",
    "normalize",
    "reference_table",
    "load_external_scores",
    "combine",
    "atari100k_data_dir",
]

EVAL_COLUMNS: tuple[str, ...] = ("algo", "env", "seed", "step", "episode", "return")
"""Columns of the run store's long evaluation frame (one row per evaluation episode)."""

TABLE_COLUMNS: tuple[str, ...] = ("env", "random", "reference", "random_source", "reference_source")
"""Columns of a normalisation table: per task the random and reference score and their origin."""

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
    """Learning curves: per algorithm a ``(runs × tasks × checkpoints)`` array with labelled axes.

    ``curves[algo][i, j, k]`` is the mean evaluation return of run ``run_ids[algo][i]`` on task
    ``tasks[j]`` at environment step ``steps[algo][k]``.
    """

    curves: dict[str, np.ndarray]
    """Algorithm -> ``(runs × tasks × checkpoints)`` float array."""
    tasks: list[str]
    """Task of axis 1."""
    run_ids: dict[str, list[int]]
    """Algorithm -> run id (seed) of each row."""
    steps: dict[str, np.ndarray]
    """Algorithm -> the evaluation checkpoints (environment steps), strictly increasing."""

    def __post_init__(self) -> None:
        _check_labelled(self.curves, self.tasks, self.run_ids, ndim=3, kind="curve array")
        if set(self.steps) != set(self.curves):
            raise RlbenchError("CurveSet.steps must name exactly the algorithms of CurveSet.curves")
        for algo, array in self.curves.items():
            steps = np.asarray(self.steps[algo])
            if steps.ndim != 1 or steps.shape[0] != array.shape[2]:
                raise RlbenchError(
                    f"algorithm {algo!r}: {array.shape[2]} checkpoints but steps has shape {steps.shape}"
                )

    @property
    def algorithms(self) -> list[str]:
        """The algorithms, in insertion order."""
        return list(self.curves)

    def final(self) -> ScoreSet:
        """The scores at each run's last checkpoint, as a ScoreSet."""
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
    grid: dict[tuple[str, str], list[int]]  # (algo, env) -> checkpoints


def _integral_column(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | (numeric != np.floor(numeric))
    if bool(bad.any()):
        examples = sorted({repr(v) for v in values[bad]})[:5]
        raise RlbenchError(f"column {column!r} must hold integers; found {', '.join(examples)}")
    return numeric.astype(np.int64)


def _evaluation_runs(frame: pd.DataFrame, envs: Sequence[str] | None) -> _Runs:
    """Validate the long evaluation frame and average evaluation episodes per checkpoint."""
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

    # Runs must have equal length per task (same last checkpoint for every algorithm and seed) and
    # no checkpoint missing in between (same checkpoints for every seed of an algorithm on a task).
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
                    problems.append(f"algo={algo} env={env} seed={seed}: missing checkpoints {_fmt_steps(lacking)}")
    if problems:
        raise RlbenchError(f"incomplete runs: {_listing(problems)}")
    return _Runs(means=means, tasks=tasks, algos=algos, seeds=seeds, grid=grid)


def final_scores(frame: pd.DataFrame, envs: Sequence[str] | None = None) -> ScoreSet:
    """Per algorithm the ``(runs × tasks)`` matrix of final scores.

    A run's final score is its mean evaluation return (over the evaluation episodes) at its last
    checkpoint. Rows are seeds in increasing order (``run_ids``); columns are ``envs`` in the given
    order, or every env of the frame sorted by name.

    Raises :class:`RlbenchError` naming the algo/env/seed (and checkpoints) when an algorithm lacks
    a seed on some task, when runs on a task end at different checkpoints, or when a run misses a
    checkpoint the other seeds of its algorithm have: the matrix is never filled in silently.
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
    """Per algorithm the ``(runs × tasks × checkpoints)`` array of mean evaluation returns.

    Besides the checks of :func:`final_scores`, every task of an algorithm must share one checkpoint
    schedule (otherwise the tasks cannot be stacked; the error names the env and the checkpoints it
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
                    f"algo={algo} env={env}: missing checkpoints {_fmt_steps(lacking)} "
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


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

_S = TypeVar("_S", ScoreSet, CurveSet)


def _normalisers(tasks: Sequence[str], table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(table, pd.DataFrame):
        raise RlbenchError(f"normalisation table must be a pandas DataFrame, got {type(table).__name__}")
    missing_cols = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing_cols:
        raise RlbenchError(f"normalisation table lacks columns {missing_cols}; needs {list(TABLE_COLUMNS)}")
    envs = table["env"].astype(str)
    duplicated = sorted(set(envs[envs.duplicated()]))
    if duplicated:
        raise RlbenchError(f"normalisation table lists these envs more than once: {duplicated}")
    indexed = table.assign(env=envs).set_index("env")
    absent = [t for t in tasks if t not in indexed.index]
    if absent:
        raise RlbenchError(f"normalisation table has no random/reference score for tasks {absent}")
    random = pd.to_numeric(indexed.loc[list(tasks), "random"], errors="coerce").to_numpy(dtype=float)
    reference = pd.to_numeric(indexed.loc[list(tasks), "reference"], errors="coerce").to_numpy(dtype=float)
    bad = [t for t, r, h in zip(tasks, random, reference) if not (np.isfinite(r) and np.isfinite(h)) or r == h]
    if bad:
        raise RlbenchError(f"normalisation table needs finite random != reference scores; bad for tasks {bad}")
    return random, reference


def normalize(scores: _S, table: pd.DataFrame) -> _S:
    """Normalise every task: ``(score - random) / (reference - random)``.

    With the human score as reference this is the human-normalised score of the Atari literature
    (0 = random policy, 1 = human). ``table`` has columns ``env, random, reference, random_source,
    reference_source``; a task of ``scores`` missing from it raises :class:`RlbenchError` naming
    the task. Works on :class:`ScoreSet` (task axis 1 of ``runs × tasks``) and :class:`CurveSet`
    (task axis 1 of ``runs × tasks × checkpoints``) alike and returns the same type.
    """
    random, reference = _normalisers(scores.tasks, table)
    if isinstance(scores, ScoreSet):
        return ScoreSet(
            {a: (m - random) / (reference - random) for a, m in scores.scores.items()},
            list(scores.tasks),
            {a: list(r) for a, r in scores.run_ids.items()},
        )
    if isinstance(scores, CurveSet):
        r3, h3 = random[None, :, None], reference[None, :, None]
        return CurveSet(
            {a: (c - r3) / (h3 - r3) for a, c in scores.curves.items()},
            list(scores.tasks),
            {a: list(r) for a, r in scores.run_ids.items()},
            {a: np.array(s) for a, s in scores.steps.items()},
        )
    raise RlbenchError(f"normalize expects a ScoreSet or CurveSet, got {type(scores).__name__}")


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise RlbenchError(f"score file not found: {path}") from None
    except (OSError, ValueError) as error:
        raise RlbenchError(f"cannot read score file {path}: {error}") from None


def _single_scores(source: PathLike | Mapping[str, Any], what: str) -> tuple[dict[str, float], str]:
    """Read a ``{game: score}`` or ``{game: [score]}`` mapping (file or in-memory)."""
    if isinstance(source, Mapping):
        raw, origin = dict(source), "given"
    else:
        path = Path(source)
        raw, origin = _read_json(path), path.name
        if not isinstance(raw, Mapping):
            raise RlbenchError(f"{what} score file {path} must hold a JSON object {{game: score}}")
    values: dict[str, float] = {}
    for game, value in raw.items():
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise RlbenchError(f"{what} score of {game!r} in {origin} must be one number, got {len(value)}")
            value = value[0]
        try:
            values[str(game)] = float(value)
        except (TypeError, ValueError):
            raise RlbenchError(f"{what} score of {game!r} in {origin} is not a number: {value!r}") from None
    return values, origin


def reference_table(human: PathLike | Mapping[str, Any], random: PathLike | Mapping[str, Any]) -> pd.DataFrame:
    """Normalisation table (columns :data:`TABLE_COLUMNS`) from reference and random scores.

    ``human`` and ``random`` are JSON files (or mappings) ``{game: score}`` or ``{game: [score]}``
    as published with the Atari 100k results. The games of the two must agree.
    """
    ref, ref_origin = _single_scores(human, "reference")
    rnd, rnd_origin = _single_scores(random, "random")
    if set(ref) != set(rnd):
        raise RlbenchError(
            f"reference and random scores cover different games: only reference {sorted(set(ref) - set(rnd))}, "
            f"only random {sorted(set(rnd) - set(ref))}"
        )
    games = sorted(ref)
    return pd.DataFrame(
        {
            "env": games,
            "random": [rnd[g] for g in games],
            "reference": [ref[g] for g in games],
            "random_source": [rnd_origin] * len(games),
            "reference_source": [ref_origin] * len(games),
        }
    )


# --------------------------------------------------------------------------------------------
# Published (external) scores
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _External:
    name: str
    origin: str
    by_game: dict[str, np.ndarray]
    run_ids: list[int]
    normalised: bool


def _parse_external(path: Path, name: str) -> _External:
    data = _read_json(path)
    origin = path.name
    if isinstance(data, Mapping):
        # {game: [raw score of run 0, run 1, ...]}; published files carry no seed ids, so the
        # runs are numbered by position.
        by_game: dict[str, np.ndarray] = {}
        for game, values in data.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise RlbenchError(f"{origin}: scores of {game!r} must be a non-empty list of numbers")
            try:
                by_game[str(game)] = np.asarray([float(v) for v in values], dtype=np.float64)
            except (TypeError, ValueError):
                raise RlbenchError(f"{origin}: scores of {game!r} are not all numbers") from None
        counts = {g: len(v) for g, v in by_game.items()}
        if len(set(counts.values())) > 1:
            common = max(set(counts.values()), key=list(counts.values()).count)
            odd = sorted(f"{g} ({n})" for g, n in counts.items() if n != common)
            raise RlbenchError(f"{origin}: games have different numbers of runs; most have {common}, but {odd}")
        n_runs = next(iter(counts.values()), 0)
        return _External(name, origin, by_game, list(range(n_runs)), normalised=False)
    if isinstance(data, list):
        # Records {game, seed, HNS | score}: HNS is already human-normalised (CURL release).
        if not data or not all(isinstance(r, Mapping) for r in data):
            raise RlbenchError(f"{origin}: a list of score records must hold JSON objects")
        keys = set(data[0])
        if "HNS" in keys:
            value_key, normalised = "HNS", True
        elif "score" in keys:
            value_key, normalised = "score", False
        else:
            raise RlbenchError(f"{origin}: score records need a 'HNS' or a 'score' field; have {sorted(keys)}")
        table: dict[str, dict[int, float]] = {}
        for record in data:
            try:
                game, seed, value = str(record["game"]), float(record["seed"]), float(record[value_key])
            except (KeyError, TypeError, ValueError):
                raise RlbenchError(f"{origin}: bad record {record!r} (needs game, seed, {value_key})") from None
            if seed != math.floor(seed):
                raise RlbenchError(f"{origin}: seed {seed} of {game!r} is not an integer")
            runs = table.setdefault(game, {})
            if int(seed) in runs:
                raise RlbenchError(f"{origin}: game {game!r} has seed {int(seed)} more than once")
            runs[int(seed)] = value
        all_seeds = sorted(set().union(*(set(r) for r in table.values())))
        problems = [
            f"{g} lacks seeds {sorted(set(all_seeds) - set(r))}" for g, r in sorted(table.items()) if set(r) != set(all_seeds)
        ]
        if problems:
            raise RlbenchError(f"{origin}: seeds differ between games: {_listing(problems)}")
        by_game = {g: np.asarray([r[s] for s in all_seeds], dtype=np.float64) for g, r in table.items()}
        return _External(name, origin, by_game, all_seeds, normalised=normalised)
    raise RlbenchError(f"{origin}: expected a JSON object {{game: [scores]}} or a list of records")


def _external_files(
    sources: PathLike | Iterable[PathLike], exclude: Iterable[PathLike | Mapping[str, Any]]
) -> list[Path]:
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    skip = {Path(e).resolve() for e in exclude if isinstance(e, (str, os.PathLike))}
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files.extend(p for p in sorted(path.glob("*.json")) if p.resolve() not in skip)
        elif path.is_file():
            files.append(path)
        else:
            raise RlbenchError(f"score source not found: {path}")
    if not files:
        raise RlbenchError("no external score files found")
    return files


def load_external_scores(
    sources: PathLike | Iterable[PathLike],
    human: PathLike | Mapping[str, Any],
    random: PathLike | Mapping[str, Any],
    names: Mapping[str, str] | None = None,
) -> ScoreSet:
    """Load published per-run scores and human-normalise them into one :class:`ScoreSet`.

    ``sources`` is a directory (every ``*.json`` in it except the ``human``/``random`` files) or
    files. Supported file shapes:

    * ``{game: [raw score per run, ...]}`` (the Atari 100k releases of Agarwal et al. 2021); runs
      are numbered ``0..n-1`` by position;
    * ``[{game, seed, HNS, ...}, ...]`` records already human-normalised (the CURL release; the
      ``HNS`` field is used as is);
    * ``[{game, seed, score}, ...]`` records of raw scores (e.g. in-house runs exported later).

    Raw scores are normalised with :func:`normalize` and :func:`reference_table` ``(human,
    random)``. Each file is one algorithm, named by the file stem (``DER.json`` -> ``DER``), or
    ``names[stem]`` when given (``{"CURL_10_evals": "CURL"}``). All files must cover the same games
    (the error names the games each file lacks). Columns are the games sorted by name; combine the
    result with in-house scores through :func:`combine`.
    """
    files = _external_files(sources, [human, random])
    names = dict(names or {})
    unknown = sorted(set(names) - {p.stem for p in files})
    if unknown:
        raise RlbenchError(f"names given for score files that were not loaded: {unknown}")
    loaded = [_parse_external(p, names.get(p.stem, p.stem)) for p in files]
    seen: dict[str, str] = {}
    for item in loaded:
        if item.name in seen:
            raise RlbenchError(f"algorithm {item.name!r} comes from both {seen[item.name]} and {item.origin}")
        seen[item.name] = item.origin

    games = sorted(set().union(*(set(item.by_game) for item in loaded)))
    problems = [
        f"{item.origin} lacks {sorted(set(games) - set(item.by_game))}"
        for item in loaded
        if set(item.by_game) != set(games)
    ]
    if problems:
        raise RlbenchError(f"score files cover different games: {_listing(problems)}")

    table = reference_table(human, random)
    raw = ScoreSet(
        {i.name: np.stack([i.by_game[g] for g in games], axis=1) for i in loaded if not i.normalised},
        games,
        {i.name: list(i.run_ids) for i in loaded if not i.normalised},
    )
    normalised = normalize(raw, table) if raw.scores else raw
    scores: dict[str, np.ndarray] = {}
    run_ids: dict[str, list[int]] = {}
    for item in loaded:
        if item.normalised:
            scores[item.name] = np.stack([item.by_game[g] for g in games], axis=1)
        else:
            scores[item.name] = normalised.scores[item.name]
        run_ids[item.name] = list(item.run_ids)
    return ScoreSet(scores, games, run_ids)


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


def atari100k_data_dir() -> Path:
    """Directory of the packaged Atari 100k published score files (see its ``SOURCES.md``)."""
    return Path(__file__).resolve().parent / "data" / "atari100k"
