"""Which algorithm is clearly better than which, with the family-wise error rate controlled, and the ranks it implies.

The rule (the one definition, quoted by the reports):

* for every pair of algorithms, an **exact stratified permutation test** of "the two are the same": the statistic is
  the average probability of improvement P(X > Y) of Agarwal et al. 2021 (per task the Mann-Whitney U of X against
  Y over ``runs_x * runs_y``, ties counting half, averaged over tasks). Under the null hypothesis the runs of X and
  Y are exchangeable within every task, so the statistic's null distribution is that of random relabellings of the
  pooled runs, task by task. It is computed exactly (no Monte Carlo): per task the distribution of the rank sum of
  ``runs_x`` of the pooled runs (ties get their average rank) by counting subsets, then the convolution over tasks,
  which are relabelled independently. The p-value is two-sided: the null probability of a statistic at least as
  far from 1/2 as the one observed;
* the p-values of all pairs are adjusted by **Holm's step-down procedure** (Holm 1979), which keeps the probability
  of separating *any* pair of identical algorithms at most ``alpha`` (family-wise, whatever the dependence between
  the tests); a rejected pair is separated in the direction of its estimate (Holm's directional decisions also keep
  the family-wise error of a wrong direction at most ``alpha``, Shaffer 1980). X is **clearly better** than Y when
  their pair is rejected at ``alpha`` and P(X > Y) > 1/2;
* an algorithm's **rank** is 1 + the number of algorithms clearly better than it. Algorithms of equal rank form a
  rank group. The relation need not be an order: three algorithms can beat each other in a cycle across tasks
  (:func:`cycles`); a rank then still counts the algorithms that beat one, but it is no longer a place in a line,
  and nobody may have rank 1. An algorithm is the *best* only when it is clearly better than every other one.

The test is exact, so its false-separation rate is at most ``alpha`` by construction (it is discrete, so in practice
below); ``results/calibration/`` measures it, and its power, on simulated suites. With few runs it cannot reject at
all: with 3 runs each on one task the smallest two-sided p-value is 2 / C(6, 3) = 0.1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.stats

from rlbench.errors import RlbenchError
from rlbench.stats.aggregates import improvement_probability
from rlbench.stats.bootstrap import score_arrays

ALPHA = 0.05
"""Family-wise error rate of the "clearly better" relation."""

RANK_RULE = (
    "X is clearly better than Y when an exact stratified permutation test of the average probability of "
    "improvement P(X > Y) (runs relabelled within each task) rejects \"X and Y are the same\" after Holm's "
    f"correction over all pairs (family-wise error rate {ALPHA:g}) and P(X > Y) > 0.5; an algorithm's rank is 1 + the "
    "number of algorithms clearly better than it, so algorithms that cannot be told apart share a rank"
)
""":func:`better_relation` and :func:`shared_ranks` in words."""


@dataclass(frozen=True)
class BetterRelation:
    """The "clearly better" relation of a set of algorithms and the tests it comes from."""

    algorithms: tuple[str, ...]
    """The algorithms compared, in the caller's order."""
    probability: dict[tuple[str, str], float]
    """P(x > y), the average probability of improvement, for every ordered pair."""
    p_values: dict[tuple[str, str], float]
    """Exact two-sided permutation p-value of every ordered pair (the same for (x, y) and (y, x))."""
    adjusted: dict[tuple[str, str], float]
    """Holm-adjusted p-values (family: all unordered pairs)."""
    better: frozenset[tuple[str, str]]
    """``(x, y)`` is in it when x is clearly better than y."""
    alpha: float
    """The family-wise error rate."""
    smallest_p: float = 0.0
    """The smallest p-value the exact test can give any pair with these runs (every run of one above every run of
    the other on every task): when even it fails Holm's first threshold ``alpha / pairs``, no pair can be separated,
    whatever the scores (:func:`relation_statement` says so)."""

    def clearly_better(self, x: str, y: str) -> bool:
        """Whether x is clearly better than y."""
        if x not in self.algorithms or y not in self.algorithms:
            raise RlbenchError(f"no comparison of ({x!r}, {y!r}); algorithms are {list(self.algorithms)}")
        return (x, y) in self.better


