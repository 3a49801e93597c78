"""Normalised scores: (score − random) / (reference − random), per task, with the table that holds them.

A normalisation table has the columns :data:`COLUMNS`: per task a random and a reference score and
where each comes from. For classic control the random score is measured by rlbench itself (a
uniform random policy under the evaluation protocol) and the reference is gymnasium's
``reward_threshold`` ("solved"); Atari uses the published random and human scores
(:func:`rlbench.scores.external.reference_table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from rlbench.config.params import SuiteConfig
from rlbench.envs.registry import env_info
from rlbench.errors import RlbenchError
from rlbench.scores.matrices import CurveSet, ScoreSet
from rlbench.storage.files import read_csv_checked, write_csv_atomic
from rlbench.training.evaluation import random_policy_score

COLUMNS: list[str] = ["env", "random", "reference", "random_source", "reference_source"]
"""Columns of a normalisation table (the one definition)."""

_S = TypeVar("_S", ScoreSet, CurveSet)


def _normalisers(tasks: Sequence[str], table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(table, pd.DataFrame):
        raise RlbenchError(f"normalisation table must be a pandas DataFrame, got {type(table).__name__}")
    missing_cols = [c for c in COLUMNS if c not in table.columns]
    if missing_cols:
        raise RlbenchError(f"normalisation table lacks columns {missing_cols}; needs {list(COLUMNS)}")
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
    (task axis 1 of ``runs × tasks × evaluation steps``) alike and returns the same type.
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


def normalization_table(envs: Sequence[str], episodes: int, seed: int) -> pd.DataFrame:
    """Measured random scores and gymnasium's solved thresholds for ``envs``."""
    rows = []
    for name in envs:
        info = env_info(name)
        if info["reward_threshold"] is None:
            raise RlbenchError(f"{name} has no gymnasium reward_threshold to normalise against")
        rows.append({
            "env": name,
            "random": round(random_policy_score(name, episodes, seed), 4),
            "reference": float(info["reward_threshold"]),
            "random_source": f"rlbench: uniform random policy, mean of {episodes} evaluation episodes, seed {seed}",
            "reference_source": f"gymnasium {info['gymnasium_version']} reward_threshold (solved) of {info['gym_id']}",
        })
    return pd.DataFrame(rows, columns=COLUMNS)


NORMALIZATION_EPISODES = 100
"""Episodes of the uniform random policy behind each environment's random score."""


def normalization_path(results: Path | str, suite: str) -> Path:
    return Path(results) / suite / "normalization.csv"


def write_normalization(suite: SuiteConfig, results: Path | str, seed: int) -> Path:
    """Measure and write the suite's normalisation table (the normalisation stage)."""
    table = normalization_table(suite.envs, NORMALIZATION_EPISODES, seed)
    return write_csv_atomic(normalization_path(results, suite.name), table, float_format="%.4f")


def read_normalization(results: Path | str, suite: str) -> pd.DataFrame:
    return read_csv_checked(normalization_path(results, suite), "normalisation table",
                            f"run `dvc repro normalization@{suite}` or `rlbench report {suite}`", COLUMNS)
