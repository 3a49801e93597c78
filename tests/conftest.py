"""Shared fixtures: the project root, its params, and a temporary copy of the project."""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from rlbench.config.params import Params, load_params
from rlbench.config.plan import RunSpec, plan_suite

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# As every run does (training.runner): tests that train agents in-process would otherwise spread tiny
# matrix products over all cores, which on a machine with few busy cores makes them much slower.
torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, the rest in collection order: the longest jobs start first (the classic longest-first
    schedule), so over `make test`'s two xdist workers the suite ends on short tests rather than on one worker still
    running a minutes-long pipeline test while the other idles."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def params() -> Params:
    return load_params(ROOT / "params.yaml")


BENCHMARK_STAGES = ("benchmarks/dvc.yaml", "benchmarks/dvc.lock")
"""The benchmarks' DVC stages: not part of the pipeline a copied project reproduces."""

PUBLISHED_ONLY_STAGES = ("adaptive_seeds",)
"""Stages that read only the published classic runs, which a copied project does not hold; nothing depends on them,
and their code has tests of its own (tests/test_compare_adaptive.py, tests/reporting/test_adaptive_seeds.py)."""


def copy_project(destination: Path) -> Path:
    """A git repository holding the project's tracked files minus results, the benchmarks' stages and
    :data:`PUBLISHED_ONLY_STAGES` (for dvc repro tests of the pipeline)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if name.startswith(("results/", "reports/")) or name in ("dvc.lock", *BENCHMARK_STAGES):
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    pipeline = yaml.safe_load((destination / "dvc.yaml").read_text())
    for stage in PUBLISHED_ONLY_STAGES:
        del pipeline["stages"][stage]
    (destination / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False, width=200))
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


def forge_final_returns(run_dir: Path, value: float = 500.0) -> None:
    """What a forger does: set every final evaluation return of the run to ``value`` and rewrite its manifest's
    checksums to match, so the run still verifies."""
    import json

    from rlbench.storage.files import json_bytes
    from rlbench.storage.manifest import MANIFEST, file_record

    lines = (run_dir / "eval.csv").read_text().splitlines()
    last = max(int(line.split(",")[0]) for line in lines[1:])
    forged = [lines[0]] + [f"{s},{e},{value!r},{int(value)}" if int(s) == last else line
                           for line in lines[1:] for s, e, _, _ in [line.split(",")]]
    (run_dir / "eval.csv").write_text("\n".join(forged) + "\n")
    manifest = json.loads((run_dir / MANIFEST).read_text())
    for name in manifest["files"]:
        manifest["files"][name] = file_record((run_dir / name).read_bytes())
    (run_dir / MANIFEST).write_bytes(json_bytes(manifest))


def write_tiny_params(path: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> Path:
    """The project's params.yaml with the smoke suite cut to REINFORCE on CartPole, a few seeds of 1,000 steps,
    trained serially: a published suite that takes seconds."""
    import yaml

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["suites"]["smoke"] = {"algos": ["reinforce"], "envs": ["CartPole-v1"], "seeds": list(seeds), "budget": 1000,
                              "eval_every": 500, "eval_episodes": 2}
    raw["pipeline"].update(backend="serial", workers=1, retries=0)
    path.write_text(yaml.safe_dump(raw))
    return path


# Helpers shared by test modules (a test module never imports another).

class RecordingMonitor:
    """A TrainingMonitor that records episode returns and saves one checkpoint after ``checkpoint_after``."""

    def __init__(self, checkpoint_after: int | None = None) -> None:
        self.returns: list[tuple[int, float]] = []
        self.checkpoint_after = checkpoint_after
        self.checkpoint: bytes | None = None
        self.checkpoint_step: int | None = None

    def on_step(self, step: int) -> None:
        pass

    def on_episode_end(self, step: int, episode_return: float, length: int) -> None:
        self.returns.append((step, episode_return))

    def checkpoint_due(self, step: int) -> bool:
        return self.checkpoint_after is not None and self.checkpoint is None and step >= self.checkpoint_after

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        blob = io.BytesIO()
        torch.save(state, blob)  # serialised now: the agent keeps training after this call
        self.checkpoint, self.checkpoint_step = blob.getvalue(), step

    def load_checkpoint(self) -> dict[str, Any]:
        assert self.checkpoint is not None
        return torch.load(io.BytesIO(self.checkpoint), weights_only=True)


AGENT_SOURCE = '''
from dataclasses import dataclass
from rlbench.agents.base import OnlineAgent
from {package}.helpers import choose

@dataclass(frozen=True)
class Config:
    pass

class FixedAgent(OnlineAgent):
    Config = Config

    def act(self, obs, explore):
        return choose(obs)

    def observe(self, transition):
        pass

    def update(self, step):
        pass
'''


def install_fake_distribution(site: Path, package: str, version: str, action: int) -> None:
    """An installed distribution with an ``rlbench.agents`` entry point, as pip would leave it."""
    (site / package).mkdir(parents=True, exist_ok=True)
    (site / package / "__init__.py").write_text(AGENT_SOURCE.format(package=package))
    rule = "0" if action == 0 else "int(obs[2] > 0)"  # always left, or lean against the pole's fall
    (site / package / "helpers.py").write_text(f"def choose(obs):\n    return {rule}\n")
    for old in site.glob(f"{package}-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    info = site / f"{package}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[rlbench.agents]\nfixed = {package}:FixedAgent\n")
    (info / "top_level.txt").write_text(f"{package}\n")