def _doubled_ranks(pooled: np.ndarray) -> np.ndarray:
    """Twice the average ranks of ``pooled`` along axis 0 (integers, so ties stay exact)."""
    return np.rint(2.0 * scipy.stats.rankdata(pooled, axis=0)).astype(np.int64)


def _rank_sum_distribution(doubled_ranks: np.ndarray, size: int) -> np.ndarray:
    """Probability of every total of ``size`` of ``doubled_ranks`` drawn without replacement (index = total)."""
    top = int(np.sort(doubled_ranks)[::-1][:size].sum())
    counts = np.zeros((size + 1, top + 1), dtype=np.float64)
    counts[0, 0] = 1.0
    for value in doubled_ranks.tolist():
        shifted = np.zeros_like(counts)
        shifted[1:, value:] = counts[:-1, : top + 1 - value]
        counts += shifted
    return counts[size] / counts[size].sum()


def permutation_p_value(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """Exact two-sided p-value of "X and Y are exchangeable within every task" for ``(runs x tasks)`` matrices,
    with the average probability of improvement as the statistic (see the module docstring)."""
    x = np.asarray(scores_x, dtype=np.float64)
    y = np.asarray(scores_y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or 0 in x.shape or 0 in y.shape:
        raise RlbenchError(f"expected two (runs x tasks) matrices with the same tasks, got {x.shape} and {y.shape}")
    n_x, n_y = x.shape[0], y.shape[0]
    ranks = _doubled_ranks(np.concatenate([x, y], axis=0))
    offset = n_x * (n_x + 1)  # doubled rank sum minus this = doubled U of X
    observed = int(ranks[:n_x].sum()) - offset * x.shape[1]
    null = np.ones(1)
    for task in range(x.shape[1]):
        distribution = _rank_sum_distribution(ranks[:, task], n_x)
        null = np.convolve(null, distribution[offset:])  # totals below the offset cannot occur
    centre = x.shape[1] * n_x * n_y  # the doubled U's null mean, summed over tasks
    distance = np.abs(np.arange(null.size) - centre)
    p_value = float(null[distance >= abs(observed - centre) - 0.25].sum())
    return min(1.0, p_value)


def holm_adjusted(p_values: Mapping[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """Holm's step-down adjusted p-values (Holm 1979): the k-th smallest of m is multiplied by m - k + 1, made
    non-decreasing and capped at 1; a hypothesis is rejected at family-wise level alpha when its adjusted p <= alpha."""
    order = sorted(p_values, key=lambda key: (p_values[key], key))
    m = len(order)
    adjusted: dict[tuple[str, str], float] = {}
    running = 0.0
    for k, key in enumerate(order):
        running = max(running, min(1.0, (m - k) * float(p_values[key])))
        adjusted[key] = running
    return adjusted


def better_relation(scores: Mapping[str, np.ndarray], alpha: float = ALPHA) -> BetterRelation:
    """The "clearly better" relation of the algorithms in ``scores`` (``{algo: (runs x tasks)}``; see the module
    docstring). A single algorithm is clearly better than nothing."""
    checked = score_arrays(scores, 2, "scores")
    if not 0.0 < float(alpha) < 1.0:
        raise RlbenchError(f"alpha must be in (0, 1), got {alpha!r}")
    tasks = {a: m.shape[1] for a, m in checked.items()}
    if len(set(tasks.values())) > 1:
        raise RlbenchError(f"algorithms must have the same number of tasks; have {tasks}")
    names = tuple(checked)
    pairs = [(x, y) for i, x in enumerate(names) for y in names[i + 1:]]
    probability: dict[tuple[str, str], float] = {}
    tested: dict[tuple[str, str], float] = {}
    for x, y in pairs:
        probability[(x, y)] = improvement_probability(checked[x], checked[y])
        probability[(y, x)] = 1.0 - probability[(x, y)]
        tested[(x, y)] = permutation_p_value(checked[x], checked[y])
    adjusted_pairs = holm_adjusted(tested)
    p_values, adjusted, better = {}, {}, set()
    for (x, y), p in tested.items():
        p_values[(x, y)] = p_values[(y, x)] = p
        adjusted[(x, y)] = adjusted[(y, x)] = adjusted_pairs[(x, y)]
        if adjusted_pairs[(x, y)] <= alpha and probability[(x, y)] != 0.5:
            better.add((x, y) if probability[(x, y)] > 0.5 else (y, x))
    smallest = min((separated_p_value(checked[x].shape[0], checked[y].shape[0], checked[x].shape[1]) for x, y in pairs),
                   default=0.0)
    return BetterRelation(names, probability, p_values, adjusted, frozenset(better), float(alpha), smallest)


def separated_p_value(runs_x: int, runs_y: int, tasks: int) -> float:
    """The test's p-value when every one of ``runs_x`` runs is above every one of ``runs_y`` on each of ``tasks``
    tasks: the smallest it can give that pair (``2 / C(runs_x + runs_y, runs_x) ** tasks`` without ties)."""
    above = np.arange(1.0, runs_x + 1.0)[:, None] + np.zeros((1, tasks))
    return permutation_p_value(above, -np.arange(1.0, runs_y + 1.0)[:, None] + np.zeros((1, tasks)))


def shared_ranks(relation: BetterRelation) -> dict[str, int]:
    """Rank of every algorithm: 1 + the number of algorithms clearly better than it."""
    return {y: 1 + sum((x, y) in relation.better for x in relation.algorithms) for y in relation.algorithms}


def best_algorithm(relation: BetterRelation, among: tuple[str, ...] | list[str] | None = None) -> str | None:
    """The algorithm clearly better than every other one (of ``among``, default all), or None when there is none.

    With a single algorithm there is nothing to beat, and nothing to name: None."""
    names = list(relation.algorithms if among is None else among)
    winners = [x for x in names if len(names) > 1 and all((x, y) in relation.better for y in names if y != x)]
    return winners[0] if winners else None


def _reachable(relation: BetterRelation) -> dict[str, set[str]]:
    reach = {a: {b for b in relation.algorithms if (a, b) in relation.better} for a in relation.algorithms}
    for middle in relation.algorithms:  # Warshall's transitive closure
        for start in relation.algorithms:
            if middle in reach[start]:
                reach[start] |= reach[middle]
    return reach


def cycles(relation: BetterRelation) -> list[tuple[str, ...]]:
    """Groups of algorithms that beat each other in a cycle (each reaches every other through "clearly better"),
    in the relation's order; empty when the relation is an order (a strict partial order)."""
    reach = _reachable(relation)
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for a in relation.algorithms:
        if a in seen or a not in reach[a]:
            continue
        group = tuple(b for b in relation.algorithms if b == a or (b in reach[a] and a in reach[b]))
        seen.update(group)
        groups.append(group)
    return groups


def relation_statement(relation: BetterRelation) -> str:
    """One sentence on the shape of the relation: an order, or which algorithms beat each other in a cycle and what a
    rank then means."""
    pairs = len(relation.algorithms) * (len(relation.algorithms) - 1) // 2
    floor = ""
    if pairs and relation.smallest_p * pairs > relation.alpha:
        floor = (f"With these runs no pair can be separated, whatever the scores: the smallest p-value the exact test "
                 f"can give ({relation.smallest_p:.2g}, every run of one above every run of the other) is above Holm's "
                 f"first threshold ({relation.alpha:g} / {pairs} pairs = {relation.alpha / pairs:.2g}); more seeds, or "
                 "fewer algorithms, are needed for any rank to differ.")
    found = cycles(relation)
    if not found:
        return floor
    names = "; ".join(" > ".join(f"`{a}`" for a in (*group, group[0])) if len(group) <= 3 else
                      ", ".join(f"`{a}`" for a in group) for group in found)
    return (f"The \"clearly better\" relation is not an order: {names} beat each other in a cycle (each is clearly "
            "better than another on the average over tasks, which happens when they win on different tasks). A rank "
            "still counts the algorithms clearly better than one, but it is not a place in a line, and rank 1 may "
            "be empty." + (f" {floor}" if floor else ""))


def seeds_floor(runs: int, tasks: int) -> float:
    """The smallest two-sided p-value the test can reach with ``runs`` runs of each algorithm on ``tasks`` tasks
    (no ties): ``2 / C(2 runs, runs) ** tasks``."""
    return min(1.0, 2.0 / math.comb(2 * runs, runs) ** tasks)


__all__ = [
    "ALPHA", "BetterRelation", "RANK_RULE", "best_algorithm", "better_relation", "cycles", "holm_adjusted",
    "permutation_p_value", "relation_statement", "seeds_floor", "separated_p_value", "shared_ranks",
]
