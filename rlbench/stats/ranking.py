"""Ranks that admit uncertainty: algorithms that cannot be told apart share a rank.

The rule (the one definition, quoted by the reports):

* X is *clearly better* than Y when the lower bound of the confidence interval of the probability of
  improvement P(X > Y) (:func:`rlbench.stats.aggregates.probability_of_improvement`, ties counting
  half) is above 0.5;
* an algorithm's rank is 1 + the number of algorithms clearly better than it. Algorithms of equal rank form a
  rank group; an algorithm is the *best* only when it is clearly better than every other one.

Counting the algorithms that beat one (rather than cutting a sorted list where neighbours differ) needs no
transitivity of the pairwise tests and gives the same ranks whatever order the algorithms come in (the rule of
the "Rank (UB)" column of the LMSYS Chatbot Arena leaderboard, applied here to the probability of improvement).
No correction for multiple comparisons is made: with many pairs, some separations can be chance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rlbench.errors import RlbenchError
from rlbench.stats.bootstrap import Interval

RANK_RULE = (
    "X is clearly better than Y when the lower bound of the 95% CI of P(X > Y) is above 0.5; an algorithm's rank "
    "is 1 + the number of algorithms clearly better than it, so algorithms that cannot be told apart share a rank "
    "(no correction for multiple comparisons)"
)
""":func:`shared_ranks` in words."""


def clearly_better(x: str, y: str, probabilities: Mapping[tuple[str, str], Interval]) -> bool:
    """Whether the CI of P(x > y) lies above 0.5 (its lower bound is greater than 0.5)."""
    try:
        return probabilities[(x, y)].lower > 0.5
    except KeyError:
        raise RlbenchError(f"no probability of improvement for the pair ({x!r}, {y!r})") from None


def shared_ranks(algorithms: Sequence[str], probabilities: Mapping[tuple[str, str], Interval]) -> dict[str, int]:
    """Rank of every algorithm: 1 + the number of algorithms clearly better than it (see the module docstring).

    ``probabilities`` holds P(X > Y) for every ordered pair of distinct ``algorithms``. A single algorithm has
    rank 1.
    """
    names = [str(a) for a in algorithms]
    if len(set(names)) != len(names):
        raise RlbenchError(f"algorithms must be distinct, got {names}")
    return {y: 1 + sum(clearly_better(x, y, probabilities) for x in names if x != y) for y in names}


def best_algorithm(algorithms: Sequence[str], probabilities: Mapping[tuple[str, str], Interval]) -> str | None:
    """The algorithm clearly better than every other of ``algorithms``, or None when there is none.

    With a single algorithm there is nothing to beat, and nothing to name: None.
    """
    names = [str(a) for a in algorithms]
    winners = [x for x in names if len(names) > 1 and all(clearly_better(x, y, probabilities) for y in names if y != x)]
    return winners[0] if winners else None


__all__ = ["RANK_RULE", "best_algorithm", "clearly_better", "shared_ranks"]
