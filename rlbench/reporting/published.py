"""Published numbers next to ours, each with the test that matches what was published and what it measured.

The published table (``rlbench/data/published_results.csv``, sources in ``PUBLISHED_SOURCES.md``) holds two kinds
of numbers: one trained run (``seeds`` = 1; rl-baselines3-zoo, whose ``±`` is the spread over evaluation episodes
of that run) and means over seeds with the standard deviation across them (CleanRL). A mean over seeds gets an
equivalence test (TOST) with a margin of :data:`~rlbench.reporting.policy.MEANINGFUL_DIFFERENCE` normalised score:
reproduced, not reproduced or inconclusive. A single run can only be consistent or inconsistent with the spread of
our single runs (a single-case test); more seeds cannot turn it into equivalence (:mod:`rlbench.stats.reproduction`).

The same quantity is compared: where the published number is the return of training episodes under exploration
(CleanRL), ours is too (the mean of each run's last :data:`TRAINING_WINDOW` training episodes, from ``train.csv``);
otherwise our greedy evaluation at the budget. A cell whose environment version differs from ours, or whose budget
differs, is "not tested" (the numbers are still shown).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib.resources import files

import numpy as np
import pandas as pd

from rlbench.scores.bounds import score_bounds
from rlbench.reporting.policy import MEANINGFUL_DIFFERENCE
from rlbench.stats.reproduction import (ALPHA, EQUIVALENCE_TEST, SINGLE_CASE_ALPHA, SINGLE_CASE_TEST,
                                        equivalence_verdict, single_run_verdict)

PUBLISHED_MATCH: dict[str, tuple[str, ...]] = {"SB3 DQN": ("sb3_dqn", "dqn"), "SB3 A2C": ("sb3_a2c",),
                                               "SB3 PPO": ("sb3_ppo",), "CleanRL dqn.py": ("dqn_cleanrl",)}
"""Which of our algorithms a published row speaks about (published name -> params algo keys). The in-house
``dqn`` runs rl-baselines3-zoo's DQN settings, so SB3's published DQN is its reference too."""

ENV_SUCCESSORS: dict[str, str] = {"LunarLander-v2": "LunarLander-v3"}
"""Published environments that gymnasium has since replaced, and the version we train instead (gymnasium 1.0
removed LunarLander-v2; v3 fixed bugs in its physics and reset): such a cell is not tested, since no run of ours
matches its environment."""

TRAINING_WINDOW = 100
"""Training episodes, the last of each run, whose mean is compared with a published training return. The CleanRL
docs do not state their window; 100 episodes is the convention of SB3's ``rollout/ep_rew_mean`` and of the
MinAtar paper's curves (stated as our assumption)."""

COLUMNS = ["env", "published", "published_steps", "published_statistic", "published_protocol", "ours", "our_steps",
           "our_seeds", "our_statistic", "compared", "difference", "difference_lower", "difference_upper", "margin",
           "p_value", "verdict", "test", "false_verdict_rate", "note", "differs_in"]
"""Columns of the published-vs-ours table."""

OUR_PROTOCOL = "greedy/deterministic evaluation episodes at the budget"
OUR_TRAINING = f"training-episode returns under exploration, mean of each run's last {TRAINING_WINDOW} episodes"


def margin_scale(normalization: pd.DataFrame) -> pd.DataFrame:
    """The normalisation table indexed by environment name, for :func:`equivalence_margin`."""
    return normalization.assign(env=normalization["env"].astype(str)).set_index("env")


def equivalence_margin(scale: pd.DataFrame, env: str) -> float:
    """The equivalence margin on ``env`` in raw return: :data:`MEANINGFUL_DIFFERENCE` × |reference − random|
    (``scale``: :func:`margin_scale`)."""
    return MEANINGFUL_DIFFERENCE * abs(float(scale.loc[env, "reference"]) - float(scale.loc[env, "random"]))


def published_results() -> pd.DataFrame:
    """The published reference numbers shipped with rlbench (sources in PUBLISHED_SOURCES.md)."""
    return pd.read_csv(files("rlbench") / "data" / "published_results.csv")


DIFFERENT_BUDGET = "not tested: other budget"
"""The verdict of a published cell trained for a different number of steps than ours: a number reached at another
budget is neither reproduced nor refuted by ours (the difference and its interval are still shown)."""


