"""Adaptive seeds over a run store (rlbench.adaptive, `rlbench compare --adaptive`): finished runs are reused without
training, missing seed groups are trained only when the decision needs them (or named with --no-train), the same
runs give the same decision, bad input is one line and exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rlbench.adaptive import adaptive_compare, seed_order
from rlbench.config.params import load_params
from rlbench.stats.adaptive import AdaptiveConfig
from rlbench.storage.plans import read_plan
from tests.conftest import ROOT, run_cli

FAST = AdaptiveConfig(group_size=5, max_groups=2, permutations=500, seed=0)


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_classic_comparisons_are_decided_from_the_published_runs_without_training(params):
    plan = read_plan(ROOT / "results", "classic")
    before = _files(ROOT / "results" / "runs" / "classic" / "dqn")
    for pair in (["dqn", "sb3_ppo"], ["dqn", "sb3_dqn"]):
        run = adaptive_compare(params, plan, pair, FAST, ROOT / "results", train=False)
        assert run.status == "decided" and not run.trained and not run.missing
        assert max(run.decision.seeds_used.values()) <= len(plan.suite.seeds)
        again = adaptive_compare(params, plan, pair, FAST, ROOT / "results", train=False)
        assert again.decision == run.decision
    assert _files(ROOT / "results" / "runs" / "classic" / "dqn") == before


def test_no_train_stops_undecided_naming_the_runs_the_next_group_needs(params):
    plan = read_plan(ROOT / "results", "classic")
    # 3 groups of 5 on a suite of 10 seeds: the third group (seeds 10-14) is not trained, so an open pair stops.
    config = AdaptiveConfig(group_size=5, max_groups=3, permutations=500, seed=0)
    run = adaptive_compare(params, plan, ["dqn", "sb3_dqn"], config, ROOT / "results", train=False)
    if run.status == "decided":  # decided within the published seeds: nothing to train, nothing missing
        assert not run.missing and run.decision.looks <= 2
    else:
        assert run.decision.looks == 2 and not run.trained
        assert run.missing and all(key.rsplit("seed_", 1)[1] in {"10", "11", "12", "13", "14"} for key in run.missing)
        assert len(run.missing) == 2 * 5 * len(plan.suite.envs)


def test_seed_order_extends_past_the_suite():
    assert seed_order((3, 1, 2), 5) == (3, 1, 2, 4, 5)
    assert seed_order(tuple(range(10)), 10) == tuple(range(10))


@pytest.fixture()
def tiny(tmp_path) -> Path:
    """A project whose smoke suite is REINFORCE and REINFORCE with baseline on CartPole, 2 seeds of 1,000 steps,
    no run trained yet (the classic suite's normalisation table, which has CartPole's row)."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["suites"]["smoke"] = {"algos": ["reinforce", "reinforce_baseline"], "envs": ["CartPole-v1"], "seeds": [0, 1],
                              "budget": 1000, "eval_every": 500, "eval_episodes": 2}
    raw["pipeline"].update(backend="serial", workers=1, retries=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "results" / "smoke").mkdir(parents=True)
    shutil.copy2(ROOT / "results" / "classic" / "normalization.csv", tmp_path / "results" / "smoke")
    return tmp_path


def test_missing_groups_are_trained_only_when_needed_then_reused(tiny):
    from rlbench.config.plan import plan_suite

    params = load_params(tiny / "params.yaml")
    plan = plan_suite(params, "smoke")
    config = AdaptiveConfig(group_size=2, max_groups=2, permutations=200, seed=0)
    results = tiny / "results"
    # With 2 seeds per group no difference can be declared at the first look (6 permutations): a second group
    # (seeds 2 and 3, past the suite's seeds) is trained, then "equal" or a difference is decided.
    first = adaptive_compare(params, plan, ["reinforce", "reinforce_baseline"], config, results, backend="serial",
                             workers=1)
    assert first.status == "decided" and first.decision.looks == 2
    assert sorted(first.trained) == sorted(f"{a}/CartPole-v1/seed_{s}" for a in ("reinforce", "reinforce_baseline")
                                           for s in range(4))
    again = adaptive_compare(params, plan, ["reinforce", "reinforce_baseline"], config, results, train=False)
    assert again.decision == first.decision and not again.trained and not again.missing


@pytest.mark.parametrize("args, message", [
    (["classic:dqn"], "at least two operands"),
    (["classic:dqn", "classic:nope"], "not in suite classic"),
    (["classic:dqn", "classic:dqn"], "named twice"),
    (["classic:dqn", "classic:sb3_dqn", "--group-size", "1"], "group size"),
    (["nosuch:dqn", "nosuch:sb3_dqn"], "unknown suite"),
    (["classic:dqn", "default:sb3_dqn"], "one suite"),
    (["dqn", "sb3_dqn"], "one suite"),
    (["dqn@HEAD", "sb3_dqn", "--suite", "classic"], "one suite"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    before = _files(ROOT / "results" / "classic")
    result = run_cli("compare", "--adaptive", *args, "--no-train")
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert _files(ROOT / "results" / "classic") == before
