"""Two published suites through `dvc repro` in a temporary project copy, the "Add an algorithm" guide, and a
changed installed plugin retrained by the pipeline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rlbench.storage.run_index import INDEX
from tests.conftest import install_fake_distribution
from tests.conftest import BIN, ROOT, copy_project


def run(project: Path, tool: str, *args: str, site: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    if site is not None:  # where the test's "installed" plugin distribution lives
        env["PYTHONPATH"] = str(site)
    result = subprocess.run([str(BIN / tool), *args], cwd=project, capture_output=True, text=True, env=env)
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def dvc(project: Path, *args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run(project, "dvc", *args, site=site)


def edit_params(project: Path, change) -> None:
    path = project / "params.yaml"
    raw = yaml.safe_load(path.read_text())
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def guide_params() -> dict:
    """The YAML block of the "Add an algorithm" guide (docs/guides/add-an-algorithm.md)."""
    text = (ROOT / "docs" / "guides" / "add-an-algorithm.md").read_text()
    block = re.search(r"<!-- guide:params -->\s*```yaml\n(.*?)```", text, re.S)
    assert block, "the guide's YAML block not found"
    lines = block.group(1).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return yaml.safe_load("\n".join(line[indent:] for line in lines))


def with_quick_calibration(project: Path) -> None:
    """Every analysis depends on the calibration stage, which resamples the published classic suite's sb3_dqn runs:
    bring those inputs into the temporary project and shrink the stage's simulations."""
    edit_params(project, lambda raw: raw["calibration"].update(
        simulations=40, old_rule_simulations=10, old_rule_reps=100, coverage_simulations=20, verdict_simulations=40))
    for name in ("results/plans/classic.json", "results/classic/normalization.csv", "results/runs/classic/sb3_dqn"):
        source, target = ROOT / name, project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)


def run_files(project: Path, suite: str = "smoke") -> dict[str, bytes]:
    """Every run's files (not the suite's index, which records each new run too)."""
    root = project / "results" / "runs" / suite
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root) != Path(INDEX)}


def test_the_committed_pipeline_is_up_to_date():
    """What a fresh clone shows: `dvc status` clean, so dvc.lock matches the committed code, params and results
    (after changing any of them, run `make reproduce` and commit what it wrote)."""
    assert "Data and pipelines are up to date" in dvc(ROOT, "status").stdout


