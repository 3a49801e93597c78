"""The launcher: skip finished runs, execute the rest on a backend, write every result, retry, report.

A run another suite already finished with the same run id (same config, code and execution mode)
is copied from there rather than trained again (:meth:`RunStore.adopt_from_other_suite`).

Before anything runs, the suite's index is settled (:meth:`RunStore.settle_index`; a suite written before
indexes existed gets one from its runs as they are) and a run that verifies but was changed outside the
pipeline stops the launch in one line naming it (:meth:`RunStore.refuse_changed`): reusing it as "already
finished" would publish it. A run that fails verification is damage and is trained again, as before.

Workers only compute; this process writes every result through the store, so a run executed on a
local worker or on a remote Ray node ends up as the same files. A run is retried ``retries`` times
when it raises (or its worker dies) and then recorded as failed with its traceback; the other runs
go on. Killing the launcher at any point loses only the runs in flight: finished runs are already
written atomically and are skipped on the next start, runs with resume checkpoints continue
from their last checkpoint.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from rlbench.config.params import Params
from rlbench.config.plan import RunSpec, SuitePlan, plan_suite
from rlbench.errors import RlbenchError, unknown_choice
from rlbench.execution.backends import BACKENDS
from rlbench.execution.worker import Task, WorkerOptions
from rlbench.storage.dvc_lock import changed_since_lock, unrecorded_change
from rlbench.storage.plans import read_plan
from rlbench.storage.provenance import code_provenance
from rlbench.storage.run_index import index_path
from rlbench.storage.run_store import RunStore
from rlbench.training.evaluation import evaluation_steps


@dataclass
class LaunchReport:
    """Summary of one launch."""

    skipped: list[str] = field(default_factory=list)
    """Runs already finished before this launch (not redone)."""
    unverified: list[tuple[str, str]] = field(default_factory=list)
    """(run, reason) of runs found on disk that failed verification, so were trained again."""
    adopted: list[tuple[str, str]] = field(default_factory=list)
    """(run, suite) of runs copied from another suite's finished run with the same run id (not retrained)."""
    completed: list[str] = field(default_factory=list)
    """Runs executed and written by this launch."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(run, reason) of runs that failed after their retries."""

    def summary(self) -> str:
        lines = [f"{len(self.completed)} run(s) trained, {len(self.skipped)} already finished, {len(self.failed)} failed"
                 + (f", {len(self.adopted)} taken from other suites' finished runs" if self.adopted else "")]
        lines += [f"  RETRAINED {key}: it failed verification ({reason})" for key, reason in self.unverified]
        lines += [f"  FAILED {key}: {reason}" for key, reason in self.failed]
        return "\n".join(lines)


def launch(
    specs: list[RunSpec],
    store: RunStore,
    backend: str = "process",
    workers: int = 0,
    retries: int = 1,
    options: WorkerOptions = WorkerOptions(),
    progress: bool = True,
    origins: dict[str, dict] | None = None,
) -> LaunchReport:
    """Execute every unfinished spec and write it to ``store``; return what happened.

    ``origins`` (algorithm -> provenance entries) records where each agent's code came from. One
    launcher at a time writes a suite: a second one waits for the suite's lock, then finds the
    runs the first finished and skips them.
    """
    if backend not in BACKENDS:
        raise unknown_choice("backend", backend, BACKENDS)
    if retries < 0 or workers < 0:
        raise RlbenchError(f"retries and workers must be >= 0, got retries {retries}, workers {workers}")
    if not specs:
        return LaunchReport()
    with store.suite_lock(specs[0].suite, on_wait=lambda message: print(message, file=sys.stderr, flush=True)):
        return _launch_locked(specs, store, backend, workers or os.cpu_count() or 1, retries, options, progress,
                              origins or {})


