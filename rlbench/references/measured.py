"""What normalising a suite's scores needs measured: the random policy's score on each environment (rollouts under
the evaluation protocol), a maze's optimal return (value iteration), and each environment family's reference
(:data:`rlbench.scores.normalization.REFERENCE_POLICY`), gathered into the suite's normalisation table.

Kept apart from :mod:`rlbench.scores` (pure arithmetic on score tables) because it runs environments and the
evaluation loop: the normalisation stage (``pipelines/normalization.py``) and ``rlbench report`` call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import pandas as pd

from rlbench.config.params import SuiteConfig
from rlbench.envs.registry import env_info, make_env
from rlbench.errors import RlbenchError
from rlbench.scores.external import reference_table
from rlbench.scores.normalization import (
    COLUMNS,
    best_achievable,
    check_one_rule,
    minatar_references,
    normalization_path,
    reference_row,
)
from rlbench.storage.files import write_csv_atomic
from rlbench.training.evaluation import random_policy_score


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


def write_normalization(suite: SuiteConfig, results: Path | str, seed: int) -> Path:
    """Measure and write the suite's normalisation table (the normalisation stage)."""
    table = normalization_table(suite.envs, NORMALIZATION_EPISODES, seed)
    return write_csv_atomic(normalization_path(results, suite.name), table, float_format="%.4f")
