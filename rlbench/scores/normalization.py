"""Normalised scores: (score − random) / (reference − random), per task, with the table that holds them.

A normalisation table has the columns :data:`COLUMNS`: per task a random and a reference score, what the
reference is (``reference_kind``), whether normalised scores above the reference are clipped to 1
(``clip``), the solved threshold where one exists, and where each number comes from. The random score is measured
by rlbench itself (a uniform random policy under the evaluation protocol), except on Atari (the published random
score). The reference follows :data:`REFERENCE_POLICY`, one rule per family, so that a suite either clips every
environment or none (:func:`check_one_rule`) and a normalised score of 1 means one thing across a suite:

* classic control: gymnasium's ``reward_threshold`` ("solved") for every task (CartPole-v1 included: 475, not its
  best achievable 500), clipped at 1, so 1 = solved and the fraction at the reference is the solved fraction;
  beating a threshold by a margin cannot reorder algorithms that all solved the task. The best achievable return
  (``rlbench/data/best_achievable.csv``) is then only a plausibility bound: a threshold above it is an error;
* a grid maze: its optimal expected return from the start, by value iteration
  (:meth:`rlbench.envs.maze.MazeEnv.optimal_return`); glimpse classification: accuracy 1 (best achievable);
  nothing can exceed either, nothing is clipped;
* Atari: the published human score (:func:`reference_table`, :func:`atari_references`), unclipped;
* MinAtar: the MinAtar paper's DQN after its full 5M-frame training (:func:`minatar_references`,
  ``rlbench/data/minatar_reference.csv``), unclipped: a reference from outside the data being compared, so it
  does not move when an algorithm joins or leaves the suite.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from rlbench.config.params import SuiteConfig
from rlbench.envs.registry import env_info, make_env
from rlbench.errors import RlbenchError
from rlbench.scores.matrices import CurveSet, ScoreSet
from rlbench.storage.files import read_csv_checked, write_csv_atomic
from rlbench.training.evaluation import random_policy_score

COLUMNS: list[str] = ["env", "random", "reference", "reference_kind", "clip", "solved", "random_source",
                      "reference_source"]
"""Columns of a normalisation table (the one definition). :func:`normalize` needs ``env, random, reference``;
``clip`` (bool, default False) clips normalised scores at 1; ``solved`` is the raw solved threshold (NaN where
there is none)."""

BEST_ACHIEVABLE = "best achievable"
SOLVED_THRESHOLD = "solved threshold"
HUMAN = "human"
PAPER_DQN = "MinAtar paper DQN (5M frames)"

REFERENCE_POLICY = (
    "one rule per suite, either every environment clipped at 1 or none. Classic control: the reference "
    "(normalised score 1) is gymnasium's solved threshold (reward_threshold; CartPole-v1: 475, Acrobot-v1: -100, "
    "MountainCar-v0: -110, LunarLander-v3: 200) for every task, with normalised scores above it clipped to 1, so 1 "
    "= solved everywhere and the fraction of runs at 1 is the solved fraction. Not clipped: a maze (the optimal "
    "return by value iteration), glimpse classification (accuracy 1), Atari (the published human score, "
    "human-normalised) and MinAtar (the MinAtar paper's DQN after its full 5M-frame training, read from its "
    "learning curves to about ±0.5: 1 = that DQN, a reference from outside the compared runs; the paper's 200k-frame "
    "values are barely above random and are not used). 0 is the uniform random policy (Atari: the published random "
    "score)"
)
"""The normalisation policy, in words (the reports quote it)."""

_S = TypeVar("_S", ScoreSet, CurveSet)
PathLike = str | os.PathLike[str]


def _normalisers(tasks: Sequence[str], table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(table, pd.DataFrame):
        raise RlbenchError(f"normalisation table must be a pandas DataFrame, got {type(table).__name__}")
    missing_cols = [c for c in ("env", "random", "reference") if c not in table.columns]
    if missing_cols:
        raise RlbenchError(f"normalisation table lacks columns {missing_cols}; needs env, random, reference")
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
    if "clip" in indexed.columns:
        clip_values = indexed.loc[list(tasks), "clip"]
        odd = [t for t, v in zip(tasks, clip_values) if not isinstance(v, (bool, np.bool_))]
        if odd:
            raise RlbenchError(f"normalisation table's clip column must hold True/False; bad for tasks {odd}")
        clip = clip_values.to_numpy(dtype=bool)
    else:
        clip = np.zeros(len(tasks), dtype=bool)
    return random, reference, clip


def _scaled(values: np.ndarray, random: np.ndarray, reference: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """``(values - random) / (reference - random)``, capped at 1 where ``clip``; the task axis is axis 1."""
    shape = (1, -1) + (1,) * (values.ndim - 2)
    scaled = (values - random.reshape(shape)) / (reference - random).reshape(shape)
    return np.where(clip.reshape(shape), np.minimum(scaled, 1.0), scaled)


def normalize(scores: _S, table: pd.DataFrame) -> _S:
    """Normalise every task: ``(score - random) / (reference - random)``, clipped at 1 where the table says so.

    With the human score as reference this is the human-normalised score of the Atari literature
    (0 = random policy, 1 = human). ``table`` has at least the columns ``env, random, reference``; where
    its ``clip`` column is True the normalised score is ``min(score, 1)`` (a solved threshold as reference:
    exceeding it is not rewarded). A task of ``scores`` missing from it raises :class:`RlbenchError`
    naming the task. Works on :class:`ScoreSet` (task axis 1 of ``runs × tasks``) and :class:`CurveSet`
    (task axis 1 of ``runs × tasks × evaluation steps``) alike and returns the same type.
    """
    random, reference, clip = _normalisers(scores.tasks, table)
    if isinstance(scores, ScoreSet):
        return ScoreSet(
            {a: _scaled(m, random, reference, clip) for a, m in scores.scores.items()},
            list(scores.tasks),
            {a: list(r) for a, r in scores.run_ids.items()},
        )
    if isinstance(scores, CurveSet):
        return CurveSet(
            {a: _scaled(c, random, reference, clip) for a, c in scores.curves.items()},
            list(scores.tasks),
            {a: list(r) for a, r in scores.run_ids.items()},
            {a: np.array(s) for a, s in scores.steps.items()},
        )
    raise RlbenchError(f"normalize expects a ScoreSet or CurveSet, got {type(scores).__name__}")


def best_achievable() -> pd.DataFrame:
    """The best achievable returns rlbench knows (``rlbench/data/best_achievable.csv``: ``env, best, source``)."""
    return pd.read_csv(files("rlbench") / "data" / "best_achievable.csv")


def reference_row(env: str, solved: float | None, best: pd.DataFrame, solved_source: str) -> dict[str, object]:
    """The reference of one environment under :data:`REFERENCE_POLICY`.

    ``best`` is :func:`best_achievable` (or the optimal return of a maze); ``solved`` the solved threshold (None
    where there is none). The solved threshold is the reference wherever there is one, clipped at 1; a best
    achievable return listed for the same environment is then a plausibility bound (a threshold above it raises).
    Without a threshold the best achievable return is the reference (nothing can exceed it, nothing is clipped).
    """
    known = best[best["env"] == env]
    solved_value = float(solved) if solved is not None else np.nan
    if solved is not None:
        source = solved_source
        if not known.empty:
            bound = float(known.iloc[0]["best"])
            if solved_value > bound:
                raise RlbenchError(f"{env}: solved threshold {solved_value:g} exceeds the best achievable return "
                                   f"{bound:g} ({known.iloc[0]['source']})")
            source += f" (at most {bound:g}, the best achievable return)"
        return {"reference": solved_value, "reference_kind": SOLVED_THRESHOLD, "clip": True, "solved": solved_value,
                "reference_source": source}
    if known.empty:
        raise RlbenchError(f"{env} has neither a best achievable return nor a solved threshold to normalise against")
    return {"reference": float(known.iloc[0]["best"]), "reference_kind": BEST_ACHIEVABLE, "clip": False,
            "solved": solved_value, "reference_source": f"best achievable return: {known.iloc[0]['source']}"}


def minatar_references(envs: Sequence[str]) -> pd.DataFrame:
    """The MinAtar paper's DQN at 5M frames for ``envs`` (``rlbench/data/minatar_reference.csv``): columns
    ``env, reference, reference_kind, clip, solved, reference_source``, unclipped, no solved threshold.

    The numbers were read from the learning-curve image of the MinAtar repository (30 runs, moving average of
    training returns over 100 episodes; good to about ±0.5): a place to put our scores against, not a target for a
    reproduction verdict. The source, its precision and its protocol go into ``reference_source``.
    """
    data = pd.read_csv(files("rlbench") / "data" / "minatar_reference.csv")
    data = data[data["frames"] == 5_000_000].set_index("env_id")
    absent = sorted(set(envs) - set(data.index))
    if absent:
        raise RlbenchError(f"no MinAtar paper DQN reference for {absent} in rlbench/data/minatar_reference.csv")
    rows = []
    for env in envs:
        row = data.loc[env]
        rows.append({"env": env, "reference": float(row["score"]), "reference_kind": PAPER_DQN, "clip": False,
                     "solved": np.nan,
                     "reference_source": (f"{row['source']}, {row['source_path']}: {row['algorithm']} at "
                                          f"{int(row['frames']):,} frames, {row['statistic']} ({int(row['runs'])} "
                                          f"runs; {row['protocol']}); {row['precision']}")})
    return pd.DataFrame(rows)


def check_one_rule(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` unchanged when it clips every environment or none; a suite mixing the two raises (a normalised
    score of 1 would then mean "solved" on some tasks and "the reference, exceedable" on others)."""
    clips = {bool(value) for value in table["clip"]}
    if len(clips) > 1:
        clipped = sorted(table.loc[table["clip"].astype(bool), "env"])
        raise RlbenchError(f"a suite must clip every environment at its reference or none; only {clipped} are clipped")
    return table


