"""The launcher: parallel equals serial, crashes are retried then reported, kill-and-resume, Ray."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml

from rlbench.config.params import parse_params
from rlbench.config.plan import plan_suite
from rlbench.execution.launcher import launch
from rlbench.seeding import RunSeeds
from rlbench.storage.checkpoints import checkpoint_path
from rlbench.storage.run_store import RunStore
from rlbench.training.monitor import RunMonitor
from rlbench.training.runner import execute_run
from tests.conftest import BIN, ROOT

PLUGIN = str(ROOT / "tests" / "plugins" / "broken_agents.py")


def write_params(path: Path, **smoke) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["suites"]["smoke"].update(smoke)
    raw["algos"]["crashing"] = {"agent": f"{PLUGIN}:CrashingAgent", "hyperparameters": {"fail_after": 50}}
    path.write_text(yaml.safe_dump(raw))
    return path


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_parallel_equals_serial(params, tmp_path):
    specs = list(plan_suite(params, "smoke").runs)
    serial, parallel = RunStore(tmp_path / "serial"), RunStore(tmp_path / "parallel")
    assert not launch(specs, serial, backend="serial", progress=False).failed
    report = launch(specs, parallel, backend="process", workers=2, progress=False)
    assert len(report.completed) == len(specs) and not report.failed
    assert tree(serial.suite_dir("smoke")) == tree(parallel.suite_dir("smoke"))
    # Provenance (apart from the hashed run files) names the processor the floats were computed on.
    provenance = yaml.safe_load(parallel.provenance_path(specs[0]).read_text())
    assert provenance["run_id"] == specs[0].run_id and provenance["machine"]["cpu_id"].count("/") == 3
    again = launch(specs, parallel, backend="process", workers=2, progress=False)
    assert again.completed == [] and len(again.skipped) == len(specs)


def test_run_finished_by_another_suite_is_taken_not_retrained(params, tmp_path):
    """A suite whose run has the id of another suite's finished run copies it: same data bytes, its own
    config naming its suite, provenance saying where it came from; a run with another id is trained."""
    smoke = plan_suite(params, "smoke").runs
    store = RunStore(tmp_path)
    reinforce = [spec for spec in smoke if spec.algo == "reinforce"]
    assert not launch(reinforce, store, backend="serial", progress=False).failed
    twin = dataclasses.replace(params.suites["smoke"], name="twin")
    twin_params = dataclasses.replace(params, suites={**params.suites, "twin": twin})
    specs = [spec for spec in plan_suite(twin_params, "twin").runs if spec.algo in ("reinforce", "reinforce_baseline")]
    report = launch(specs, store, backend="serial", progress=False)
    assert report.adopted == [(spec.key, "smoke") for spec in specs if spec.algo == "reinforce"]
    assert sorted(report.completed) == sorted(spec.key for spec in specs if spec.algo == "reinforce_baseline")
    for spec in (spec for spec in specs if spec.algo == "reinforce"):
        source = dataclasses.replace(spec, suite="smoke")
        assert store.is_finished(spec) and spec.run_id == source.run_id
        for name in ("eval.csv", "train.csv", "diagnostics.csv"):
            assert (store.run_dir(spec) / name).read_bytes() == (store.run_dir(source) / name).read_bytes()
        assert yaml.safe_load((store.run_dir(spec) / "config.json").read_text())["suite"] == "twin"
        assert yaml.safe_load(store.provenance_path(spec).read_text())["adopted_from"] == "smoke"
    # A damaged source is never copied: the run is trained instead.
    victim = [spec for spec in specs if spec.algo == "reinforce"][0]
    shutil.rmtree(store.run_dir(victim))
    (store.run_dir(dataclasses.replace(victim, suite="smoke")) / "eval.csv").write_text("step,episode,return,length\n")
    again = launch(specs, store, backend="serial", progress=False)
    assert again.adopted == [] and again.completed == [victim.key]
    # Nor is a source whose provenance is missing (the store writes it before the run directory).
    other = [spec for spec in specs if spec.algo == "reinforce"][1]
    shutil.rmtree(store.run_dir(other))
    store.provenance_path(dataclasses.replace(other, suite="smoke")).unlink()
    third = launch(specs, store, backend="serial", progress=False)
    assert third.adopted == [] and third.completed == [other.key]


def test_crashing_run_is_retried_then_reported(tmp_path):
    raw = yaml.safe_load(write_params(tmp_path / "params.yaml").read_text())
    raw["suites"]["smoke"]["algos"] = ["crashing", "reinforce"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    params = parse_params(raw)
    store = RunStore(tmp_path / "results")
    report = launch(list(plan_suite(params, "smoke").runs), store, backend="process", workers=2, retries=2, progress=False)
    assert sorted(report.completed) == ["reinforce/CartPole-v1/seed_0", "reinforce/CartPole-v1/seed_1"]
    assert sorted(key for key, _ in report.failed) == ["crashing/CartPole-v1/seed_0", "crashing/CartPole-v1/seed_1"]
    assert all("deliberate crash at step 50" in reason for _, reason in report.failed)
    failures = store.failures(list(plan_suite(params, "smoke").runs))
    assert [f.attempts for f in failures] == [3, 3]
    assert "FAILED crashing/CartPole-v1/seed_0" in report.summary()
    assert not store.suite_dir("smoke").joinpath("crashing").exists(), "no failed run is stored as a result"
    # The CLI ends with the summary and a non-zero exit in strict mode.
    result = subprocess.run([str(BIN / "rlbench"), "run-suite", "smoke", "--strict", "--no-progress", "--retries", "0",
                             "--params", str(tmp_path / "params.yaml"), "--results", str(tmp_path / "results")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and "0 run(s) trained, 2 already finished, 2 failed" in result.stdout


def dying_suite(tmp_path: Path, marker: str) -> tuple:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["algos"]["dying"] = {"agent": f"{PLUGIN}:DyingOnceAgent", "hyperparameters": {"marker": marker}}
    raw["suites"]["smoke"].update(algos=["dying", "reinforce"], seeds=[0, 1, 2], budget=600)
    params = parse_params(raw)
    specs = [s for s in list(plan_suite(params, "smoke").runs) if s.algo == "reinforce" or s.seed == 0]
    return specs, RunStore(tmp_path / "results")


def test_dead_worker_is_noticed_and_its_run_rescheduled(tmp_path):
    specs, store = dying_suite(tmp_path, str(tmp_path / "died"))
    report = launch(specs, store, backend="process", workers=2, retries=0, progress=False)
    assert (tmp_path / "died").exists(), "the worker really died"
    assert not report.failed, "no run is charged for a death it did not cause, none is lost"
    assert sorted(report.completed) == sorted(spec.key for spec in specs)
    assert all(store.is_finished(spec) for spec in specs)


def test_run_that_always_kills_its_worker_fails_alone(tmp_path):
    specs, store = dying_suite(tmp_path, "")
    report = launch(specs, store, backend="process", workers=2, retries=1, progress=False)
    assert report.failed == [("dying/CartPole-v1/seed_0", "worker process died")]
    assert sorted(report.completed) == sorted(spec.key for spec in specs if spec.algo == "reinforce")
    assert [f.attempts for f in store.failures(specs)] == [2]


def test_nan_return_fails_the_run(params):
    monitor = RunMonitor(list(plan_suite(params, "smoke").runs)[0], RunSeeds.from_seed(0), None, 0)
    with pytest.raises(FloatingPointError, match="nan"):
        monitor.on_episode_end(10, math.nan, 10)


def run_suite_until(args: list[str], condition, timeout: float = 120) -> None:
    """Start `rlbench run-suite`, SIGKILL its whole process group once `condition()` holds."""
    process = subprocess.Popen([str(BIN / "rlbench"), *args], cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the suite finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_sigkill_mid_suite_then_resume(params, tmp_path):
    params_file = write_params(tmp_path / "params.yaml", budget=3000, seeds=[0, 1, 2])
    results = tmp_path / "results"
    store = RunStore(results)
    specs = list(plan_suite(parse_params(yaml.safe_load(params_file.read_text())), "smoke").runs)
    args = ["run-suite", "smoke", "--workers", "2", "--no-progress", "--params", str(params_file), "--results", str(results)]
    run_suite_until(args, lambda: sum(store.is_finished(s) for s in specs) >= 3)
    finished_before = {s.key: store.run_dir(s).joinpath("eval.csv").read_bytes() for s in specs if store.is_finished(s)}
    assert 3 <= len(finished_before) < len(specs)

    result = subprocess.run([str(BIN / "rlbench"), *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"{len(specs) - len(finished_before)} run(s) trained, {len(finished_before)} already finished" in result.stdout
    assert all(store.is_finished(s) for s in specs)
    run_dirs = [p for p in store.suite_dir("smoke").glob("*/*/*") if p.is_dir()]
    assert len(run_dirs) == len(specs), "no duplicate and no lost run"
    for key, content in finished_before.items():  # finished runs were not redone
        assert (store.suite_dir("smoke") / key / "eval.csv").read_bytes() == content
    reference = execute_run(next(s for s in specs if s.key not in finished_before))
    spec = next(s for s in specs if s.key not in finished_before)
    assert store.load_eval([spec])["return"].tolist() == [row[2] for row in reference.eval_rows]


def kill_after_checkpoint_then_resume(raw: dict, suite: str, checkpoint_every: int, kill_at_step: int,
                                      results: Path, weights_only: bool, timeout: float = 120) -> None:
    """Train the suite's single run serially, SIGKILL it once its checkpoint has passed `kill_at_step`, resume,
    and compare everything it wrote with an uninterrupted run of the same spec."""
    params_file = results.parent / "params.yaml"
    params_file.write_text(yaml.safe_dump(raw))
    spec = list(plan_suite(parse_params(raw), suite).runs)[0]
    checkpoint = results / ".checkpoints" / suite / f"{spec.run_id}.pt"
    args = ["run-suite", suite, "--backend", "serial", "--checkpoint-every", str(checkpoint_every), "--no-progress",
            "--params", str(params_file), "--results", str(results)]
    loop_step = lambda: torch.load(checkpoint, weights_only=weights_only)["loop"]["step"]  # noqa: E731
    run_suite_until(args, lambda: checkpoint.exists() and loop_step() >= kill_at_step, timeout=timeout)
    resumed_at = loop_step()
    result = subprocess.run([str(BIN / "rlbench"), *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    store = RunStore(results)
    assert yaml.safe_load(store.provenance_path(spec).read_text())["resumed_from_step"] == resumed_at > 0
    assert not checkpoint.exists()
    uninterrupted = execute_run(spec)
    assert store.load_eval([spec])["return"].tolist() == [row[2] for row in uninterrupted.eval_rows]
    assert store.load_train([spec])["return"].tolist() == [row[1] for row in uninterrupted.train_rows]


@pytest.mark.slow
def test_checkpointed_run_resumes_identically(params, tmp_path):
    raw = yaml.safe_load(write_params(tmp_path / "params.yaml", budget=8000, seeds=[0], eval_every=2000).read_text())
    raw["suites"]["smoke"]["algos"] = ["dqn"]
    kill_after_checkpoint_then_resume(raw, "smoke", checkpoint_every=1500, kill_at_step=3000,
                                      results=tmp_path / "results", weights_only=True)


@pytest.mark.slow
def test_pixel_dqn_killed_mid_run_resumes_identically(tmp_path):
    """Atari DQN with the frame replay: checkpoints only where a game ended (a lost life continues the game),
    replay frames and all; killed after one, resumed, it writes what an uninterrupted run writes."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["suites"]["atari-smoke"].update(algos=["dqn_atari"], envs=["Atari-Breakout-v0"], budget=2000, eval_every=1000)
    raw["algos"]["dqn_atari"]["hyperparameters"].update(learning_starts=300, buffer_size=5000)
    kill_after_checkpoint_then_resume(raw, "atari-smoke", checkpoint_every=400, kill_at_step=600,
                                      results=tmp_path / "results", weights_only=False, timeout=300)


