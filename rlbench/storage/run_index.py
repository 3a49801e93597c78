"""A suite's index of its finished runs: ``runs/<suite>/index.json``, the manifest digest of every run the pipeline
wrote, so that a run changed outside the pipeline is named, never published.

Verification (:func:`rlbench.storage.manifest.verify_run`) checks a run against its own manifest. A forger who
edits ``eval.csv`` and rewrites the manifest's checksums to match passes it, and so would be reused by the
launcher, published by ``rlbench report`` and absorbed into ``dvc.lock``. The index closes that gap: the run
store records here the SHA-256 of each run's ``manifest.json`` bytes (which covers every file's checksum)
whenever it publishes a run (trained, or copied from another suite), and a run that verifies but whose manifest
digest is not the recorded one was changed outside the pipeline::

    {"format": 1, "suite": "smoke",
     "runs": {"dqn/CartPole-v1/seed_0": {"run_id": "...", "manifest_sha256": "..."}, ...},
     "pending": {"dqn/CartPole-v1/seed_1": "..."}}

A run that *fails* verification is accidental damage, not a change to be explained: the launcher retrains it
as before. The index lives inside the ``train@<suite>`` stage's output, so ``dvc.lock``'s directory hash covers
it too. ``pending`` holds the digest of a run being published (written before the rename that publishes it and
cleared after), so a writer killed in between leaves a run the index still vouches for; the next launcher
settles it. The ways forward from a changed run are ``rlbench audit`` (retrain a sample and compare),
deleting the run directory (the launcher retrains it), or ``rlbench accept`` (recorded in the run's
provenance, and the index takes its digest).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from rlbench.errors import RlbenchError
from rlbench.storage.files import write_json_atomic
from rlbench.storage.manifest import MANIFEST

INDEX = "index.json"
"""The index's file name inside a suite's run directory (``runs/<suite>/``)."""

FORMAT = 1
"""Version of the index layout."""


@dataclass(frozen=True)
class IndexEntry:
    """What the pipeline recorded of one finished run."""

    run_id: str
    manifest_sha256: str


@dataclass
class RunIndex:
    """A suite's index: recorded runs by run key (``algo/env/seed_<n>``) and digests being published."""

    suite: str
    runs: dict[str, IndexEntry] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)

    def vouches_for(self, key: str, run_id: str, digest: str) -> bool:
        """Whether the pipeline wrote (or was publishing) run ``key`` with exactly this run id and manifest."""
        entry = self.runs.get(key)
        return (entry is not None and entry == IndexEntry(run_id, digest)) or self.pending.get(key) == digest

    def to_json(self) -> dict:
        payload: dict = {"format": FORMAT, "suite": self.suite,
                         "runs": {key: {"run_id": e.run_id, "manifest_sha256": e.manifest_sha256}
                                  for key, e in sorted(self.runs.items())}}
        if self.pending:  # only while a run is being published: a settled index has none
            payload["pending"] = dict(sorted(self.pending.items()))
        return payload


def index_path(suite_dir: Path) -> Path:
    """Where the index of the suite whose runs live in ``suite_dir`` is."""
    return Path(suite_dir) / INDEX


def manifest_digest(run_dir: Path) -> str | None:
    """SHA-256 of the run's ``manifest.json`` bytes, or None where it has none."""
    try:
        return hashlib.sha256((Path(run_dir) / MANIFEST).read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def read_index(suite_dir: Path) -> RunIndex | None:
    """The suite's index, or None where it has none (a suite written before indexes existed, or no run yet).

    A malformed index is a one-line error: it is the record that vouches for every run, so it is never guessed."""
    path = index_path(suite_dir)
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RlbenchError(f"corrupt run index {path}: {error} (restore it from git; deleting it trusts the runs "
                           "there as they are)") from None
    try:
        if raw["format"] != FORMAT:
            raise ValueError(f"format {raw['format']!r}, expected {FORMAT}")
        runs = {str(key): IndexEntry(str(e["run_id"]), str(e["manifest_sha256"])) for key, e in raw["runs"].items()}
        pending = {str(key): str(digest) for key, digest in raw.get("pending", {}).items()}
        return RunIndex(str(raw["suite"]), runs, pending)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RlbenchError(f"corrupt run index {path}: {error!r} is not a format-{FORMAT} index (restore it from "
                           "git)") from None


def write_index(suite_dir: Path, index: RunIndex) -> None:
    """Write the index atomically."""
    write_json_atomic(index_path(suite_dir), index.to_json())


def scan_runs(suite_dir: Path, suite: str) -> RunIndex:
    """An index of the run directories in ``suite_dir`` as they are (``<algo>/<env>/seed_<n>`` with a manifest
    naming its run id): what a suite written before indexes existed is trusted as."""
    index = RunIndex(suite)
    for manifest in sorted(Path(suite_dir).glob(f"*/*/seed_*/{MANIFEST}")):
        try:
            run_id = json.loads(manifest.read_bytes().decode("utf-8"))["run_id"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            continue  # damaged: verification names it, and the launcher retrains it
        run_dir = manifest.parent
        key = f"{run_dir.parent.parent.name}/{run_dir.parent.name}/{run_dir.name}"
        index.runs[key] = IndexEntry(str(run_id), hashlib.sha256(manifest.read_bytes()).hexdigest())
    return index


def changed_runs_error(suite: str, keys: list[str], reasons: list[str], suite_dir: Path) -> RlbenchError:
    """The one line naming the runs changed outside the pipeline and the three ways forward."""
    shown = ", ".join(f"{key} ({reason})" for key, reason in zip(keys[:5], reasons[:5]))
    more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
    first = keys[0]
    return RlbenchError(
        f"{len(keys)} run(s) of suite {suite} changed outside the pipeline (they verify, but {index_path(suite_dir)} "
        f"recorded other manifests): {shown}{more}; check them with `rlbench audit {suite} --sample all`, retrain a "
        f"run by deleting its directory (`rm -r {Path(suite_dir) / first}`), or accept them by hand with "
        f"`rlbench accept {suite} {' '.join(keys)}`")


__all__ = ["FORMAT", "INDEX", "IndexEntry", "RunIndex", "changed_runs_error", "index_path", "manifest_digest",
           "read_index", "scan_runs", "write_index"]