def clip_rule(table: pd.DataFrame) -> str:
    """The suite's clipping rule in words (one sentence), from its normalisation table."""
    if table.empty:
        return ""
    clipped = table["clip"].astype(bool)
    if clipped.all() and set(table["reference_kind"]) == {SOLVED_THRESHOLD}:
        return ("Rule of this suite: every environment's reference is its solved threshold and normalised scores "
                "above 1 are clipped to 1, so 1 = solved on every task and the fraction at the reference is the "
                "fraction of runs that end solved.")
    if clipped.all():
        return "Rule of this suite: normalised scores above 1 are clipped to 1 on every environment."
    if not clipped.any():
        return ("Rule of this suite: no score is clipped; a normalised score above 1 beats the reference by that "
                "margin.")
    return "Rule of this suite: mixed (some environments clipped, some not): 1 does not mean one thing here."

def optimal_return(env: str) -> float | None:
    """The optimal expected return of ``env`` where its model is known (a maze), else None."""
    environment = make_env(env, evaluation=True)
    try:
        solve = getattr(environment.unwrapped, "optimal_return", None)
        return float(solve()) if solve is not None else None
    finally:
        environment.close()


def normalization_table(envs: Sequence[str], episodes: int, seed: int) -> pd.DataFrame:
    """Measured random scores and the references of :data:`REFERENCE_POLICY` for ``envs``; one clipping rule for
    all of them (:func:`check_one_rule`)."""
    best = best_achievable()
    infos = {name: env_info(name) for name in envs}
    atari = [name for name, info in infos.items() if info["family"] == "atari"]
    published = atari_references(atari).set_index("env") if atari else None
    random_source = f"rlbench: uniform random policy, mean of {episodes} evaluation episodes, seed {seed}"
    rows = []
    for name, info in infos.items():
        if published is not None and name in published.index:
            rows.append({"env": name, **published.loc[name].to_dict()})
            continue
        measured = {"env": name, "random": round(random_policy_score(name, episodes, seed), 4),
                    "random_source": random_source}
        if info["family"] == "minatar":
            rows.append({**measured, **minatar_references([name]).iloc[0].to_dict()})
            continue
        optimal = optimal_return(name)
        source = "optimal expected return from the start: value iteration on the environment's exact model (rlbench.planning)"
        known = best if optimal is None else pd.DataFrame([{"env": name, "best": round(optimal, 4), "source": source}])
        rows.append({**measured,
                     **reference_row(name, info["reward_threshold"], known,
                                     f"gymnasium {info['gymnasium_version']} reward_threshold (solved) of {info['gym_id']}")})
    return check_one_rule(pd.DataFrame(rows, columns=COLUMNS))


