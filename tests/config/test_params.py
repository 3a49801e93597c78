"""Bad input gives one clear line naming the valid choices, and a non-zero exit."""

from __future__ import annotations

import copy

import pytest
import yaml

from rlbench.config.params import parse_params
from rlbench.config.plan import plan_suite
from rlbench.errors import RlbenchError
from tests.conftest import ROOT, run_cli


def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_plan_covers_every_algo_env_seed(params):
    specs = list(plan_suite(params, "default").runs)
    suite = params.suite("default")
    assert len(specs) == len(suite.algos) * len(suite.envs) * len(suite.seeds)
    assert len({spec.run_id for spec in specs}) == len(specs)


def test_changed_hyperparameter_changes_run_id():
    raw = raw_params()
    before = {s.key: s.run_id for s in list(plan_suite(parse_params(raw), "smoke").runs)}
    changed = copy.deepcopy(raw)
    changed["algos"]["dqn"]["per_env"]["CartPole-v1"]["learning_rate"] = 0.001
    after = {s.key: s.run_id for s in list(plan_suite(parse_params(changed), "smoke").runs)}
    differing = {key for key in before if before[key] != after[key]}
    assert differing == {"dqn/CartPole-v1/seed_0", "dqn/CartPole-v1/seed_1"}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["suites"]["smoke"]["algos"].append("nope"), "valid choices: dqn"),
        (lambda r: r["suites"]["smoke"]["envs"].append("Nope-v0"), "valid choices: Acrobot-v1"),
        (lambda r: r["pipeline"].update(publish=["nosuite"]), "unknown suite in pipeline.publish: 'nosuite'; valid choices: atari-mini, atari-smoke, atari100k-dqn, classic, default"),
        (lambda r: r["pipeline"].update(backend="slurm"), "valid choices: process, ray, serial"),
        (lambda r: r["suites"]["smoke"].update(seeds=[0, 0]), "duplicate seeds"),
        (lambda r: r["suites"]["smoke"].update(budget=-5), "must be positive"),
        (lambda r: r["suites"]["smoke"].update(eval_every="often"), "expected an integer"),
        (lambda r: r.pop("algos"), "missing key(s) algos"),
        (lambda r: r["algos"]["dqn"].update(agent="nonexistent"), "unknown agent 'nonexistent'"),
        (lambda r: r["pipeline"].update(worker=4), "pipeline: unknown key(s) worker; valid: allow_failures"),
        (lambda r: r["suites"]["smoke"].update(seed=[1]), "suites.smoke: unknown key(s) seed; valid: algos"),
        (lambda r: r["algos"]["dqn"].update(agent=f"{ROOT}/tests/plugins/syntax_error.py:Agent"), "SyntaxError"),
        (lambda r: r["algos"]["dqn"]["per_env"]["CartPole-v1"].update(lr=0.1), "unknown hyperparameter(s) lr"),
        (lambda r: r["algos"]["sb3_ppo"]["per_env"]["CartPole-v1"]["algo_kwargs"].update(lr=1), "unknown PPO argument(s) lr"),
    ],
)
def test_bad_params_name_the_problem(mutate, expected):
    raw = raw_params()
    mutate(raw)
    with pytest.raises(RlbenchError, match=None) as error:
        list(plan_suite(parse_params(raw), "smoke").runs)
    message = str(error.value)
    assert expected in message
    assert "\n" not in message


def test_cli_unknown_names_exit_nonzero_with_one_line(tmp_path):
    for args, expected in [
        (["train", "nope", "CartPole-v1", "--results", str(tmp_path)], "unknown algorithm 'nope'"),
        (["train", "dqn", "Nope-v0", "--results", str(tmp_path)], "unknown environment 'Nope-v0'"),
        (["run-suite", "nosuite", "--results", str(tmp_path)], "unknown suite 'nosuite'"),
    ]:
        result = run_cli(*args)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and "valid choices" in lines[0]
    assert not any(tmp_path.iterdir()), "a rejected command must leave nothing behind"


def test_cli_malformed_yaml(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("suites: [unclosed\n")
    result = run_cli("list", "--params", str(bad))
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr


def test_cli_leaderboard_corrupt_or_missing(tmp_path):
    missing = run_cli("leaderboard", "smoke", "--results", str(tmp_path))
    assert missing.returncode == 2 and "no runs of suite smoke" in missing.stderr
    assert not any(tmp_path.iterdir()), "a rejected command must leave nothing behind"
    (tmp_path / "smoke").mkdir()
    (tmp_path / "smoke" / "leaderboard.csv").write_bytes(b"\x00\xff\xfe garbage")
    corrupt = run_cli("leaderboard", "smoke", "--results", str(tmp_path))
    assert corrupt.returncode == 2 and "corrupt leaderboard" in corrupt.stderr
    assert len(corrupt.stderr.strip().splitlines()) == 1
    (tmp_path / "smoke" / "leaderboard.csv").write_text("a,b\n1,2\n")
    wrong = run_cli("leaderboard", "smoke", "--results", str(tmp_path))
    assert wrong.returncode == 2 and "expected ['rank'" in wrong.stderr


def test_cli_train_rejects_bad_budget_and_seed(tmp_path):
    for args in (["--budget", "-1"], ["--seed", "-1"]):
        result = run_cli("train", "dqn", "CartPole-v1", *args, "--results", str(tmp_path))
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and f"Invalid value for '{args[0]}'" in lines[0]
    assert not any(tmp_path.iterdir())
