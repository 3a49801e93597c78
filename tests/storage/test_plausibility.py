"""Plausibility bounds: a forged run whose checksums were rewritten still fails verification when an episode's
return or length is one its environment cannot produce, named in one line; genuine runs (and every published
run) pass."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rlbench.config.bounds import COLUMNS, EnvBounds, bounds_table, env_bounds, parse_bounds
from rlbench.errors import RlbenchError
from rlbench.execution.launcher import launch
from rlbench.scores.bounds import score_bounds
from rlbench.storage.files import json_bytes
from rlbench.storage.manifest import MANIFEST, file_record
from rlbench.storage.plans import read_plan
from rlbench.storage.run_store import RunStore
from tests.conftest import ROOT, smoke_spec

CARTPOLE_SOURCE = f"({env_bounds('CartPole-v1').source})"


@pytest.fixture(scope="module")
def trained(params, tmp_path_factory) -> tuple[RunStore, object, dict[str, bytes]]:
    """A real run store holding one finished CartPole run, and the bytes of its files."""
    store = RunStore(tmp_path_factory.mktemp("store"))
    spec = smoke_spec(params, "reinforce", budget=1000)
    assert launch([spec], store, backend="serial", progress=False).completed == [spec.key]
    return store, spec, {p.name: p.read_bytes() for p in store.run_dir(spec).iterdir()}


@pytest.fixture
def run(trained) -> tuple[RunStore, object, Path]:
    """The finished run, restored to the bytes training wrote (each test forges its own copy)."""
    store, spec, original = trained
    directory = store.run_dir(spec)
    for name, data in original.items():
        (directory / name).write_bytes(data)
    return store, spec, directory


def forge(directory: Path, name: str, row: int, **values: float) -> dict[str, int]:
    """Set ``values`` in row ``row`` of ``name`` and rewrite the manifest's checksums, as a careful forger would;
    the row's step and episode (train.csv numbers its episodes by row)."""
    frame = pd.read_csv(directory / name)
    for column, value in values.items():
        frame[column] = frame[column].astype(type(value))
        frame.loc[row, column] = value
    frame.to_csv(directory / name, index=False)
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"] = {file: file_record((directory / file).read_bytes()) for file in manifest["files"]}
    (directory / MANIFEST).write_bytes(json_bytes(manifest))
    episode = int(frame.loc[row, "episode"]) if "episode" in frame else row
    return {"step": int(frame.loc[row, "step"]), "episode": episode}


def test_a_genuine_run_passes(run):
    store, spec, _ = run
    assert store.verify(spec) is None and store.is_finished(spec)


def test_forged_return_of_1e9_on_cartpole_fails_in_one_line_and_is_retrained(run, trained):
    store, spec, directory = run
    row = forge(directory, "eval.csv", 3, **{"return": 1e9})
    problem = store.verify(spec)
    assert problem == (f"eval.csv step {row['step']} episode {row['episode']}: return 1000000000.0 above CartPole-v1's "
                       f"highest 500 {CARTPOLE_SOURCE}")
    assert "\n" not in problem and not store.is_finished(spec)
    with pytest.raises(RlbenchError, match="fails verification"):
        store.load_eval([spec])  # reports refuse it ...
    report = launch([spec], store, backend="serial", progress=False)  # ... and the launcher retrains it
    assert report.unverified == [(spec.key, problem)]
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == trained[2]


def test_return_above_the_episode_length_fails(run):
    store, spec, directory = run
    frame = pd.read_csv(directory / "eval.csv")
    length = int(frame.loc[1, "length"])
    assert length < 499
    row = forge(directory, "eval.csv", 1, **{"return": float(length + 1)})
    assert store.verify(spec) == (f"eval.csv step {row['step']} episode {row['episode']}: return {length + 1.0!r} "
                                  f"above {length} steps x CartPole-v1's reward_high 1 = {length} {CARTPOLE_SOURCE}")


def test_length_above_the_time_limit_fails(run):
    store, spec, directory = run
    row = forge(directory, "eval.csv", 0, **{"return": 501.0, "length": 501})
    assert store.verify(spec) == (f"eval.csv step {row['step']} episode {row['episode']}: length 501 above "
                                  f"CartPole-v1's max_length 500 {CARTPOLE_SOURCE}")


