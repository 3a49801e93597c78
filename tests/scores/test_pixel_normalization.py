"""Normalisation of the pixel families: Atari against the published human and random scores, MinAtar against
the best final score of the suite (min-max), and the protocol statement of reports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rlbench.reporting.leaderboard import protocol_statement
from rlbench.scores.external import atari100k_data_dir
from rlbench.scores.matrices import ScoreSet
from rlbench.scores.normalization import COLUMNS, SUITE_BEST, atari_references, normalize, with_suite_best


def test_atari_references_are_the_published_human_and_random_scores():
    table = atari_references(["Atari-Pong-v0", "Atari-Breakout-v0"])
    human = json.loads((atari100k_data_dir() / "HUMAN.json").read_text())
    random = json.loads((atari100k_data_dir() / "RANDOM.json").read_text())
    assert list(table.columns) == COLUMNS and list(table["env"]) == ["Atari-Pong-v0", "Atari-Breakout-v0"]
    as_number = lambda v: float(v[0] if isinstance(v, list) else v)  # noqa: E731
    assert table["reference"].tolist() == [as_number(human["Pong"]), as_number(human["Breakout"])]
    assert table["random"].tolist() == [as_number(random["Pong"]), as_number(random["Breakout"])]
    assert set(table["reference_kind"]) == {"human"} and not table["clip"].any()


def _minatar_table(random: float) -> pd.DataFrame:
    return pd.DataFrame([{"env": "MinAtar-Breakout-v0", "random": random, "reference": np.nan,
                          "reference_kind": SUITE_BEST, "clip": False, "solved": np.nan, "random_source": "measured",
                          "reference_source": "set by the analysis"}], columns=COLUMNS)


def test_suite_best_is_the_best_final_score_of_any_run():
    finals = ScoreSet({"a": np.array([[2.0], [6.0]]), "b": np.array([[4.0], [1.0]])}, ["MinAtar-Breakout-v0"],
                      {"a": [0, 1], "b": [0, 1]})
    table = with_suite_best(_minatar_table(random=1.0), finals)
    assert table.loc[0, "reference"] == 6.0
    normalised = normalize(finals, table)
    np.testing.assert_allclose(normalised.scores["a"][:, 0], [0.2, 1.0])
    np.testing.assert_allclose(normalised.scores["b"][:, 0], [0.6, 0.0])


def test_suite_best_when_no_run_beats_random_is_random_plus_one():
    finals = ScoreSet({"a": np.array([[0.5]])}, ["MinAtar-Breakout-v0"], {"a": [0]})
    table = with_suite_best(_minatar_table(random=1.0), finals)
    assert table.loc[0, "reference"] == 2.0 and "random + 1" in table.loc[0, "reference_source"]
    assert normalize(finals, table).scores["a"][0, 0] == pytest.approx(-0.5)


def test_protocol_statement_groups_environments_with_the_same_settings():
    text = protocol_statement(["CartPole-v1", "Atari-Pong-v0", "Atari-Breakout-v0", "MinAtar-Asterix-v0"])
    assert "CartPole" not in text
    assert "Environment protocol of `Atari-Pong-v0`, `Atari-Breakout-v0`: repeat_action_probability 0.25" in text
    assert "evaluation environment: terminal_on_life_loss False, clip_rewards False, action_epsilon 0.05" in text
    assert "`MinAtar-Asterix-v0`: sticky_action_probability 0.1" in text
