"""Run a suite: skip finished runs, execute the rest serially, on a process pool or on Ray.

Workers only compute; this process writes every result through the store, so a run executed on a
local worker or on a remote Ray node ends up as the same files. A run is retried ``retries`` times
when it raises (or its worker dies) and then recorded as failed with its traceback; the other runs
go on. Killing the launcher at any point loses only the runs in flight: finished runs are already
written atomically and are skipped on the next start, checkpointed runs continue from their
last checkpoint.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from rlbench.config import Params, RunSpec, plan_runs
from rlbench.errors import RlbenchError, unknown_choice
from rlbench.provenance import code_provenance
from rlbench.runner import RunResult, execute_run
from rlbench.store import RunStore


@dataclass
class Outcome:
    """What a worker sends back: a result, or the reason the attempt failed."""

    spec: RunSpec
    result: RunResult | None = None
    reason: str = ""
    traceback: str = ""


@dataclass
class LaunchReport:
    """Summary of one launch."""

    skipped: list[str] = field(default_factory=list)
    """Runs already finished before this launch (not redone)."""
    completed: list[str] = field(default_factory=list)
    """Runs executed and written by this launch."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(run, reason) of runs that failed after their retries."""

    def summary(self) -> str:
        lines = [f"{len(self.completed)} run(s) trained, {len(self.skipped)} already finished, {len(self.failed)} failed"]
        lines += [f"  FAILED {key}: {reason}" for key, reason in self.failed]
        return "\n".join(lines)


@dataclass(frozen=True)
class WorkerOptions:
    """How runs are executed: checkpointing of long runs, and where Ray sends them."""

    checkpoint_dir: str | None = None
    """Directory of run checkpoints (None = no checkpoints)."""
    checkpoint_every: int = 0
    """Environment steps between checkpoints."""
    ray_address: str | None = None
    """Address of an existing Ray cluster (else ``RAY_ADDRESS``, else a local instance)."""
    gpus_per_run: float = 0.0
    """GPUs each Ray task asks for."""


def attempt(spec: RunSpec, options: WorkerOptions) -> Outcome:
    """Execute one run, turning any exception into a failed Outcome (runs inside workers)."""
    try:
        directory = Path(options.checkpoint_dir) if options.checkpoint_dir else None
        return Outcome(spec, result=execute_run(spec, directory, options.checkpoint_every))
    except Exception as error:  # noqa: BLE001 - any failure of a run is recorded, not fatal to the suite
        return Outcome(spec, reason=f"{type(error).__name__}: {error}".splitlines()[0], traceback=traceback.format_exc())


# A backend runs attempts and yields their outcomes as they finish (a lost worker is a failed outcome).
Backend = Callable[[list[RunSpec], WorkerOptions, int], Iterator[Outcome]]


def _serial(specs: list[RunSpec], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    for spec in specs:
        yield attempt(spec, options)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _process_pool(specs: list[RunSpec], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    """A pool of spawned workers with ``workers`` runs in flight.

    When a worker dies the pool breaks and every run in flight is lost, but only one of them is
    to blame: the lost runs are re-executed one at a time (``solo``), and only a run that breaks
    the pool while alone is reported as lost (costing it an attempt).
    """
    pending = list(specs)
    solo: set[str] = set()
    context = multiprocessing.get_context("spawn")
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker)
        in_flight: dict[Future, RunSpec] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < workers and not any(s.run_id in solo for s in in_flight.values()):
                    if pending[0].run_id in solo and in_flight:
                        break  # a suspect runs alone
                    future = pool.submit(attempt, pending[0], options)  # may raise on a broken pool
                    in_flight[future] = pending.pop(0)
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    if future.exception() is None:
                        spec = in_flight.pop(future)
                        solo.discard(spec.run_id)
                        yield future.result()
                if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                    raise BrokenProcessPool("a worker process died")
        except BrokenProcessPool:
            lost = list(in_flight.values())
            if len(lost) == 1 and lost[0].run_id in solo:
                solo.discard(lost[0].run_id)
                yield Outcome(lost[0], reason="worker process died")
            else:
                solo.update(spec.run_id for spec in lost)
                pending[:0] = lost
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def _ray(specs: list[RunSpec], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    from rlbench.launch_ray import ray_backend

    yield from ray_backend(specs, options, workers, options.ray_address, options.gpus_per_run)


BACKENDS: dict[str, Backend] = {"serial": _serial, "process": _process_pool, "ray": _ray}


def launch(
    specs: list[RunSpec],
    store: RunStore,
    backend: str = "process",
    workers: int = 0,
    retries: int = 1,
    options: WorkerOptions = WorkerOptions(),
    progress: bool = True,
) -> LaunchReport:
    """Execute every unfinished spec and write it to ``store``; return what happened."""
    if backend not in BACKENDS:
        raise unknown_choice("backend", backend, BACKENDS)
    if retries < 0:
        raise RlbenchError(f"retries must be >= 0, got {retries}")
    workers = workers or os.cpu_count() or 1
    store.clean_staging()
    report = LaunchReport()
    todo = []
    for spec in specs:
        (report.skipped.append(spec.key) if store.is_finished(spec) else todo.append(spec))
    if not todo:
        return report
    todo.sort(key=lambda spec: -spec.budget)  # longest first: less idle time at the end of a pool
    provenance = code_provenance()
    attempts = {spec.run_id: 0 for spec in todo}
    bar = tqdm(total=len(todo), desc=f"{specs[0].suite}", unit="run", disable=not progress, dynamic_ncols=True)
    queue = list(todo)
    try:
        while queue:
            retry: list[RunSpec] = []
            for outcome in BACKENDS[backend](queue, options, workers):
                spec = outcome.spec
                attempts[spec.run_id] += 1
                if outcome.result is not None:
                    store.write_run(spec, outcome.result.eval_rows, outcome.result.train_rows,
                                    {**provenance, **outcome.result.provenance, "attempts": attempts[spec.run_id]})
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


def run_suite(
    params: Params,
    suite: str | None = None,
    results: str | Path = "results",
    *,
    backend: str | None = None,
    workers: int | None = None,
    retries: int | None = None,
    checkpoint_every: int | None = None,
    ray_address: str | None = None,
    gpus_per_run: float = 0.0,
    progress: bool = True,
) -> LaunchReport:
    """Launch a suite of ``params`` with the pipeline settings, each overridable."""
    pipeline = params.pipeline
    name = suite or pipeline.suite
    every = pipeline.checkpoint_every if checkpoint_every is None else checkpoint_every
    options = WorkerOptions(
        checkpoint_dir=str(Path(results) / ".checkpoints" / name) if every > 0 else None,
        checkpoint_every=every,
        ray_address=ray_address,
        gpus_per_run=gpus_per_run,
    )
    return launch(
        plan_runs(params, name),
        RunStore(results),
        backend=backend or pipeline.backend,
        workers=pipeline.workers if workers is None else workers,
        retries=pipeline.retries if retries is None else retries,
        options=options,
        progress=progress,
    )
