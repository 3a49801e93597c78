"""A launcher killed with kill -9 (alone, not its process group) takes its pool workers and the multiprocessing
resource tracker with it: nothing it started trains on, orphaned."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import yaml

from tests.conftest import BIN, ROOT

psutil = pytest.importorskip("psutil")  # installed with dvc


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _armed_worker(process: psutil.Process) -> bool:
    """A pool worker whose initializer has run (its parent watchdog is a second thread)."""
    try:
        return "spawn_main" in " ".join(process.cmdline()) and process.num_threads() >= 2
    except psutil.Error:
        return False


def test_workers_and_resource_tracker_die_with_a_killed_launcher(tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["suites"]["smoke"].update(algos=["reinforce"], seeds=[0, 1], budget=10_000_000, eval_every=5_000_000)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    launcher = subprocess.Popen(
        [str(BIN / "rlbench"), "run-suite", "smoke", "--workers", "2", "--no-progress", "--params",
         str(tmp_path / "params.yaml"), "--results", str(tmp_path / "results")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 180
        while sum(_armed_worker(child) for child in children) < 2:
            assert launcher.poll() is None, "the launcher ended before it could be killed"
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.2)
            children = psutil.Process(launcher.pid).children()
        assert any("resource_tracker" in " ".join(child.cmdline()) for child in children)
        os.kill(launcher.pid, signal.SIGKILL)  # the launcher alone: its children are not signalled
        launcher.wait()
        deadline = time.monotonic() + 10
        while any(_alive(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [f"{child.pid} {' '.join(child.cmdline())[:80]}" for child in children if _alive(child)]
        assert not survivors, f"processes outlived their launcher: {survivors}"
    finally:
        for child in children:  # never leave a stray trainer behind, whatever failed above
            if _alive(child):
                child.kill()
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
