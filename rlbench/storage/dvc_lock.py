"""What ``dvc.lock`` recorded of a suite's ``train@<suite>`` stage, and DVC's hash of a file or directory.

DVC reruns ``train@<suite>`` when its output ``results/runs/<suite>`` changed, and then records whatever the
directory holds. A run changed outside the pipeline is refused by the launcher (the suite's index,
:mod:`rlbench.storage.run_index`), but the index lives in that directory and can be rewritten, or deleted (then
the runs are trusted as they are). So the stage also compares the directory with what ``dvc.lock`` recorded
after the last ``dvc repro``: when the plan is the one recorded and the directory is not, the stage says so
before DVC records it, instead of absorbing the change silently. It cannot refuse there: damaged runs retrained
on another processor, ``rlbench run-suite`` and ``rlbench accept`` change the directory legitimately, and a
directory hash cannot tell which run changed (``rlbench audit`` can).

The hashes are DVC 3's (``hash: md5``): a file's md5 over its bytes; a directory's the md5 of the JSON list of
``{"md5": ..., "relpath": ...}`` of its files sorted by relative path, plus ``.dir``. Run directories hold
nothing ``.dvcignore`` leaves out (bytecode), so no ignore rule is applied. The tests check both against the
committed ``dvc.lock``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

LOCK_FILE = "dvc.lock"
"""The lock file, at the project root."""


def dvc_md5(path: Path) -> str:
    """DVC's md5 of a file, or of a directory (with DVC's ``.dir`` suffix)."""
    path = Path(path)
    if path.is_file():
        return hashlib.md5(path.read_bytes()).hexdigest()
    entries = [{"md5": hashlib.md5(file.read_bytes()).hexdigest(), "relpath": file.relative_to(path).as_posix()}
               for file in path.rglob("*") if file.is_file()]
    entries.sort(key=lambda entry: entry["relpath"])
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


@dataclass(frozen=True)
class RecordedTraining:
    """``dvc.lock``'s record of ``train@<suite>`` after the last ``dvc repro``."""

    plan_md5: str | None
    """md5 of ``results/plans/<suite>.json`` the stage ran with."""
    runs_md5: str | None
    """md5 (``.dir``) of ``results/runs/<suite>`` the stage left."""


def recorded_training(project: Path, suite: str, results: str = "results") -> RecordedTraining | None:
    """The lock's record of ``train@<suite>``, or None (no ``dvc.lock``, no such stage, or one DVC cannot read)."""
    try:
        lock = yaml.safe_load((Path(project) / LOCK_FILE).read_text(encoding="utf-8"))
        stage = lock["stages"][f"train@{suite}"]
        deps = {entry["path"]: entry.get("md5") for entry in stage.get("deps", [])}
        outs = {entry["path"]: entry.get("md5") for entry in stage.get("outs", [])}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return None
    return RecordedTraining(deps.get(f"{results}/plans/{suite}.json"), outs.get(f"{results}/runs/{suite}"))


def changed_since_lock(project: Path, suite: str, results: str = "results") -> bool:
    """Whether ``results/runs/<suite>`` is not the directory ``dvc.lock`` recorded although the plan is the recorded
    one (False where nothing is recorded yet or the plan changed: then the runs are expected to change)."""
    recorded = recorded_training(project, suite, results)
    plan, runs = Path(project) / results / "plans" / f"{suite}.json", Path(project) / results / "runs" / suite
    if recorded is None or recorded.runs_md5 is None or not plan.is_file() or not runs.is_dir():
        return False
    return recorded.plan_md5 == dvc_md5(plan) and recorded.runs_md5 != dvc_md5(runs)


def unrecorded_change(project: Path, suite: str, results: str = "results") -> str | None:
    """The sentence that says DVC is about to record a changed runs directory (:func:`changed_since_lock`), after
    every run that verifies was found to be the one the suite's index records; None when it is not changed."""
    if not changed_since_lock(project, suite, results):
        return None
    return (f"note: {results}/runs/{suite} is not the directory {LOCK_FILE} recorded after the last `dvc repro`, "
            "although the plan is: since then runs were trained or retrained outside it (`rlbench run-suite`, or "
            "damage retrained on another processor), accepted (`rlbench accept`), or its index was rewritten; every "
            f"run that verifies is the one its index records, and DVC now records the directory as it is; "
            f"`rlbench audit {suite}` retrains a sample of its runs to check them")


__all__ = ["LOCK_FILE", "RecordedTraining", "changed_since_lock", "dvc_md5", "recorded_training", "unrecorded_change"]