def read_json(path: Path) -> Any:
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
        raw, origin = read_json(path), path.name
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
    """Normalisation table (columns :data:`~rlbench.scores.normalization.COLUMNS`) from reference and random
    scores: human-normalised, unclipped, no solved threshold.

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
            "reference_kind": [HUMAN] * len(games),
            "clip": [False] * len(games),
            "solved": [np.nan] * len(games),
            "random_source": [rnd_origin] * len(games),
            "reference_source": [ref_origin] * len(games),
        },
        columns=COLUMNS,
    )


def atari_references(envs: Sequence[str]) -> pd.DataFrame:
    """Human and random scores of the Atari games behind ``envs`` (``Atari-<Game>-v0``), from the tables published
    with the Atari 100k results (``rlbench/data/atari100k/HUMAN.json``, ``RANDOM.json``; see its SOURCES.md)."""
    data = files("rlbench") / "data" / "atari100k"
    table = reference_table(Path(str(data / "HUMAN.json")), Path(str(data / "RANDOM.json")))
    games = {env: env_info(env)["make_kwargs"]["game"] for env in envs}
    absent = sorted(env for env, game in games.items() if game not in set(table["env"]))
    if absent:
        raise RlbenchError(f"no published human and random scores for {absent}")
    rows = table.set_index("env").loc[list(games.values())].reset_index(drop=True)
    rows.insert(0, "env", list(games))
    rows["random_source"] = rows["random_source"] + " (Atari 100k release)"
    rows["reference_source"] = rows["reference_source"] + " (Atari 100k release)"
    return rows[COLUMNS]


NORMALIZATION_EPISODES = 100
"""Episodes of the uniform random policy behind each environment's random score."""


def normalization_path(results: Path | str, suite: str) -> Path:
    return Path(results) / suite / "normalization.csv"


def write_normalization(suite: SuiteConfig, results: Path | str, seed: int) -> Path:
    """Measure and write the suite's normalisation table (the normalisation stage)."""
    table = normalization_table(suite.envs, NORMALIZATION_EPISODES, seed)
    return write_csv_atomic(normalization_path(results, suite.name), table, float_format="%.4f")


def read_normalization(results: Path | str, suite: str) -> pd.DataFrame:
    """The suite's normalisation table; one written before the reference policy names the way to rewrite it."""
    path = normalization_path(results, suite)
    redo = f"run `dvc repro normalization@{suite}` (published suites) or delete {path} and run `rlbench report {suite}`"
    try:
        return read_csv_checked(path, "normalisation table", redo, COLUMNS)
    except RlbenchError as error:
        if path.is_file():
            raise RlbenchError(f"{error}; {redo}") from None
        raise
