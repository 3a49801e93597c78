"""Shared fixtures: the project root, its params, and a temporary copy of the project."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rlbench.config.params import Params, load_params
from rlbench.config.plan import RunSpec, plan_suite

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# As every run does (training.runner): tests that train agents in-process would otherwise spread tiny
# matrix products over all cores, which on a busy 2-core machine makes them several times slower.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def params() -> Params:
    return load_params(ROOT / "params.yaml")


def copy_project(destination: Path) -> Path:
    """A git repository holding the project's tracked files minus results (for dvc repro tests)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if name.startswith(("results/", "reports/")) or name == "dvc.lock":
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "copy"]):
        subprocess.run(command, cwd=destination, check=True)
    return destination


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "rlbench"), *args], cwd=cwd, capture_output=True, text=True)


def smoke_spec(params: Params, algo: str, seed: int = 0, budget: int = 1500) -> RunSpec:
    """A run of the smoke suite with a smaller budget (evaluated every 500 steps)."""
    spec = next(s for s in plan_suite(params, "smoke").runs if s.algo == algo and s.seed == seed)
    return dataclasses.replace(spec, budget=budget, eval_every=500)
