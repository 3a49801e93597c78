"""Benchmark: wall time of a suite run serially vs on the local process pool.

Each backend trains the suite from scratch into its own temporary results root; the script prints
both wall times, the speed-up, and checks that the two produced identical run files.

    python benchmarks/suite_wall_time.py --suite default            # the full default suite (long)
    python benchmarks/suite_wall_time.py --suite default --seeds 0  # one seed of it
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

from rlbench.config.params import load_params
from rlbench.config.plan import plan_suite
from rlbench.execution.launcher import launch
from rlbench.storage.run_store import RunStore


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="default")
    parser.add_argument("--seeds", type=int, nargs="*", help="restrict to these seeds")
    parser.add_argument("--workers", type=int, default=0, help="pool size (0 = cores)")
    parser.add_argument("--backends", nargs="+", default=["process", "serial"])
    args = parser.parse_args()
    params = load_params()
    if args.seeds:
        suite = dataclasses.replace(params.suite(args.suite), seeds=tuple(args.seeds))
        params = dataclasses.replace(params, suites={**params.suites, args.suite: suite})
    specs = list(plan_suite(params, args.suite).runs)
    workers = args.workers or os.cpu_count()
    walls, trees = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            store = RunStore(Path(tmp) / backend)
            started = time.perf_counter()
            report = launch(specs, store, backend=backend, workers=workers, progress=True)
            walls[backend] = time.perf_counter() - started
            trees[backend] = tree(store.suite_dir(args.suite))
            print(f"{backend:>8}: {len(report.completed)} runs in {walls[backend]:.1f} s"
                  + (f" ({workers} workers)" if backend != "serial" else ""))
    if "serial" in walls and "process" in walls:
        print(f"speed-up process/serial: {walls['serial'] / walls['process']:.2f}x on {os.cpu_count()} cores")
        print(f"identical run files: {trees['serial'] == trees['process']}")


if __name__ == "__main__":
    main()