@pytest.mark.slow
def test_ray_backend_matches_local(params, tmp_path):
    ray = pytest.importorskip("ray")
    specs = [s for s in list(plan_suite(params, "smoke").runs) if s.algo in ("dqn", "sb3_ppo")]
    local, remote = RunStore(tmp_path / "local"), RunStore(tmp_path / "ray")
    launch(specs, local, backend="serial", progress=False)
    try:
        report = launch(specs, remote, backend="ray", workers=2, progress=False)
    finally:
        ray.shutdown()
    assert len(report.completed) == len(specs) and not report.failed
    assert tree(local.suite_dir("smoke")) == tree(remote.suite_dir("smoke"))


def test_two_concurrent_launchers_train_each_run_once(tmp_path):
    params_file = write_params(tmp_path / "params.yaml", algos=["reinforce"], budget=1500, eval_every=500)
    command = [str(BIN / "rlbench"), "run-suite", "smoke", "--params", str(params_file), "--results",
               str(tmp_path / "results"), "--workers", "1", "--no-progress"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    summaries = sorted(out for out, _ in outputs)
    assert summaries == ["suite smoke: 0 run(s) trained, 2 already finished, 0 failed\n",
                         "suite smoke: 2 run(s) trained, 0 already finished, 0 failed\n"]
    assert sum("is being trained by process" in err for _, err in outputs) == 1  # the second one said it waited
    runs = sorted(p.parent.name for p in (tmp_path / "results" / "runs" / "smoke").rglob("config.json"))
    assert runs == ["seed_0", "seed_1"]


@pytest.mark.slow
def test_ray_two_node_cluster_survives_losing_a_node(params, tmp_path):
    """Two Ray nodes of one CPU each; the worker node is removed while both are busy. The runs it held
    come back as lost attempts, the launcher retries them on the surviving node, and every run's files
    equal a local run's."""
    import threading

    ray = pytest.importorskip("ray")
    import psutil
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    from rlbench.execution.worker import WorkerOptions

    base = next(s for s in plan_suite(params, "smoke").runs if s.algo == "reinforce")
    specs = [dataclasses.replace(base, seed=seed, budget=4000, eval_every=1000) for seed in range(4)]
    local, remote = RunStore(tmp_path / "local"), RunStore(tmp_path / "ray")
    launch(specs, local, backend="serial", progress=False)
    checkpoints = tmp_path / "checkpoints"

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    worker_node = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    options = WorkerOptions(ray_address=cluster.address, checkpoint_dir=str(checkpoints), checkpoint_every=250)
    removed = threading.Event()

    def training(spec) -> bool:
        """The run has checkpointed and has at least 1,000 steps to go: it is running, on one of the nodes (a
        finished run whose files are not yet written has its last checkpoint at step 3,750 or later)."""
        try:
            step = torch.load(checkpoint_path(checkpoints, spec.run_id), weights_only=True)["loop"]["step"]
        except Exception:  # noqa: BLE001 - no checkpoint yet (or one being replaced): not known to be training
            return False
        return step <= spec.budget - 1000 and not remote.is_finished(spec)

    def remove_worker_node_while_both_nodes_train() -> None:
        # Two runs training at once means each node holds one (one CPU each), so removing the worker node
        # now kills a run in flight; each has 1,000 steps or more to go, far longer than the removal takes.
        while sum(training(s) for s in specs) < 2:
            time.sleep(0.02)
        raylet = worker_node.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid
        workers = psutil.Process(raylet).children(recursive=True)
        cluster.remove_node(worker_node, allow_graceful=False)
        # A worker outlives its killed raylet until it notices (up to seconds), time enough to finish its run
        # and hand the result back; a lost node loses its processes at once, so kill them too.
        for process in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        removed.set()

    remover = threading.Thread(target=remove_worker_node_while_both_nodes_train, daemon=True)
    remover.start()
    try:
        report = launch(specs, remote, backend="ray", workers=2, retries=2, progress=False, options=options)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert removed.is_set()
    assert sorted(report.completed) == sorted(s.key for s in specs) and not report.failed
    attempts = [yaml.safe_load(remote.provenance_path(s).read_text())["attempts"] for s in specs]
    assert max(attempts) == 2, attempts  # a run was lost with its node and redone on the other one
    assert tree(local.suite_dir("smoke")) == tree(remote.suite_dir("smoke"))
