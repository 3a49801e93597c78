"""The run store: where each run's files live, writing a finished run atomically, reading runs back.

Layout under the results root (``results/`` by default)::

    runs/<suite>/index.json                         every finished run's manifest digest (run_index)
    runs/<suite>/<algo>/<env>/seed_<n>/config.json   resolved config, run id, environment record
                                      eval.csv      step,episode,return,length  (evaluation protocol)
                                      train.csv     step,return,length          (training episodes)
                                      diagnostics.csv step,name,value         (measured at evaluations)
    provenance/<suite>/<algo>/<env>/seed_<n>.json   versions, git commit, processor, wall time, speed
    failures/<suite>/<algo>/<env>/seed_<n>.json     reason and traceback of a run that failed

Only ``runs/`` is hashed by DVC as results; provenance and failures are kept apart so that no
clock, host or path ever enters a hashed file. A run directory is built in ``.staging/`` (every
file fsynced, ``manifest.json`` last) and renamed into place, so a reader never sees a half-written
run. A run is finished exactly when its directory passes :func:`rlbench.storage.manifest.verify_run`
against the plan's spec (files, sizes, checksums, run id, evaluation schedule); the launcher
retrains a run that fails, and the analysis stops on it (or, asked to, leaves it out and lists it).
A run that verifies but is not the one the store published (its suite's index records another manifest:
:mod:`rlbench.storage.run_index`) was changed outside the pipeline: the launcher and the analysis refuse it.
The store reads what training wrote; it never imports an agent or recomputes a run id from code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rlbench.config.plan import RunSpec
from rlbench.errors import RlbenchError
from rlbench.storage.files import (
    fsync_directory,
    json_bytes,
    write_bytes_atomic,
    write_json_atomic,
)
from rlbench.storage.manifest import MANIFEST, build_manifest, verify_run
from rlbench.storage.run_index import (
    IndexEntry,
    RunIndex,
    changed_runs_error,
    manifest_digest,
    read_index,
    scan_runs,
    write_index,
)
from rlbench.storage.schema import (
    DIAGNOSTIC_COLUMNS,
    EVAL_COLUMNS,
    RUN_KEY_COLUMNS,
    TRAIN_COLUMNS,
)

_COLUMNS = {"eval.csv": EVAL_COLUMNS, "train.csv": TRAIN_COLUMNS, "diagnostics.csv": DIAGNOSTIC_COLUMNS}


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

    def lock_path(self, suite: str) -> Path:
        return self.root / ".locks" / f"{suite}.lock"

    # -- one writer per suite ---------------------------------------------------------------
    @contextlib.contextmanager
    def suite_lock(self, suite: str, on_wait: Callable[[str], None] = lambda message: None) -> Iterator[None]:
        """Hold the suite's writer lock: a second launcher (or ``dvc repro``) on the same suite waits here.

        The lock is an ``flock`` on ``.locks/<suite>.lock``: the kernel releases it when its holder
        dies, so a killed launcher never leaves the suite locked, and the files it spawned hold no lock.
        """
        path = self.lock_path(suite)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                on_wait(f"suite {suite} is being trained by {holder}; waiting for it to finish")
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- state -----------------------------------------------------------------------------
    def verify(self, spec: RunSpec) -> str | None:
        """Why the run of ``spec`` is not finished ("not trained" when it has no directory), or None."""
        directory = self.run_dir(spec)
        if not directory.is_dir():
            return "not trained"
        return verify_run(directory, spec)

    def is_finished(self, spec: RunSpec) -> bool:
        return self.verify(spec) is None

    def unverified(self, specs: Iterable[RunSpec]) -> list[Failure]:
        """Runs whose directory exists but fails verification (damaged, incomplete or stale), with the reason;
        runs recorded as failed are left to ``failures``."""
        found = []
        for spec in specs:
            if self.run_dir(spec).is_dir() and self._recorded_failure(spec) is None:
                reason = self.verify(spec)
                if reason is not None:
                    found.append(Failure(spec.algo, spec.env, spec.seed, f"unverified: {reason}", 0))
        return found

    def clean_staging(self) -> None:
        """Remove what interrupted writers left behind (never a finished run, never a live writer's files)."""
        if not self.staging.is_dir():
            return
        for entry in self.staging.iterdir():
            if not _writer_alive(entry.name.split("-", 1)[0]):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)

    # -- writing ---------------------------------------------------------------------------
    def adopt_from_other_suite(self, spec: RunSpec) -> str | None:
        """Copy a finished run of another suite with ``spec``'s run id as ``spec``'s finished run; return
        that suite's name, or None when no suite has one.

        Equal run ids mean equal config, code, package versions and execution mode, so the run's numbers
        are the ones ``spec`` would produce (on the same processor model). Suites are searched in name
        order, so the choice never depends on the file system; only a run that verifies, with its
        provenance in place (see ``_publish``), and that its suite's index vouches for (never a run changed outside
        the pipeline: copying it would launder it), is copied. The data files are copied byte for byte,
        ``config.json`` names ``spec``'s suite, and the provenance is the source's plus ``adopted_from``.
        """
        runs = self.root / "runs"
        if not runs.is_dir():
            return None
        for suite_dir in sorted(runs.iterdir()):
            source = dataclasses.replace(spec, suite=suite_dir.name)
            directory = self.run_dir(source)
            if (source.suite == spec.suite or not directory.is_dir() or not self.provenance_path(source).is_file()
                    or verify_run(directory, source) is not None or self.changed_outside([source])):
                continue
            config = json.loads((directory / "config.json").read_bytes().decode("utf-8"))
            manifest = json.loads((directory / MANIFEST).read_bytes().decode("utf-8"))
            files = {name: (directory / name).read_bytes() for name in _COLUMNS}
            files["config.json"] = json_bytes(spec.resolved_config(config["env_info"]))
            provenance = {k: v for k, v in _read_json(self.provenance_path(source)).items() if k != "run_id"}
            self._publish(spec, files, manifest["evaluation_steps"], {**provenance, "adopted_from": source.suite})
            return source.suite
        return None

    def write_run(self, spec: RunSpec, env_info: dict[str, Any], eval_rows: Iterable[tuple],
                  train_rows: Iterable[tuple], provenance: dict[str, Any], evaluation_steps: Sequence[int],
                  diagnostic_rows: Iterable[tuple] = ()) -> Path:
        """Write a finished run atomically (replacing a stale run of the same seed) and its provenance.

        ``evaluation_steps`` is the schedule the run was evaluated on; the manifest records it and
        the files' checksums, and is written last.
        """
        files = {
            "eval.csv": _csv(EVAL_COLUMNS, eval_rows).encode("utf-8"),
            "train.csv": _csv(TRAIN_COLUMNS, train_rows).encode("utf-8"),
            "diagnostics.csv": _csv(DIAGNOSTIC_COLUMNS, diagnostic_rows).encode("utf-8"),
            "config.json": json_bytes(spec.resolved_config(env_info)),
        }
        return self._publish(spec, files, evaluation_steps, provenance)

    def _publish(self, spec: RunSpec, files: dict[str, bytes], evaluation_steps: Sequence[int],
                 provenance: dict[str, Any]) -> Path:
        """Build the run directory in staging (manifest last), verify it, and rename it into place."""
        self.staging.mkdir(parents=True, exist_ok=True)
        tmp = self.staging / f"{writer_token()}-{spec.run_id}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        for name, data in files.items():
            write_bytes_atomic(tmp / name, data)
        manifest = json_bytes(build_manifest(spec, evaluation_steps, files))
        write_bytes_atomic(tmp / MANIFEST, manifest)
        problem = verify_run(tmp, spec)
        if problem is not None:  # a writer bug (or rows off the schedule): never publish such a run
            shutil.rmtree(tmp, ignore_errors=True)
            raise RlbenchError(f"run {spec.key} would not verify: {problem}")
        # The index vouches for the new manifest before the rename (as pending) and records it after, so a kill
        # in between never leaves a published run the index disowns.
        digest = hashlib.sha256(manifest).hexdigest()
        index = self._index_for_writing(spec.suite)
        index.pending[spec.key] = digest
        write_index(self.suite_dir(spec.suite), index)
        # Provenance first: a run is finished only once its directory is in place, so a kill in
        # between leaves an unfinished run (redone later), never a finished one without provenance.
        write_json_atomic(self.provenance_path(spec), {"run_id": spec.run_id, **provenance})
        final = self.run_dir(spec)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            trash = self.staging / f"{writer_token()}-stale-{uuid.uuid4().hex[:8]}"
            os.replace(final, trash)
            os.replace(tmp, final)
            shutil.rmtree(trash)
        else:
            os.replace(tmp, final)
        fsync_directory(final.parent)
        index.runs[spec.key] = IndexEntry(spec.run_id, digest)
        del index.pending[spec.key]
        write_index(self.suite_dir(spec.suite), index)
        self.failure_path(spec).unlink(missing_ok=True)
        return final

    def write_failure(self, spec: RunSpec, reason: str, traceback_text: str, attempts: int) -> None:
        payload = {"run_id": spec.run_id, "algo": spec.algo, "env": spec.env, "seed": spec.seed,
                   "reason": reason, "attempts": attempts, "traceback": traceback_text}
        write_json_atomic(self.failure_path(spec), payload)

    # -- the index: runs changed outside the pipeline -----------------------------------------
    def _index_for_writing(self, suite: str) -> RunIndex:
        """The suite's index, or one made from the runs there now (a suite written before indexes existed)."""
        return read_index(self.suite_dir(suite)) or scan_runs(self.suite_dir(suite), suite)

    def settle_index(self, suite: str) -> None:
        """Bring the suite's index up to date before a launch (under the suite's lock).

        A suite without an index (written before indexes existed) gets one from the runs there now: they are the
        trusted state, the results committed with ``dvc.lock``. A run a killed writer was publishing (``pending``)
        is recorded when its directory holds that manifest, and forgotten otherwise.
        """
        suite_dir = self.suite_dir(suite)
        if not suite_dir.is_dir():
            return
        index = read_index(suite_dir)
        if index is None:
            index = scan_runs(suite_dir, suite)
            if index.runs:
                write_index(suite_dir, index)
            return
        if not index.pending:
            return
        for key, digest in index.pending.items():
            if manifest_digest(suite_dir / key) == digest:
                run_id = json.loads((suite_dir / key / MANIFEST).read_bytes().decode("utf-8"))["run_id"]
                index.runs[key] = IndexEntry(str(run_id), digest)
        index.pending = {}
        write_index(suite_dir, index)

    def changed_outside(self, specs: Iterable[RunSpec]) -> list[tuple[RunSpec, str]]:
        """Runs among ``specs`` that verify but are not what the store published (their suite's index records
        another manifest or run id, or none), with why. Runs that fail verification are not here: they are damage
        (retrained), not changes. A suite without an index (written before indexes existed) has none."""
        indexes: dict[str, RunIndex | None] = {}
        found = []
        for spec in specs:
            if spec.suite not in indexes:
                indexes[spec.suite] = read_index(self.suite_dir(spec.suite))
            index = indexes[spec.suite]
            directory = self.run_dir(spec)
            digest = manifest_digest(directory) if index is not None else None
            if digest is None or index.vouches_for(spec.key, spec.run_id, digest):
                continue
            if verify_run(directory, spec) is not None:
                continue
            entry = index.runs.get(spec.key)
            found.append((spec, "not in the index" if entry is None else
                          f"the index records run {entry.run_id}" if entry.run_id != spec.run_id else
                          "its manifest differs from the index's"))
        return found

    def refuse_changed(self, specs: Sequence[RunSpec]) -> None:
        """Stop, in one line naming them and the ways forward, when any run was changed outside the pipeline."""
        changed = self.changed_outside(specs)
        if changed:
            suite = changed[0][0].suite
            raise changed_runs_error(suite, [s.key for s, _ in changed], [r for _, r in changed], self.suite_dir(suite))

    def accept(self, specs: Sequence[RunSpec]) -> list[tuple[str, str | None, str]]:
        """Accept by hand runs changed outside the pipeline: record in each run's provenance its accepted manifest
        digest and that it was accepted by hand, then give the index that digest; return (run, replaced digest,
        accepted digest) per run. Every run is checked before anything is written: each must verify and be
        changed (nothing else needs accepting; a damaged run is retrained instead)."""
        if not specs:
            return []
        suite = specs[0].suite
        with self.suite_lock(suite):
            index = read_index(self.suite_dir(suite))
            if index is None:
                raise RlbenchError(f"suite {suite} has no index ({self.suite_dir(suite) / 'index.json'}): nothing to "
                                   f"accept; the next `rlbench run-suite {suite}` or `dvc repro` records its runs as "
                                   "they are")
            changed = {spec.key for spec, _ in self.changed_outside(specs)}
            for spec in specs:
                if spec.key in changed:
                    continue
                problem = self.verify(spec)
                if problem is not None:
                    raise RlbenchError(f"run {spec.key} of suite {suite} fails verification ({problem}): nothing to "
                                       f"accept; retrain it with `rlbench run-suite {suite}`")
                raise RlbenchError(f"run {spec.key} of suite {suite} is the run the pipeline wrote: nothing to "
                                   "accept (only a run changed outside the pipeline can be)")
            accepted = []
            for spec in specs:
                digest = manifest_digest(self.run_dir(spec))
                assert digest is not None  # it verified above
                entry = index.runs.get(spec.key)
                replaced = entry.manifest_sha256 if entry is not None else None
                path = self.provenance_path(spec)
                provenance = _read_json(path) if path.is_file() else {"run_id": spec.run_id}
                provenance["accepted"] = {"by_hand": True, "manifest_sha256": digest,
                                          "replaced_manifest_sha256": replaced}
                write_json_atomic(path, provenance)  # first: a kill before the index leaves the run still refused
                index.runs[spec.key] = IndexEntry(spec.run_id, digest)
                accepted.append((spec.key, replaced, digest))
            write_index(self.suite_dir(suite), index)
        return accepted

    # -- reading ---------------------------------------------------------------------------
    def failures(self, specs: Iterable[RunSpec]) -> list[Failure]:
        """Failures recorded for these specs (and not superseded by a finished run)."""
        found = []
        for spec in specs:
            failure = self._recorded_failure(spec)
            if failure is not None and not self.is_finished(spec):
                found.append(failure)
        return found

    def _recorded_failure(self, spec: RunSpec) -> Failure | None:
        """The failure recorded for this very run (same run id), if any."""
        path = self.failure_path(spec)
        if not path.is_file():
            return None
        record = _read_json(path)
        if record.get("run_id") != spec.run_id:
            return None
        return Failure(spec.algo, spec.env, spec.seed, record["reason"], int(record["attempts"]))

    def load_eval(self, specs: Iterable[RunSpec], skip_unverified: bool = False) -> pd.DataFrame:
        """Evaluation returns of the finished runs among ``specs`` in long format.

        Columns: ``schema.EVAL_FRAME_COLUMNS``. Runs that are neither trained nor recorded as
        failed raise an error naming them; failed runs are left out (the caller reports them
        through ``failures``). A run that fails verification raises an error naming it and why,
        unless ``skip_unverified`` (then it is left out; ``unverified`` lists it).
        """
        return self._load(specs, "eval.csv", skip_unverified)

    def load_train(self, specs: Iterable[RunSpec], skip_unverified: bool = False) -> pd.DataFrame:
        """Training episode returns (algo, env, seed, step, return, length) of the finished runs."""
        return self._load(specs, "train.csv", skip_unverified)

    def load_diagnostics(self, specs: Iterable[RunSpec], skip_unverified: bool = False) -> pd.DataFrame:
        """Diagnostics (algo, env, seed, step, name, value) of the finished runs."""
        return self._load(specs, "diagnostics.csv", skip_unverified)

    def _load(self, specs: Iterable[RunSpec], filename: str, skip_unverified: bool) -> pd.DataFrame:
        specs = list(specs)
        expected = list(_COLUMNS[filename])
        frames, missing = [], []
        failed = {(f.algo, f.env, f.seed) for f in self.failures(specs)}
        for spec in specs:
            if (spec.algo, spec.env, spec.seed) in failed:
                continue
            directory = self.run_dir(spec)
            if not directory.exists():
                missing.append(spec.key)
                continue
            problem = verify_run(directory, spec)
            if problem is not None:
                if skip_unverified:
                    continue
                raise RlbenchError(f"run {directory} fails verification: {problem} (retrain it with "
                                   f"`rlbench run-suite {spec.suite}`, or leave it out with --skip-unverified)")
            frame = pd.read_csv(directory / filename, dtype={"name": str} if filename == "diagnostics.csv" else None)
            for column, value in zip(RUN_KEY_COLUMNS, (spec.algo, spec.env, spec.seed)):
                frame.insert(RUN_KEY_COLUMNS.index(column), column, value)
            frames.append(frame)
        if missing:
            raise RlbenchError(f"{len(missing)} run(s) not found: {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
                               " (run the suite first)")
        if not frames:
            return pd.DataFrame(columns=[*RUN_KEY_COLUMNS, *expected])
        return pd.concat(frames, ignore_index=True)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def writer_token() -> str:
    """``<pid>.<start time>``: names this writer's staging entries. A recycled pid (a new container's pid 1)
    has another start time, so a dead writer's leftovers are never mistaken for a live writer's."""
    pid = os.getpid()
    return f"{pid}.{_start_time(pid) or 0}"


def _writer_alive(token: str) -> bool:
    pid, _, started = token.partition(".")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    current = _start_time(int(pid))
    return current is None or started == current


def _csv(columns: tuple[str, ...], rows: Iterable[tuple]) -> str:
    lines = [",".join(columns)]
    lines.extend(",".join(repr(value) if isinstance(value, float) else str(value) for value in row) for row in rows)
    return "\n".join(lines) + "\n"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RlbenchError(f"corrupt run: {path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RlbenchError(f"corrupt file {path}: {error}") from None
