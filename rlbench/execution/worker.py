"""One attempt at one run, as it executes inside a worker (local process, Ray task or the launcher itself)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
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


PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal a process gets when the thread that created it ends."""

PARENT_POLL_SECONDS = 0.5
"""How often a worker's watchdog looks whether its launcher is still its parent."""


def init_worker(parent: int | None = None) -> None:
    """Tie the worker to its launcher (process ``parent``, when given), then use one torch thread: same numbers
    on every backend; small nets gain nothing from threads."""
    if parent is not None:
        tie_to_parent(parent)
    import torch

    torch.set_num_threads(1)


def tie_to_parent(parent: int) -> None:
    """End this process when its parent ``parent`` dies, however it dies (``kill -9`` included).

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``); everywhere a daemon thread
    exits the process once its parent is no longer ``parent`` (it was re-parented), and a parent that died before
    either was armed is noticed at once. A worker never outlives its launcher to train on, orphaned, for hours;
    the multiprocessing resource tracker, which only the launcher and its workers keep alive, ends with them.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl here: the watchdog alone
            pass
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="rlbench-parent-watchdog", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _reason(error: Exception) -> str:
    """The one-line reason a failed attempt records."""
    return f"{type(error).__name__}: {error}".splitlines()[0]


Task = tuple[RunSpec, ...]
"""A unit of work for a worker: one run, or the runs of one batched group (trained together)."""


def attempt(task: Task, options: WorkerOptions) -> list[Outcome]:
    """Execute one task, turning any exception into failed Outcomes (one per run of the task).

    A checkpoint whose records disagree with the run is discarded before the run starts
    (:func:`discard_inconsistent_checkpoint`), so the run starts over instead of publishing them. An
    attempt that resumed from a checkpoint and failed discards that checkpoint (a checkpoint that
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
    if resumed is not None and resumed.is_file():
        discard_inconsistent_checkpoint(resumed, spec)
    resumed = resumed if resumed is not None and resumed.is_file() else None
    try:
        return [Outcome(spec, result=execute_run(spec, directory, options.checkpoint_every))]
    except Exception as error:  # noqa: BLE001 - any failure of a run is recorded, not fatal to the suite
        reason = _reason(error)
        if resumed is not None and resumed.is_file():
            discard(resumed, f"the attempt that resumed from it failed ({reason})")
            reason += f" (after resuming from checkpoint {resumed}, now discarded)"
        return [Outcome(spec, reason=reason, traceback=traceback.format_exc())]


def discard_inconsistent_checkpoint(path: Path, spec: RunSpec) -> bool:
    """Discard the checkpoint at ``path`` when it cannot be read or its records disagree with run ``spec``
    (:func:`rlbench.execution.checkpoint_check.checkpoint_problem`); True if it was discarded.

    Loaded with ``weights_only`` (tensors and plain Python, never arbitrary objects) and memory-mapped, so a
    large replay buffer is not read just to check the records beside it; the run loads it again to resume.
    """
    import torch

    from rlbench.execution.checkpoint_check import checkpoint_problem

    try:
        problem = checkpoint_problem(torch.load(path, weights_only=True, mmap=True), spec)
    except Exception as error:  # noqa: BLE001 - an unreadable checkpoint is discarded, the run starts over
        problem = f"cannot be read ({type(error).__name__})"
    if problem is None:
        return False
    discard(path, problem)
    return True
