"""The Ray backend: each run is a Ray task with its CPU (and optional GPU) requirement.

``ray.init`` connects to ``--address`` / ``RAY_ADDRESS`` when given (an existing cluster), else
starts a local instance with ``workers`` CPUs. Tasks return plain results; the launcher writes them
through the same run store as a local run. Ray's own task retries are off: a crashed worker or a
lost node comes back as a failed attempt and the launcher's retry policy applies, as for the
process pool.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from rlbench.errors import RlbenchError
from rlbench.execution.worker import Outcome, Task, WorkerOptions, attempt, init_worker

RAY_ADDRESS_ENV = "RAY_ADDRESS"


def _run_in_project(task: Task, options: WorkerOptions, project_dir: str) -> list[Outcome]:
    init_worker()
    if os.path.isdir(project_dir):  # same machine or shared filesystem: resolve relative plugin paths alike
        os.chdir(project_dir)
    return attempt(task, options)


def ray_backend(tasks: list[Task], options: WorkerOptions, workers: int) -> Iterator[Outcome]:
    try:
        import ray
    except ImportError:
        raise RlbenchError("the ray backend needs Ray: pip install 'rlbench[ray]'") from None
    address = options.ray_address or os.environ.get(RAY_ADDRESS_ENV)
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(num_cpus=1, num_gpus=options.gpus_per_run, max_retries=0)(_run_in_project)
    project_dir = os.getcwd()
    pending = {remote.remote(task, options, project_dir): task for task in tasks}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            task = pending.pop(ref)
            try:
                outcomes = ray.get(ref)
            except ray.exceptions.RayError as error:
                outcomes = [Outcome(spec, reason=f"ray task lost: {type(error).__name__}") for spec in task]
            yield from outcomes