def not_tested(what: str) -> str:
    """The verdict of a cell whose setting differs from ours in ``what``."""
    return f"not tested: {what}"


def published_steps(record: object) -> int | None:
    """The published budget in steps, or None where it is not a plain step count (e.g. "50000000 frames")."""
    return int(record.timesteps) if str(record.timesteps).isdigit() else None


def is_training_return(record: object) -> bool:
    """Whether a published cell reports returns of training episodes (under exploration), not an evaluation."""
    return "training returns" in str(record.protocol)


PUBLISHED_IMPLEMENTATIONS = {"rl-baselines3-zoo": "Stable-Baselines3", "cleanrl": "CleanRL"}
"""Whose code trained a published cell, by its source (in the vocabulary of :mod:`rlbench.config.settings`)."""


def _differences(record: object, our_steps: int, implementation: str, compared: str) -> str:
    """What differs between the published setting and ours, besides the seeds, in the words of
    :mod:`rlbench.config.comparison` (budget, environment, implementation, evaluation)."""
    notes = []
    steps = published_steps(record)
    if steps is not None and steps != our_steps:
        notes.append(f"budget: {steps:,} vs ours {our_steps:,} steps")
    ours = ENV_SUCCESSORS.get(record.env_id)
    if ours is not None:
        notes.append(f"environment: {record.env_id} vs ours {ours}")
    published_code = PUBLISHED_IMPLEMENTATIONS.get(record.source, record.source)
    if implementation and implementation != published_code:
        notes.append(f"implementation: {published_code} vs ours {implementation}")
    notes.append(f"evaluation: {record.protocol} vs ours {compared}")
    return "; ".join(notes)


def published_label(record: object) -> str:
    """How a published cell's source is named in the tables: its algorithm and who published it."""
    return f"{record.algorithm} ({record.source})"


def published_statistic(record: object) -> str:
    """What a published cell is, in words: one run (its ± over evaluation episodes) or a mean over seeds."""
    if int(record.seeds) == 1:
        return f"one run: {record.score} (± {record.score_err}: {record.statistic.split(' over ')[-1]})"
    return f"mean of {int(record.seeds)} seeds: {record.score} (std {record.score_err})"


def training_finals(train_frame: pd.DataFrame, window: int = TRAINING_WINDOW) -> dict[str, dict[str, np.ndarray]]:
    """``{algo: {env: per-run mean return of the last window training episodes}}`` from the store's training frame
    (columns algo, env, seed, step, return); runs in seed order."""
    result: dict[str, dict[str, np.ndarray]] = {}
    if train_frame.empty:
        return result
    ordered = train_frame.sort_values(["algo", "env", "seed", "step"], kind="mergesort")
    last = ordered.groupby(["algo", "env", "seed"], sort=True)["return"].apply(
        lambda returns: float(np.mean(pd.to_numeric(returns).to_numpy(dtype=float)[-window:])))
    for (algo, env, _), value in last.items():
        result.setdefault(str(algo), {}).setdefault(str(env), []).append(value)
    return {a: {e: np.asarray(v, dtype=np.float64) for e, v in per.items()} for a, per in result.items()}


def training_return_algos() -> set[str]:
    """Our algorithms that some published training-return cell speaks about (their ``train.csv`` is compared)."""
    return {algo for record in published_results().itertuples(index=False) if is_training_return(record)
            for algo in PUBLISHED_MATCH.get(record.algorithm, ())}


