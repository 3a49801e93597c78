"""DVC owns every published file: each file git tracks under results/ and reports/ is the output of exactly one
stage of the repository's DVC pipelines (``dvc.yaml``, with its ``foreach`` expanded, and ``benchmarks/dvc.yaml``).
A file no stage writes could not be reproduced by ``dvc repro``; a file two stages write would depend on which
ran last."""

from __future__ import annotations

import os
import subprocess
from pathlib import PurePosixPath

from dvc.repo import Repo

from tests.conftest import ROOT


def _stage_outputs() -> dict[str, list[str]]:
    """Output path (relative to the repository root, POSIX) -> the stages that declare it."""
    owners: dict[str, list[str]] = {}
    with Repo(str(ROOT)) as repo:
        for stage in repo.index.stages:
            for out in stage.outs:
                path = PurePosixPath(os.path.relpath(out.fs_path, ROOT)).as_posix()
                owners.setdefault(path, []).append(stage.addressing)
    return owners


def _owners(path: str, outputs: dict[str, list[str]]) -> list[str]:
    parts = PurePosixPath(path).parts
    return [stage for i in range(1, len(parts) + 1) for stage in outputs.get("/".join(parts[:i]), [])]


def test_every_published_file_is_the_output_of_exactly_one_stage() -> None:
    tracked = subprocess.run(["git", "ls-files", "-z", "--", "results", "reports"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    tracked = [path for path in tracked if path]
    assert tracked, "no published file found (not a git checkout?)"
    outputs = _stage_outputs()
    unowned = [path for path in tracked if not _owners(path, outputs)]
    shared = {path: owners for path in tracked if len(owners := _owners(path, outputs)) > 1}
    assert not unowned, f"{len(unowned)} published files no stage writes, e.g. {unowned[:5]}"
    assert not shared, f"published files written by more than one stage: {dict(list(shared.items())[:5])}"


def test_the_plans_have_one_writer_that_make_reproduce_forces() -> None:
    outputs = _stage_outputs()
    plans = {path: owners for path, owners in outputs.items() if path.startswith("results/plans/")}
    assert plans and all(len(owners) == 1 and owners[0].startswith("plan@") for owners in plans.values())
    recipe = (ROOT / "Makefile").read_text().split("\nreproduce:", 1)[1].split("\n\n", 1)[0]
    assert "rlbench plan" not in recipe, "make reproduce leaves the plans to the plan@ stages"
    assert "dvc repro --force --single-item plan" in recipe, "plugins DVC cannot see: the plan@ stages rerun first"
