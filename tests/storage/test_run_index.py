"""Runs changed outside the pipeline: the suite's index names them, the train stage and the report refuse them,
damage is still retrained, `rlbench accept` lets the pipeline proceed; DVC's hashes as dvc.lock records them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rlbench.config.params import load_params
from rlbench.config.plan import plan_suite
from rlbench.errors import RlbenchError
from rlbench.execution.launcher import launch
from rlbench.storage.dvc_lock import dvc_md5, recorded_training, unrecorded_change
from rlbench.storage.plans import write_plan
from rlbench.storage.run_index import INDEX, manifest_digest, read_index
from rlbench.storage.run_store import RunStore
from tests.conftest import BIN, ROOT, forge_final_returns, write_tiny_params

FORGED = "reinforce/CartPole-v1/seed_0"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project whose tiny smoke suite was trained by its train stage (results/ and params.yaml)."""
    root = tmp_path_factory.mktemp("project")
    params = load_params(write_tiny_params(root / "params.yaml", seeds=(0, 1)))
    write_plan(plan_suite(params, "smoke"), root / "results")
    stage = _train_stage(root)
    assert stage.returncode == 0 and "2 run(s) trained" in stage.stdout, stage.stderr
    return root


def _train_stage(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "pipelines" / "train.py"), "smoke"], cwd=root,
                          capture_output=True, text=True)


def _copy(project: Path, destination: Path) -> Path:
    shutil.copytree(project, destination)
    return destination


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    return lines[0]


def test_the_index_records_every_published_run(project):
    suite_dir = project / "results" / "runs" / "smoke"
    index = read_index(suite_dir)
    assert index is not None and not index.pending
    assert sorted(index.runs) == ["reinforce/CartPole-v1/seed_0", "reinforce/CartPole-v1/seed_1"]
    for key, entry in index.runs.items():
        assert entry.manifest_sha256 == manifest_digest(suite_dir / key)
        assert entry.run_id == json.loads((suite_dir / key / "config.json").read_text())["run_id"]


def test_forged_run_stops_train_stage_and_report_until_accepted(project, tmp_path):
    root = _copy(project, tmp_path / "forged")
    run_dir = root / "results" / "runs" / "smoke" / FORGED
    forge_final_returns(run_dir)  # verifies: the checksums were rewritten too
    plan = plan_suite(load_params(root / "params.yaml"), "smoke")
    spec = next(s for s in plan.runs if s.key == FORGED)
    assert RunStore(root / "results").verify(spec) is None

    line = _one_error_line(_train_stage(root))
    assert line.startswith("error: 1 run(s) of suite smoke changed outside the pipeline") and FORGED in line
    for way in ("rlbench audit smoke", f"rm -r results/runs/smoke/{FORGED}", f"rlbench accept smoke {FORGED}"):
        assert way in line, line
    assert "seed_1" not in line
    common = ["--params", str(root / "params.yaml"), "--results", str(root / "results")]
    report = subprocess.run([str(BIN / "rlbench"), "report", "smoke", *common, "--reports", str(root / "reports")],
                            capture_output=True, text=True, cwd=root)
    line = _one_error_line(report)
    assert report.returncode == 2 and "changed outside the pipeline" in line and FORGED in line
    assert not (root / "reports").exists() and not (root / "results" / "smoke").exists(), "nothing is published"
    run_suite = subprocess.run([str(BIN / "rlbench"), "run-suite", "smoke", "--no-progress", *common],
                               capture_output=True, text=True, cwd=root)
    assert run_suite.returncode == 2 and FORGED in _one_error_line(run_suite)

    # Accepting anything but a changed run is refused before anything is written.
    refused = subprocess.run([str(BIN / "rlbench"), "accept", "smoke", FORGED, "reinforce/CartPole-v1/seed_1", *common],
                             capture_output=True, text=True, cwd=root)
    assert refused.returncode == 2 and "seed_1 of suite smoke is the run the pipeline wrote" in _one_error_line(refused)
    provenance = root / "results" / "provenance" / "smoke" / f"{FORGED}.json"
    assert "accepted" not in json.loads(provenance.read_text())

    forged_digest = manifest_digest(run_dir)
    accepted = subprocess.run([str(BIN / "rlbench"), "accept", "smoke", FORGED, *common],
                              capture_output=True, text=True, cwd=root)
    assert accepted.returncode == 0 and f"accepted {FORGED} by hand" in accepted.stdout, accepted.stderr
    record = json.loads(provenance.read_text())["accepted"]
    assert record["by_hand"] is True and record["manifest_sha256"] == forged_digest
    published = read_index(project / "results" / "runs" / "smoke")
    assert published is not None and record["replaced_manifest_sha256"] == published.runs[FORGED].manifest_sha256
    assert read_index(root / "results" / "runs" / "smoke").runs[FORGED].manifest_sha256 == forged_digest
    stage = _train_stage(root)
    assert stage.returncode == 0 and "0 run(s) trained, 2 already finished" in stage.stdout, stage.stderr
    honest = project / "results" / "runs" / "smoke" / FORGED / "eval.csv"
    assert (run_dir / "eval.csv").read_bytes() != honest.read_bytes(), "accepted as it is, not retrained"