@pytest.mark.slow
def test_published_suites_through_dvc_repro_add_an_algorithm_and_a_changed_plugin(tmp_path):
    project = copy_project(tmp_path / "project")

    def two_suites(raw):
        raw["suites"]["mini"] = {"algos": ["reinforce", "dqn"], "envs": ["CartPole-v1"], "seeds": [0],
                                 "budget": 1000, "eval_every": 500, "eval_episodes": 2}
        raw["pipeline"].update(publish=["smoke", "mini"], bootstrap_reps=200)

    edit_params(project, two_suites)
    with_quick_calibration(project)
    first = dvc(project, "repro")
    assert "suite smoke: 12 run(s) trained, 0 already finished, 0 failed" in first.stdout
    assert "suite mini: 2 run(s) trained, 0 already finished, 0 failed" in first.stdout
    for suite in ("smoke", "mini"):
        for name in ("aggregate", "per_env", "probability_of_improvement", "seed_variance", "leaderboard"):
            assert (project / "results" / suite / f"{name}.csv").is_file()
            assert (project / "results" / suite / f"{name}.md").is_file()
        for name in ("interval_estimates", "performance_profiles", "learning_curves", "seed_variance"):
            assert (project / "reports" / suite / f"{name}.png").is_file()
        report = (project / "reports" / suite / "report.md").read_text()
        assert "## Leaderboard" in report and "## Published vs ours" in report
        assert run(project, "rlbench", "leaderboard", suite).returncode == 0
    assert (project / "results" / "atari100k" / "aggregate.csv").is_file()
    assert "Data and pipelines are up to date" in dvc(project, "status").stdout
    # Bytecode appears wherever Python runs (a fresh clone has none): it never makes a dependency look changed.
    (project / "rlbench" / "config" / "__pycache__").mkdir(exist_ok=True)
    (project / "rlbench" / "config" / "__pycache__" / "stray.cpython-311.pyc").write_bytes(b"\x00bytecode")
    assert "Data and pipelines are up to date" in dvc(project, "status").stdout
    again = dvc(project, "repro").stdout
    assert "Stage 'train@smoke' didn't change, skipping" in again and "Data and pipelines are up to date." in again
    assert "dqn.iqm" in dvc(project, "metrics", "show").stdout
    assert "didn't change" in dvc(project, "repro", "analyze@mini").stdout  # one suite's stages by name

    # A damaged run is never read: the analysis stops naming it, or leaves it out and lists it when asked to;
    # dvc repro sees the changed run directory and the launcher retrains that run, to the same bytes.
    damaged = project / "results" / "runs" / "mini" / "reinforce" / "CartPole-v1" / "seed_0" / "eval.csv"
    original = damaged.read_bytes()
    damaged.write_bytes(original[:-4] + b"\n")
    stopped = run(project, "rlbench", "report", "mini", check=False)
    assert stopped.returncode == 2 and len(stopped.stderr.strip().splitlines()) == 1
    assert "seed_0 fails verification: eval.csv does not match its manifest entry" in stopped.stderr
    listed = run(project, "rlbench", "report", "mini", "--skip-unverified")
    assert listed.returncode == 0, listed.stderr
    assert "unverified: eval.csv does not match" in (project / "results" / "mini" / "failures.md").read_text()
    repaired = dvc(project, "repro")
    assert "RETRAINED reinforce/CartPole-v1/seed_0: it failed verification" in repaired.stdout
    assert damaged.read_bytes() == original and "Data and pipelines are up to date" in dvc(project, "status").stdout

    # Regenerating the analysis gives byte-identical tables and figures.
    tables = {p.name: p.read_bytes() for p in (project / "results" / "smoke").iterdir()}
    figures = {p.name: p.read_bytes() for p in (project / "reports" / "smoke").iterdir()}
    dvc(project, "repro", "--force", "analyze@smoke")
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

    # An algorithm installed as a package (entry point) outside the repository, changed and reinstalled.
    site = tmp_path / "site"
    install_fake_distribution(site, "fakeplug", "0.1", action=0)

    def add_installed(raw):
        raw["algos"]["mine"] = {"agent": "fixed", "label": "Mine (installed)"}
        raw["suites"]["mini"]["algos"].append("mine")

    edit_params(project, add_installed)
    assert "plan mini: updated" in run(project, "rlbench", "plan", site=site).stdout
    trained = dvc(project, "repro", site=site).stdout
    assert "suite mini: 1 run(s) trained, 2 already finished, 0 failed" in trained
    assert "Data and pipelines are up to date" in dvc(project, "status", site=site).stdout
    before = run_files(project, "mini")

    install_fake_distribution(site, "fakeplug", "0.2", action=1)
    # DVC alone cannot see code outside the repository, but every command that reads results can:
    stale = run(project, "rlbench", "leaderboard", "mini", site=site, check=False)
    assert stale.returncode == 2 and "stale: the runs of mine" in stale.stderr
    # ... and the main command (`make reproduce`: the plan@ stages forced, then `dvc repro`) retrains exactly those.
    assert "plan mini: updated" in dvc(project, "repro", "--force", "--single-item", "plan", site=site).stdout
    assert "train@mini" in dvc(project, "status", site=site).stdout
    retrained = dvc(project, "repro", site=site).stdout
    assert "suite mini: 1 run(s) trained, 2 already finished, 0 failed" in retrained
    after = run_files(project, "mini")
    assert after["mine/CartPole-v1/seed_0/eval.csv"] != before["mine/CartPole-v1/seed_0/eval.csv"]
    assert all(after[name] == content for name, content in before.items() if not name.startswith("mine/"))
    assert "Data and pipelines are up to date" in dvc(project, "status", site=site).stdout
    board = run(project, "rlbench", "leaderboard", "mini", site=site)
    assert "Mine (installed)" in board.stdout
    provenance = json.loads((project / "results" / "provenance" / "mini" / "mine" / "CartPole-v1" / "seed_0.json").read_text())
    assert provenance["agent_origin"] == {"agent": "fixed", "distribution": "fakeplug", "version": "0.2"}


@pytest.mark.slow
def test_pixel_smoke_suites_through_dvc_repro(tmp_path):
    """The Atari and MinAtar smoke suites as published suites: trained, normalised (human / the MinAtar paper's DQN),
    analysed and reported by `dvc repro`, the protocol printed with the leaderboard, and `dvc status` clean."""
    project = copy_project(tmp_path / "project")
    edit_params(project, lambda raw: raw["pipeline"].update(publish=["atari-smoke", "minatar-smoke"],
                                                            bootstrap_reps=200))
    with_quick_calibration(project)
    output = dvc(project, "repro").stdout
    for suite in ("atari-smoke", "minatar-smoke"):
        assert f"suite {suite}: 3 run(s) trained, 0 already finished, 0 failed" in output
        board = (project / "results" / suite / "leaderboard.md").read_text()
        assert "Environment protocol of" in board and "action_epsilon" in board
        assert (project / "reports" / suite / "report.md").is_file()
        assert (project / "reports" / suite / "learning_curves.png").is_file()
    atari = pd.read_csv(project / "results" / "atari-smoke" / "normalization.csv")
    assert atari.loc[0, "reference_kind"] == "human" and atari.loc[0, "reference"] == pytest.approx(14.6)
    assert "repeat_action_probability 0.25" in (project / "results" / "atari-smoke" / "leaderboard.md").read_text()
    beside = pd.read_csv(project / "results" / "atari-smoke" / "atari100k_beside.csv")
    assert list(beside["game"]) == ["Pong"] and {"dqn_atari", "sb3_dqn_atari", "DER", "SPR"} <= set(beside.columns)
    minatar = pd.read_csv(project / "results" / "minatar-smoke" / "normalization.csv")
    assert minatar.loc[0, "reference_kind"] == "MinAtar paper DQN (5M frames)" and minatar.loc[0, "reference"] == 10.0
    assert "MinAtar paper DQN (5M frames) 10" in (project / "reports" / "minatar-smoke" / "report.md").read_text()
    assert "Data and pipelines are up to date" in dvc(project, "status").stdout
