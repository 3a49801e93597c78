"""``rlbench compare``: the non-inferiority test, the operands, the report, and the regression gate end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rlbench.compare import Context, Operand, compare_operands, report_markdown
from rlbench.config.comparison import protocol_settings
from rlbench.errors import RlbenchError
from rlbench.stats.noninferiority import gate_seeds_needed, noninferiority_test, simulated_rates
from tests.conftest import ROOT, copy_project, run_cli

GATE_SUITE = yaml.safe_load((ROOT / "docs" / "guides" / "regression-gate-suite.yaml").read_text())
"""The regression gate's suite (the recipe's): the in-house DQN on CartPole, 5 seeds, 3,000 steps."""


def _matrix(seed: int, means: list[float], sd: float, runs: int = 5) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return np.asarray(means) + sd * rng.standard_normal((runs, len(means)))


def test_noninferiority_passes_an_equal_candidate_and_fails_a_worse_one():
    reference = _matrix(1, [0.5, 0.7], 0.05, runs=10)
    equal = _matrix(2, [0.5, 0.7], 0.05, runs=10)
    worse = _matrix(3, [0.2, 0.4], 0.05, runs=10)
    assert noninferiority_test(equal, reference, margin=0.1).passed
    result = noninferiority_test(worse, reference, margin=0.1)
    assert not result.passed and result.difference.upper < -0.1
    assert result.p_value > 0.5
    # A candidate with no spread and no difference is non-inferior at any margin; one exactly at -margin is not.
    same = np.ones((3, 2))
    assert noninferiority_test(same, same, margin=0.01).passed
    assert not noninferiority_test(same - 0.01, same, margin=0.01).passed


@pytest.mark.parametrize("candidate, reference, margin", [
    (np.ones((3, 2)), np.ones((3, 3)), 0.1),  # different tasks
    (np.ones((1, 2)), np.ones((3, 2)), 0.1),  # one run
    (np.ones((3, 2)), np.ones((3, 2)), 0.0),  # no margin
])
def test_noninferiority_refuses_bad_input(candidate, reference, margin):
    with pytest.raises(RlbenchError):
        noninferiority_test(candidate, reference, margin)


def test_simulated_false_pass_rate_is_near_nominal_and_power_grows_with_seeds():
    reference = _matrix(4, [0.3, 0.6, 0.8], 0.1)
    few = simulated_rates(reference, 5, margin=0.1, alpha=0.05, simulations=4000, seed=0)
    # Normal scores: the Welch test's false-pass rate is its nominal 5% up to Monte Carlo error and the
    # Welch-Satterthwaite approximation.
    assert few.false_pass <= 0.05 + 3 * few.false_pass_se + 0.01
    assert few.power > few.false_pass
    many = simulated_rates(np.vstack([reference] * 4), 20, margin=0.1, alpha=0.05, simulations=4000, seed=0)
    assert many.power > few.power
    # Seeded: the same streams give the same rates.
    assert simulated_rates(reference, 5, 0.1, simulations=500, seed=7) == simulated_rates(reference, 5, 0.1,
                                                                                          simulations=500, seed=7)
    assert gate_seeds_needed(reference, reference, 0.1) >= 2


def _operand(name: str, scores: np.ndarray, budget: int = 3000, **settings: str) -> Operand:
    tasks = ("CartPole-v1",)
    return Operand(name, "synthetic", tasks, scores, tuple(range(len(scores))),
                   {"CartPole-v1": {**protocol_settings("CartPole-v1", budget, 1500, 5), "algorithm": "DQN",
                                    **settings}})


def test_compare_refuses_a_protocol_difference_naming_every_difference():
    reference = _operand("a", np.array([[100.0], [120.0], [140.0]]))
    candidate = _operand("b", np.array([[100.0], [110.0], [150.0]]), budget=6000, optimizer="SGD")
    with pytest.raises(RlbenchError, match=r"confounded.*budget: 3,000 steps vs 6,000 steps.*optimizer"):
        compare_operands([reference, candidate], Context(results=ROOT / "results"), 0.1, 0.05, simulations=200)
    pairs, _, _ = compare_operands([reference, candidate], Context(results=ROOT / "results"), 0.1, 0.05,
                                   simulations=200, allow_confounded=True)
    assert pairs[0].comparison.confounded


def test_report_leads_with_the_decision_and_names_what_differs():
    reference = _operand("old", np.array([[400.0], [420.0], [440.0], [410.0]]))
    candidate = _operand("new", np.array([[20.0], [30.0], [25.0], [22.0]]), optimizer="SGD")
    pairs, table, normalized = compare_operands([reference, candidate], Context(results=ROOT / "results"), 0.1,
                                                0.05, simulations=200)
    assert not pairs[0].test.passed
    text = report_markdown([reference, candidate], pairs, table, normalized, 0.1, 0.05, True, "", None)
    decision = text.index("## Decision")
    assert decision < text.index("## What differs") < text.index("## Per task") < text.index("## Seeds needed")
    assert "FAIL: new vs old" in text[decision:text.index("## Operands")]
    assert "false-pass rate" in text and "optimizer" in text


@pytest.mark.parametrize("args, message", [
    (["suite:dqn"], "at least two operands"),
    (["smoke:dqn", "smoke:dqn"], "named twice"),
    (["nosuch:dqn", "smoke:dqn"], "nosuch"),
    (["smoke:dqn", "smoke:nosuch"], "nosuch"),
    (["smoke:dqn", "dqn"], "--suite"),
    (["smoke:dqn", "dqn@no-such-ref-xyz", "--suite", "smoke"], "no-such-ref-xyz"),
    (["smoke:dqn", "smoke:reinforce", "--margin", "0"], "margin"),
    (["smoke:dqn", "bad operand!"], "bad operand"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    done = run_cli("compare", *args, "--results", str(tmp_path / "results"), "--reports", str(tmp_path / "reports"))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "reports").exists()


def test_compare_two_algorithms_of_a_published_suite(tmp_path):
    """``SUITE:ALGO`` operands read the published runs through the suite's recorded plan (nothing trained); the exit
    status follows the printed verdict."""
    out = tmp_path / "report"
    done = run_cli("compare", "default:dqn", "default:sb3_dqn", "--fail-if-worse", "--simulations", "300",
                   "--out", str(out))
    assert done.returncode in (0, 1), done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(("PASS: default:sb3_dqn vs default:dqn", "FAIL: default:sb3_dqn vs default:dqn"))
    assert (done.returncode == 0) == first.startswith("PASS")
    report = (out / "report.md").read_text()
    assert "implementation: rlbench vs Stable-Baselines3" in report
    assert (out / "learning_curves.png").is_file() and (out / "report.html").is_file()
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["env"]) == {"CartPole-v1", "Acrobot-v1"}
    assert (table["difference_lower"] <= table["difference"]).all()
    assert (table["difference"] <= table["difference_upper"]).all()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.mark.slow
def test_regression_gate_fails_a_target_network_never_updated_and_passes_an_unchanged_revision(tmp_path):
    """The recipe of docs/guides/regression-gate.md on a copy of the project: three revisions (the base, an unchanged
    one, one whose DQN never copies its online network into the target network) compared on the gate suite."""
    repo = copy_project(tmp_path / "repo")
    _git(repo, "tag", "base")
    (repo / "NOTES.txt").write_text("a change that does not touch the code a run executes\n")
    _git(repo, "add", "NOTES.txt")
    _git(repo, "commit", "-qm", "unchanged code")
    _git(repo, "tag", "unchanged")
    dqn = repo / "rlbench" / "agents" / "dqn.py"
    sync = "torch._foreach_copy_(self.target_parameters, self.online_parameters)"
    assert sync in dqn.read_text()
    dqn.write_text(dqn.read_text().replace(sync, "pass  # deliberate regression: the target network is never updated"))
    _git(repo, "commit", "-qam", "regression")
    _git(repo, "tag", "regressed")
    gate = tmp_path / "gate.yaml"  # the recipe's step: params.yaml with the gate suite
    subprocess.run([sys.executable, str(ROOT / "docs" / "guides" / "make_gate_params.py"), str(gate)], check=True)
    assert yaml.safe_load(gate.read_text())["suites"] == {"gate": GATE_SUITE}
    common = ["--repo", str(repo), "--suite", "gate", "--params", str(gate), "--fail-if-worse", "--margin", "0.2",
              "--results", str(tmp_path / "results"), "--reports", str(tmp_path / "reports"), "--simulations", "500"]

    failed = run_cli("compare", "dqn@base", "dqn@regressed", *common, cwd=tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stdout.startswith("FAIL: dqn@regressed vs dqn@base")
    report = tmp_path / "reports" / "compare" / "dqn-base_vs_dqn-regressed" / "report.md"
    assert report.is_file() and (report.parent / "learning_curves.png").is_file()

    passed = run_cli("compare", "dqn@base", "dqn@unchanged", *common, cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.startswith("PASS: dqn@unchanged vs dqn@base")
    assert "training" not in passed.stderr  # the unchanged revision's runs are the base's: reused, not retrained
    text = (tmp_path / "reports" / "compare" / "dqn-base_vs_dqn-unchanged" / "report.md").read_text()
    assert "the same runs (same run ids)" in text


@pytest.mark.slow
def test_compare_stored_runs_with_another_parameter_set_end_to_end(tmp_path):
    """``SUITE:ALGO`` (stored runs) against ``ALGO --params other.yaml`` (trained by the working tree): the report
    names the changed setting; the same parameters reuse the stored runs (the same run ids)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["suites"] = {"tiny": {"algos": ["reinforce"], "envs": ["CartPole-v1"], "seeds": [0, 1, 2],
                                 "budget": 600, "eval_every": 300, "eval_episodes": 2}}
    params["pipeline"]["publish"] = ["tiny"]
    same, other = tmp_path / "same.yaml", tmp_path / "other.yaml"
    same.write_text(yaml.safe_dump(params, sort_keys=False))
    params["algos"]["reinforce"]["hyperparameters"]["learning_rate"] = 0.02
    other.write_text(yaml.safe_dump(params, sort_keys=False))
    results, reports = str(tmp_path / "results"), str(tmp_path / "reports")
    for command in (["plan", "tiny"], ["run-suite", "tiny", "--backend", "serial", "--no-progress"]):
        done = run_cli(*command, "--params", str(same), "--results", results, cwd=tmp_path)
        assert done.returncode == 0, done.stderr

    done = run_cli("compare", "tiny:reinforce", "reinforce", "--suite", "tiny", "--params", str(other),
                   "--margin", "0.5", "--simulations", "200", "--results", results, "--reports", reports, cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # no --fail-if-worse: a report, never exit 1
    assert done.stdout.split(":")[0] in ("non-inferior", "not shown non-inferior")
    report = (tmp_path / "reports" / "compare" / "tiny-reinforce_vs_reinforce" / "report.md").read_text()
    assert "learning_rate" in report.split("## What differs")[1].split("##")[0]
    assert "training 3 run(s) of reinforce (working tree)" in done.stderr

    done = run_cli("compare", "tiny:reinforce", "reinforce", "--suite", "tiny", "--params", str(same),
                   "--margin", "0.5", "--simulations", "200", "--fail-if-worse", "--results", results,
                   "--reports", reports, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("PASS"), done.stdout + done.stderr
    assert "training" not in done.stderr
    report = (tmp_path / "reports" / "compare" / "tiny-reinforce_vs_reinforce" / "report.md").read_text()
    assert "the same runs (same run ids)" in report
