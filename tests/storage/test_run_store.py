"""The run store: atomic layout, provenance apart, stale and half-written runs never read as finished."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rlbench.errors import RlbenchError
from rlbench.storage.run_store import RunStore, writer_token
from rlbench.training.evaluation import evaluation_steps
from rlbench.training.runner import execute_run
from tests.conftest import smoke_spec


def test_store_writes_atomically_and_reads_back(params, tmp_path):
    store = RunStore(tmp_path)
    spec = smoke_spec(params, "reinforce", budget=600)
    result = execute_run(spec)
    assert not store.is_finished(spec)
    directory = store.write_run(spec, result.env_info, result.eval_rows, result.train_rows, result.provenance,
                               evaluation_steps(spec.budget, spec.eval_every))
    assert store.is_finished(spec)
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "diagnostics.csv", "eval.csv", "manifest.json", "train.csv"]
    config = json.loads((directory / "config.json").read_text())
    assert config["run_id"] == spec.run_id and config["env_info"]["gym_id"] == "CartPole-v1"
    assert "wall_time_s" not in (directory / "config.json").read_text()  # provenance is kept apart
    assert "wall_time_s" in store.provenance_path(spec).read_text()
    frame = store.load_eval([spec])
    assert list(frame.columns) == ["algo", "env", "seed", "step", "episode", "return", "length"]
    assert len(frame) == len(result.eval_rows)

    # A changed config makes the old directory stale: not finished, and reading it is refused.
    changed = dataclasses.replace(spec, eval_episodes=3)
    assert not store.is_finished(changed)
    with pytest.raises(RlbenchError, match="fails verification: manifest.json names run"):
        store.load_eval([changed])
    # Rows that do not follow the changed run's schedule (2 episodes per step, not 3) are never
    # published; the finished run stays as it was.
    with pytest.raises(RlbenchError, match="would not verify: eval.csv has 6 episode rows, expected 9"):
        store.write_run(changed, result.env_info, result.eval_rows, result.train_rows, {},
                        evaluation_steps(changed.budget, changed.eval_every))
    assert store.is_finished(spec) and not store.is_finished(changed)
    assert [p.name for p in store.staging.iterdir()] == []


def test_failed_run_beside_a_stale_directory_counts_as_failed(params, tmp_path):
    """A run whose new attempt failed while the directory of an older run id is still there: it is a
    failure (left out, listed once), not an unverified run that stops the analysis."""
    store = RunStore(tmp_path)
    old = smoke_spec(params, "reinforce", budget=600)
    result = execute_run(old)
    store.write_run(old, result.env_info, result.eval_rows, result.train_rows, {},
                    evaluation_steps(old.budget, old.eval_every))
    new = dataclasses.replace(old, eval_episodes=3)
    store.write_failure(new, "RuntimeError: boom", "traceback", 2)
    assert [f.reason for f in store.failures([new])] == ["RuntimeError: boom"]
    assert store.unverified([new]) == []
    assert store.load_eval([new]).empty
    assert store.failures([old]) == []  # the record names another run id


def test_half_written_and_corrupt_runs(params, tmp_path):
    store = RunStore(tmp_path)
    spec = smoke_spec(params, "reinforce", budget=600)
    # A half-written run: only staging exists, so it is not finished and staging is cleaned.
    (store.staging / "999999999.1-leftover").mkdir(parents=True)  # a writer that no longer runs
    (store.staging / "1.0-leftover").mkdir()  # pid 1 lives (another container's pid 1 wrote this): started later
    (store.staging / f"{writer_token()}-in-progress").mkdir()  # a live writer's files stay
    assert not store.is_finished(spec)
    store.clean_staging()
    assert [p.name for p in store.staging.iterdir()] == [f"{writer_token()}-in-progress"]
    with pytest.raises(RlbenchError, match="not found"):
        store.load_eval([spec])
    result = execute_run(spec)
    directory = store.write_run(spec, result.env_info, result.eval_rows, result.train_rows, {},
                                evaluation_steps(spec.budget, spec.eval_every))
    (directory / "eval.csv").write_text("garbage,columns\n1,2\n")
    with pytest.raises(RlbenchError, match="fails verification: eval.csv does not match"):
        store.load_eval([spec])
    (directory / "config.json").write_text("{not json")
    assert not store.is_finished(spec)


def test_suite_lock_makes_a_second_writer_wait(tmp_path):
    """The lock is held across processes; a second holder waits until the first lets go."""
    import subprocess
    import sys
    import time

    store = RunStore(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time; from rlbench.storage.run_store import RunStore\n"
        f"with RunStore({str(tmp_path)!r}).suite_lock('smoke'):\n    print('locked', flush=True); time.sleep(3)")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    messages: list[str] = []
    started = time.monotonic()
    with store.suite_lock("smoke", on_wait=messages.append):
        waited = time.monotonic() - started
    holder.wait()
    assert waited > 1.0 and len(messages) == 1 and f"process {holder.pid}" in messages[0]
    with store.suite_lock("smoke", on_wait=messages.append):  # free again: no waiting
        pass
    assert len(messages) == 1
