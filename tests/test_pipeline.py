"""The `smoke` suite through `dvc repro` in a temporary project copy, and the "Add an algorithm" guide."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import BIN, ROOT, copy_project


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([str(BIN / "dvc"), *args], cwd=project, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def edit_params(project: Path, change) -> None:
    path = project / "params.yaml"
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def guide_params() -> dict:
    """The YAML block of the README's "Add an algorithm" guide."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- guide:params -->\s*```yaml\n(.*?)```", text, re.S)
    assert block, "README guide YAML block not found"
    lines = block.group(1).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return yaml.safe_load("\n".join(line[indent:] for line in lines))


def run_files(project: Path) -> dict[str, bytes]:
    root = project / "results" / "runs" / "smoke"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_smoke_suite_through_dvc_repro_and_add_an_algorithm(tmp_path):
    project = copy_project(tmp_path / "project")

    def smoke(raw):
        raw["pipeline"].update(suite="smoke", bootstrap_reps=200)

    edit_params(project, smoke)
    first = dvc(project, "repro")
    assert "12 run(s) trained, 0 already finished, 0 failed" in first.stdout
    for name in ("aggregate", "per_env", "probability_of_improvement", "seed_variance", "leaderboard"):
        assert (project / "results" / "smoke" / f"{name}.csv").is_file()
        assert (project / "results" / "smoke" / f"{name}.md").is_file()
    for name in ("interval_estimates", "performance_profiles", "learning_curves", "seed_variance"):
        assert (project / "reports" / "smoke" / f"{name}.png").is_file()
    report = (project / "reports" / "smoke" / "report.md").read_text()
    assert "## Leaderboard" in report and "## Published vs ours" in report
    assert (project / "results" / "atari100k" / "aggregate.csv").is_file()
    assert "Data and pipelines are up to date" in dvc(project, "status").stdout
    again = dvc(project, "repro").stdout
    assert "Stage 'train' didn't change, skipping" in again and "Data and pipelines are up to date." in again
    assert "dqn.iqm" in dvc(project, "metrics", "show").stdout

    # Regenerating the analysis gives byte-identical tables and figures.
    tables = {p.name: p.read_bytes() for p in (project / "results" / "smoke").iterdir()}
    figures = {p.name: p.read_bytes() for p in (project / "reports" / "smoke").iterdir()}
    dvc(project, "repro", "--force", "analyze")
    assert tables == {p.name: p.read_bytes() for p in (project / "results" / "smoke").iterdir()}
    assert figures == {p.name: p.read_bytes() for p in (project / "reports" / "smoke").iterdir()}

    # The guide: add the plugin algorithm; only its runs are trained, the others are reused.
    before = run_files(project)
    guide = guide_params()

    def add_cem(raw):
        raw["algos"].update(guide["algos"])
        raw["suites"]["smoke"]["algos"].append("cem")

    edit_params(project, add_cem)
    second = dvc(project, "repro")
    assert "2 run(s) trained, 12 already finished, 0 failed" in second.stdout
    after = run_files(project)
    assert all(after[name] == content for name, content in before.items()), "existing runs were not retrained"
    board = pd.read_csv(project / "results" / "smoke" / "leaderboard.csv")
    assert "cem" in set(board["algo"])
    printed = subprocess.run([str(BIN / "rlbench"), "leaderboard", "smoke"], cwd=project, capture_output=True, text=True)
    assert printed.returncode == 0 and "CEM (plugin)" in printed.stdout

    # A broken algorithm: reported with its failing runs and reason; the rest completes, nothing counted.
    shutil.copy(ROOT / "tests" / "plugins" / "broken_agents.py", project / "plugins" / "broken_agents.py")

    def add_broken(raw):
        raw["algos"]["broken"] = {"agent": "plugins/broken_agents.py:CrashingAgent"}
        raw["suites"]["smoke"]["algos"].append("broken")

    edit_params(project, add_broken)
    third = dvc(project, "repro")
    assert "0 run(s) trained, 14 already finished, 2 failed" in third.stdout
    assert "FAILED broken/CartPole-v1/seed_0: RuntimeError: deliberate crash at step 100" in third.stdout
    board = pd.read_csv(project / "results" / "smoke" / "leaderboard.csv")
    assert "broken" not in set(board["algo"]) and "cem" in set(board["algo"])
    failures = pd.read_csv(project / "results" / "smoke" / "failures.csv")
    assert sorted(failures["seed"]) == [0, 1] and set(failures["algo"]) == {"broken"}
    assert "deliberate crash" in (project / "results" / "smoke" / "leaderboard.md").read_text()
    assert not (project / "results" / "runs" / "smoke" / "broken").exists()
