"""The speed benchmark's tiny mode writes a complete, well-formed report (no timing assertions)."""

from __future__ import annotations

import json
import math
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DQN = ({"rlbench", "sb3", "bare", "gradient_floor"},
       {"rlbench / sb3", "rlbench / bare", "rlbench / gradient_floor", "bare / gradient_floor", "sb3 / bare"})
BATCHED = ({"batched", "batched_gym_envs", "separate"},
           {"batched_gym_envs / separate", "batched / batched_gym_envs", "batched / separate"})
EXPECTED = {
    "dqn_rl_zoo": DQN,
    "dqn_cleanrl": DQN,
    "batched_seeds_rl_zoo": BATCHED,
    "batched_seeds_cleanrl": BATCHED,
    "dqn_minatar": ({"rlbench", "sb3"}, {"rlbench / sb3"}),
    "dqn_atari": ({"rlbench", "sb3"}, {"rlbench / sb3"}),
    "batched_seeds_minatar": ({"batched", "separate"}, {"batched / separate"}),
}
"""Every group of the benchmark, its competitors and its ratios."""


def positive_finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def check_spread(spread: dict, repetitions: int, where: str) -> None:
    for key in ("median", "min", "max", "q1", "q3"):
        assert positive_finite(spread[key]), f"{where}: {key} = {spread[key]!r}"
        # no more digits than the spread supports: each figure is a whole multiple of 10^-decimals
        scaled = spread[key] * 10.0 ** spread["decimals"]
        assert abs(scaled - round(scaled)) < 1e-6 * max(1.0, abs(scaled)), f"{where}: {key} has extra digits"
    assert spread["min"] <= spread["q1"] <= spread["median"] <= spread["q3"] <= spread["max"], where
    assert len(spread["per_repetition"]) == repetitions, where
    assert all(positive_finite(v) for v in spread["per_repetition"]), where


@pytest.mark.slow
def test_tiny_speed_report(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--tiny", "--out", str(tmp_path)],
                               cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads((tmp_path / "speed.json").read_text())
    markdown = (tmp_path / "speed.md").read_text()

    assert report["settings"]["tiny"] is True
    repetitions = report["settings"]["repetitions"]
    assert repetitions == 2
    assert report["processor"]["model name"]
    assert re.fullmatch(r"[0-9a-f]{40}", report["code"]["commit"]) and isinstance(report["code"]["uncommitted_changes"], bool)
    for name in ("torch", "numpy", "stable_baselines3", "gymnasium"):
        assert report["versions"][name]
    assert set(report["groups"]) == set(EXPECTED)
    for group_name, (competitors, ratios) in EXPECTED.items():
        group = report["groups"][group_name]
        assert group_name in markdown
        assert set(group["competitors"]) == competitors
        assert set(group["ratios"]) == ratios
        for competitor_name, competitor in group["competitors"].items():
            check_spread(competitor["steps_per_s"], repetitions, f"{group_name}/{competitor_name}")
            assert positive_finite(competitor["timed_env_steps"])
        for ratio_name, ratio in group["ratios"].items():
            check_spread(ratio, repetitions, f"{group_name}/{ratio_name}")
        assert group["window"]["timed_steps"] > 0
        assert group["headline"] is None or group["headline"] in group["ratios"]
    for group_name, cleanrl_goal in (("dqn_rl_zoo", 1.6), ("dqn_cleanrl", 2.5)):
        goals = {goal["ratio"]: goal for goal in report["groups"][group_name]["goals"]}
        assert goals["rlbench / bare"]["at_least"] == 0.95 and goals["rlbench / sb3"]["at_least"] == cleanrl_goal
        assert all(isinstance(goal["met"], bool) for goal in goals.values())
    # the whole-run window: from the first step to the run's end
    assert all(group["window"]["warmup_steps"] == 0 for group in report["groups"].values())

    # The report is versioned: nothing that changes from run to run besides the measurements.
    hostname = socket.gethostname()
    for text in (json.dumps(report), markdown):
        assert len(hostname) < 4 or hostname not in text
        assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", text), "a date or time in the report"


@pytest.mark.slow
def test_tiny_reinforce_vs_a2c_report(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "reinforce_vs_a2c.py"), "--tiny",
                                "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads((tmp_path / "reinforce_vs_a2c.json").read_text())
    group = report["groups"]["reinforce_vs_a2c_matched"]
    assert set(group["competitors"]) == {"reinforce", "reinforce_baseline", "sb3_a2c_1env", "sb3_a2c"}
    for name, competitor in group["competitors"].items():
        check_spread(competitor["steps_per_s"], 2, name)
    assert report["goal"]["ratio"] == "reinforce / sb3_a2c_1env" and report["goal"]["at_least"] == 1.5
    check_spread(group["ratios"]["reinforce / sb3_a2c_1env"], 2, "goal ratio")
    assert "Goal (REINFORCE >= 1.5x matched A2C)" in (tmp_path / "reinforce_vs_a2c.md").read_text()
