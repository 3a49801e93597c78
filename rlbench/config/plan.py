"""A suite's plan: one ``RunSpec`` per algorithm, environment and seed, each with its run id.

``plan_suite`` resolves every agent (built-in, entry point or plugin file), validates and
completes its hyperparameters, and digests the code behind it (:mod:`rlbench.config.identity`).
The plan stage writes it to ``results/plans/<suite>.json`` (:mod:`rlbench.storage.plans`);
everything downstream (training, the analysis, the reports) reads runs through it, so the
analysis never imports an agent or recomputes a run id from code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from rlbench.config.params import Params, SuiteConfig
from rlbench.errors import RlbenchError

EXECUTION_MODES = ("single", "batched")
"""How a run's numbers are computed: ``single`` = one seed per process with one torch thread;
``batched:<seeds>`` = the listed seeds trained together in one process (``suites.<name>.batch_seeds``),
one torch thread. Part of the run id, since batched arithmetic rounds differently."""


def batched_mode(seeds: tuple[int, ...]) -> str:
    """The execution mode of a run trained in a batched group with ``seeds``."""
    return "batched:" + ",".join(str(seed) for seed in seeds)


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's results (and nothing that does not)."""

    suite: str
    algo: str
    agent: str
    env: str
    seed: int
    budget: int
    eval_every: int
    eval_episodes: int
    hyperparameters: dict[str, Any]
    """Complete, resolved hyperparameters (agent defaults filled in)."""
    code_digest: str
    """Digest of the code and package versions behind the run (``identity.code_digest``)."""
    mode: str = "single"
    """Execution mode: ``single`` or ``batched:<seeds of the group>`` (:data:`EXECUTION_MODES`)."""

    @property
    def batched(self) -> bool:
        return self.mode != "single"

    @property
    def run_id(self) -> str:
        identity = {k: v for k, v in dataclasses.asdict(self).items() if k != "suite"}
        canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def key(self) -> str:
        return f"{self.algo}/{self.env}/seed_{self.seed}"

    def resolved_config(self, env_info: dict[str, Any]) -> dict[str, Any]:
        """The run's ``config.json``: its spec, id and the record of the environment it saw."""
        return {"run_id": self.run_id, **dataclasses.asdict(self), "env_info": env_info}


@dataclass(frozen=True)
class AlgoPlan:
    """One algorithm of a plan: how it is named and where its code comes from."""

    name: str
    label: str
    agent: str
    """The agent reference of ``params.yaml`` (registry name, entry point, ``module:Class``, ``file.py:Class``)."""
    builtin: bool
    """One of rlbench's own agents (the leaderboard's reference entries)."""
    distribution: str | None
    """The installed distribution providing the agent, if any (recorded in provenance)."""
    version: str | None
    code_digest: str
    """Digest of the agent's code (``identity.code_digest`` without an environment; a run's adds its env's module)."""


