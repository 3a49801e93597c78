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
* Atari: the published human score (:func:`rlbench.scores.external.reference_table`,
  :func:`rlbench.references.measured.atari_references`), unclipped;
* MinAtar: the MinAtar paper's DQN after its full 5M-frame training (:func:`minatar_references`,
  ``rlbench/data/minatar_reference.csv``), unclipped: a reference from outside the data being compared, so it
  does not move when an algorithm joins or leaves the suite.

This module is the arithmetic and the policy only; the table of a suite's environments, with the random policy's
measured scores (environment rollouts), is built by :mod:`rlbench.references.measured`, and the published JSON
score files are read by :mod:`rlbench.scores.external`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError
from rlbench.scores.matrices import CurveSet, ScoreSet
from rlbench.storage.files import read_csv_checked

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

def normalization_path(results: Path | str, suite: str) -> Path:
    return Path(results) / suite / "normalization.csv"


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
