"""Resume checkpoints checked by the launcher: a genuine checkpoint whose monitor records were edited is named,
discarded, and the run starts over (ending as an uninterrupted run); an untouched one is still resumed."""

from __future__ import annotations

import copy
import dataclasses
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import rlbench.training.monitor as monitor_module
from rlbench.config.plan import RunSpec, plan_suite
from rlbench.execution.checkpoint_check import checkpoint_problem
from rlbench.execution.worker import WorkerOptions, attempt
from rlbench.storage.checkpoints import checkpoint_path
from rlbench.training.runner import RunResult, execute_run

Payload = dict[str, Any]


@pytest.fixture(scope="module")
def spec(params) -> RunSpec:
    """A short checkpointing run: REINFORCE on CartPole, evaluated at 0, 500, 1000 and 1500."""
    run = next(s for s in plan_suite(params, "smoke").runs if s.algo == "reinforce" and s.seed == 0)
    return dataclasses.replace(run, budget=1500, eval_every=500)


@pytest.fixture(scope="module")
def uninterrupted(spec) -> RunResult:
    return execute_run(spec)


@pytest.fixture(scope="module")
def genuine(spec, tmp_path_factory) -> list[Payload]:
    """Every checkpoint a real run writes (every 200 steps), captured as it is saved (the run deletes its last)."""
    captured: list[bytes] = []
    save = monitor_module.save_checkpoint

    def capture(path: Path, run_id: str, payload: Payload) -> None:
        save(path, run_id, payload)
        captured.append(path.read_bytes())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(monitor_module, "save_checkpoint", capture)
        execute_run(spec, tmp_path_factory.mktemp("checkpoints"), 200)
    return [torch.load(io.BytesIO(data), weights_only=True) for data in captured]


@pytest.fixture
def checkpoint(genuine) -> Payload:
    """A genuine checkpoint past the first evaluation after step 0 (next_round 2), to edit."""
    return copy.deepcopy(next(p for p in genuine if p["monitor"]["next_round"] == 2))


