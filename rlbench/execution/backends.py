"""Backends: each runs attempts and yields their outcomes as they finish (a lost worker is a failed outcome).

The names are :data:`rlbench.config.params.BACKENDS`; this module implements each of them.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from rlbench.config.params import BACKENDS as BACKEND_NAMES
from rlbench.execution.worker import Outcome, Task, WorkerOptions, attempt, init_worker

Backend = Callable[[list[Task], WorkerOptions, int], Iterator[Outcome]]
"""Executes tasks (a run, or a batched group of runs) and yields one Outcome per run as they finish."""


def serial(tasks: list[Task], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    """Every task in this process, one after another."""
    for task in tasks:
        yield from attempt(task, options)


def process_pool(tasks: list[Task], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    """A pool of spawned workers with ``workers`` tasks in flight.

    When a worker dies the pool breaks and every task in flight is lost, but only one of them is
    to blame: the lost tasks are re-executed one at a time (``solo``), and only a task that breaks
    the pool while alone is reported as lost (costing its runs an attempt).
    """
    pending = list(tasks)
    solo: set[str] = set()
    context = multiprocessing.get_context("spawn")
    while pending:
        # Workers die with this process, even when it is killed (kill -9) and cannot shut the pool down.
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker,
                                   initargs=(os.getpid(),))
        in_flight: dict[Future, Task] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < workers and not any(t[0].run_id in solo for t in in_flight.values()):
                    if pending[0][0].run_id in solo and in_flight:
                        break  # a suspect runs alone
                    future = pool.submit(attempt, pending[0], options)  # may raise on a broken pool
                    in_flight[future] = pending.pop(0)
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    if future.exception() is None:
                        task = in_flight.pop(future)
                        solo.discard(task[0].run_id)
                        yield from future.result()
                if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                    raise BrokenProcessPool("a worker process died")
        except BrokenProcessPool:
            lost = list(in_flight.values())
            if len(lost) == 1 and lost[0][0].run_id in solo:
                solo.discard(lost[0][0].run_id)
                yield from (Outcome(spec, reason="worker process died") for spec in lost[0])
            else:
                solo.update(task[0].run_id for task in lost)
                pending[:0] = lost
        finally:
            # Wait for the pool's manager thread when nothing runs (the usual end): left running, it races
            # CPython 3.11's exit hook and prints "Bad file descriptor". With runs in flight (the consumer
            # stopped early, or the pool broke) waiting could mean a whole training, so don't.
            pool.shutdown(wait=not in_flight, cancel_futures=True)


def ray_tasks(tasks: list[Task], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    """Each task a Ray task (imported only when used: Ray is an optional dependency)."""
    from rlbench.execution.ray_backend import ray_backend

    yield from ray_backend(tasks, options, workers)


BACKENDS: dict[str, Backend] = {"serial": serial, "process": process_pool, "ray": ray_tasks}
assert tuple(BACKENDS) == BACKEND_NAMES, "every backend name of rlbench.config.params has one implementation"