def _launch_locked(specs: list[RunSpec], store: RunStore, backend: str, workers: int, retries: int,
                   options: WorkerOptions, progress: bool, origins: dict[str, dict]) -> LaunchReport:
    store.clean_staging()
    store.settle_index(specs[0].suite)
    store.refuse_changed(specs)
    report = LaunchReport()
    todo = []
    for spec in specs:
        problem = store.verify(spec)
        if problem is None:
            report.skipped.append(spec.key)
            continue
        source_suite = store.adopt_from_other_suite(spec)
        if source_suite is not None:  # same run id: same config, code and mode, so the same numbers
            report.adopted.append((spec.key, source_suite))
            continue
        todo.append(spec)
        if store.run_dir(spec).is_dir():  # on disk but damaged, incomplete or stale: say so, then retrain
            report.unverified.append((spec.key, problem))
            print(f"run {spec.key} fails verification ({problem}); training it again", file=sys.stderr, flush=True)
    if not todo:
        return report
    todo.sort(key=lambda spec: -spec.budget)  # longest first: less idle time at the end of a pool
    provenance = code_provenance()
    attempts = {spec.run_id: 0 for spec in todo}
    wanted = {spec.run_id for spec in todo}
    bar = tqdm(total=len(todo), desc=f"{specs[0].suite}", unit="run", disable=not progress, dynamic_ncols=True)
    queue = list(todo)
    try:
        while queue:
            retry: list[RunSpec] = []
            for outcome in BACKENDS[backend](tasks(queue, specs), options, workers):
                spec = outcome.spec
                if spec.run_id not in wanted:  # a finished member of a batched group, trained again alongside
                    continue
                attempts[spec.run_id] += 1
                if outcome.result is not None:
                    result = outcome.result
                    store.write_run(spec, result.env_info, result.eval_rows, result.train_rows,
                                    {**provenance, **result.provenance, **origins.get(spec.algo, {}),
                                     "attempts": attempts[spec.run_id]},
                                    evaluation_steps(spec.budget, spec.eval_every), result.diagnostic_rows)
                    report.completed.append(spec.key)
                    bar.update(1)
                else:
                    if attempts[spec.run_id] <= retries:
                        retry.append(spec)
                        continue
                    store.write_failure(spec, outcome.reason, outcome.traceback, attempts[spec.run_id])
                    report.failed.append((spec.key, outcome.reason))
                    bar.update(1)
                bar.set_postfix(done=len(report.completed), failed=len(report.failed))
            queue = retry
    finally:
        bar.close()
    unaccounted = {spec.key for spec in todo} - set(report.completed) - {key for key, _ in report.failed}
    if unaccounted:  # a backend lost track of a run: never let a suite look complete without it
        raise RlbenchError(f"launcher lost {len(unaccounted)} run(s): {', '.join(sorted(unaccounted))}")
    return report


def tasks(todo: list[RunSpec], specs: list[RunSpec]) -> list[Task]:
    """The units of work for the runs ``todo``: each single run alone; each batched group whole (its
    finished members among ``specs`` included, since a group's seeds are trained together), in the
    order of ``todo``."""
    groups: dict[tuple[str, str, str], list[RunSpec]] = {}
    for spec in specs:
        if spec.batched:
            groups.setdefault((spec.algo, spec.env, spec.mode), []).append(spec)
    result: list[Task] = []
    seen: set[tuple[str, str, str]] = set()
    for spec in todo:
        if not spec.batched:
            result.append((spec,))
        elif (spec.algo, spec.env, spec.mode) not in seen:
            seen.add((spec.algo, spec.env, spec.mode))
            result.append(tuple(groups[(spec.algo, spec.env, spec.mode)]))
    return result


def run_suite(
    params: Params,
    suite: str,
    results: str | Path = "results",
    *,
    plan: SuitePlan | None = None,
    backend: str | None = None,
    workers: int | None = None,
    retries: int | None = None,
    checkpoint_every: int | None = None,
    ray_address: str | None = None,
    gpus_per_run: float = 0.0,
    progress: bool = True,
) -> LaunchReport:
    """Launch a suite of ``params`` (planned afresh unless ``plan`` is given) with the pipeline settings."""
    pipeline = params.pipeline
    plan = plan or plan_suite(params, suite)
    every = pipeline.checkpoint_every if checkpoint_every is None else checkpoint_every
    options = WorkerOptions(
        checkpoint_dir=str(Path(results) / ".checkpoints" / suite) if every > 0 else None,
        checkpoint_every=every,
        ray_address=ray_address,
        gpus_per_run=gpus_per_run,
    )
    origins = {name: {"agent_origin": {"agent": a.agent, "distribution": a.distribution, "version": a.version}}
               for name, a in plan.algos.items()}
    return launch(
        list(plan.runs),
        RunStore(results),
        backend=backend or pipeline.backend,
        workers=pipeline.workers if workers is None else workers,
        retries=pipeline.retries if retries is None else retries,
        options=options,
        progress=progress,
        origins=origins,
    )


def train_stage(params: Params, suite: str, project: Path = Path(".")) -> tuple[LaunchReport, str | None]:
    """The ``train@<suite>`` stage: launch the recorded plan in ``project`` (paths relative to it, as DVC runs it);
    return the report and, when DVC is about to record a runs directory that changed since ``dvc.lock`` recorded
    it with the same plan, the sentence that says so (never absorbed silently; see
    :mod:`rlbench.storage.dvc_lock`). A run changed outside the pipeline stops the launch first (an error)."""
    results = Path(project) / "results"
    index = index_path(RunStore(results).suite_dir(suite))
    unindexed = index.parent.is_dir() and not index.is_file()  # runs written before indexes existed
    # Such runs are trusted as they are: say whether they were the ones dvc.lock recorded before the index vouches.
    unrecorded = unindexed and changed_since_lock(Path(project), suite)
    report = run_suite(params, suite, results, plan=read_plan(results, suite))
    if unindexed and index.is_file():
        return report, (f"note: results/runs/{suite}/index.json now records the suite's runs as they were (the first "
                        "launch since runs are indexed)" + (
                            f"; they were not the directory dvc.lock recorded with this plan: `rlbench audit {suite}` "
                            "retrains a sample of them to check them" if unrecorded else
                            "; dvc.lock records the index with them"))
    return report, unrecorded_change(Path(project), suite)
