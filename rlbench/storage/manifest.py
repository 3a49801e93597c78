"""Run manifests: what a finished run must hold, written last, and the check of a run against it.

Every run directory ends with ``manifest.json``, written after its other files and fsynced before
the rename that publishes the directory::

    {"format": 1, "run_id": ..., "budget": ..., "eval_every": ..., "eval_episodes": ...,
     "evaluation_steps": [0, 5000, ...],
     "files": {"config.json": {"bytes": ..., "sha256": ...}, "eval.csv": {...}, "train.csv": {...}}}

:func:`verify_run` is the one test of "this run is finished and its files are the ones training
wrote": the manifest parses and names the expected run and schedule; every file is there with its
size and checksum; ``config.json`` names the run; ``eval.csv`` is UTF-8 with exactly the evaluation
steps of the schedule, each with episodes ``0 .. eval_episodes - 1`` exactly once and finite values;
``train.csv`` has finite returns, positive integer lengths and steps inside the budget; and every
evaluation and training episode is plausible for the run's environment (:mod:`rlbench.config.bounds`:
its return within the declared return bounds and within ``length`` times the per-step reward bounds, its
length at most the environment's). Checksums only show that the files are the ones the manifest names,
and a forger can rewrite both; the bounds catch a return no episode of that environment can have (1e9
on CartPole, or more than one point per step), named in one line with its file, step and episode. A run
that fails any of these is never read as finished (:class:`rlbench.storage.run_store.RunStore`).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlbench.config.bounds import EnvBounds, env_bounds
from rlbench.config.plan import RunSpec
from rlbench.storage.schema import DIAGNOSTIC_COLUMNS, EVAL_COLUMNS, RUN_FILES, TRAIN_COLUMNS

MANIFEST = "manifest.json"
"""The manifest's file name inside a run directory."""

FORMAT = 1
"""Version of the manifest layout."""


def file_record(data: bytes) -> dict[str, Any]:
    """Size and SHA-256 of one file's bytes."""
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def build_manifest(spec: RunSpec, evaluation_steps: Sequence[int], files: Mapping[str, bytes]) -> dict[str, Any]:
    """The manifest of a run of ``spec`` evaluated at ``evaluation_steps`` whose files hold ``files``."""
    return {
        "format": FORMAT,
        "run_id": spec.run_id,
        "budget": spec.budget,
        "eval_every": spec.eval_every,
        "eval_episodes": spec.eval_episodes,
        "evaluation_steps": [int(step) for step in evaluation_steps],
        "files": {name: file_record(files[name]) for name in RUN_FILES},
    }