def test_damaged_run_is_retrained_not_refused(project, tmp_path):
    root = _copy(project, tmp_path / "damaged")
    store = RunStore(root / "results")
    specs = list(plan_suite(load_params(root / "params.yaml"), "smoke").runs)
    run_dir = store.run_dir(specs[0])
    original = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    index = (store.suite_dir("smoke") / INDEX).read_bytes()
    (run_dir / "eval.csv").write_bytes(original["eval.csv"][:-5])  # fails verification: damage, not a change
    assert store.changed_outside(specs) == []
    report = launch(specs, store, backend="serial", progress=False)
    assert report.completed == [specs[0].key] and report.unverified[0][0] == specs[0].key
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == original
    assert (store.suite_dir("smoke") / INDEX).read_bytes() == index


def test_index_is_made_from_the_runs_there_and_settles_a_killed_writer(project, tmp_path):
    root = _copy(project, tmp_path / "legacy")
    store = RunStore(root / "results")
    specs = list(plan_suite(load_params(root / "params.yaml"), "smoke").runs)
    index_file = store.suite_dir("smoke") / INDEX
    written = index_file.read_bytes()
    index_file.unlink()  # a suite published before indexes existed: its runs are trusted as they are
    assert store.changed_outside(specs) == []
    assert launch(specs, store, backend="serial", progress=False).skipped == [s.key for s in specs]
    assert index_file.read_bytes() == written
    # A writer killed between the pending record and the final one: the run it published is recorded.
    raw = json.loads(written)
    raw["pending"] = {specs[1].key: raw["runs"].pop(specs[1].key)["manifest_sha256"]}
    index_file.write_text(json.dumps(raw))
    assert store.changed_outside(specs) == []
    assert launch(specs, store, backend="serial", progress=False).skipped == [s.key for s in specs]
    assert index_file.read_bytes() == written
    # A run directory placed by hand (not in the index) is a change too.
    del raw["pending"]
    index_file.write_text(json.dumps(raw))
    assert [(s.key, reason) for s, reason in store.changed_outside(specs)] == [(specs[1].key, "not in the index")]
    with pytest.raises(RlbenchError, match=f"changed outside the pipeline .*{specs[1].key} \\(not in the index\\)"):
        launch(specs, store, backend="serial", progress=False)


def test_forged_run_is_never_adopted_by_another_suite(project, tmp_path):
    root = _copy(project, tmp_path / "adopt")
    forge_final_returns(root / "results" / "runs" / "smoke" / FORGED)
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["suites"]["twin"] = raw["suites"]["smoke"]
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    specs = list(plan_suite(load_params(root / "params.yaml"), "twin").runs)
    report = launch(specs, RunStore(root / "results"), backend="serial", progress=False)
    assert report.adopted == [("reinforce/CartPole-v1/seed_1", "smoke")] and report.completed == [FORGED]


def test_dvc_hashes_match_the_committed_lock():
    """The hashes are DVC's: the committed dvc.lock's record of published suites matches the committed files."""
    for suite in ("smoke", "default"):
        recorded = recorded_training(ROOT, suite)
        assert recorded is not None
        assert recorded.plan_md5 == dvc_md5(ROOT / "results" / "plans" / f"{suite}.json")
        assert recorded.runs_md5 == dvc_md5(ROOT / "results" / "runs" / suite)
        assert unrecorded_change(ROOT, suite) is None


def test_a_runs_directory_changed_since_dvc_lock_is_said(project, tmp_path):
    root = _copy(project, tmp_path / "locked")
    lock = {"schema": "2.0", "stages": {"train@smoke": {
        "deps": [{"path": "results/plans/smoke.json", "md5": dvc_md5(root / "results" / "plans" / "smoke.json")}],
        "outs": [{"path": "results/runs/smoke", "md5": dvc_md5(root / "results" / "runs" / "smoke")}]}}}
    (root / "dvc.lock").write_text(yaml.safe_dump(lock))
    assert unrecorded_change(root, "smoke") is None
    stage = _train_stage(root)
    assert stage.returncode == 0 and stage.stderr == "", stage.stderr
    forge_final_returns(root / "results" / "runs" / "smoke" / FORGED)
    subprocess.run([str(BIN / "rlbench"), "accept", "smoke", FORGED, "--params", str(root / "params.yaml"),
                    "--results", str(root / "results")], check=True, capture_output=True, cwd=root)
    notice = unrecorded_change(root, "smoke")
    assert notice is not None and "rlbench audit smoke" in notice
    stage = _train_stage(root)
    assert stage.returncode == 0 and stage.stderr.strip() == notice, stage.stderr


def test_the_first_index_of_a_suite_is_said_with_whether_dvc_lock_recorded_its_runs(project, tmp_path):
    for forged in (False, True):
        root = _copy(project, tmp_path / f"legacy-{forged}")
        (root / "results" / "runs" / "smoke" / INDEX).unlink()  # a suite published before indexes existed
        lock = {"schema": "2.0", "stages": {"train@smoke": {
            "deps": [{"path": "results/plans/smoke.json", "md5": dvc_md5(root / "results" / "plans" / "smoke.json")}],
            "outs": [{"path": "results/runs/smoke", "md5": dvc_md5(root / "results" / "runs" / "smoke")}]}}}
        (root / "dvc.lock").write_text(yaml.safe_dump(lock))
        if forged:  # before the first index: trusted as it is, but not what dvc.lock recorded
            forge_final_returns(root / "results" / "runs" / "smoke" / FORGED)
        stage = _train_stage(root)
        assert stage.returncode == 0 and "0 run(s) trained, 2 already finished" in stage.stdout, stage.stderr
        note = stage.stderr.strip()
        assert note.startswith("note: results/runs/smoke/index.json now records the suite's runs as they were")
        assert ("were not the directory dvc.lock recorded with this plan: `rlbench audit smoke`" in note) == forged
        assert read_index(root / "results" / "runs" / "smoke") is not None
