"""Input that must not slip past: unsafe names, repeated entries and keys, non-integer integers, plugins that
miss the agent interface, and a report of a suite without runs. Each is one line before any work."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from rlbench.config.interface import AGENT_INTERFACE_VERSION, check_interface
from rlbench.config.params import load_params, parse_params
from rlbench.config.plan import plan_suite
from rlbench.errors import RlbenchError
from tests.conftest import ROOT, run_cli

PLUGINS = ROOT / "tests" / "plugins" / "interface_agents.py"


def raw_params(algos: list[str] | None = None) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    if algos is not None:
        raw["suites"]["smoke"]["algos"] = algos
    return raw


def refused(raw: dict, expected: str, suite: str = "smoke") -> str:
    with pytest.raises(RlbenchError) as error:
        plan_suite(parse_params(raw), suite)
    message = str(error.value)
    assert expected in message and "\n" not in message, message
    return message


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda r: r["suites"].update({"../../escaped_suite": r["suites"]["smoke"]}), "suite '../../escaped_suite' is not allowed as a name"),
    (lambda r: r["algos"].update({"../../../../escaped_algo": r["algos"]["dqn"]}), "algorithm '../../../../escaped_algo' is not allowed"),
    (lambda r: r["algos"].update({".hidden": r["algos"]["dqn"]}), "not starting with '.'"),
    (lambda r: r["suites"]["smoke"].update(algos=["dqn", "reinforce", "dqn"]), "suites.smoke.algos: duplicate algorithms 'dqn'"),
    (lambda r: r["suites"]["smoke"].update(envs=["CartPole-v1", "CartPole-v1"]), "suites.smoke.envs: duplicate environments"),
    (lambda r: r["suites"]["smoke"].update(algos=[]), "suites.smoke.algos: empty"),
    (lambda r: r["suites"]["smoke"].update(envs=[]), "suites.smoke.envs: empty"),
])
def test_unsafe_names_and_repeated_or_empty_lists_are_refused(mutate, expected):
    raw = raw_params()
    mutate(raw)
    with pytest.raises(RlbenchError) as error:
        parse_params(raw)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_a_repeated_yaml_key_is_refused_with_its_lines(tmp_path):
    text = (ROOT / "params.yaml").read_text().replace("  default:", "  smoke:\n    algos: [dqn]\n  default:", 1)
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(RlbenchError, match=r"duplicate key 'smoke' at line \d+ \(first at line \d+\)"):
        load_params(tmp_path / "params.yaml")
    assert load_params(ROOT / "params.yaml").algos["ram_no_baseline"].hyperparameters["baseline"] is False  # << merges


@pytest.mark.parametrize(("algo", "values", "expected"), [
    ("dqn", {"buffer_size": 32.0}, "algos.dqn[CartPole-v1].buffer_size: 32.0 is not an integer; allowed: an integer"),
    ("dqn", {"batch_size": True}, "batch_size: True is not an integer; allowed: an integer"),
    ("reinforce", {"episodes_per_update": 2.5}, "episodes_per_update: 2.5 is not an integer"),
    ("sb3_dqn", {"algo_kwargs": {"buffer_size": 32.0}}, "algo_kwargs.buffer_size: 32.0 is not an integer"),
])
def test_integer_fields_take_integers_only(algo, values, expected):
    raw = raw_params([algo])
    raw["algos"][algo].pop("per_env", None)
    raw["algos"][algo].setdefault("hyperparameters", {}).update(values)
    refused(raw, expected)


@pytest.mark.parametrize(("agent", "expected"), [
    ("NoAct", "missing method act(self, obs, explore) (it defines acts: misnamed?)"),
    ("WrongObserve", "wrong signature observe(self, transition, extra); rlbench calls observe(self, transition)"),
    ("OldVersion", "written for agent interface version 1, this rlbench implements 2 (what changed: version 2: the "
                   "budget is AgentContext.total_steps"),
])
def test_a_plugin_that_misses_the_interface_is_refused_at_plan_time(agent, expected):
    raw = raw_params(["mine"])
    raw["algos"]["mine"] = {"agent": f"{PLUGINS}:{agent}"}
    message = refused(raw, expected)
    assert message.startswith(f"agent '{PLUGINS}:{agent}' (algos.mine)")


def test_a_plugin_that_declares_the_current_version_is_planned(tmp_path):
    raw = raw_params(["mine"])
    raw["algos"]["mine"] = {"agent": f"{PLUGINS}:Current"}
    assert len(plan_suite(parse_params(raw), "smoke").runs) == 2
    from rlbench.agents.registry import resolve

    assert resolve(f"{PLUGINS}:Current").interface_version == AGENT_INTERFACE_VERSION
    for name in ("dqn", "reinforce", "qlearning", "ram", "full_image", "sb3_dqn", "sb3_a2c", "sb3_ppo",
                 f"{ROOT}/plugins/cem.py:CEMAgent"):
        check_interface(resolve(name), name)


def test_cli_plan_refuses_a_bad_plugin_or_unknown_suite_in_one_line_writing_nothing(tmp_path):
    raw = raw_params(["mine"])
    raw["algos"]["mine"] = {"agent": f"{PLUGINS}:NoAct"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    results = tmp_path / "results"
    for suites, expected in ((["smoke"], "missing method act"), (["maze", "nosuite"], "unknown suite 'nosuite'")):
        result = run_cli("plan", *suites, "--params", str(tmp_path / "params.yaml"), "--results", str(results))
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert not results.exists()


def test_report_of_a_suite_without_runs_is_refused_at_once_leaving_nothing(tmp_path):
    results, reports = tmp_path / "results", tmp_path / "reports"
    for suite, expected in (("smoke", "no runs of suite smoke"), ("nosuite", "unknown suite 'nosuite'")):
        result = run_cli("report", suite, "--results", str(results), "--reports", str(reports))
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert not any(tmp_path.iterdir())


def test_a_report_that_fails_removes_the_normalisation_it_measured_and_writes_no_plan(params, tmp_path, monkeypatch):
    import rlbench.references.measured as measured
    import rlbench.scores.normalization as normalization
    from rlbench.cli import _analyse

    suite = dataclasses.replace(params.suites["smoke"], algos=("reinforce",))
    loaded = dataclasses.replace(params, suites={**params.suites, "smoke": suite})
    planned = plan_suite(loaded, "smoke")
    for run in planned.runs:  # runs that exist but do not verify: the analysis fails after the table is measured
        (tmp_path / "runs" / "smoke" / run.algo / run.env / f"seed_{run.seed}").mkdir(parents=True)

    def fake_table(suite_config, results: Path, seed: int) -> Path:
        path = normalization.normalization_path(results, suite_config.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("measured\n")
        return path

    monkeypatch.setattr(measured, "write_normalization", fake_table)
    with pytest.raises(RlbenchError):
        _analyse(loaded, planned, tmp_path, tmp_path / "reports", None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"], "no plan, no normalisation table, no report"
