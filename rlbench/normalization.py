"""The normalisation table: a random score and a reference score per environment, with sources.

Normalised score = (score − random) / (reference − random). For classic control the random score
is measured by rlbench itself (a uniform random policy under the evaluation protocol) and the
reference is gymnasium's ``reward_threshold`` ("solved"); Atari uses the published random and
human scores (see ``rlbench/data/atari100k/SOURCES.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rlbench.envs import env_info, make_env
from rlbench.errors import RlbenchError
from rlbench.evaluation import evaluate
from rlbench.seeding import RunSeeds, int_seed

COLUMNS = ["env", "random", "reference", "random_source", "reference_source"]


def random_policy_score(env_name: str, episodes: int, seed: int) -> float:
    """Mean return of a uniform random policy over ``episodes`` evaluation episodes."""
    seeds = RunSeeds.from_seed(seed)
    action_space = make_env(env_name).action_space
    action_space.seed(int_seed(seeds.exploration))
    returns = [ep.episode_return for ep in evaluate(lambda obs: action_space.sample(), env_name, seeds.eval_env, 0, 0, episodes)]
    return float(np.mean(returns))


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
