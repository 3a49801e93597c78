"""Typed, validated view of ``params.yaml``: suites, algorithms and the pipeline settings.

Every error names the offending key (as a dotted path) and, where there is a fixed set of
choices, the valid ones. Planning a suite into runs is :mod:`rlbench.config.plan`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rlbench.envs.registry import ENVIRONMENTS
from rlbench.errors import RlbenchError, unknown_choice

BACKENDS = ("serial", "process", "ray")
"""How a suite's runs execute; :mod:`rlbench.execution.backends` implements each of these names."""

SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
"""Suite, algorithm and environment names: they become directory names under ``results/`` and ``reports/``,
so no path separator, no leading dot (``..`` would climb out of them)."""
SAFE_NAME_RULE = "letters, digits, '-', '_' and '.', not starting with '.'"


def check_name(kind: str, name: Any) -> str:
    """``name`` if it is a safe file name (:data:`SAFE_NAME`); otherwise one line naming it and the rule."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise RlbenchError(f"{kind} {name!r} is not allowed as a name; allowed: {SAFE_NAME_RULE}")
    return name


class DuplicateKeyError(yaml.YAMLError):
    """A key repeated in one mapping of a YAML file (plain YAML keeps the last value silently)."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key repeated in one mapping, naming both lines (merge keys ``<<`` may
    still be overridden by a key of their own mapping)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if first is not None:
                raise DuplicateKeyError(f"duplicate key {key!r} at line {line} (first at line {first}); "
                                        "allowed: each key once per mapping")
            seen[key] = line
        return super().construct_mapping(node, deep)


def _duplicates(values: list[Any]) -> list[Any]:
    """The entries of ``values`` that occur more than once, each once, in order."""
    repeated: list[Any] = []
    for i, value in enumerate(values):
        if value in values[:i] and value not in repeated:
            repeated.append(value)
    return repeated


@dataclass(frozen=True)
class SuiteConfig:
    """One suite: which algorithms on which environments with which seeds and budgets."""

    name: str
    """The suite's key under ``suites:``."""
    algos: tuple[str, ...]
    """Algorithm keys (entries of ``algos:``)."""
    envs: tuple[str, ...]
    """Environment registry names."""
    seeds: tuple[int, ...]
    """Run seeds; each spawns every random stream of its run."""
    budget: dict[str, int]
    """Environment steps of training per environment."""
    eval_every: int
    """Environment steps between evaluations (also at step 0 and at the budget)."""
    eval_episodes: int
    """Greedy/deterministic episodes per evaluation."""
    batch_seeds: int = 1
    """Seeds trained together in one process (batched arithmetic) by agents that support it; 1 = each seed
    its own run. Part of each run's identity (its execution mode)."""


@dataclass(frozen=True)
class AlgoConfig:
    """One leaderboard entry: an agent and its hyperparameters."""

    name: str
    """The entry's key under ``algos:``."""
    agent: str
    """Registry name, entry point, or ``module:Class`` / ``file.py:Class`` reference."""
    hyperparameters: dict[str, Any]
    """Values for every environment."""
    per_env: dict[str, dict[str, Any]]
    """Overrides per environment (e.g. the rl-zoo values)."""
    label: str
    """Display name in tables and plots."""

    def for_env(self, env: str) -> dict[str, Any]:
        return {**self.hyperparameters, **self.per_env.get(env, {})}


@dataclass(frozen=True)
class PipelineConfig:
    """How ``dvc repro`` runs: which suites it publishes, on which backend, with how many workers."""

    publish: tuple[str, ...]
    """The suites the repository publishes: ``dvc repro`` trains and reports each of them."""
    backend: str
    """``serial``, ``process`` (local pool) or ``ray``."""
    workers: int
    """Worker processes for the local pool (0 = number of cores)."""
    retries: int
    """Extra attempts for a run that raises before it is recorded as failed."""
    checkpoint_every: int
    """Environment steps between checkpoints of a run (0 = off)."""
    allow_failures: bool
    """Exit 0 when runs failed (failures still reported), so later stages still run."""
    stats_seed: int
    """Random state of every bootstrap."""
    bootstrap_reps: int
    """Bootstrap resamples for confidence intervals."""


