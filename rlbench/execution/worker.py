"""One attempt at one run, as it executes inside a worker (local process, Ray task or the launcher itself)."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlbench.config.plan import RunSpec
from rlbench.storage.checkpoints import checkpoint_path, discard


@dataclass
class Outcome:
    """What a worker sends back: a result, or the reason the attempt failed."""

    spec: RunSpec
    result: Any = None
    """A :class:`rlbench.training.runner.RunResult`, or None when the attempt failed."""
    reason: str = ""
    traceback: str = ""


@dataclass(frozen=True)
class WorkerOptions:
    """How runs are executed: resume checkpoints of long runs, and where Ray sends them."""

    checkpoint_dir: str | None = None
    """Directory of resume checkpoints (None = no checkpoints)."""
    checkpoint_every: int = 0
    """Environment steps between checkpoints."""
    ray_address: str | None = None
    """Address of an existing Ray cluster (else ``RAY_ADDRESS``, else a local instance)."""
    gpus_per_run: float = 0.0
    """GPUs each Ray task asks for."""


def init_worker() -> None:
    """One torch thread per worker: same numbers on every backend; small nets gain nothing from threads."""
    import torch

    torch.set_num_threads(1)


def _reason(error: Exception) -> str:
    """The one-line reason a failed attempt records."""
    return f"{type(error).__name__}: {error}".splitlines()[0]


Task = tuple[RunSpec, ...]
"""A unit of work for a worker: one run, or the runs of one batched group (trained together)."""


def attempt(task: Task, options: WorkerOptions) -> list[Outcome]:
    """Execute one task, turning any exception into failed Outcomes (one per run of the task).

    An attempt that resumed from a checkpoint and failed discards that checkpoint (a checkpoint that
    loads but does not fit the agent would otherwise fail every retry), so the retry starts over.
    Batched groups are not checkpointed.
    """
    if len(task) > 1 or task[0].batched:
        from rlbench.training.batched import execute_batched

        try:
            return [Outcome(spec, result=result) for spec, result in zip(task, execute_batched(task))]
        except Exception as error:  # noqa: BLE001 - the whole group failed; the launcher retries it
            reason = _reason(error)
            return [Outcome(spec, reason=reason, traceback=traceback.format_exc()) for spec in task]
    from rlbench.training.runner import execute_run

    spec = task[0]
    directory = Path(options.checkpoint_dir) if options.checkpoint_dir else None
    resumed = checkpoint_path(directory, spec.run_id) if directory is not None else None
    resumed = resumed if resumed is not None and resumed.is_file() else None
    try:
        return [Outcome(spec, result=execute_run(spec, directory, options.checkpoint_every))]
    except Exception as error:  # noqa: BLE001 - any failure of a run is recorded, not fatal to the suite
        reason = _reason(error)
        if resumed is not None and resumed.is_file():
            discard(resumed, f"the attempt that resumed from it failed ({reason})")
            reason += f" (after resuming from checkpoint {resumed}, now discarded)"
        return [Outcome(spec, reason=reason, traceback=traceback.format_exc())]
