"""Published numbers next to ours, each with a reproduction verdict from a test that matches what was published.

The published table (``rlbench/data/published_results.csv``, sources in ``PUBLISHED_SOURCES.md``) holds two kinds
of numbers: one trained run (``seeds`` = 1; rl-baselines3-zoo, whose ``±`` is the spread over evaluation episodes
of that run) and means over seeds with the standard deviation across them (CleanRL). The first is tested against
the spread of our single runs, the second against our mean (:mod:`rlbench.stats.reproduction`), with an
equivalence margin of :data:`~rlbench.reporting.policy.MEANINGFUL_DIFFERENCE` normalised score.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files

import numpy as np
import pandas as pd

from rlbench.reporting.policy import MEANINGFUL_DIFFERENCE
from rlbench.stats.reproduction import ALPHA, mean_verdict, single_run_verdict

PUBLISHED_MATCH: dict[str, tuple[str, ...]] = {"SB3 DQN": ("sb3_dqn", "dqn"), "SB3 A2C": ("sb3_a2c",),
                                               "SB3 PPO": ("sb3_ppo",), "CleanRL dqn.py": ("dqn_cleanrl",)}
"""Which of our algorithms a published row speaks about (published name -> params algo keys). The in-house
``dqn`` runs rl-baselines3-zoo's DQN settings, so SB3's published DQN is its reference too."""

ENV_SUCCESSORS: dict[str, str] = {"LunarLander-v2": "LunarLander-v3"}
"""Published environments that gymnasium has since replaced, and the version we train instead (gymnasium 1.0
removed LunarLander-v2; v3 fixed bugs in its physics and reset): the verdict is given, and ``differs_in`` says so."""

COLUMNS = ["env", "published", "published_steps", "published_statistic", "published_protocol", "ours", "our_steps",
           "our_seeds", "our_statistic", "difference", "difference_lower", "difference_upper", "margin", "verdict", "test",
           "differs_in"]
"""Columns of the published-vs-ours table."""

OUR_PROTOCOL = "greedy/deterministic evaluation episodes at the budget"


def published_results() -> pd.DataFrame:
    """The published reference numbers shipped with rlbench (sources in PUBLISHED_SOURCES.md)."""
    return pd.read_csv(files("rlbench") / "data" / "published_results.csv")


DIFFERENT_BUDGET = "not tested: other budget"
"""The verdict of a published cell trained for a different number of steps than ours: a number reached at another
budget is neither reproduced nor refuted by ours (the difference and its interval are still shown)."""


def published_steps(record: object) -> int | None:
    """The published budget in steps, or None where it is not a plain step count (e.g. "50000000 frames")."""
    return int(record.timesteps) if str(record.timesteps).isdigit() else None


def _differences(record: object, our_steps: int) -> str:
    """What differs between the published setting and ours, besides the seeds."""
    notes = []
    steps = published_steps(record)
    if steps is not None and steps != our_steps:
        notes.append(f"budget {steps:,} vs ours {our_steps:,} steps")
    ours = ENV_SUCCESSORS.get(record.env_id)
    if ours is not None:
        notes.append(f"published on {record.env_id}, ours on {ours}")
    if "training returns" in str(record.protocol):
        notes.append(f"training returns with exploration vs our {OUR_PROTOCOL}")
    return "; ".join(notes) or "same budget and protocol kind"


def published_label(record: object) -> str:
    """How a published cell's source is named in the tables: its algorithm and who published it."""
    return f"{record.algorithm} ({record.source})"


def published_statistic(record: object) -> str:
    """What a published cell is, in words: one run (its ± over evaluation episodes) or a mean over seeds."""
    if int(record.seeds) == 1:
        return f"one run: {record.score} (± {record.score_err}: {record.statistic.split(' over ')[-1]})"
    return f"mean of {int(record.seeds)} seeds: {record.score} (std {record.score_err})"