@dataclass(frozen=True)
class Params:
    """All of ``params.yaml``."""

    pipeline: PipelineConfig
    suites: dict[str, SuiteConfig]
    algos: dict[str, AlgoConfig]

    def suite(self, name: str) -> SuiteConfig:
        if name not in self.suites:
            raise unknown_choice("suite", name, self.suites)
        return self.suites[name]


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(), Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except FileNotFoundError:
        raise RlbenchError(f"{path} not found (run from the project root or pass --params)") from None
    except DuplicateKeyError as error:
        raise RlbenchError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise RlbenchError(f"{path} is not valid YAML: {str(error).splitlines()[0]}") from None
    return parse_params(raw, str(path))


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    root = _mapping(raw, source, ("pipeline", "suites", "algos"))
    # `calibration:` is the calibration stage's own section (validated by rlbench.stats.calibration.settings_from_mapping)
    _only_known(root, source, {"pipeline", "suites", "algos", "calibration"})
    algos = {check_name("algorithm", name): _algo(name, value)
             for name, value in _mapping(root["algos"], "algos").items()}
    suites = {check_name("suite", name): _suite(name, value, algos)
              for name, value in _mapping(root["suites"], "suites").items()}
    pipeline = _pipeline(_mapping(root["pipeline"], "pipeline"), suites)
    return Params(pipeline, suites, algos)


