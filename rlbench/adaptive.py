"""Adaptive seeds for a suite: take seeds in groups until AdaStop decides, reusing finished runs, training the rest.

The decision layer is :mod:`rlbench.stats.adaptive` (AdaStop, Mathieu et al. 2023, through the ``adastop``
package); this module feeds it from the run store (it backs ``rlbench compare --adaptive``):

* **Seeds in order.** The suite's seeds as ``params.yaml`` lists them, then, when the design needs more
  (``n K`` above the suite's count), the next integers after the largest listed seed. Group ``k`` is seeds
  ``k n .. (k + 1) n - 1`` of that order, for every algorithm still in an undecided pair.
* **Reuse.** A run (algorithm, task, seed) that is finished in ``<results>/runs/<suite>/`` is read, never
  retrained; a recorded failure counts as the random score (the analysis' policy,
  :func:`rlbench.reporting.analysis.count_failed_runs`). A run changed outside the pipeline is refused, as in the
  analysis.
* **A seed's score** is the mean over the suite's tasks of its normalised final score (the suite's normalisation
  table, ``results/<suite>/normalization.csv``): :func:`rlbench.reporting.adaptive_seeds.per_seed_scores`.
* **Training only when needed.** After each look, the next group's missing runs are trained through the launcher
  (:func:`rlbench.execution.launcher.run_suite` on those runs only) into the same run store, and the look is
  taken again; with ``train=False`` the procedure stops instead as "undecided, more seeds needed", naming the
  runs it would train. Seeds beyond the suite's list are planned with the suite's settings (same run identity
  rules); they live beside the suite's runs but are not part of its plan.

The decision is a function of the scores and :class:`~rlbench.stats.adaptive.AdaptiveConfig` only (replayed from
the first look each time), so a rerun on the same runs gives the same decision and the same seeds used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rlbench.config.params import Params
from rlbench.config.plan import RunSpec, SuitePlan, plan_suite
from rlbench.errors import RlbenchError
from rlbench.reporting.adaptive_seeds import per_seed_scores
from rlbench.scores.normalization import normalization_path, read_normalization
from rlbench.stats.adaptive import UNDECIDED, AdaptiveConfig, AdaptiveDecision, adaptive_decision
from rlbench.storage.run_store import RunStore


@dataclass(frozen=True)
class AdaptiveRun:
    """An adaptive comparison of a suite's algorithms: the decision, the seeds it rests on, what was trained."""

    suite: str
    config: AdaptiveConfig
    decision: AdaptiveDecision
    seeds: tuple[int, ...]
    """The seed order groups are taken from."""
    trained: tuple[str, ...] = ()
    """Runs trained by this call (``algo/env/seed_<n>``)."""
    missing: tuple[str, ...] = ()
    """Runs the next look needs that are not finished (only when stopped undecided without training)."""

    @property
    def status(self) -> str:
        """``decided`` or ``undecided, more seeds needed``."""
        return "decided" if self.decision.finished else "undecided, more seeds needed"


def seed_order(suite_seeds: Sequence[int], needed: int) -> tuple[int, ...]:
    """The suite's seeds in their listed order, extended by the next integers after the largest to ``needed``."""
    seeds = list(dict.fromkeys(int(s) for s in suite_seeds))
    nxt = max(seeds, default=-1) + 1
    while len(seeds) < needed:
        seeds.append(nxt)
        nxt += 1
    return tuple(seeds)


def check_algorithms(algos: Sequence[str], suite_algos: Sequence[str], suite: str) -> list[str]:
    """``algos`` if they are two or more distinct algorithms of the suite; else the error naming what is allowed."""
    algos = list(algos)
    twice = sorted({a for a in algos if algos.count(a) > 1})
    if twice:
        raise RlbenchError(f"algorithm(s) named twice: {', '.join(twice)}; name each algorithm once")
    unknown = [a for a in algos if a not in suite_algos]
    if unknown:
        raise RlbenchError(f"algorithm(s) {', '.join(unknown)} not in suite {suite}; valid choices: "
                           f"{', '.join(sorted(suite_algos))}")
    if len(algos) < 2:
        raise RlbenchError(f"an adaptive comparison needs at least 2 algorithms of suite {suite}, got {len(algos)}; "
                           f"valid choices: {', '.join(sorted(suite_algos))}")
    return algos