def resume(spec: RunSpec, payload: Payload, directory: Path) -> tuple[RunResult, Path]:
    """Put ``payload`` where the run's checkpoint lives and run one worker attempt of the run."""
    path = checkpoint_path(directory, spec.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    [outcome] = attempt((spec,), WorkerOptions(checkpoint_dir=str(directory), checkpoint_every=0))
    assert outcome.result is not None, outcome.reason
    return outcome.result, path


def same_records(result: RunResult, reference: RunResult) -> bool:
    return (result.eval_rows == reference.eval_rows and result.train_rows == reference.train_rows
            and result.diagnostic_rows == reference.diagnostic_rows)


def test_genuine_checkpoints_agree_with_their_run(spec, genuine):
    assert len(genuine) >= 5
    assert {p["monitor"]["next_round"] for p in genuine} == {1, 2, 3}
    assert [checkpoint_problem(p, spec) for p in genuine] == [None] * len(genuine)


def test_an_untouched_checkpoint_is_resumed(spec, checkpoint, uninterrupted, tmp_path, capsys):
    result, path = resume(spec, checkpoint, tmp_path)
    assert result.provenance["resumed_from_step"] == checkpoint["loop"]["step"] > 500  # continued, not from zero
    assert same_records(result, uninterrupted) and not path.exists()
    assert "discarding checkpoint" not in capsys.readouterr().err


def _eval_return_500(p: Payload) -> None:
    step, episode, _, length = p["monitor"]["eval_rows"][3]
    p["monitor"]["eval_rows"][3] = (step, episode, 500.0, length)


def _evaluation_never_reached(p: Payload) -> None:
    p["monitor"]["eval_rows"] += [(1500, e, 30.0, 30) for e in range(2)]


def _evaluation_never_reached_counted(p: Payload) -> None:
    _evaluation_never_reached(p)
    p["monitor"]["next_round"] += 1


def _run_id(p: Payload) -> None:
    p["run_id"] = "0123456789abcdef"


def _step_beyond_budget(p: Payload) -> None:
    p["loop"]["step"] = 10**6


EDITS: dict[str, tuple[Callable[[Payload], None], str]] = {
    # edit: (what is done to a genuine checkpoint, what the discard line says)
    "eval return 500.0": (_eval_return_500, "monitor eval row step 500 episode 1: return 500.0 above "),
    "evaluation rows of a step never reached": (_evaluation_never_reached, "monitor eval_rows hold 6 (step, episode) "
                                                "rows that differ from the 4 of the 2 evaluation step(s) done"),
    "and next_round counting it": (_evaluation_never_reached_counted, "monitor next_round 3 disagrees with loop step"),
    "another run id": (_run_id, "belongs to run '0123456789abcdef'"),
    "step beyond the budget": (_step_beyond_budget, "loop step 1000000 is not an integer in 0..1500"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_checkpoint_is_discarded_and_the_run_starts_over(spec, checkpoint, uninterrupted, edit, tmp_path,
                                                                   capsys):
    change, message = EDITS[edit]
    change(checkpoint)
    problem = checkpoint_problem(checkpoint, spec)
    assert message in problem and "\n" not in problem  # one line
    result, path = resume(spec, checkpoint, tmp_path)
    assert f"discarding checkpoint {path}: {problem}; the run starts over" in capsys.readouterr().err
    assert result.provenance["resumed_from_step"] == 0 and not path.exists()
    assert same_records(result, uninterrupted)


def _set(*keys: str | int, value: Any) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        target = p
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


def _train_row(index: int, **values: Any) -> Callable[[Payload], None]:
    def change(p: Payload) -> None:
        step, episode_return, length = p["monitor"]["train_rows"][index]
        row = {"step": step, "return": episode_return, "length": length, **values}
        p["monitor"]["train_rows"][index] = (row["step"], row["return"], row["length"])
    return change


def _drop_last_train_row(p: Payload) -> None:
    p["monitor"]["train_rows"].pop()


@pytest.mark.parametrize("change, message", [
    (_set("loop", "step", value=True), "loop step True is not an integer"),
    (_set("monitor", "next_round", value=0), "monitor next_round 0 disagrees with loop step"),
    (_set("monitor", "eval_rows", value="rows"), "monitor eval_rows is a str, not a list of rows"),
    (_train_row(0, **{"return": 1e9}), "episode 0: return 1000000000.0 above CartPole-v1's highest 500"),
    (_train_row(2, length=0), "episode 2: length 0 is not a positive integer"),
    (_train_row(2, length=2.0), "episode 2: length 2.0 is not a positive integer"),
    (_train_row(1, step=10**5), "episode 1: ends at step 100000"),
    (_drop_last_train_row, "monitor train_rows end at step"),
    (_set("monitor", "diagnostic_rows", value=[(1500, "q", 1.0)]), "monitor diagnostic row (1500, 'q', 1.0)"),
    (_set("monitor", "diagnostic_rows", value=[(0, "q", float("nan"))]), "monitor diagnostic row (0, 'q', nan)"),
    (_set("monitor", value=None), "lacks its loop or monitor section"),
])
def test_records_that_disagree_with_the_run_are_named(spec, checkpoint, change, message):
    change(checkpoint)
    assert message in checkpoint_problem(checkpoint, spec)
    assert checkpoint_problem([checkpoint], spec) == "holds a list, not a checkpoint"


def test_an_unreadable_checkpoint_is_discarded_before_the_run(spec, uninterrupted, tmp_path, capsys):
    path = checkpoint_path(tmp_path, spec.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00 not a torch file")
    [outcome] = attempt((spec,), WorkerOptions(checkpoint_dir=str(tmp_path), checkpoint_every=0))
    assert f"discarding checkpoint {path}: cannot be read" in capsys.readouterr().err
    assert outcome.result.provenance["resumed_from_step"] == 0 and same_records(outcome.result, uninterrupted)
