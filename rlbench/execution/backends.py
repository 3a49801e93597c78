"""Backends: each runs attempts and yields their outcomes as they finish (a lost worker is a failed outcome).

The names are :data:`rlbench.config.params.BACKENDS`; this module implements each of them.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from rlbench.config.params import BACKENDS as BACKEND_NAMES
from rlbench.config.plan import RunSpec
from rlbench.execution.worker import Outcome, WorkerOptions, attempt, init_worker

Backend = Callable[[list[RunSpec], WorkerOptions, int], Iterator[Outcome]]


def serial(specs: list[RunSpec], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    """Every run in this process, one after another."""
    for spec in specs:
        yield attempt(spec, options)


def process_pool(specs: list[RunSpec], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    """A pool of spawned workers with ``workers`` runs in flight.

    When a worker dies the pool breaks and every run in flight is lost, but only one of them is
    to blame: the lost runs are re-executed one at a time (``solo``), and only a run that breaks
    the pool while alone is reported as lost (costing it an attempt).
    """
    pending = list(specs)
    solo: set[str] = set()
    context = multiprocessing.get_context("spawn")
    while pending:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker)
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


def ray_tasks(specs: list[RunSpec], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    """Each run a Ray task (imported only when used: Ray is an optional dependency)."""
    from rlbench.execution.ray_backend import ray_backend

    yield from ray_backend(specs, options, workers)


BACKENDS: dict[str, Backend] = {"serial": serial, "process": process_pool, "ray": ray_tasks}
assert tuple(BACKENDS) == BACKEND_NAMES, "every backend name of rlbench.config.params has one implementation"
