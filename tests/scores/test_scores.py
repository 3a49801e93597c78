"""Score matrices, normalisation and statistics: exact answers on tiny inputs, and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlbench.errors import RlbenchError
from rlbench.references.measured import normalization_table
from rlbench.scores.external import load_external_scores, reference_table
from rlbench.scores.matrices import (
    CurveSet,
    ScoreSet,
    combine,
    curve_scores,
    final_scores,
)
from rlbench.scores.normalization import (
    BEST_ACHIEVABLE,
    SOLVED_THRESHOLD,
    best_achievable,
    check_one_rule,
    clip_rule,
    normalize,
    reference_row,
)

REPS = 200


# ------------------------------------------------------------------ fixtures


def eval_frame() -> pd.DataFrame:
    """Algo A: seeds 0,1,2; algo B: seeds 0,1; envs E1, E2; evaluation steps 0,100,200; 2 episodes.

    return = 1000*algo_index + 100*env_index + 10*seed + step/100 + episode (episodes 0, 1), so the
    mean over episodes is exactly ... + 0.5.
    """
    rows = []
    for a_index, (algo, seeds) in enumerate([("A", [0, 1, 2]), ("B", [0, 1])]):
        for e_index, env in enumerate(["E1", "E2"]):
            for seed in seeds:
                for step in (0, 100, 200):
                    for episode in (0, 1):
                        value = 1000 * a_index + 100 * e_index + 10 * seed + step / 100 + episode
                        rows.append((algo, env, seed, step, episode, float(value)))
    return pd.DataFrame(rows, columns=["algo", "env", "seed", "step", "episode", "return"])


def drop(frame: pd.DataFrame, **where: object) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[~mask].reset_index(drop=True)


# ------------------------------------------------------------------ score matrices


def test_final_scores_matrix_layout_and_values() -> None:
    scores = final_scores(eval_frame())
    assert scores.tasks == ["E1", "E2"]
    assert scores.run_ids == {"A": [0, 1, 2], "B": [0, 1]}
    assert scores.scores["A"].shape == (3, 2)
    assert scores.scores["B"].shape == (2, 2)
    # last evaluation step 200 -> +2, mean over episodes -> +0.5
    np.testing.assert_array_equal(scores.scores["A"], [[2.5, 102.5], [12.5, 112.5], [22.5, 122.5]])
    np.testing.assert_array_equal(scores.scores["B"], [[1002.5, 1102.5], [1012.5, 1112.5]])
    only = final_scores(eval_frame(), envs=["E2"])
    assert only.tasks == ["E2"]
    np.testing.assert_array_equal(only.scores["B"][:, 0], [1102.5, 1112.5])


def test_curve_scores_layout_and_values() -> None:
    curves = curve_scores(eval_frame())
    assert curves.curves["A"].shape == (3, 2, 3)
    np.testing.assert_array_equal(curves.steps["A"], [0, 100, 200])
    np.testing.assert_array_equal(curves.curves["A"][1, 1], [110.5, 111.5, 112.5])
    np.testing.assert_array_equal(curves.final().scores["B"], final_scores(eval_frame()).scores["B"])


def test_missing_seed_is_named() -> None:
    frame = drop(eval_frame(), algo="A", env="E2", seed=2)
    with pytest.raises(RlbenchError, match=r"algo=A env=E2: missing seeds \[2\]"):
        final_scores(frame)
    with pytest.raises(RlbenchError, match=r"algo=A env=E2: missing seeds \[2\]"):
        curve_scores(frame)


def test_algorithm_without_runs_on_a_task_is_named() -> None:
    frame = drop(eval_frame(), algo="B", env="E1")
    with pytest.raises(RlbenchError, match=r"algo=B env=E1: no runs"):
        final_scores(frame)


def test_unequal_run_length_is_named() -> None:
    frame = drop(eval_frame(), algo="A", env="E1", seed=1, step=200)
    with pytest.raises(RlbenchError) as info:
        final_scores(frame)
    message = str(info.value)
    assert "algo=A env=E1 seed=1" in message and "ends at step 100" in message and "200" in message
    assert "unequal run length" in message
    assert "\n" not in message


def test_unequal_length_across_algorithms_is_named() -> None:
    frame = drop(eval_frame(), algo="B", step=200)
    with pytest.raises(RlbenchError, match=r"algo=B env=E1 seed=0: run ends at step 100"):
        final_scores(frame)


def test_missing_evaluation_step_is_named() -> None:
    frame = drop(eval_frame(), algo="B", env="E2", seed=0, step=100)
    with pytest.raises(RlbenchError, match=r"algo=B env=E2 seed=0: missing evaluation steps \[100\]"):
        curve_scores(frame)
    with pytest.raises(RlbenchError, match=r"missing evaluation steps \[100\]"):
        final_scores(frame)


def test_evaluation_schedules_must_match_across_envs_for_curves() -> None:
    frame = drop(eval_frame(), algo="A", env="E2", step=100)
    with pytest.raises(RlbenchError, match=r"algo=A env=E2: missing evaluation steps \[100\]"):
        curve_scores(frame)


def test_bad_frames() -> None:
    with pytest.raises(RlbenchError, match="lacks columns"):
        final_scores(eval_frame().drop(columns=["episode"]))
    duplicated = pd.concat([eval_frame(), eval_frame().iloc[:1]])
    with pytest.raises(RlbenchError, match="duplicate evaluation episodes: algo=A env=E1 seed=0 step=0 episode=0"):
        final_scores(duplicated)
    with pytest.raises(RlbenchError, match=r"no evaluation returns at all for envs \['E9'\]"):
        final_scores(eval_frame(), envs=["E1", "E9"])
    broken = eval_frame()
    broken.loc[3, "return"] = np.nan
    with pytest.raises(RlbenchError, match="non-finite"):
        final_scores(broken)


def test_score_set_rejects_mislabelled_arrays() -> None:
    with pytest.raises(RlbenchError, match="2 task columns but 3 task names"):
        ScoreSet({"A": np.zeros((2, 2))}, ["x", "y", "z"], {"A": [0, 1]})
    with pytest.raises(RlbenchError, match="2-D"):
        ScoreSet({"A": np.zeros(2)}, ["x"], {"A": [0, 1]})


# ------------------------------------------------------------------ normalisation


def table(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(env, rnd, ref, "test", "test") for env, rnd, ref in rows],
        columns=["env", "random", "reference", "random_source", "reference_source"],
    )


def test_normalize_exact() -> None:
    scores = ScoreSet({"A": np.array([[5.0, 0.0], [10.0, 15.0]])}, ["x", "y"], {"A": [0, 1]})
    result = normalize(scores, table([("y", -5.0, 5.0), ("x", 0.0, 10.0)]))
    np.testing.assert_allclose(result.scores["A"], [[0.5, 0.5], [1.0, 2.0]])
    curves = CurveSet({"A": np.array([[[0.0, 10.0], [-5.0, 5.0]]])}, ["x", "y"], {"A": [0]}, {"A": np.array([1, 2])})
    np.testing.assert_allclose(
        normalize(curves, table([("x", 0.0, 10.0), ("y", -5.0, 5.0)])).curves["A"], [[[0.0, 1.0], [0.0, 1.0]]]
    )


def test_normalize_missing_task_is_named() -> None:
    scores = ScoreSet({"A": np.ones((1, 2))}, ["x", "Pong"], {"A": [0]})
    with pytest.raises(RlbenchError, match=r"no random/reference score for tasks \['Pong'\]"):
        normalize(scores, table([("x", 0.0, 1.0)]))
    with pytest.raises(RlbenchError, match=r"random != reference.*\['x'\]"):
        normalize(scores, table([("x", 1.0, 1.0), ("Pong", 0.0, 1.0)]))


def test_normalize_clips_where_the_table_says_so() -> None:
    scores = ScoreSet({"A": np.array([[12.0, 12.0], [4.0, 4.0]])}, ["x", "y"], {"A": [0, 1]})
    clipped = table([("x", 0.0, 10.0), ("y", 0.0, 10.0)]).assign(clip=[True, False])
    np.testing.assert_allclose(normalize(scores, clipped).scores["A"], [[1.0, 1.2], [0.4, 0.4]])
    curves = CurveSet({"A": np.array([[[0.0, 15.0]]])}, ["x"], {"A": [0]}, {"A": np.array([1, 2])})
    np.testing.assert_allclose(normalize(curves, clipped).curves["A"], [[[0.0, 1.0]]])
    with pytest.raises(RlbenchError, match="clip column"):
        normalize(scores, clipped.assign(clip=["yes", "no"]))


def test_reference_policy_uses_the_solved_threshold_wherever_there_is_one() -> None:
    best = best_achievable()
    # CartPole-v1: 475 (solved), clipped; its best achievable 500 is only a plausibility bound now.
    cartpole = reference_row("CartPole-v1", 475.0, best, "gym")
    assert (cartpole["reference"], cartpole["reference_kind"], cartpole["clip"]) == (475.0, SOLVED_THRESHOLD, True)
    assert cartpole["solved"] == 475.0 and "at most 500" in cartpole["reference_source"]
    acrobot = reference_row("Acrobot-v1", -100.0, best, "gym")
    assert (acrobot["reference"], acrobot["reference_kind"], acrobot["clip"]) == (-100.0, SOLVED_THRESHOLD, True)
    # Without a threshold the best achievable return is the reference, unclipped (glimpse: accuracy 1).
    glimpse = reference_row("Glimpse-v0", None, best, "gym")
    assert (glimpse["reference"], glimpse["reference_kind"], glimpse["clip"]) == (1.0, BEST_ACHIEVABLE, False)
    with pytest.raises(RlbenchError, match="neither"):
        reference_row("Pong", None, best, "gym")
    with pytest.raises(RlbenchError, match="exceeds the best achievable return"):
        reference_row("CartPole-v1", 600.0, best, "gym")


def test_classic_suite_clips_every_environment_at_its_solved_threshold() -> None:
    """The normalisation stage's table for the classic suite: one rule, every task clipped with reference = solved,
    so a normalised 1 means "solved" on every task (CartPole-v1 included)."""
    envs = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3"]
    table = normalization_table(envs, episodes=2, seed=0)
    assert list(table["env"]) == envs and table["clip"].all()
    assert set(table["reference_kind"]) == {SOLVED_THRESHOLD}
    assert (table["reference"] == table["solved"]).all()
    assert dict(zip(table["env"], table["reference"])) == {"CartPole-v1": 475.0, "Acrobot-v1": -100.0,
                                                           "MountainCar-v0": -110.0, "LunarLander-v3": 200.0}
    rule = clip_rule(table)
    assert "clipped to 1" in rule and "1 = solved on every task" in rule
    # A CartPole-v1 run at 500 and one at 475 are both exactly 1: solved, nothing more.
    finals = ScoreSet({"A": np.array([[500.0], [475.0], [474.0]])}, ["CartPole-v1"], {"A": [0, 1, 2]})
    normalised = normalize(finals, table).scores["A"][:, 0]
    assert normalised[0] == normalised[1] == 1.0 and normalised[2] < 1.0


def test_unclipped_suites_say_so_and_mixed_tables_are_refused() -> None:
    maze = normalization_table(["Maze-Lecture-v0", "Maze-Lecture-Slippery-v0"], episodes=2, seed=0)
    assert not maze["clip"].any() and set(maze["reference_kind"]) == {BEST_ACHIEVABLE}
    assert "no score is clipped" in clip_rule(maze)
    mixed = pd.concat([maze, normalization_table(["CartPole-v1"], episodes=2, seed=0)], ignore_index=True)
    with pytest.raises(RlbenchError, match="clip every environment at its reference or none"):
        check_one_rule(mixed)
    with pytest.raises(RlbenchError, match="clip every environment"):
        normalization_table(["CartPole-v1", "Glimpse-v0"], episodes=2, seed=0)


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_load_external_scores_formats(tmp_path: Path) -> None:
    human = write_json(tmp_path / "HUMAN.json", {"g1": [10.0], "g2": [110.0]})
    random = write_json(tmp_path / "RANDOM.json", {"g1": [0.0], "g2": [10.0]})
    write_json(tmp_path / "Raw.json", {"g2": [60.0, 10.0], "g1": [5.0, 20.0]})
    write_json(
        tmp_path / "curl_file.json",
        [
            {"game": "g1", "seed": 2.0, "HNS": 0.2, "Max HNS": 0.9},
            {"game": "g1", "seed": 1.0, "HNS": 0.1, "Max HNS": 0.9},
            {"game": "g2", "seed": 1.0, "HNS": 0.3, "Max HNS": 0.9},
            {"game": "g2", "seed": 2.0, "HNS": 0.4, "Max HNS": 0.9},
        ],
    )
    scores = load_external_scores(tmp_path, human, random, names={"curl_file": "CURL"})
    assert sorted(scores.algorithms) == ["CURL", "Raw"]
    assert scores.tasks == ["g1", "g2"]
    np.testing.assert_allclose(scores.scores["Raw"], [[0.5, 0.5], [2.0, 0.0]])
    np.testing.assert_allclose(scores.scores["CURL"], [[0.1, 0.3], [0.2, 0.4]])
    assert scores.run_ids == {"CURL": [1, 2], "Raw": [0, 1]}


def test_load_external_scores_mismatched_games(tmp_path: Path) -> None:
    human = {"g1": 10.0, "g2": 110.0, "g3": 5.0}
    random = {"g1": 0.0, "g2": 10.0, "g3": 0.0}
    a = write_json(tmp_path / "A.json", {"g1": [1.0], "g2": [2.0], "g3": [3.0]})
    b = write_json(tmp_path / "B.json", {"g1": [1.0], "g2": [2.0]})
    with pytest.raises(RlbenchError, match=r"B\.json lacks \['g3'\]"):
        load_external_scores([a, b], human, random)
    c = write_json(tmp_path / "C.json", {"g1": [1.0, 2.0], "g2": [2.0], "g3": [3.0]})
    with pytest.raises(RlbenchError, match=r"different numbers of runs.*g1 \(2\)"):
        load_external_scores([a, c], human, random)
    with pytest.raises(RlbenchError, match=r"no random/reference score for tasks \['g3'\]"):
        load_external_scores([a], {"g1": 1.0, "g2": 1.0}, {"g1": 0.0, "g2": 0.0})


def test_combine_reorders_tasks_and_rejects_duplicates() -> None:
    one = ScoreSet({"A": np.array([[1.0, 2.0]])}, ["x", "y"], {"A": [0]})
    two = ScoreSet({"B": np.array([[3.0, 4.0]])}, ["y", "x"], {"B": [7]})
    both = combine(one, two)
    np.testing.assert_array_equal(both.scores["B"], [[4.0, 3.0]])
    with pytest.raises(RlbenchError, match="'A' appears in more than one"):
        combine(one, one)
    with pytest.raises(RlbenchError, match=r"lacks \['y'\]"):
        combine(one, ScoreSet({"C": np.ones((1, 1))}, ["x"], {"C": [0]}))
    ref = reference_table({"x": [2.0]}, {"x": 1.0})
    assert ref.loc[0, "reference"] == 2.0 and ref.loc[0, "random"] == 1.0


