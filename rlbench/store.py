"""The run store: where each run's files live, atomic writes, and reading runs back.

Layout under the results root (``results/`` by default)::

    runs/<suite>/<algo>/<env>/seed_<n>/config.json   resolved config, run id, environment record
                                      eval.csv      step,episode,return,length  (evaluation protocol)
                                      train.csv     step,return,length          (training episodes)
    provenance/<suite>/<algo>/<env>/seed_<n>.json   versions, git commit, wall time, speed, host
    failures/<suite>/<algo>/<env>/seed_<n>.json     reason and traceback of a run that failed

Only ``runs/`` is hashed by DVC as results; provenance and failures are kept apart so that no
clock, host or path ever enters a hashed file. A run directory is built in ``.staging/`` and
renamed into place, so a reader never sees a half-written run: a run is finished exactly when its
directory exists with a ``config.json`` whose run id matches the spec.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rlbench.config import RunSpec
from rlbench.errors import RlbenchError

RUN_FILES = ("config.json", "eval.csv", "train.csv")
EVAL_HEADER = "step,episode,return,length"
TRAIN_HEADER = "step,return,length"


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON (sorted keys, stable formatting) via a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


@dataclass(frozen=True)
class Failure:
    """A run recorded as failed after its retries."""

    algo: str
    env: str
    seed: int
    reason: str
    attempts: int


class RunStore:
    """Reads and writes runs under one results root."""

    def __init__(self, root: str | Path = "results") -> None:
        self.root = Path(root)

    # -- paths -----------------------------------------------------------------------------
    def suite_dir(self, suite: str) -> Path:
        return self.root / "runs" / suite

    def run_dir(self, spec: RunSpec) -> Path:
        return self.suite_dir(spec.suite) / spec.algo / spec.env / f"seed_{spec.seed}"

    def provenance_path(self, spec: RunSpec) -> Path:
        return self.root / "provenance" / spec.suite / spec.algo / spec.env / f"seed_{spec.seed}.json"

    def failure_path(self, spec: RunSpec) -> Path:
        return self.root / "failures" / spec.suite / spec.algo / spec.env / f"seed_{spec.seed}.json"

    @property
    def staging(self) -> Path:
        return self.root / ".staging"

    # -- state -----------------------------------------------------------------------------
    def is_finished(self, spec: RunSpec) -> bool:
        directory = self.run_dir(spec)
        if not all((directory / name).is_file() for name in RUN_FILES):
            return False
        try:
            return json.loads((directory / "config.json").read_text()).get("run_id") == spec.run_id
        except (json.JSONDecodeError, OSError):
            return False

    def clean_staging(self) -> None:
        """Remove what interrupted writers left behind (never a finished run, never a live writer's files)."""
        if not self.staging.is_dir():
            return
        for entry in self.staging.iterdir():
            if not _process_alive(entry.name.split("-", 1)[0]):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)

    # -- writing ---------------------------------------------------------------------------
    def write_run(self, spec: RunSpec, eval_rows: Iterable[tuple], train_rows: Iterable[tuple], provenance: dict) -> Path:
        """Write a finished run atomically (replacing a stale run of the same seed) and its provenance."""
        self.staging.mkdir(parents=True, exist_ok=True)
        tmp = self.staging / f"{os.getpid()}-{spec.run_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        (tmp / "eval.csv").write_text(_csv(EVAL_HEADER, eval_rows))
        (tmp / "train.csv").write_text(_csv(TRAIN_HEADER, train_rows))
        (tmp / "config.json").write_text(json.dumps(spec.resolved_config(), indent=2, sort_keys=True) + "\n")
        # Provenance first: a run is finished only once its directory is in place, so a kill in
        # between leaves an unfinished run (redone later), never a finished one without provenance.
        write_json_atomic(self.provenance_path(spec), {"run_id": spec.run_id, **provenance})
        final = self.run_dir(spec)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            trash = self.staging / f"{os.getpid()}-stale-{uuid.uuid4().hex[:8]}"
            os.replace(final, trash)
            os.replace(tmp, final)
            shutil.rmtree(trash)
        else:
            os.replace(tmp, final)
        self.failure_path(spec).unlink(missing_ok=True)
        return final

    def write_failure(self, spec: RunSpec, reason: str, traceback_text: str, attempts: int) -> None:
        payload = {"run_id": spec.run_id, "algo": spec.algo, "env": spec.env, "seed": spec.seed,
                   "reason": reason, "attempts": attempts, "traceback": traceback_text}
        write_json_atomic(self.failure_path(spec), payload)

    # -- reading ---------------------------------------------------------------------------
    def failures(self, specs: Iterable[RunSpec]) -> list[Failure]:
        """Failures recorded for these specs (and not superseded by a finished run)."""
        found = []
        for spec in specs:
            path = self.failure_path(spec)
            if path.is_file() and not self.is_finished(spec):
                record = _read_json(path)
                if record.get("run_id") == spec.run_id:
                    found.append(Failure(spec.algo, spec.env, spec.seed, record["reason"], int(record["attempts"])))
        return found

    def load_eval(self, specs: Iterable[RunSpec]) -> pd.DataFrame:
        """Evaluation returns of the finished runs among ``specs`` in long format.

        Columns: algo, env, seed, step, episode, return, length. Runs that are neither finished
        nor recorded as failed raise an error naming them; failed runs are left out (the caller
        reports them through ``failures``).
        """
        return self._load(specs, "eval.csv")

    def load_train(self, specs: Iterable[RunSpec]) -> pd.DataFrame:
        """Training episode returns (algo, env, seed, step, return, length) of the finished runs."""
        return self._load(specs, "train.csv")

    def _load(self, specs: Iterable[RunSpec], filename: str) -> pd.DataFrame:
        specs = list(specs)
        frames, missing = [], []
        failed = {(f.algo, f.env, f.seed) for f in self.failures(specs)}
        for spec in specs:
            if (spec.algo, spec.env, spec.seed) in failed:
                continue
            directory = self.run_dir(spec)
            if not directory.exists():
                missing.append(spec.key)
                continue
            config = _read_json(directory / "config.json")
            if config.get("run_id") != spec.run_id:
                raise RlbenchError(f"stale run {directory}: its config does not match params.yaml (re-run the suite)")
            path = directory / filename
            try:
                frame = pd.read_csv(path)
            except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
                raise RlbenchError(f"corrupt run file {path}: {error}") from None
            expected = (EVAL_HEADER if filename == "eval.csv" else TRAIN_HEADER).split(",")
            if list(frame.columns) != expected:
                raise RlbenchError(f"corrupt run file {path}: columns {list(frame.columns)}, expected {expected}")
            frame.insert(0, "seed", spec.seed)
            frame.insert(0, "env", spec.env)
            frame.insert(0, "algo", spec.algo)
            frames.append(frame)
        if missing:
            raise RlbenchError(f"{len(missing)} run(s) not found: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
                               " (run the suite first)")
        if not frames:
            columns = ["algo", "env", "seed", *(EVAL_HEADER if filename == "eval.csv" else TRAIN_HEADER).split(",")]
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)


def _process_alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _csv(header: str, rows: Iterable[tuple]) -> str:
    lines = [header]
    lines.extend(",".join(repr(value) if isinstance(value, float) else str(value) for value in row) for row in rows)
    return "\n".join(lines) + "\n"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RlbenchError(f"corrupt run: {path} is missing") from None
    except json.JSONDecodeError as error:
        raise RlbenchError(f"corrupt file {path}: {error}") from None