def verify_run(directory: Path, spec: RunSpec) -> str | None:
    """Why the run in ``directory`` is not a valid finished run of ``spec``, or None when it is."""
    try:
        manifest = json.loads((directory / MANIFEST).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return f"{MANIFEST} is missing" + _stale_config(directory, spec)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"{MANIFEST} does not parse ({error})"
    problem = _check_manifest(manifest, spec)
    if problem:
        return problem
    contents: dict[str, bytes] = {}
    for name in RUN_FILES:
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        data = path.read_bytes()
        if file_record(data) != manifest["files"][name]:
            return (f"{name} does not match its manifest entry (checksum differs; {len(data)} bytes, "
                    f"manifest says {manifest['files'][name]['bytes']})")
        contents[name] = data
    bounds = env_bounds(spec.env)
    return (_check_config(contents["config.json"], spec)
            or _check_eval(contents["eval.csv"], manifest["evaluation_steps"], spec.eval_episodes, bounds)
            or _check_train(contents["train.csv"], spec.budget, bounds)
            or _check_diagnostics(contents["diagnostics.csv"], manifest["evaluation_steps"]))


def _stale_config(directory: Path, spec: RunSpec) -> str:
    """`` (a stale run: ...)`` when the directory's ``config.json`` names another run id, else nothing."""
    try:
        run_id = json.loads((directory / "config.json").read_bytes().decode("utf-8")).get("run_id")
    except (OSError, ValueError, AttributeError):
        return ""
    return f" (a stale run: trained as run {run_id}, the plan expects {spec.run_id})" if run_id != spec.run_id else ""


def _check_manifest(manifest: Any, spec: RunSpec) -> str | None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return f"{MANIFEST} is not a format-{FORMAT} manifest"
    if manifest.get("run_id") != spec.run_id:
        return f"{MANIFEST} names run {manifest.get('run_id')!r}, the plan expects {spec.run_id!r}"
    for key in ("budget", "eval_every", "eval_episodes"):
        if manifest.get(key) != getattr(spec, key):
            return f"{MANIFEST} records {key} {manifest.get(key)!r}, the plan has {getattr(spec, key)!r}"
    steps = manifest.get("evaluation_steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, int) for s in steps) or steps != sorted(set(steps)):
        return f"{MANIFEST} has no valid evaluation_steps"
    files = manifest.get("files")
    if not isinstance(files, dict) or sorted(files) != sorted(RUN_FILES):
        return f"{MANIFEST} must list exactly {', '.join(RUN_FILES)}"
    return None


def _check_config(data: bytes, spec: RunSpec) -> str | None:
    try:
        config = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return f"config.json does not parse ({error})"
    if not isinstance(config, dict) or config.get("run_id") != spec.run_id:
        return "config.json names another run"
    return None


def _read(data: bytes, name: str, columns: tuple[str, ...], text_columns: tuple[str, ...] = ()) -> pd.DataFrame | str:
    """The CSV table in ``data`` with exactly ``columns``, or why it is not one."""
    try:
        frame = pd.read_csv(io.StringIO(data.decode("utf-8")), dtype={c: str for c in text_columns} or None)
    except UnicodeDecodeError:
        return f"{name} is not UTF-8 text"
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        return f"{name} does not parse ({str(error).strip().splitlines()[0]})"
    if tuple(frame.columns) != columns:
        return f"{name} has columns {list(frame.columns)}, expected {list(columns)}"
    return frame


def _table(data: bytes, name: str, columns: tuple[str, ...]) -> pd.DataFrame | str:
    """The numeric table in ``data``, or why it is not one."""
    frame = _read(data, name, columns)
    if isinstance(frame, str) or frame.empty:
        return frame
    if not all(pd.api.types.is_numeric_dtype(frame[column]) for column in columns):
        return f"{name} holds a value that is not a number"
    if not np.isfinite(frame.to_numpy(dtype=float)).all():
        return f"{name} holds a missing, NaN or infinite value"
    return frame


def _integers(frame: pd.DataFrame, columns: Sequence[str]) -> bool:
    values = frame[list(columns)].to_numpy(dtype=float)
    return bool((values == np.round(values)).all())


def _implausible(frame: pd.DataFrame, name: str, episodes: Sequence[int], bounds: EnvBounds) -> str | None:
    """The first episode of ``frame`` the environment's bounds rule out, as ``<name> step S episode E: why``."""
    found = bounds.first_problem(frame["return"].to_numpy(dtype=float), frame["length"].to_numpy(dtype=float))
    if found is None:
        return None
    row, why = found
    return f"{name} step {int(frame['step'].iloc[row])} episode {int(episodes[row])}: {why}"


def _check_eval(data: bytes, evaluation_steps: Sequence[int], episodes: int, bounds: EnvBounds) -> str | None:
    frame = _table(data, "eval.csv", EVAL_COLUMNS)
    if isinstance(frame, str):
        return frame
    if not _integers(frame, ("step", "episode", "length")):
        return "eval.csv has a step, episode or length that is not a positive integer"
    expected = [(step, episode) for step in evaluation_steps for episode in range(episodes)]
    found = list(zip(frame["step"].astype(int), frame["episode"].astype(int)))
    if found == expected:
        return _implausible(frame, "eval.csv", frame["episode"].to_numpy(), bounds)
    duplicated = len(found) != len(set(found))
    if len(found) == len(expected) and not duplicated:
        return "eval.csv's (step, episode) rows differ from the evaluation schedule"
    return (f"eval.csv has {len(found)} episode rows, expected {len(expected)} "
            f"({len(evaluation_steps)} evaluation steps x {episodes} episodes)" + ("; duplicate rows" if duplicated else ""))


def _check_train(data: bytes, budget: int, bounds: EnvBounds) -> str | None:
    """Training episodes are numbered from 0 in the order they ended (the row order of ``train.csv``)."""
    frame = _table(data, "train.csv", TRAIN_COLUMNS)
    if isinstance(frame, str):
        return frame
    if not _integers(frame, ("step", "length")):
        return "train.csv has a step or length that is not a positive integer"
    steps = frame["step"].to_numpy()
    if (steps < 1).any() or (steps > budget).any() or (np.diff(steps) < 0).any():
        return f"train.csv's steps are not non-decreasing within 1..{budget}"
    return _implausible(frame, "train.csv", range(len(frame)), bounds)


def _check_diagnostics(data: bytes, evaluation_steps: Sequence[int]) -> str | None:
    frame = _read(data, "diagnostics.csv", DIAGNOSTIC_COLUMNS, text_columns=("name",))
    if isinstance(frame, str):
        return frame
    if frame.empty:
        return None
    numbers = frame[["step", "value"]]
    if not all(pd.api.types.is_numeric_dtype(numbers[c]) for c in numbers) or not np.isfinite(numbers.to_numpy(float)).all():
        return "diagnostics.csv holds a step or value that is not a finite number"
    if frame["name"].isna().any() or not set(frame["step"]) <= set(evaluation_steps):
        return "diagnostics.csv has a row without a name or off the evaluation schedule"
    if frame.duplicated(["step", "name"]).any():
        return "diagnostics.csv has a diagnostic twice at one step"
    return None
