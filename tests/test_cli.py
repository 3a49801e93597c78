"""The command line's usage errors: one line on stderr, exit status 2, nothing written."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run-suite", "smoke", "--bogus"], "No such option: --bogus"),
        (["run-suite"], "Missing argument 'SUITE'"),
        (["run-suite", "smoke", "--workers", "-1"], "Invalid value for '--workers'"),
        (["run-suite", "smoke", "--checkpoint-every", "-5"], "Invalid value for '--checkpoint-every'"),
        (["run-suite", "smoke", "--backend", "slurm"], "unknown backend 'slurm'; valid choices: process, ray, serial"),
        (["train", "dqn"], "Missing argument 'ENV'"),
        (["train", "dqn", "CartPole-v1", "--seed", "x"], "Invalid value for '--seed'"),
        (["leaderboard", "smoke", "extra"], "unexpected extra argument(s) (extra)"),
        (["report"], "Missing argument 'SUITE'"),
        (["audit", "smoke", "--seed", "-1"], "Invalid value for '--seed'"),
        (["audit", "smoke", "--backend", "slurm"], "unknown backend 'slurm'"),
        (["audit", "smoke"], "no runs of suite smoke"),
        (["accept", "smoke"], "Missing argument 'RUNS'"),
        (["accept", "smoke", "dqn/CartPole-v1/seed_0", "dqn/CartPole-v1/seed_0"], "run(s) named twice"),
        (["accept", "smoke", "dqn/Nowhere-v0/seed_9"], "unknown run(s) 'dqn/Nowhere-v0/seed_9' of suite smoke"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, expected, tmp_path):
    result = run_cli(*args, "--results", str(tmp_path)) if args[0] != "frobnicate" else run_cli(*args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected.lower() in lines[0].lower(), lines
    assert result.stdout == "" and not any(tmp_path.iterdir())


def test_help_still_works():
    result = run_cli("run-suite", "--help")
    assert result.returncode == 0 and "--workers" in result.stdout


def test_leaderboard_and_report_of_an_unpublished_suite(tmp_path):
    """Any suite with runs gets tables, a report and a leaderboard on demand, outside the pipeline."""
    import yaml

    from tests.conftest import ROOT

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["suites"]["tiny"] = {"algos": ["reinforce", "reinforce_baseline"], "envs": ["CartPole-v1"], "seeds": [0, 1],
                             "budget": 1000, "eval_every": 500, "eval_episodes": 2}
    raw["pipeline"]["bootstrap_reps"] = 100
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    common = ["--params", str(params), "--results", str(tmp_path / "results")]
    assert run_cli("run-suite", "tiny", "--no-progress", *common).returncode == 0
    board = run_cli("leaderboard", "tiny", *common, "--reports", str(tmp_path / "reports"))
    assert board.returncode == 0, board.stderr
    assert "Leaderboard of suite tiny" in board.stdout and "REINFORCE+baseline (rlbench)" in board.stdout
    assert (tmp_path / "reports" / "tiny" / "report.html").is_file()
    assert (tmp_path / "results" / "plans" / "tiny.json").is_file()
    compare = run_cli("report", "tiny", "--algos", "reinforce,reinforce_baseline", *common,
                      "--reports", str(tmp_path / "reports"))
    assert compare.returncode == 0 and "compare/tiny/reinforce_vs_reinforce_baseline" in compare.stdout