def published_vs_ours(
    published: pd.DataFrame, final_returns: Mapping[str, Mapping[str, np.ndarray]], normalization: pd.DataFrame,
    budgets: Mapping[str, int], training_returns: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    false_verdict_rates: Mapping[str, str] | None = None, implementations: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Every published cell that matches one of our (algorithm, environment) pairs, with its verdict.

    ``final_returns[algo][env]`` are our runs' raw final (evaluation) returns, ``training_returns[algo][env]`` their
    training-episode returns over the last :data:`TRAINING_WINDOW` episodes (:func:`training_finals`);
    ``normalization`` gives each environment's random and reference score (the margin is
    :data:`MEANINGFUL_DIFFERENCE` of their distance); ``budgets`` our training steps per environment;
    ``false_verdict_rates`` the measured false-verdict rate of each test (keyed by test name), written beside it;
    ``implementations[algo]`` whose code trained our algorithm (the plan's settings), named in ``differs_in``.
    """
    scale = margin_scale(normalization)
    rates = dict(false_verdict_rates or {})
    rows = []
    for record in published.itertuples(index=False):
        env = ENV_SUCCESSORS.get(record.env_id, record.env_id)
        for algo in PUBLISHED_MATCH.get(record.algorithm, ()):
            evaluated = final_returns.get(algo, {}).get(env)
            if evaluated is None or env not in scale.index or len(evaluated) < 2:
                continue
            training = is_training_return(record)
            ours = (training_returns or {}).get(algo, {}).get(env) if training else evaluated
            if ours is None or len(ours) < 2:
                continue
            margin = equivalence_margin(scale, env)
            seeds = int(record.seeds)
            if seeds == 1:
                verdict = single_run_verdict(ours, float(record.score), score_bounds(env))
            else:
                verdict = equivalence_verdict(ours, float(record.score), float(record.score_err), seeds, margin,
                                              score_bounds(env))
            outcome = verdict.outcome
            if record.env_id != env:
                outcome = not_tested(f"published on {record.env_id}, ours on {env}")
            elif published_steps(record) != budgets[env]:
                outcome = DIFFERENT_BUDGET
            rows.append({
                "env": env, "published": published_label(record),
                "published_steps": record.timesteps, "published_statistic": published_statistic(record),
                "published_protocol": record.protocol, "ours": algo, "our_steps": budgets[env], "our_seeds": len(ours),
                "our_statistic": f"mean of {len(ours)} seeds: {np.mean(ours):.2f} (std {np.std(ours, ddof=1):.2f})",
                "compared": OUR_TRAINING if training else OUR_PROTOCOL,
                "difference": verdict.difference.point, "difference_lower": verdict.difference.lower,
                "difference_upper": verdict.difference.upper,
                "margin": verdict.margin, "p_value": verdict.p_value, "verdict": outcome,
                "test": verdict.test, "false_verdict_rate": rates.get(verdict.test, "not measured"),
                "note": verdict.note,
                "differs_in": _differences(record, budgets[env], (implementations or {}).get(algo, ""),
                                           OUR_TRAINING if training else OUR_PROTOCOL),
            })
    return pd.DataFrame(rows, columns=COLUMNS)


VERDICT_RULE = (
    f"`difference` = our mean minus the published number. A published **mean over seeds** (CleanRL) gets an "
    f"equivalence test: {EQUIVALENCE_TEST}, two one-sided tests at {ALPHA}, its {100 * (1 - 2 * ALPHA):.0f}% "
    f"interval against `margin` = {MEANINGFUL_DIFFERENCE} × (reference − random) of the environment: **reproduced** "
    "when the interval lies within ± margin, **not reproduced** when it lies wholly outside, **inconclusive** "
    "otherwise; where all our runs sit at a score bound (CartPole's 500) the interval comes from the exact binomial "
    "bound on the share of runs that could fall off it, never a zero-width interval. A published **single run** "
    f"(rl-baselines3-zoo: its ± is over evaluation episodes of that one run) gets a {SINGLE_CASE_TEST}, two-sided "
    f"at {SINGLE_CASE_ALPHA}: **consistent** or **inconsistent** with the distribution of our single runs, never "
    "'reproduced': one run is one draw from its author's seed distribution, so its difference to our mean keeps a "
    "single run's spread (the 95% prediction interval never narrows below about ±1.96 seed standard deviations) "
    "however many seeds we add. Ours is the same quantity as the published one: training-episode returns under "
    f"exploration where the published number is one ({OUR_TRAINING}; CleanRL), greedy evaluation otherwise "
    "(`compared`). **not tested: ...** where the environment version or the budget differs from ours (the numbers "
    "are still shown). `false_verdict_rate` is each test's measured rate of a false 'reproduced' (equivalence) or "
    "a false 'inconsistent' (single run) on simulated scores with known truth (`results/calibration/`)."
)
"""How the verdicts are reached, in words."""

__all__ = ["COLUMNS", "DIFFERENT_BUDGET", "ENV_SUCCESSORS", "PUBLISHED_MATCH", "TRAINING_WINDOW", "VERDICT_RULE",
           "is_training_return", "not_tested", "published_label", "published_results", "published_statistic",
           "published_steps", "published_vs_ours", "training_finals", "training_return_algos"]


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
