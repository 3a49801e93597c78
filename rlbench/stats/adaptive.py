"""Adaptive seeds: AdaStop's sequential permutation test over groups of seeds, with the family-wise error controlled
over the interim looks.

AdaStop (Mathieu et al. 2023, "AdaStop: adaptive statistical testing for sound comparisons of Deep RL agents",
arXiv:2306.10882) compares two or more algorithms from per-seed scores that arrive in groups of ``n`` seeds. After
each group (an *interim look*, at most ``K``) it runs a step-down permutation test of the mean differences of every
pair still undecided, spending the level ``alpha * (k + 1) / K`` by look ``k``, so that the probability of declaring
*any* pair different when none is stays at most ``alpha`` over all looks. A pair is decided ``larger`` or ``smaller``
as soon as its difference is significant; a pair still undecided after ``K`` looks is decided ``equal`` (AdaStop's
``beta = 0``: no early acceptance). This module wraps the reference implementation, the ``adastop`` package
(:class:`adastop.MultipleAgentsComparator`), and does not reimplement it. One adjustment: adastop 0.1.3 compares
the absolute difference with the upper quantile of the signed permutation distribution, so its two-sided error is
twice the level it is given (measured: about 10% false decisions at 5% on simulated identical algorithms); it is
given ``alpha / 2`` so that the two-sided family-wise error is at most ``alpha`` (measured in
``results/classic/adaptive_seeds.md``, :func:`simulation_table`).

**A seed's score.** AdaStop compares one number per seed. A suite has several tasks per algorithm and the same
seeds on every task, so a seed's score here is the mean over the suite's tasks of that seed's *normalised* final
score (the ``(runs x tasks)`` matrices of :mod:`rlbench.scores.matrices` after
:func:`rlbench.scores.normalization.normalize`: 0 = random, 1 = the suite's reference, clipped where the suite
clips), i.e. the row mean of the matrix (:func:`seed_scores`). Equal task weights, as in the suite's mean
aggregate; failed runs count as the random score, as everywhere in the analysis.

**Replay.** :func:`adaptive_decision` is a pure function of the per-seed scores available so far (in seed order):
it replays the looks ``k = 0, 1, ...`` on the first ``(k + 1) n`` seeds of each algorithm with a comparator seeded
from ``numpy.random.SeedSequence(seed)``, so feeding one group at a time or all at once gives the same decision,
and the same scores and seed always give the same decision.

Pure functions over arrays; no file I/O (the orchestration, which trains missing seeds, is :mod:`rlbench.adaptive`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError
from rlbench.stats.calibration import TaskDistribution, draw_matrices, rate

LARGER = "larger"
SMALLER = "smaller"
EQUAL = "equal"
UNDECIDED = "undecided"
"""Not decided yet: fewer than ``K`` looks taken and some pair still open (more seeds needed)."""

DECISIONS = (LARGER, SMALLER, EQUAL, UNDECIDED)
"""A pair's decision, read as ``first <decision> than second`` (``larger``: the first algorithm's mean seed score
is significantly higher)."""

METHOD = ("AdaStop (Mathieu et al. 2023): sequential permutation test of mean per-seed normalised scores, "
          "family-wise alpha over all pairs and all interim looks (package adastop)")


@dataclass(frozen=True)
class AdaptiveConfig:
    """AdaStop's design: group size, number of looks, level, permutations and seed."""

    group_size: int = 5
    """``n``: seeds per algorithm added before each interim look (AdaStop's default and the paper's choice)."""
    max_groups: int = 2
    """``K``: the most interim looks; at most ``n K`` seeds per algorithm (2 x 5 = the classic suite's 10 seeds)."""
    alpha: float = 0.05
    """Family-wise error over all pairs and all looks."""
    permutations: int = 10_000
    """``B``: random permutations of the permutation distribution (all of them when fewer exist)."""
    seed: int = 0
    """Root of the comparator's random permutations (``SeedSequence(seed)``)."""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.group_size, int) or self.group_size < 2:
            problems.append(f"group size must be an integer >= 2, got {self.group_size!r}")
        if not isinstance(self.max_groups, int) or self.max_groups < 1:
            problems.append(f"max groups must be an integer >= 1, got {self.max_groups!r}")
        if not 0.0 < float(self.alpha) < 1.0:
            problems.append(f"alpha must be in (0, 1), got {self.alpha!r}")
        if not isinstance(self.permutations, int) or self.permutations < 100:
            problems.append(f"permutations must be an integer >= 100, got {self.permutations!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            problems.append(f"seed must be a non-negative integer, got {self.seed!r}")
        if problems:
            raise RlbenchError("; ".join(problems))

    @property
    def max_seeds(self) -> int:
        """The most seeds per algorithm the design can use: ``n K``."""
        return self.group_size * self.max_groups

    def comparator_seed(self) -> int:
        """The integer seed of adastop's ``numpy.random.RandomState``, drawn from ``SeedSequence(seed)``."""
        return int(np.random.SeedSequence(self.seed).generate_state(1, dtype=np.uint32)[0])


@dataclass(frozen=True)
class AdaptiveDecision:
    """What AdaStop decided on the seeds it was given."""

    algorithms: tuple[str, ...]
    decisions: dict[tuple[str, str], str]
    """``(first, second)`` (in ``algorithms`` order) -> one of :data:`DECISIONS`."""
    seeds_used: dict[str, int]
    """Algorithm -> seeds it needed: ``n`` times the looks at which it was in an undecided pair."""
    looks: int
    """Interim looks taken."""
    finished: bool
    """Every pair decided (possibly ``equal`` after ``K`` looks)."""
    means: dict[str, float] = field(default_factory=dict)
    """Algorithm -> mean score over its seeds used."""

    @property
    def needs_more_seeds(self) -> bool:
        """Undecided, and another group would be looked at (fewer than ``K`` looks taken)."""
        return not self.finished

    def decision(self, first: str, second: str) -> str:
        """The decision of a pair in either order (``larger``/``smaller`` swapped when reversed)."""
        if (first, second) in self.decisions:
            return self.decisions[(first, second)]
        if (second, first) in self.decisions:
            return {LARGER: SMALLER, SMALLER: LARGER}.get(self.decisions[(second, first)],
                                                        self.decisions[(second, first)])
        raise RlbenchError(f"no pair ({first!r}, {second!r}); algorithms: {', '.join(self.algorithms)}")


def seed_scores(matrix: np.ndarray) -> np.ndarray:
    """One score per seed: the mean over tasks of a normalised ``(runs x tasks)`` matrix (row means)."""
    array = np.asarray(matrix, dtype=np.float64)
    if array.ndim != 2 or 0 in array.shape:
        raise RlbenchError(f"a score matrix must be (runs x tasks) with at least one of each, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise RlbenchError("a score matrix holds non-finite scores; failed runs count as the random score (0)")
    return array.mean(axis=1)


def _checked(scores: Mapping[str, Sequence[float] | np.ndarray]) -> dict[str, np.ndarray]:
    if len(scores) < 2:
        raise RlbenchError(f"an adaptive comparison needs at least 2 algorithms, got {len(scores)}: "
                           f"{', '.join(scores) or '(none)'}")
    checked = {}
    for name, values in scores.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1:
            raise RlbenchError(f"algorithm {name!r}: per-seed scores must be one number per seed, got shape "
                               f"{array.shape}")
        if not np.all(np.isfinite(array)):
            raise RlbenchError(f"algorithm {name!r}: non-finite per-seed score")
        checked[str(name)] = array
    return checked


def adaptive_decision(scores: Mapping[str, Sequence[float] | np.ndarray], config: AdaptiveConfig) -> AdaptiveDecision:
    """AdaStop's decision on the per-seed scores available (each algorithm's, in seed order).

    Looks are taken while every algorithm still in an undecided pair has ``(k + 1) n`` seeds and fewer than ``K``
    looks were taken; the procedure stops at the first look where every pair is decided. With too few seeds for the
    next look the open pairs are :data:`UNDECIDED` (train another group). Extra seeds beyond what was looked at are
    ignored, so an algorithm's ``seeds_used`` is at most its seeds given.
    """
    from adastop import MultipleAgentsComparator

    data = _checked(scores)
    names = tuple(data)
    pairs = list(itertools.combinations(range(len(names)), 2))
    # adastop 0.1.3 compares |difference| with the upper quantile of the signed permutation distribution, at every
    # look: a two-sided test at 2 alpha (measured: 10% false decisions at alpha = 5% with n = 5, K = 2 on three
    # null scenarios, 300 simulations each). It is given alpha / 2, so both tails together spend at most alpha
    # (exactly, for one pair, by the permutation distribution's symmetry; by the union bound for several).
    level = config.alpha / 2
    comparator = MultipleAgentsComparator(n=config.group_size, K=config.max_groups, B=config.permutations,
                                          comparisons=np.array(pairs), alpha=level, beta=0.0,
                                          seed=config.comparator_seed())
    n = config.group_size
    used = {name: 0 for name in names}
    looks = 0
    open_algos = set(names)
    while looks < config.max_groups and not comparator.is_finished:
        need = (looks + 1) * n
        if any(data[name].size < need for name in open_algos):
            break
        # An algorithm already out of every open pair keeps its seeds; adastop only reads the open pairs' groups.
        given = {name: data[name][:max(used[name], need) if name in open_algos else used[name]] for name in names}
        given = {name: values if values.size >= need else np.concatenate([values, np.zeros(need - values.size)])
                 for name, values in given.items()}
        with contextlib.redirect_stdout(io.StringIO()):
            comparator.partial_compare(given, verbose=False)
        for name in open_algos:
            used[name] = need
        looks += 1
        still = [tuple(c) for c in comparator.current_comparisons] if not comparator.is_finished else []
        open_algos = {names[i] for pair in still for i in pair}
    decisions: dict[tuple[str, str], str] = {}
    for i, j in pairs:
        raw = comparator.decisions[str(np.array([i, j]))] if looks else "continue"
        decisions[(names[i], names[j])] = UNDECIDED if raw == "continue" else raw
    finished = all(d != UNDECIDED for d in decisions.values())
    means = {name: float(np.mean(data[name][:used[name]])) if used[name] else float("nan") for name in names}
    return AdaptiveDecision(names, decisions, used, looks, finished, means)


# --------------------------------------------------------------------------------------------
# Measured error rates: simulated suites with known truth
# --------------------------------------------------------------------------------------------

FALSE_DECISION = "false decision"
"""Equal algorithms declared different (any direction), or a truly ordered pair declared in the wrong direction."""
POWER = "power"
"""A truly ordered pair declared different in the right direction."""

SIMULATION_COLUMNS = ["scenario", "effect", "procedure", "max_seeds", "false_decision", "false_decision_se", "power",
                      "power_se", "mean_seeds", "simulations"]


def fixed_design(config: AdaptiveConfig, seeds: int) -> AdaptiveConfig:
    """The fixed-seed counterpart of ``config``: one look at ``seeds`` seeds (the same permutation test, same level)."""
    return dataclasses.replace(config, group_size=int(seeds), max_groups=1)


def simulate_pair(config: AdaptiveConfig, distributions: Sequence[TaskDistribution], effect: float,
                  simulations: int, stream: np.random.SeedSequence, seeds: int | None = None) -> dict[str, float]:
    """AdaStop on ``simulations`` simulated pairs of algorithms with known truth.

    Both algorithms draw ``(seeds x tasks)`` (default ``n K``) normalised score matrices from ``distributions``
    (:func:`rlbench.stats.calibration.draw_matrices`, the calibration's machinery); the second is shifted up by
    ``effect`` seed standard deviations on every task. A seed's score is its row mean (:func:`seed_scores`).
    With ``effect == 0`` every difference declared is a false decision; otherwise declaring the first larger is,
    and declaring it smaller is a detection (power). Returns the rates with Monte-Carlo standard errors and the
    mean seeds used per algorithm.
    """
    if simulations < 1:
        raise RlbenchError(f"simulations must be >= 1, got {simulations}")
    suites, permutations = stream.spawn(2)
    rng = np.random.Generator(np.random.PCG64(suites))
    seeds = config.max_seeds if seeds is None else max(int(seeds), config.max_seeds)
    tasks = len(distributions)
    first = draw_matrices(rng, distributions, simulations, seeds)
    second = draw_matrices(rng, distributions, simulations, seeds, [float(effect)] * tasks)
    roots = permutations.generate_state(simulations, dtype=np.uint32)
    false, detected, used = np.zeros(simulations, bool), np.zeros(simulations, bool), np.zeros(simulations)
    for s in range(simulations):
        run_config = dataclasses.replace(config, seed=int(roots[s]))
        decision = adaptive_decision({"a": seed_scores(first[s]), "b": seed_scores(second[s])}, run_config)
        verdict = decision.decisions[("a", "b")]
        false[s] = verdict in (LARGER, SMALLER) if effect == 0 else verdict == LARGER
        detected[s] = effect != 0 and verdict == SMALLER
        used[s] = float(np.mean(list(decision.seeds_used.values())))
    f, f_se, count = rate(false)
    p, p_se, _ = rate(detected) if effect != 0 else (math.nan, math.nan, count)
    return {"false_decision": f, "false_decision_se": f_se, "power": p, "power_se": p_se,
            "mean_seeds": float(used.mean()), "simulations": count}


def design_label(config: AdaptiveConfig) -> str:
    """How a design is named in the tables: ``adaptive (n=5, K=2)`` or ``fixed 10`` (one look)."""
    if config.max_groups == 1:
        return f"fixed {config.max_seeds}"
    return f"adaptive (n={config.group_size}, K={config.max_groups})"


def simulation_table(designs: Sequence[AdaptiveConfig], scenarios: Mapping[str, Sequence[TaskDistribution]],
                     effects: Sequence[float], simulations: int, fixed_seeds: int) -> pd.DataFrame:
    """False-decision rate, power and mean seeds of each adaptive design and of the fixed ``fixed_seeds`` design
    (the first design's level and permutations, one look), per scenario and effect (columns
    :data:`SIMULATION_COLUMNS`).

    Every cell draws from its own stream, ``SeedSequence(designs[0].seed, spawn_key=(scenario index, effect
    index))``; every design of a cell sees the same simulated suites (its first ``n K`` seeds of them), so the table
    is identical on every rerun and the designs are compared on the same draws.
    """
    if not designs:
        raise RlbenchError("a simulation table needs at least one adaptive design")
    rows = []
    compared = [*designs, fixed_design(designs[0], fixed_seeds)]
    seeds = max(design.max_seeds for design in compared)
    for i, (scenario, distributions) in enumerate(scenarios.items()):
        for j, effect in enumerate(effects):
            for design in compared:
                stream = np.random.SeedSequence(designs[0].seed, spawn_key=(i, j))
                cell = simulate_pair(design, distributions, float(effect), simulations, stream, seeds)
                rows.append({"scenario": scenario, "effect": float(effect), "procedure": design_label(design),
                             "max_seeds": design.max_seeds, **cell})
    return pd.DataFrame(rows, columns=SIMULATION_COLUMNS)