def test_negative_length_fails_in_eval_and_train(run, trained):
    store, spec, directory = run
    row = forge(directory, "eval.csv", 2, length=-3)
    assert store.verify(spec) == (f"eval.csv step {row['step']} episode {row['episode']}: "
                                  "length -3 is not a positive integer")
    for name, data in trained[2].items():
        (directory / name).write_bytes(data)
    row = forge(directory, "train.csv", 4, length=-3)
    assert store.verify(spec) == f"train.csv step {row['step']} episode 4: length -3 is not a positive integer"


def test_forged_training_return_fails(run):
    store, spec, directory = run
    row = forge(directory, "train.csv", 0, **{"return": -5.0})
    assert store.verify(spec) == (f"train.csv step {row['step']} episode 0: return -5.0 below CartPole-v1's lowest 0 "
                                  f"{CARTPOLE_SOURCE}")


def test_episode_checks_at_and_past_each_bound():
    pendulum = env_bounds("Pendulum-v1")
    worst = -(np.pi**2 + 0.1 * 8**2 + 0.001 * 2**2)
    assert pendulum.episode_problem(float(np.sum(np.full(200, worst))), 200) is None  # the worst episode there is
    assert "below 150 steps x Pendulum-v1's reward_low" in pendulum.episode_problem(-3000.0, 150)
    assert env_bounds("CartPole-v1").episode_problem(500.0, 500) is None
    assert "below 1 steps x Acrobot-v1's reward_low -1 = -1" in env_bounds("Acrobot-v1").episode_problem(-2.0, 1)
    unlisted = env_bounds("Unlisted-v0")
    assert unlisted == EnvBounds("Unlisted-v0") and unlisted.episode_problem(1e12, 10**9) is None
    assert unlisted.episode_problem(float("inf"), 3) == "return inf is not a finite number"
    returns, lengths = np.array([10.0, 10.0, 600.0, 1e9]), np.array([10, 10, 500, 20])
    assert env_bounds("CartPole-v1").first_problem(returns, lengths)[0] == 2  # the first bad episode is named


def test_every_row_has_a_source_and_every_published_env_a_max_length():
    table = bounds_table()
    assert all(bounds.source for bounds in table.values())
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    published = {env for suite in raw["pipeline"]["publish"] for env in raw["suites"][suite]["envs"]}
    assert not [env for env in sorted(published) if env_bounds(env).max_length is None]
    assert {"Pendulum-v1", "Maze-Lecture-v0", "MinAtar-Breakout-v0", "Atari-Pong-v0"} <= set(table)


def test_the_statistics_read_the_same_table():
    assert score_bounds("CartPole-v1") == (0.0, 500.0) and score_bounds("Atari-Pong-v0") == (-21.0, 21.0)
    assert score_bounds("Atari-Breakout-v0") == (0.0, None) and score_bounds("LunarLander-v3") == (None, None)


@pytest.mark.parametrize("row, message", [
    ("X-v0,1,0,,,,s", "X-v0 has lowest 1 and highest 0; allowed: lowest < highest"),
    ("X-v0,,,1,0,,s", "X-v0 has reward_low 1 and reward_high 0; allowed: reward_low <= reward_high"),
    ("X-v0,,,,,2.5,s", "X-v0 max_length is '2.5'; allowed: a positive integer or empty"),
    ("X-v0,,,nan,,,s", "X-v0 reward_low is 'nan'; allowed: a finite number or empty"),
    ("X-v0,0,1,,,,", "X-v0 has no source"),
    ("CartPole-v1,0,1,,,,s", "environment 'CartPole-v1' is empty or listed twice"),
])
def test_a_malformed_table_is_one_line(row, message):
    text = (ROOT / "rlbench" / "data" / "score_bounds.csv").read_text()
    with pytest.raises(RlbenchError, match="^rlbench/data/score_bounds.csv: .*" + re.escape(message)):
        parse_bounds(text + row + "\n")
    with pytest.raises(RlbenchError, match="has columns"):
        parse_bounds(",".join(COLUMNS[:-1]) + "\n")


def test_every_published_run_still_verifies():
    """The bounds never refuse what training wrote: every run of every published suite passes against its plan."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    store = RunStore(ROOT / "results")
    runs = [spec for suite in raw["pipeline"]["publish"] for spec in read_plan(ROOT / "results", suite).runs]
    failing = [f"{spec.suite}/{spec.key}: {problem}" for spec in runs if (problem := store.verify(spec))]
    assert runs and not failing, failing