@dataclass(frozen=True)
class SuitePlan:
    """Everything downstream stages need to know about a suite's runs, as plain data."""

    suite: SuiteConfig
    algos: dict[str, AlgoPlan]
    runs: tuple[RunSpec, ...]
    settings: dict[str, dict[str, dict[str, str]]] = dataclasses.field(default_factory=dict)
    """``algo -> env -> setting -> value``: each algorithm's settings in the shared vocabulary and the protocol it
    is measured under (:mod:`rlbench.config.settings`, :mod:`rlbench.config.comparison`): what a comparison names."""

    @property
    def name(self) -> str:
        return self.suite.name

    @property
    def labels(self) -> dict[str, str]:
        return {name: algo.label for name, algo in self.algos.items()}

    def select(self, algos: list[str]) -> "SuitePlan":
        """The plan restricted to ``algos`` (in the suite's order); unknown names are an error."""
        unknown = sorted(set(algos) - set(self.algos))
        if unknown:
            raise RlbenchError(f"algorithm(s) {', '.join(unknown)} not in suite {self.name}; "
                               f"valid choices: {', '.join(sorted(self.algos))}")
        keep = [name for name in self.algos if name in algos]
        return SuitePlan(self.suite, {n: self.algos[n] for n in keep}, tuple(r for r in self.runs if r.algo in keep),
                         {n: self.settings[n] for n in keep if n in self.settings})

    def to_json(self) -> str:
        payload = {
            "suite": dataclasses.asdict(self.suite),
            "algos": {name: dataclasses.asdict(algo) for name, algo in self.algos.items()},
            "runs": [{"run_id": run.run_id, **dataclasses.asdict(run)} for run in self.runs],
            "settings": self.settings,
        }
        return json.dumps(payload, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> "SuitePlan":
        try:
            raw = json.loads(text)
            suite = raw["suite"]
            ordered = {k: tuple(suite[k]) for k in ("algos", "envs", "seeds")}  # JSON keys are sorted; keep the suite's order
            config = SuiteConfig(**{**suite, **ordered, "budget": {env: suite["budget"][env] for env in ordered["envs"]}})
            algos = {name: AlgoPlan(**raw["algos"][name]) for name in config.algos}  # the suite's order
            runs = []
            for record in raw["runs"]:
                run_id = record.pop("run_id")
                run = RunSpec(**record)
                if run.run_id != run_id:
                    raise ValueError(f"run {run.key} has run id {run_id}, its spec hashes to {run.run_id}")
                runs.append(run)
            settings = {name: raw.get("settings", {})[name] for name in config.algos if name in raw.get("settings", {})}
        except (ValueError, KeyError, TypeError) as error:
            raise RlbenchError(f"corrupt plan {source}: {error} (run `rlbench plan` or `dvc repro`)") from None
        return cls(config, algos, tuple(runs), settings)


def plan_suite(params: Params, suite_name: str) -> SuitePlan:
    """Resolve every agent of a suite, validate its hyperparameters and plan its runs."""
    from rlbench.agents.registry import batched_implementation, resolve
    from rlbench.config.comparison import protocol_settings
    from rlbench.config.identity import agent_origin, code_digest
    from rlbench.config.interface import check_interface
    from rlbench.config.ranges import check_ranges
    from rlbench.config.settings import comparable_settings

    suite = params.suite(suite_name)
    groups = [suite.seeds[i:i + suite.batch_seeds] for i in range(0, len(suite.seeds), suite.batch_seeds)]
    algos, runs, settings = {}, [], {}
    for algo_name in suite.algos:
        algo = params.algos[algo_name]
        agent_cls = resolve(algo.agent)
        check_interface(agent_cls, algo.agent, f"algos.{algo_name}")  # before any run: one line naming what is wrong
        # Agents without a batched implementation train each seed alone, whatever batch_seeds says.
        batched_cls = batched_implementation(agent_cls) if suite.batch_seeds > 1 else None
        modes = {seed: "single" if batched_cls is None or len(group) == 1 else batched_mode(group)
                 for group in groups for seed in group}
        digest = code_digest(agent_cls, batched_cls)
        origin = agent_origin(agent_cls)
        algos[algo_name] = AlgoPlan(algo_name, algo.label, algo.agent, origin.builtin, origin.distribution,
                                    origin.version, digest)
        for env in suite.envs:
            try:
                config = agent_cls.make_config(algo.for_env(env))
            except (TypeError, ValueError) as error:
                raise RlbenchError(f"algos.{algo_name} on {env}: {error}") from None
            check_ranges(config, f"algos.{algo_name}[{env}]")
            if batched_cls is not None:
                try:
                    batched_cls.check_config(config)
                except ValueError as error:
                    raise RlbenchError(f"algos.{algo_name} on {env} with suites.{suite.name}.batch_seeds "
                                       f"{suite.batch_seeds}: {error}") from None
            hyperparameters = json.loads(json.dumps(dataclasses.asdict(config)))
            settings.setdefault(algo_name, {})[env] = {
                **protocol_settings(env, suite.budget[env], suite.eval_every, suite.eval_episodes),
                **comparable_settings(agent_cls, config, suite.budget[env])}
            digests = {"single": code_digest(agent_cls, None, env)}
            if batched_cls is not None:
                digests["batched"] = code_digest(agent_cls, batched_cls, env)
            for seed in suite.seeds:
                runs.append(RunSpec(
                    suite=suite.name, algo=algo_name, agent=algo.agent, env=env, seed=seed,
                    budget=suite.budget[env], eval_every=suite.eval_every, eval_episodes=suite.eval_episodes,
                    hyperparameters=hyperparameters, mode=modes[seed],
                    code_digest=digests["single" if modes[seed] == "single" else "batched"],
                ))
    return SuitePlan(suite, algos, tuple(runs), settings)