def _mapping(value: Any, where: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RlbenchError(f"{where}: expected a mapping, got {type(value).__name__}")
    missing = [key for key in required if key not in value]
    if missing:
        raise RlbenchError(f"{where}: missing key(s) {', '.join(missing)}")
    return value


def _only_known(mapping: dict[str, Any], where: str, known: set[str]) -> None:
    """A misspelled key is an error, never silently ignored."""
    extra = sorted(set(mapping) - known)
    if extra:
        raise RlbenchError(f"{where}: unknown key(s) {', '.join(extra)}; valid: {', '.join(sorted(known))}")


def _field(mapping: dict[str, Any], key: str, where: str, kind: type, default: Any = ...) -> Any:
    if key not in mapping:
        if default is ...:
            raise RlbenchError(f"{where}.{key}: missing")
        return default
    value = mapping[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise RlbenchError(f"{where}.{key}: expected an integer, got {value!r}")
    if not isinstance(value, kind):
        raise RlbenchError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
    return value


def _distinct(values: list[Any], where: str, what: str) -> list[Any]:
    """A suite's list of algorithms, environments or seeds: non-empty, each entry once."""
    if not values:
        raise RlbenchError(f"{where}: empty; allowed: a non-empty list of distinct {what}")
    repeated = _duplicates(values)
    if repeated:
        raise RlbenchError(f"{where}: duplicate {what} {', '.join(map(repr, repeated))} in {values!r}; "
                           f"allowed: each once")
    return values


def _positive(value: int, where: str) -> int:
    if value <= 0:
        raise RlbenchError(f"{where}: must be positive, got {value}")
    return value


def _seed(value: int, where: str) -> int:
    if not 0 <= value < 2**32:
        raise RlbenchError(f"{where}: {value} is out of range; allowed: an integer in [0, 2**32)")
    return value


def _algo(name: str, raw: Any) -> AlgoConfig:
    where = f"algos.{name}"
    mapping = _mapping(raw, where, ("agent",))
    _only_known(mapping, where, {"agent", "hyperparameters", "per_env", "label"})
    per_env = _mapping(mapping.get("per_env") or {}, f"{where}.per_env")
    for env, values in per_env.items():
        check_name(f"environment in {where}.per_env:", env)
        if env not in ENVIRONMENTS:
            raise unknown_choice(f"environment in {where}.per_env:", env, ENVIRONMENTS)
        _mapping(values, f"{where}.per_env.{env}")
    return AlgoConfig(
        name=name,
        agent=_field(mapping, "agent", where, str),
        hyperparameters=dict(_mapping(mapping.get("hyperparameters") or {}, f"{where}.hyperparameters")),
        per_env={env: dict(values) for env, values in per_env.items()},
        label=_field(mapping, "label", where, str, name),
    )


def _suite(name: str, raw: Any, algos: dict[str, AlgoConfig]) -> SuiteConfig:
    where = f"suites.{name}"
    required = ("algos", "envs", "seeds", "budget", "eval_every", "eval_episodes")
    mapping = _mapping(raw, where, required)
    _only_known(mapping, where, {*required, "batch_seeds"})
    suite_algos = _distinct(_field(mapping, "algos", where, list), f"{where}.algos", "algorithms")
    for algo in suite_algos:
        check_name(f"algorithm in {where}.algos:", algo)
        if algo not in algos:
            raise unknown_choice(f"algorithm in {where}.algos:", algo, algos)
    envs = _distinct(_field(mapping, "envs", where, list), f"{where}.envs", "environments")
    for env in envs:
        check_name(f"environment in {where}.envs:", env)
        if env not in ENVIRONMENTS:
            raise unknown_choice(f"environment in {where}.envs:", env, ENVIRONMENTS)
    seeds = _field(mapping, "seeds", where, list)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise RlbenchError(f"{where}.seeds: expected a non-empty list of non-negative integers, got {seeds!r}")
    _distinct(seeds, f"{where}.seeds", "seeds")
    raw_budget = mapping["budget"]
    if isinstance(raw_budget, int) and not isinstance(raw_budget, bool):
        budget = {env: raw_budget for env in envs}
    else:
        budget_map = _mapping(raw_budget, f"{where}.budget")
        missing = [env for env in envs if env not in budget_map]
        if missing:
            raise RlbenchError(f"{where}.budget: no budget for {', '.join(missing)}")
        budget = {env: _field(budget_map, env, f"{where}.budget", int) for env in envs}
    for env, steps in budget.items():
        _positive(steps, f"{where}.budget.{env}")
    return SuiteConfig(
        name=name,
        algos=tuple(suite_algos),
        envs=tuple(envs),
        seeds=tuple(seeds),
        budget=budget,
        eval_every=_positive(_field(mapping, "eval_every", where, int), f"{where}.eval_every"),
        eval_episodes=_positive(_field(mapping, "eval_episodes", where, int), f"{where}.eval_episodes"),
        batch_seeds=_positive(_field(mapping, "batch_seeds", where, int, 1), f"{where}.batch_seeds"),
    )


def _pipeline(mapping: dict[str, Any], suites: dict[str, SuiteConfig]) -> PipelineConfig:
    where = "pipeline"
    _only_known(mapping, where, {f.name for f in dataclasses.fields(PipelineConfig)})
    publish = _field(mapping, "publish", where, list)
    if not publish or len(set(publish)) != len(publish):
        raise RlbenchError(f"{where}.publish: expected a non-empty list of distinct suite names, got {publish!r}")
    for suite in publish:
        if suite not in suites:
            raise unknown_choice("suite in pipeline.publish:", suite, suites)
    backend = _field(mapping, "backend", where, str, "process")
    if backend not in BACKENDS:
        raise unknown_choice("backend in pipeline.backend:", backend, BACKENDS)
    workers = _field(mapping, "workers", where, int, 0)
    retries = _field(mapping, "retries", where, int, 1)
    checkpoint_every = _field(mapping, "checkpoint_every", where, int, 0)
    for key, value in (("workers", workers), ("retries", retries), ("checkpoint_every", checkpoint_every)):
        if value < 0:
            raise RlbenchError(f"{where}.{key}: must be >= 0, got {value}")
    return PipelineConfig(
        publish=tuple(publish),
        backend=backend,
        workers=workers,
        retries=retries,
        checkpoint_every=checkpoint_every,
        allow_failures=_field(mapping, "allow_failures", where, bool, True),
        stats_seed=_seed(_field(mapping, "stats_seed", where, int, 0), f"{where}.stats_seed"),
        bootstrap_reps=_positive(_field(mapping, "bootstrap_reps", where, int, 2000), f"{where}.bootstrap_reps"),
    )
