"""Allowed ranges of hyperparameters, checked when a suite is planned (before any run starts).

A value outside its range is one line naming the key, the value and what is allowed. Rules come
from two places:

* :data:`COMMON_RANGES`, by field name, for the hyperparameters every agent family shares
  (``learning_rate``, ``gamma``, ``batch_size``, ``net_arch`` ...); they also apply to the
  ``algo_kwargs`` handed to Stable-Baselines3, and to a plugin's fields of the same name;
* a field's own ``metadata={"range": Range(...)}`` in an agent's ``Config`` dataclass, which is how a
  plugin declares ranges for fields of its own (it wins over the common rule of the same name).

A field annotated ``int`` (or ``int | None``) in the ``Config`` takes an integer and nothing else: not a float
(``32.0`` included, which would skip integer arithmetic and the checks between fields) and not a bool.
Consistency between fields (a batch no larger than the replay buffer) is checked here too.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlbench.errors import RlbenchError


@dataclass(frozen=True)
class Range:
    """A closed or half-open interval of numbers, optionally integers only, optionally with special values."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    """Exclude ``low`` itself."""
    integer: bool = False
    special: tuple[Any, ...] = ()
    """Values allowed outside the interval (``gradient_steps: -1``, ``max_grad_norm: None``)."""

    def allows(self, value: Any) -> bool:
        if any(value is s or (value == s and type(value) is type(s)) for s in self.special):
            return True
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and not isinstance(value, int):  # 32.0 is not an integer setting
            return False
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a finite number"
        if self.low == -math.inf and self.high == math.inf:
            text = kind
        elif self.high == math.inf:
            text = f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        else:
            text = f"{kind} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"
        return text + "".join(f" or {s!r}" for s in self.special)


POSITIVE_INT = Range(1, integer=True)
NON_NEGATIVE_INT = Range(0, integer=True)
PROBABILITY = Range(0.0, 1.0)
STEP_SIZE = Range(0.0, 1.0, low_open=True)
"""Learning rates: positive and at most 1 (a larger Adam or RMSProp step diverges on any benchmark here)."""

COMMON_RANGES: dict[str, Range] = {
    "learning_rate": STEP_SIZE,
    "baseline_learning_rate": STEP_SIZE,
    "gamma": Range(0.0, 1.0, low_open=True),
    "gae_lambda": PROBABILITY,
    "batch_size": POSITIVE_INT,
    "buffer_size": POSITIVE_INT,
    "learning_starts": NON_NEGATIVE_INT,
    "target_update_interval": POSITIVE_INT,
    "train_freq": POSITIVE_INT,
    "gradient_steps": Range(1, integer=True, special=(-1,)),
    "exploration_fraction": PROBABILITY,
    "exploration_initial_eps": PROBABILITY,
    "exploration_final_eps": PROBABILITY,
    "max_grad_norm": Range(0.0, low_open=True, special=(None,)),
    "episodes_per_update": POSITIVE_INT,
    "entropy_coef": Range(0.0),
    "ent_coef": Range(0.0),
    "vf_coef": Range(0.0),
    "initial_log_std": Range(),
    "n_envs": POSITIVE_INT,
    "n_steps": POSITIVE_INT,
    "n_epochs": POSITIVE_INT,
    "clip_range": Range(0.0, low_open=True),
    "tau": Range(0.0, 1.0, low_open=True),
}
"""Ranges by field name, shared by every agent (and the SB3 ``algo_kwargs``)."""

LAYER_SIZE = POSITIVE_INT


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(where: str, name: str, value: Any, rule: Range) -> None:
    if not rule.allows(value):
        problem = ("is not an integer" if rule.integer and not _is_integer(value) and isinstance(value, (int, float))
                   else "is out of range")
        raise RlbenchError(f"{where}.{name}: {value!r} {problem}; allowed: {rule.describe()}")


_INT_ANNOTATIONS = {"int": False, "int | None": True, "None | int": True, "Optional[int]": True,
                    "typing.Optional[int]": True}
"""String annotations (``from __future__ import annotations``) of integer fields -> whether None is allowed."""


def _integer_fields(config_cls: type) -> dict[str, bool]:
    """The ``Config`` fields annotated ``int`` or ``int | None`` -> whether None is allowed."""
    try:
        hints = typing.get_type_hints(config_cls)
    except Exception:  # noqa: BLE001 - an annotation that does not evaluate: fall back to its text
        hints = {}
    found = {}
    for f in dataclasses.fields(config_cls):
        hint = hints.get(f.name, f.type)
        if isinstance(hint, str):
            if hint.strip() in _INT_ANNOTATIONS:
                found[f.name] = _INT_ANNOTATIONS[hint.strip()]
        elif hint is int:
            found[f.name] = False
        elif (typing.get_origin(hint) in (typing.Union, types.UnionType)
              and set(typing.get_args(hint)) == {int, type(None)}):
            found[f.name] = True
    return found


def _check_integer_types(config: Any, where: str) -> None:
    for name, optional in _integer_fields(type(config)).items():
        value = getattr(config, name)
        if not (_is_integer(value) or (optional and value is None)):
            raise RlbenchError(f"{where}.{name}: {value!r} is not an integer; allowed: an integer"
                               + (" or None" if optional else ""))


def _check_mapping(where: str, values: Mapping[str, Any], own: Mapping[str, Range]) -> None:
    for name, value in values.items():
        rule = own.get(name, COMMON_RANGES.get(name))
        if name in ("net_arch",) and value is not None:
            sizes = list(value) if isinstance(value, (list, tuple)) else [value]
            if not sizes or not all(LAYER_SIZE.allows(size) for size in sizes):
                raise RlbenchError(f"{where}.net_arch: {list(sizes)} is out of range; allowed: a non-empty list of "
                                   f"positive integers (hidden layer sizes)")
        elif isinstance(value, Mapping):
            _check_mapping(f"{where}.{name}", value, {})
        elif rule is not None:
            _check(where, name, value, rule)
    batch, buffer = values.get("batch_size"), values.get("buffer_size")
    if isinstance(batch, int) and isinstance(buffer, int) and batch > buffer:
        raise RlbenchError(f"{where}.batch_size: {batch} is larger than buffer_size {buffer}; allowed: at most buffer_size")


def check_ranges(config: Any, where: str) -> None:
    """Check every field of an agent's ``Config`` instance against its range; raise one line on the first bad one."""
    own = {f.name: f.metadata["range"] for f in dataclasses.fields(config) if "range" in f.metadata}
    _check_integer_types(config, where)
    _check_mapping(where, {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}, own)
