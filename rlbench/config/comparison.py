"""What a comparison changes: "differs in" for every pair of algorithms, and which pairs are confounded.

Every algorithm of a plan carries, per environment, its settings in the shared vocabulary of
:mod:`rlbench.config.settings` plus the protocol it was measured under (:data:`PROTOCOL`: budget, environment,
evaluation). Two algorithms **differ in** every setting whose value is not the same on every environment. The rule
for calling a pair **confounded** (what the leaderboard, the reports and the verdicts flag before any result):

* a difference in the protocol always confounds: it is never part of what defines an algorithm;
* two algorithms of the same kind (both DQN, both REINFORCE, ...) compare one thing at a time: the pair is clean
  when they differ in at most one setting (the implementation, the optimiser, the baseline: whatever the pair is
  about), and confounded when they differ in two or more, since then no difference in their scores can be put down
  to either;
* algorithms of different kinds differ by definition in their own settings (a tuned PPO against a tuned DQN): the
  pair is confounded only by the protocol, and its differences are still listed.

A pair of the same kind that differs **only** in its implementation is a matched pair: the one comparison that says
whether two codebases implement the same algorithm (:func:`matched_pairs`; the analysis gives it an equivalence test).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rlbench.config.settings import SETTINGS

PROTOCOL: dict[str, str] = {
    "budget": "environment steps of training",
    "environment": "the environment id (with its version)",
    "evaluation": "how the final score is measured",
}
"""Settings of the measurement, not of the algorithm: a pair that differs in one of them is always confounded."""

Settings = Mapping[str, Mapping[str, str]]
"""One algorithm's settings per environment: ``env -> setting -> value``."""


def protocol_settings(env: str, budget: int, eval_every: int, eval_episodes: int) -> dict[str, str]:
    """The :data:`PROTOCOL` entries of a suite's runs on ``env``."""
    return {"budget": f"{budget:,} steps", "environment": env,
            "evaluation": f"{eval_episodes} evaluation episodes every {eval_every:,} steps, final evaluation scored"}


@dataclass(frozen=True)
class Difference:
    """One setting in which two algorithms differ."""

    setting: str
    text: str
    """``"<x's value> vs <y's value>"``, or where the values vary by environment, the first environment that differs
    and how many do."""


@dataclass(frozen=True)
class Comparison:
    """What separates two algorithms of a plan."""

    x: str
    y: str
    differences: tuple[Difference, ...]
    confounded: bool
    matched: bool
    """Same kind, differing only in the implementation."""

    @property
    def differs_in(self) -> str:
        """One line: ``"optimizer: A vs B; updates_per_step: C vs D"``, or ``"nothing"``."""
        return "; ".join(f"{d.setting}: {d.text}" for d in self.differences) or "nothing"

    @property
    def reason(self) -> str:
        """Why the pair is confounded (empty when it is not)."""
        if not self.confounded:
            return ""
        protocol = [d.setting for d in self.differences if d.setting in PROTOCOL]
        if protocol:
            return f"measured under different {', '.join(protocol)}"
        return f"same algorithm, {len(self.differences)} settings changed at once"


def _order(names: set[str]) -> list[str]:
    known = [name for name in (*PROTOCOL, *SETTINGS) if name in names]
    return known + sorted(names - set(known))


def compare(x: str, y: str, x_settings: Settings, y_settings: Settings) -> Comparison:
    """The :class:`Comparison` of algorithms ``x`` and ``y`` from their settings per environment, differences in the
    vocabulary's order (:data:`PROTOCOL`, then :data:`rlbench.config.settings.SETTINGS`, then any other name)."""
    envs = [env for env in x_settings if env in y_settings]
    differences = []
    names = {name for env in envs for name in (*x_settings[env], *y_settings[env])}
    for name in _order(names):
        pairs = {env: (x_settings[env].get(name, "not declared"), y_settings[env].get(name, "not declared"))
                 for env in envs}
        differing = [env for env, (a, b) in pairs.items() if a != b]
        if not differing:
            continue
        if len(set(pairs.values())) == 1:
            a, b = pairs[differing[0]]
            text = f"{a} vs {b}"
        else:
            a, b = pairs[differing[0]]
            text = f"on {len(differing)} of {len(envs)} environments, e.g. {differing[0]}: {a} vs {b}"
        differences.append(Difference(name, text))
    same_kind = all(x_settings[env].get("algorithm") == y_settings[env].get("algorithm") for env in envs)
    protocol = any(d.setting in PROTOCOL for d in differences)
    confounded = protocol or (same_kind and len(differences) > 1)
    matched = same_kind and [d.setting for d in differences] == ["implementation"]
    return Comparison(x, y, tuple(differences), confounded, matched)


def comparisons(settings: Mapping[str, Settings]) -> list[Comparison]:
    """Every unordered pair of ``settings`` (``algo -> env -> setting -> value``), in the given order of algorithms."""
    algos = list(settings)
    return [compare(x, y, settings[x], settings[y]) for i, x in enumerate(algos) for y in algos[i + 1:]]


def matched_pairs(settings: Mapping[str, Settings]) -> list[Comparison]:
    """The pairs that differ only in their implementation."""
    return [comparison for comparison in comparisons(settings) if comparison.matched]


__all__ = ["PROTOCOL", "Comparison", "Difference", "Settings", "compare", "comparisons", "matched_pairs",
           "protocol_settings"]