def published_vs_ours(
    published: pd.DataFrame, final_returns: Mapping[str, Mapping[str, np.ndarray]], normalization: pd.DataFrame,
    budgets: Mapping[str, int],
) -> pd.DataFrame:
    """Every published cell that matches one of our (algorithm, environment) pairs, with its verdict.

    ``final_returns[algo][env]`` are our runs' raw final returns; ``normalization`` gives each environment's
    random and reference score (the margin is :data:`MEANINGFUL_DIFFERENCE` of their distance); ``budgets`` our
    training steps per environment. Published rows with one seed are tested as one run, rows with more as a mean
    over seeds; the compared statistics are written next to the verdict.
    """
    scale = normalization.assign(env=normalization["env"].astype(str)).set_index("env")
    rows = []
    for record in published.itertuples(index=False):
        env = ENV_SUCCESSORS.get(record.env_id, record.env_id)
        for algo in PUBLISHED_MATCH.get(record.algorithm, ()):
            ours = final_returns.get(algo, {}).get(env)
            if ours is None or env not in scale.index or len(ours) < 2:
                continue
            margin = MEANINGFUL_DIFFERENCE * abs(float(scale.loc[env, "reference"]) - float(scale.loc[env, "random"]))
            seeds = int(record.seeds)
            if seeds == 1:
                verdict = single_run_verdict(ours, float(record.score), margin)
            else:
                verdict = mean_verdict(ours, float(record.score), float(record.score_err), seeds, margin)
            statistic = published_statistic(record)
            outcome = verdict.outcome if published_steps(record) == budgets[env] else DIFFERENT_BUDGET
            rows.append({
                "env": env, "published": published_label(record),
                "published_steps": record.timesteps, "published_statistic": statistic,
                "published_protocol": record.protocol, "ours": algo, "our_steps": budgets[env], "our_seeds": len(ours),
                "our_statistic": f"mean of {len(ours)} seeds: {np.mean(ours):.2f} (std {np.std(ours, ddof=1):.2f})",
                "difference": verdict.difference.point, "difference_lower": verdict.difference.lower,
                "difference_upper": verdict.difference.upper, "margin": verdict.margin, "verdict": outcome,
                "test": verdict.test, "differs_in": _differences(record, budgets[env]),
            })
    return pd.DataFrame(rows, columns=COLUMNS)


VERDICT_RULE = (
    f"`difference` = our mean minus the published number, with its {100 * (1 - 2 * ALPHA):.0f}% interval "
    f"(two one-sided tests at {ALPHA}); `margin` = {MEANINGFUL_DIFFERENCE} × (reference − random) of the "
    "environment. **reproduced**: the interval lies within ± margin; **not reproduced**: it lies wholly outside; "
    "**inconclusive**: otherwise; **not tested: other budget** where the published number was reached after a "
    "different number of steps than ours (the `reproduce-*` suites train at the published budgets). A published "
    "single run (seeds = 1; its ± is over evaluation episodes of that one run, not over seeds) is compared with the "
    "spread of our single runs (t prediction interval); a published mean over seeds with our mean (Welch). "
    "`differs_in` lists the budget, protocol and environment-version differences."
)
"""How the verdicts are reached, in words."""

__all__ = ["COLUMNS", "DIFFERENT_BUDGET", "ENV_SUCCESSORS", "PUBLISHED_MATCH", "VERDICT_RULE", "published_label",
           "published_results", "published_statistic", "published_steps", "published_vs_ours"]


ATARI100K_NOTE = (
    "Published Atari 100k agents (per-run scores of Agarwal et al. 2021's release, `rlbench/data/atari100k/`) "
    "at 100k agent steps, beside ours; all human-normalised with the same human and random scores. Their "
    "protocols differ from ours (most use no sticky actions and report the mean over their own evaluation "
    "episodes; see the sources), so this is a placement, not a test."
)


def atari100k_beside(per_env: pd.DataFrame, games: Mapping[str, str], published: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Per Atari game of the suite: our algorithms' mean human-normalised final score (``per_env``'s
    ``normalized_mean``) and the published agents' mean over their runs (``published[agent]``: per game).

    ``games`` maps each of the suite's Atari environments to its game; rows follow its order, columns are
    ``env, game, <our algos...>, <published agents...>``."""
    rows = []
    for env, game in games.items():
        ours = per_env[per_env["env"] == env].set_index("algo")["normalized_mean"]
        rows.append({"env": env, "game": game, **ours.to_dict(),
                     **{agent: float(means.get(game, np.nan)) for agent, means in published.items()}})
    return pd.DataFrame(rows)