def extended_plan(params: Params, plan: SuitePlan, seeds: Sequence[int]) -> SuitePlan:
    """``plan`` with runs for every seed of ``seeds`` (the suite's own runs kept as planned)."""
    extra = [s for s in seeds if s not in plan.suite.seeds]
    if not extra:
        return plan
    suite = dataclasses.replace(plan.suite, seeds=tuple(plan.suite.seeds) + tuple(extra))
    wider = plan_suite(dataclasses.replace(params, suites={**params.suites, suite.name: suite}), suite.name)
    own = {(r.algo, r.env, r.seed): r for r in plan.runs}
    runs = tuple(own.get((r.algo, r.env, r.seed), r) for r in wider.runs if r.algo in plan.algos)
    return dataclasses.replace(plan, suite=suite, runs=runs)


def adaptive_compare(
    params: Params,
    plan: SuitePlan,
    algos: Sequence[str],
    config: AdaptiveConfig,
    results: Path | str = "results",
    train: bool = True,
    backend: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    on_look: Callable[[str], None] = lambda message: None,
) -> AdaptiveRun:
    """Compare ``algos`` of the planned suite with AdaStop, training seed groups only as the decision needs them.

    ``plan`` is the suite's plan as today's code and ``params.yaml`` make it. Each round takes every look the
    finished runs allow; if the comparison is still open and fewer than ``K`` looks were taken, the next group's
    missing runs are trained (``train``) or the procedure stops undecided, naming them.
    """
    names = check_algorithms(algos, plan.suite.algos, plan.name)
    selected = plan.select(names)
    if not normalization_path(results, plan.name).is_file():
        raise RlbenchError(f"suite {plan.name} has no normalisation table {normalization_path(results, plan.name)}: "
                           f"run `rlbench report {plan.name}` (or the pipeline's normalization stage) first")
    normalization = read_normalization(results, plan.name)
    seeds = seed_order(selected.suite.seeds, config.max_seeds)
    wide = extended_plan(params, selected, seeds)
    envs = list(selected.suite.envs)
    store = RunStore(results)
    trained: list[str] = []
    by_key = {(r.algo, r.env, r.seed): r for r in wide.runs}

    while True:
        finished: dict[str, bool] = {}  # this round's verification of each run (a run is verified once)

        def done(spec: RunSpec) -> bool:
            """Finished (verified) or recorded as failed."""
            if spec.key not in finished:
                finished[spec.key] = store.is_finished(spec)
            return finished[spec.key] or bool(store.failures([spec]))

        def available(algo: str) -> list[RunSpec]:
            """The algorithm's runs of the longest prefix of ``seeds`` whose every task is finished or failed."""
            specs: list[RunSpec] = []
            for seed in seeds:
                group = [by_key[(algo, env, seed)] for env in envs]
                if not all(done(s) for s in group):
                    break
                specs += group
            return specs

        specs = {algo: available(algo) for algo in names}
        store.refuse_changed([s for group in specs.values() for s in group])
        scores = {a: per_seed_scores(store.load_eval([s for s in specs[a] if finished[s.key]]),
                                     store.failures(specs[a]), normalization, [a], envs,
                                     seeds[:len(specs[a]) // len(envs)])[a] for a in names}
        decision = adaptive_decision(scores, config)
        on_look(f"{decision.looks} look(s): " + ", ".join(f"{a} vs {b} {d}" for (a, b), d in
                                                         decision.decisions.items()))
        if decision.finished:
            return AdaptiveRun(plan.name, config, decision, seeds, tuple(trained))
        need = (decision.looks + 1) * config.group_size
        open_algos = {a for pair, d in decision.decisions.items() if d == UNDECIDED for a in pair}
        todo = [by_key[(a, env, seed)] for a in names if a in open_algos for seed in seeds[:need] for env in envs]
        todo = [s for s in todo if not done(s)]
        if not todo:  # cannot happen: a look is missing only when some run is
            raise RlbenchError("adaptive comparison stalled: no run missing but no further look taken")
        if not train:
            return AdaptiveRun(plan.name, config, decision, seeds, tuple(trained), tuple(s.key for s in todo))
        on_look(f"training {len(todo)} run(s) for look {decision.looks + 1}")
        from rlbench.execution.launcher import run_suite  # heavy (torch): only when something is trained

        report = run_suite(params, plan.name, results, plan=dataclasses.replace(wide, runs=tuple(todo)),
                           backend=backend, workers=workers, progress=progress)
        trained += report.completed
        if not report.completed and not report.failed:
            raise RlbenchError(f"training the next group of suite {plan.name} did nothing: {report.summary()}")
