"""Plans and run identity: the plan file round trip, and a run id that sees plugin code wherever it lives."""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from pathlib import Path

import pytest
import yaml

from rlbench.config.identity import agent_origin, code_digest, source_files
from rlbench.config.params import parse_params
from rlbench.config.plan import SuitePlan, plan_suite
from rlbench.errors import RlbenchError
from rlbench.storage.plans import plan_path, read_plan, write_plan
from tests.conftest import ROOT, install_fake_distribution

def smoke_params(agent: str) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["algos"]["mine"] = {"agent": agent, "label": "Mine"}
    raw["suites"]["smoke"]["algos"] = ["reinforce", "mine"]
    return raw


def test_plan_file_round_trip_and_rewrite_only_on_change(params, tmp_path):
    plan = plan_suite(params, "smoke")
    assert write_plan(plan, tmp_path) and not write_plan(plan, tmp_path)
    assert read_plan(tmp_path, "smoke") == plan
    assert plan.algos["dqn"].builtin and plan.algos["dqn"].distribution == "rlbench"
    assert len(plan.runs) == len(plan.suite.algos) * len(plan.suite.envs) * len(plan.suite.seeds)


def test_a_tampered_plan_is_refused(params, tmp_path):
    write_plan(plan_suite(params, "smoke"), tmp_path)
    path = plan_path(tmp_path, "smoke")
    raw = json.loads(path.read_text())
    raw["runs"][0]["budget"] += 1  # its recorded run id no longer matches its spec
    path.write_text(json.dumps(raw))
    with pytest.raises(RlbenchError, match="corrupt plan .* hashes to"):
        read_plan(tmp_path, "smoke")
    with pytest.raises(RlbenchError, match="not found"):
        read_plan(tmp_path, "default")


def test_run_ids_see_the_execution_mode_and_every_field(params):
    run = plan_suite(params, "smoke").runs[0]
    assert dataclasses.replace(run, mode="batched-10").run_id != run.run_id
    assert dataclasses.replace(run, suite="other").run_id == run.run_id  # the suite name is only where it is filed


def test_builtin_digest_covers_shared_training_code(params):
    from rlbench.agents.dqn import DQNAgent

    names = [name for name, _ in source_files(DQNAgent)]
    assert names[0] == "agents/dqn.py"
    for shared in ("agents/base.py", "training/loop.py", "training/evaluation.py", "envs/registry.py", "nets/mlp.py",
                   "replay/storage.py", "seeding.py"):
        assert shared in names
    assert not any(name.startswith(("reporting/", "stats/", "execution/")) for name in names)


def test_installed_plugin_change_changes_its_run_ids_and_provenance(tmp_path, monkeypatch):
    site = tmp_path / "site"
    install_fake_distribution(site, "fakeplug", "0.1", action=0)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    params = parse_params(smoke_params("fixed"))
    first = plan_suite(params, "smoke")
    assert first.algos["mine"].distribution == "fakeplug" and first.algos["mine"].version == "0.1"
    assert not first.algos["mine"].builtin

    install_fake_distribution(site, "fakeplug", "0.2", action=1)  # a helper module changed, then reinstalled
    for name in [m for m in sys.modules if m.split(".")[0] == "fakeplug"]:
        del sys.modules[name]
    importlib.invalidate_caches()
    second = plan_suite(params, "smoke")
    mine = [r.run_id for r in second.runs if r.algo == "mine"]
    assert not set(mine) & {r.run_id for r in first.runs if r.algo == "mine"}, "changed plugin code kept its run ids"
    assert [r.run_id for r in second.runs if r.algo == "reinforce"] == [r.run_id for r in first.runs if r.algo == "reinforce"]
    assert second.algos["mine"].version == "0.2"


def test_file_plugin_digest_is_independent_of_where_the_project_lives(tmp_path):
    from rlbench.agents.registry import resolve

    for where in ("a", "b"):
        (tmp_path / where).mkdir()
        (tmp_path / where / "cem.py").write_bytes((ROOT / "plugins" / "cem.py").read_bytes())
    first, second = (code_digest(resolve(f"{tmp_path / w / 'cem.py'}:CEMAgent")) for w in ("a", "b"))
    assert first == second
    assert agent_origin(resolve(f"{tmp_path / 'a' / 'cem.py'}:CEMAgent")).distribution is None


def test_plan_json_is_stable_text(params):
    plan = plan_suite(params, "smoke")
    assert plan.to_json() == plan_suite(params, "smoke").to_json()
    assert SuitePlan.from_json(plan.to_json(), "test") == plan
