"""``rlbench import`` on files that Stable-Baselines3 and a CleanRL-style script really write (tiny budgets)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlbench.errors import RlbenchError
from rlbench.importers.runs import imported_leaderboard, load_imported, suite_sets
from rlbench.storage.manifest import file_record
from rlbench.cli import main
from tests.conftest import run_cli

BUDGET = 256
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def sb3_files(tmp_path_factory) -> dict[int, Path]:
    """Per seed a directory holding SB3's monitor.csv, evaluations.npz and its TensorBoard events (PPO, CartPole)."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import EvalCallback
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(1)
    found = {}
    for seed in SEEDS:
        out = tmp_path_factory.mktemp(f"sb3_{seed}")
        env = Monitor(gym.make("CartPole-v1"), str(out / "monitor.csv"))
        eval_env = Monitor(gym.make("CartPole-v1"))
        callback = EvalCallback(eval_env, eval_freq=64, n_eval_episodes=2, log_path=str(out), verbose=0)
        model = PPO("MlpPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=seed, verbose=0,
                    tensorboard_log=str(out / "tb"), policy_kwargs={"net_arch": [8]})
        model.learn(total_timesteps=BUDGET, callback=callback)
        env.close()
        found[seed] = out
    return found


@pytest.fixture(scope="module")
def cleanrl_files(tmp_path_factory) -> dict[int, Path]:
    """Per seed the TensorBoard log directory of a CleanRL-style loop (random policy, ``charts/episodic_return``)."""
    import gymnasium as gym
    from torch.utils.tensorboard import SummaryWriter

    found = {}
    for seed in SEEDS:
        out = tmp_path_factory.mktemp(f"cleanrl_{seed}")
        writer = SummaryWriter(str(out))
        env = gym.wrappers.RecordEpisodeStatistics(gym.make("CartPole-v1"))
        env.action_space.seed(seed)
        env.reset(seed=seed)
        for global_step in range(1, BUDGET + 1):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            if terminated or truncated:
                writer.add_scalar("charts/episodic_return", float(info["episode"]["r"]), global_step)
                writer.add_scalar("charts/episodic_length", int(info["episode"]["l"]), global_step)
                env.reset()
        writer.close()
        found[seed] = out
    return found


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """The ``rlbench`` entry point in-process (exit status, stdout, stderr): the same one-line errors and exit 2 as
    the installed command, without a new interpreter per call."""

    def call(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["rlbench", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main()
        out, err = capsys.readouterr()
        return Result(int(exited.value.code or 0), out, err)

    return call


def _ok(cli, *args: str) -> str:
    result = cli("import", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _refused(cli, results: Path, *args: str, says: str) -> None:
    result = cli("import", *args, "--results", str(results))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert not (results / "imported").exists() or not any((results / "imported").rglob("*.csv"))


def test_sb3_monitor_and_evaluations_import_exactly(cli, sb3_files, tmp_path):
    monitors = [str(sb3_files[s] / "monitor.csv") for s in SEEDS]
    evaluations = [str(sb3_files[s] / "evaluations.npz") for s in SEEDS]
    installed = run_cli("import", "sb3", *monitors, "--name", "ppo-train", "--env", "CartPole-v1", "--budget",
                        str(BUDGET), "--results", str(tmp_path))  # the installed command, once
    assert installed.returncode == 0 and "imported 2 run(s)" in installed.stdout, installed.stderr
    _ok(cli, "sb3", *evaluations, "--name", "ppo-eval", "--env", "CartPole-v1", "--budget", str(BUDGET),
        "--results", str(tmp_path))
    for seed in SEEDS:
        source = pd.read_csv(sb3_files[seed] / "monitor.csv", skiprows=1)
        run_dir = tmp_path / "imported" / "ppo-train" / "CartPole-v1" / f"seed_{seed}"
        train = pd.read_csv(run_dir / "train.csv")
        np.testing.assert_allclose(train["return"], source["r"], rtol=1e-9)
        np.testing.assert_array_equal(train["length"], source["l"])
        np.testing.assert_array_equal(train["step"], np.cumsum(source["l"]))
        provenance = json.loads((run_dir / "provenance.json").read_text())
        assert provenance["source"]["sha256"] == file_record((sb3_files[seed] / "monitor.csv").read_bytes())["sha256"]
        assert provenance["protocol"]["returns"] == "training"

        with np.load(sb3_files[seed] / "evaluations.npz") as data:
            results, steps = data["results"], data["timesteps"]
        evaluation = pd.read_csv(tmp_path / "imported" / "ppo-eval" / "CartPole-v1" / f"seed_{seed}" / "eval.csv")
        np.testing.assert_allclose(evaluation["return"], results.reshape(-1), rtol=1e-9)
        np.testing.assert_array_equal(evaluation["step"].unique(), steps)

    matrix = load_imported("ppo-eval", tmp_path)
    assert matrix.scores.shape == (2, 1) and matrix.seeds == list(SEEDS)
    for row, seed in enumerate(SEEDS):
        with np.load(sb3_files[seed] / "evaluations.npz") as data:
            assert matrix.scores[row, 0] == pytest.approx(data["results"][-1].mean())
    assert matrix.protocols["CartPole-v1"].returns == "evaluation"
    assert matrix.score_set().algorithms == ["ppo-eval"]


def test_training_and_evaluation_returns_are_never_ranked_together(cli, sb3_files, tmp_path):
    for name, file in (("train", "monitor.csv"), ("eval", "evaluations.npz")):
        _ok(cli, "sb3", *(str(sb3_files[s] / file) for s in SEEDS), "--name", name, "--env", "CartPole-v1",
            "--budget", str(BUDGET), "--results", str(tmp_path))
    refused = cli("imported-leaderboard", "train", "eval", "--results", str(tmp_path), "--reps", "50")
    assert refused.returncode == 2 and "returns: training vs evaluation" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    marked = imported_leaderboard([load_imported(n, tmp_path) for n in ("train", "eval")], reps=50,
                                  allow_mismatch=True)
    assert set(marked["confounded_with"]) == {"train", "eval"}
    with pytest.raises(RlbenchError, match="different protocols"):
        imported_leaderboard([load_imported(n, tmp_path) for n in ("train", "eval")], reps=50)


def test_tensorboard_sb3_and_cleanrl(cli, sb3_files, cleanrl_files, tmp_path):
    from tbparse import SummaryReader

    _ok(cli, "tensorboard", *(str(cleanrl_files[s]) for s in SEEDS), "--name", "cleanrl", "--env", "CartPole-v1",
        "--budget", str(BUDGET), "--results", str(tmp_path))
    _ok(cli, "tensorboard", *(str(cleanrl_files[s]) for s in SEEDS), "--name", "cleanrl2", "--env", "CartPole-v1",
        "--budget", str(BUDGET), "--results", str(tmp_path), "--tag", "charts/episodic_return")
    for seed in SEEDS:
        scalars = SummaryReader(str(cleanrl_files[seed]), pivot=False).scalars
        logged = scalars[scalars["tag"] == "charts/episodic_return"].sort_values("step")
        train = pd.read_csv(tmp_path / "imported" / "cleanrl" / "CartPole-v1" / f"seed_{seed}" / "train.csv")
        np.testing.assert_allclose(train["return"], logged["value"], rtol=1e-6)
        np.testing.assert_array_equal(train["step"], logged["step"])
    board = cli("imported-leaderboard", "cleanrl", "cleanrl2", "--results", str(tmp_path), "--reps", "50")
    assert board.returncode == 0, board.stderr
    assert "training returns, CartPole-v1, 256 env_steps, one episode per value" in board.stdout

    # SB3's own logger writes rollout/ep_rew_mean: a rolling mean, never ranked beside single episodes.
    logs = [str(next((sb3_files[s] / "tb").iterdir())) for s in SEEDS]
    _ok(cli, "tensorboard", *logs, "--name", "ppo-tb", "--tag", "rollout/ep_rew_mean", "--env", "CartPole-v1",
        "--budget", str(BUDGET), "--results", str(tmp_path))
    assert load_imported("ppo-tb", tmp_path).protocols["CartPole-v1"].statistic.startswith("rolling mean")
    refused = cli("imported-leaderboard", "cleanrl", "ppo-tb", "--results", str(tmp_path), "--reps", "50")
    assert refused.returncode == 2 and "statistic" in refused.stderr

    # EvalCallback's eval/mean_reward in SB3's TensorBoard log is the mean of the evaluations.npz episodes.
    _ok(cli, "tensorboard", *logs, "--name", "ppo-tb-eval", "--tag", "eval/mean_reward", "--env", "CartPole-v1",
        "--budget", str(BUDGET), "--results", str(tmp_path))
    evaluated = load_imported("ppo-tb-eval", tmp_path)
    assert evaluated.protocols["CartPole-v1"].returns == "evaluation"
    for row, seed in enumerate(SEEDS):
        with np.load(sb3_files[seed] / "evaluations.npz") as data:
            assert evaluated.scores[row, 0] == pytest.approx(data["results"][-1].mean(), rel=1e-6)


def test_csv_import_and_protocol_mismatches(cli, tmp_path):
    shown = cli("import", "--help")
    documented = "step, return (required); seed, episode, length (optional)"
    assert shown.returncode == 0 and documented in " ".join(shown.stdout.split())
    source = tmp_path / "runs.csv"
    source.write_text("seed,step,return,length\n0,100,20,20\n0,200,30,30\n1,100,12,12\n1,200,40,40\n")
    results = tmp_path / "results"
    _ok(cli, "csv", str(source), "--returns", "training", "--name", "mine", "--env", "CartPole-v1", "--budget", "200",
        "--results", str(results))
    matrix = load_imported("mine", results)
    np.testing.assert_allclose(matrix.scores[:, 0], [25.0, 26.0])  # the mean of each run's last (up to 10) values
    _ok(cli, "csv", str(source), "--returns", "training", "--name", "frames", "--env", "CartPole-v1", "--budget", "200",
        "--step-axis", "frames", "--results", str(results))
    _ok(cli, "csv", str(source), "--returns", "training", "--name", "v0", "--env", "CartPole-v0", "--budget", "200",
        "--results", str(results))
    for other, says in (("frames", "step_axis: env_steps vs frames"),
                        ("v0", "environments: CartPole-v1 vs CartPole-v0")):
        refused = cli("imported-leaderboard", "mine", other, "--results", str(results), "--reps", "50")
        assert refused.returncode == 2 and says in refused.stderr, refused.stderr
    # Another environment joining a set must share its return kind.
    acrobot = tmp_path / "acrobot.csv"
    acrobot.write_text("step,return\n200,-200\n")
    refused = cli("import", "csv", str(acrobot), "--returns", "evaluation", "--name", "mine", "--env", "Acrobot-v1",
                  "--results", str(results))
    assert refused.returncode == 2 and "differs in returns" in refused.stderr
    assert not (results / "imported" / "mine" / "Acrobot-v1").exists()


def test_bad_files_are_refused_in_one_line_and_nothing_is_written(cli, sb3_files, cleanrl_files, tmp_path):
    results = tmp_path / "results"
    monitor = (sb3_files[0] / "monitor.csv").read_text()
    truncated = tmp_path / "truncated.monitor.csv"
    truncated.write_text(monitor[: monitor.index("\n", monitor.index("\n") + 1) + 1] + "12.0,")
    _refused(cli, results, "sb3", str(sb3_files[1] / "monitor.csv"), str(truncated), "--name", "x", "--env",
             "CartPole-v1", says=str(truncated))
    no_column = tmp_path / "no_return.csv"
    no_column.write_text("step,value\n1,2\n")
    _refused(cli, results, "csv", str(no_column), "--returns", "training", "--name", "x", "--env", "CartPole-v1",
             says="lacks column(s) ['return']")
    cut = tmp_path / "cut.csv"
    cut.write_text("step,return\n10,9\n20,")
    _refused(cli, results, "csv", str(cut), "--returns", "training", "--name", "x", "--env", "CartPole-v1",
             says=f"{cut}: column return")
    _refused(cli, results, "tensorboard", str(cleanrl_files[0]), "--tag", "charts/nothing", "--name", "x", "--env",
             "CartPole-v1", says="has no scalar tag 'charts/nothing'")
    _refused(cli, results, "sb3", str(sb3_files[0] / "monitor.csv"), "--name", "x", "--env", "Acrobot-v1",
             says="records environment 'CartPole-v1', not 'Acrobot-v1'")
    _refused(cli, results, "sb3", str(sb3_files[0] / "monitor.csv"), "--name", "x", "--env", "CartPole",
             says="has no version")
    impossible = tmp_path / "impossible.csv"
    impossible.write_text("step,return\n10,900\n")
    _refused(cli, results, "csv", str(impossible), "--returns", "training", "--name", "x", "--env", "CartPole-v1",
             says="above CartPole-v1's highest 500")
    _refused(cli, results, "sb3", str(sb3_files[0] / "monitor.csv"), "--name", "x", "--env", "CartPole-v1", "--budget",
             "10", says="past the budget 10")
    npz = tmp_path / "evaluations.npz"
    npz.write_bytes((sb3_files[0] / "evaluations.npz").read_bytes()[:100])
    _refused(cli, results, "sb3", str(npz), "--name", "x", "--env", "CartPole-v1", says=f"{npz}: ")
    events = tmp_path / "events" / "events.out.tfevents.0.host"
    events.parent.mkdir()
    events.write_bytes(b"not an event file")
    _refused(cli, results, "tensorboard", str(events.parent), "--name", "x", "--env", "CartPole-v1",
             says=f"{events.parent}: ")


def test_a_changed_imported_run_fails_verification(cli, tmp_path):
    source = tmp_path / "runs.csv"
    source.write_text("step,episode,return\n100,0,20\n100,1,22\n")
    _ok(cli, "csv", str(source), "--returns", "evaluation", "--name", "e", "--env", "CartPole-v1",
        "--results", str(tmp_path))
    table = tmp_path / "imported" / "e" / "CartPole-v1" / "seed_0" / "eval.csv"
    table.write_text(table.read_text().replace("22", "500"))
    with pytest.raises(RlbenchError, match="checksum differs"):
        load_imported("e", tmp_path)


def test_imported_sets_rank_beside_a_suites_algorithms_only_under_its_protocol(cli, params, tmp_path):
    from rlbench.config.plan import plan_suite
    from rlbench.storage.run_store import RunStore
    from rlbench.training.evaluation import evaluation_steps

    plan = plan_suite(params, "smoke").select(["reinforce"])
    store = RunStore(tmp_path)
    for spec in plan.runs:  # stored runs with made-up returns: this checks the plumbing, not learning
        steps = evaluation_steps(spec.budget, spec.eval_every)
        eval_rows = [(step, episode, float(10 + spec.seed + episode), 10 + spec.seed + episode)
                     for step in steps for episode in range(spec.eval_episodes)]
        store.write_run(spec, {}, eval_rows, [(12, 12.0, 12)], {}, steps)
    spec = plan.runs[0]
    source = tmp_path / "eval.csv"
    source.write_text("seed,step,episode,return\n0,2000,0,30\n0,2000,1,40\n1,2000,0,50\n1,2000,1,60\n")
    _ok(cli, "csv", str(source), "--returns", "evaluation", "--name", "theirs", "--env", spec.env, "--budget",
        str(spec.budget), "--results", str(tmp_path))
    training = tmp_path / "train.csv"
    training.write_text("seed,step,return\n0,1990,30\n1,1995,50\n")
    _ok(cli, "csv", str(training), "--returns", "training", "--name", "exploring", "--env", spec.env, "--budget",
        str(spec.budget), "--results", str(tmp_path))
    suite = suite_sets(plan, tmp_path)
    assert [s.name for s in suite] == ["reinforce"]
    np.testing.assert_allclose(suite[0].scores[:, 0], [10.5, 11.5])  # mean of the last evaluation's episodes
    board = imported_leaderboard([*suite, load_imported("theirs", tmp_path)], reps=50)
    assert list(board["set"]) == ["theirs", "reinforce"]
    assert board["protocol"].nunique() == 1 and "evaluation returns" in board["protocol"].iloc[0]
    with pytest.raises(RlbenchError, match="returns: evaluation vs training"):
        imported_leaderboard([*suite, load_imported("exploring", tmp_path)], reps=50)


def test_sets_over_several_environments_are_ranked_on_bounds_normalised_scores(cli, tmp_path):
    cartpole, acrobot = tmp_path / "cartpole.csv", tmp_path / "acrobot.csv"
    cartpole.write_text("seed,step,return\n0,1000,250\n1,1000,500\n")
    acrobot.write_text("seed,step,return\n0,1000,-500\n1,1000,-250\n")
    for name in ("a", "b"):
        for env, source in (("CartPole-v1", cartpole), ("Acrobot-v1", acrobot)):
            _ok(cli, "csv", str(source), "--returns", "training", "--name", name, "--env", env, "--budget", "1000",
                "--results", str(tmp_path))
    both = load_imported("a", tmp_path)
    assert both.envs == ["Acrobot-v1", "CartPole-v1"] and both.scores.shape == (2, 2)
    board = imported_leaderboard([both, load_imported("b", tmp_path)], reps=50)
    assert board.attrs["scale"].startswith("return min-max normalised")
    # CartPole (0..500): 0.5 and 1; Acrobot (-500..0): 0 and 0.5; the mean of the four.
    assert board["mean"].iloc[0] == pytest.approx(0.5)
    one = load_imported("b", tmp_path, envs=["CartPole-v1"])
    with pytest.raises(RlbenchError, match="environments: Acrobot-v1, CartPole-v1 vs CartPole-v1"):
        imported_leaderboard([both, one], reps=50)
    with pytest.raises(RlbenchError, match="cover different environments"):  # never a matrix of unlike columns
        imported_leaderboard([both, one], reps=50, allow_mismatch=True)


def test_imported_sets_compare_like_with_like_and_a_mismatch_is_refused(cli, sb3_files, tmp_path):
    """``rlbench compare imported:A imported:B``: two evaluation sets of the same protocol give a report that names
    the recorded protocol; training returns against evaluation returns are refused, naming the difference."""
    evaluations = [str(sb3_files[s] / "evaluations.npz") for s in SEEDS]
    monitors = [str(sb3_files[s] / "monitor.csv") for s in SEEDS]
    common = ("--env", "CartPole-v1", "--budget", str(BUDGET), "--results", str(tmp_path))
    _ok(cli, "sb3", *evaluations, "--name", "eval-a", *common)
    _ok(cli, "sb3", *evaluations, "--name", "eval-b", *common)
    _ok(cli, "sb3", *monitors, "--name", "train-a", *common)
    out = tmp_path / "report"
    result = cli("compare", "imported:eval-a", "imported:eval-b", "--results", str(tmp_path), "--out", str(out),
                 "--simulations", "200", "--margin", "0.5", "--fail-if-worse")  # 2 seeds: a wide margin
    assert result.returncode == 0 and result.stdout.startswith("PASS"), result.stdout + result.stderr
    report = (out / "report.md").read_text()
    assert "PASS" in report[:800]  # the report leads with the decision
    from rlbench.compare import Context, resolve

    operand = resolve("imported:eval-a", Context(results=tmp_path))
    assert operand.settings["CartPole-v1"]["evaluation"] == "2 evaluation episodes every 64 steps, final evaluation " \
        "scored"  # EvalCallback's schedule, in the words a suite's protocol uses
    assert operand.settings["CartPole-v1"]["budget"] == f"{BUDGET} steps"
    refused = cli("compare", "imported:eval-a", "imported:train-a", "--results", str(tmp_path),
                  "--out", str(tmp_path / "refused"))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "evaluation" in refused.stderr and "training returns" in refused.stderr
    assert not (tmp_path / "refused").exists()
