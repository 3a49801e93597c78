"""Checkpoints: resume snapshots of a run in progress (agent, optimiser, replay, random states).

"Checkpoint" names only this in rlbench; the steps at which the evaluation protocol runs are
evaluation steps. A checkpoint is written with the one atomic writer, read back with
``torch.load(weights_only=True)`` (tensors and plain Python only), and used only when it belongs
to the same run id and has the expected structure; anything unreadable, foreign or malformed is
named on stderr, discarded, and the run starts over.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import torch

from rlbench.storage.files import write_bytes_atomic


def checkpoint_path(directory: Path, run_id: str) -> Path:
    """Where the checkpoint of run ``run_id`` lives under ``directory``."""
    return directory / f"{run_id}.pt"


def save_checkpoint(path: Path, run_id: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` (tensors and plain Python) as the checkpoint of ``run_id``."""
    buffer = io.BytesIO()
    torch.save({"run_id": run_id, **payload}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


STRUCTURE = {"loop": ("agent", "step", "env_rng"), "monitor": ("next_round", "eval_rows", "train_rows")}
"""The keys every checkpoint holds: the environment loop's position and the run monitor's records."""


def _problem(payload: object, run_id: str) -> str | None:
    if not isinstance(payload, dict):
        return f"holds a {type(payload).__name__}, not a checkpoint"
    if payload.get("run_id") != run_id:
        return f"belongs to run {payload.get('run_id')!r}, not {run_id!r}"
    for part, keys in STRUCTURE.items():
        section = payload.get(part)
        if not isinstance(section, dict) or any(key not in section for key in keys):
            return f"lacks {part} ({', '.join(keys)})"
    return None


def load_checkpoint(path: Path, run_id: str) -> dict[str, Any] | None:
    """The checkpoint of ``run_id`` at ``path``, or None (no checkpoint, or a bad one, which is discarded)."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, weights_only=True)
        problem = _problem(payload, run_id)
    except Exception as error:  # noqa: BLE001 - an unreadable checkpoint is discarded, the run starts over
        problem = f"cannot be read ({type(error).__name__})"
    if problem is None:
        return payload
    discard(path, problem)
    return None


def discard(path: Path, reason: str) -> None:
    """Delete a bad checkpoint, saying which and why (the run then starts over)."""
    print(f"discarding checkpoint {path}: {reason}; the run starts over", file=sys.stderr, flush=True)
    path.unlink(missing_ok=True)
