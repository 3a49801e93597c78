"""Normalisation of the pixel families: Atari against the published human and random scores, MinAtar against the
MinAtar paper's DQN at 5M frames (a published reference from outside the runs), and the protocol statement of
reports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rlbench.errors import RlbenchError
from rlbench.references.measured import atari_references, normalization_table
from rlbench.reporting.leaderboard import protocol_statement
from rlbench.scores.external import atari100k_data_dir
from rlbench.scores.matrices import ScoreSet
from rlbench.scores.normalization import (
    COLUMNS,
    PAPER_DQN,
    REFERENCE_POLICY,
    minatar_references,
    normalize,
)
from tests.conftest import ROOT

SHARED_MINATAR = ROOT.parent / "shared" / "reference" / "minatar_dqn_reference.csv"


def test_atari_references_are_the_published_human_and_random_scores():
    table = atari_references(["Atari-Pong-v0", "Atari-Breakout-v0"])
    human = json.loads((atari100k_data_dir() / "HUMAN.json").read_text())
    random = json.loads((atari100k_data_dir() / "RANDOM.json").read_text())
    assert list(table.columns) == COLUMNS and list(table["env"]) == ["Atari-Pong-v0", "Atari-Breakout-v0"]
    as_number = lambda v: float(v[0] if isinstance(v, list) else v)  # noqa: E731
    assert table["reference"].tolist() == [as_number(human["Pong"]), as_number(human["Breakout"])]
    assert table["random"].tolist() == [as_number(random["Pong"]), as_number(random["Breakout"])]
    assert set(table["reference_kind"]) == {"human"} and not table["clip"].any()


MINATAR = ["MinAtar-Asterix-v0", "MinAtar-Breakout-v0", "MinAtar-Freeway-v0", "MinAtar-Seaquest-v0",
           "MinAtar-SpaceInvaders-v0"]


def test_minatar_references_are_the_paper_dqn_at_5m_frames_with_their_source():
    table = minatar_references(MINATAR)
    # The values of the MinAtar paper's DQN at 5M frames (read from its learning curves), in the data file.
    assert dict(zip(table["env"], table["reference"])) == {
        "MinAtar-Asterix-v0": 17.0, "MinAtar-Breakout-v0": 10.0, "MinAtar-Freeway-v0": 50.0,
        "MinAtar-Seaquest-v0": 20.0, "MinAtar-SpaceInvaders-v0": 43.0}
    assert set(table["reference_kind"]) == {PAPER_DQN} and not table["clip"].any() and table["solved"].isna().all()
    for source in table["reference_source"]:  # where the number comes from, how it was measured, how precise
        assert "MinAtar (Young & Tian 2019)" in source and "5,000,000 frames" in source and "+-0.5" in source
    assert "predates the v1.0.11 Seaquest fix" in table.set_index("env").loc["MinAtar-Seaquest-v0", "reference_source"]
    assert "paper's DQN after its full 5M-frame training" in REFERENCE_POLICY
    assert "suite best" not in REFERENCE_POLICY and "best final score" not in REFERENCE_POLICY
    with pytest.raises(RlbenchError, match="no MinAtar paper DQN reference"):
        minatar_references(["MinAtar-Pong-v0"])


@pytest.mark.skipif(not SHARED_MINATAR.is_file(), reason="the project's shared reference folder is not here")
def test_minatar_data_file_holds_the_shared_5m_frame_rows_unchanged():
    shared = pd.read_csv(SHARED_MINATAR)
    ours = pd.read_csv(ROOT / "rlbench" / "data" / "minatar_reference.csv")
    expected = shared[shared["frames"] == 5_000_000].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, expected, check_dtype=False)


def test_minatar_normalisation_does_not_depend_on_the_runs():
    """The MinAtar reference is fixed: normalising with or without a much better run gives the same score to the
    others, and a run above the paper's DQN gets a score above 1 (nothing clipped)."""
    table = normalization_table(["MinAtar-Breakout-v0"], episodes=2, seed=0)
    assert list(table.columns) == COLUMNS and table.loc[0, "reference"] == 10.0 and not table.loc[0, "clip"]
    random = float(table.loc[0, "random"])
    some = ScoreSet({"a": np.array([[5.0], [8.0]])}, ["MinAtar-Breakout-v0"], {"a": [0, 1]})
    more = ScoreSet({"a": np.array([[5.0], [8.0]]), "b": np.array([[30.0], [40.0]])}, ["MinAtar-Breakout-v0"],
                    {"a": [0, 1], "b": [0, 1]})
    np.testing.assert_allclose(normalize(some, table).scores["a"], normalize(more, table).scores["a"])
    expected = (np.array([5.0, 8.0]) - random) / (10.0 - random)
    np.testing.assert_allclose(normalize(some, table).scores["a"][:, 0], expected)
    assert normalize(more, table).scores["b"].min() > 1.0


def test_protocol_statement_groups_environments_with_the_same_settings():
    text = protocol_statement(["CartPole-v1", "Atari-Pong-v0", "Atari-Breakout-v0", "MinAtar-Asterix-v0"])
    assert "CartPole" not in text
    assert "Environment protocol of `Atari-Pong-v0`, `Atari-Breakout-v0`: repeat_action_probability 0.25" in text
    assert "evaluation environment: terminal_on_life_loss False, clip_rewards False, action_epsilon 0.05" in text
    assert "`MinAtar-Asterix-v0`: sticky_action_probability 0.1" in text


def test_protocol_statement_of_an_environment_with_only_evaluation_settings_has_no_empty_part():
    text = protocol_statement(["Glimpse-v0"])
    assert "Environment protocol of `Glimpse-v0`: evaluation environment:" in text
    assert ": ;" not in text
