"""Resume checkpoints: a malformed, foreign or unreadable checkpoint is named, discarded, and the run starts over."""

from __future__ import annotations

from rlbench.execution.launcher import launch
from rlbench.execution.worker import WorkerOptions
from rlbench.storage.checkpoints import (
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from rlbench.storage.run_store import RunStore
from rlbench.training.runner import execute_run
from tests.conftest import smoke_spec

GOOD = {"loop": {"agent": {}, "step": 10, "env_rng": {}}, "monitor": {"next_round": 1, "eval_rows": [], "train_rows": []}}


def test_bad_checkpoints_are_named_and_discarded(tmp_path, capsys):
    path = tmp_path / "run.pt"
    save_checkpoint(path, "abc", GOOD)
    assert load_checkpoint(path, "abc")["loop"]["step"] == 10
    for content, reason in [
        ({"loop": {"step": 1}}, "lacks loop (agent, step, env_rng)"),
        ({**GOOD, "monitor": {"eval_rows": []}}, "lacks monitor"),
    ]:
        save_checkpoint(path, "abc", content)
        assert load_checkpoint(path, "abc") is None and not path.exists()
        assert f"discarding checkpoint {path}: {reason}" in capsys.readouterr().err
    save_checkpoint(path, "other", GOOD)
    assert load_checkpoint(path, "abc") is None and not path.exists()
    assert "belongs to run 'other'" in capsys.readouterr().err
    path.write_bytes(b"\x00 not a torch file")
    assert load_checkpoint(path, "abc") is None and not path.exists()
    assert "cannot be read" in capsys.readouterr().err


def test_checkpoint_that_does_not_fit_the_agent_costs_one_attempt_then_the_run_starts_over(params, tmp_path, capsys):
    spec = smoke_spec(params, "dqn", budget=1000)
    directory = tmp_path / "checkpoints"
    path = checkpoint_path(directory, spec.run_id)
    # Records that agree with the run (the launcher checks them first), so only the agent state is wrong.
    monitor = {"next_round": 1, "eval_rows": [(0, 0, 9.0, 9), (0, 1, 10.0, 10)],
               "train_rows": [(250, 250.0, 250), (500, 250.0, 250)], "diagnostic_rows": []}
    save_checkpoint(path, spec.run_id, {"loop": {"agent": {"q_net": "not a state dict"}, "step": 500, "env_rng": {}},
                                        "monitor": monitor})
    store = RunStore(tmp_path / "results")
    options = WorkerOptions(checkpoint_dir=str(directory), checkpoint_every=0)
    report = launch([spec], store, backend="serial", retries=1, options=options, progress=False)
    assert report.completed == [spec.key] and not report.failed and not path.exists()
    assert f"discarding checkpoint {path}: the attempt that resumed from it failed" in capsys.readouterr().err
    fresh = execute_run(spec)
    frame = store.load_eval([spec])
    assert [tuple(r) for r in frame[["step", "episode", "return", "length"]].itertuples(index=False)] == \
        [tuple(r) for r in fresh.eval_rows]
