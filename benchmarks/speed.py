"""Benchmark: training speed (environment steps per CPU second, one torch thread) you can trust.

The command of the speed benchmark; its parts are in ``benchmarks/speedbench/``: the timing harness (interleaved,
rotated repetitions of CPU time; spreads; digits the spread supports; the commit measured), the settings (read
from ``params.yaml``, nothing restated), the competitors (rlbench and SB3 through their real code paths, the tight
bare loop) and the groups:

* ``dqn_rl_zoo``, ``dqn_cleanrl``: rlbench DQN, SB3 DQN, the tight bare loop (numpy acting, rlbench's optimiser
  path) and the gradient-only floor, timed over whole runs (the suite's budget: 50k and 500k steps). Goals:
  rlbench / bare >= 0.95, rlbench / sb3 >= 1.6 (rl-zoo) and >= 2.5 (CleanRL).
* ``batched_seeds_rl_zoo``, ``batched_seeds_cleanrl``: ten seeds of rlbench DQN trained at once against ten separate
  runs, like for like (the same gymnasium CartPole on both sides; the numpy CartPole's gain reported on its own).
* ``dqn_minatar``, ``dqn_atari``: DQN from pixels, rlbench against SB3 with identical settings.
* ``batched_seeds_minatar``: the ``minatar`` suite's seeds of in-house DQN batched against separate runs.

(REINFORCE against SB3 A2C is ``benchmarks/reinforce_vs_a2c.py``, on the same harness.)

Output: a table on stdout, ``<out>/speed.json`` and ``<out>/speed.md`` (default ``results/benchmarks``), with the
processor, library versions, the commit, settings and results, and neither timestamps nor host names. It refuses
uncommitted changes to rlbench/, benchmarks/ or params.yaml (the commit recorded would not be what was measured)
unless ``--allow-uncommitted`` (then the report says so) or ``--tiny``.

    python benchmarks/speed.py --tiny --out /tmp/b          # every group, structure check
    dvc repro benchmarks/dvc.yaml:speed                     # the published figures (see benchmarks/dvc.yaml)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # speedbench/, next to this file

from speedbench.groups import GROUP_BUILDERS  # noqa: E402
from speedbench.harness import Options, code_state, markdown, processor, run_repetitions, summarise, versions  # noqa: E402


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"), help="folder of speed.json and speed.md")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5; 2 with --tiny)")
    parser.add_argument("--tiny", action="store_true", help="runs of a few hundred steps: a structure check")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every group's run length by this (at most "
                        "whole runs; learning_starts scaled alike)")
    parser.add_argument("--groups", nargs="+", choices=list(GROUP_BUILDERS), default=list(GROUP_BUILDERS))
    parser.add_argument("--allow-uncommitted", action="store_true", help="measure uncommitted code (the report says so)")
    args = parser.parse_args(argv)
    code = code_state()
    if code["uncommitted_changes"] and not (args.tiny or args.allow_uncommitted):
        sys.exit("error: uncommitted changes in rlbench/, benchmarks/ or params.yaml: commit them first (the report "
                 "records the commit measured), or pass --allow-uncommitted")
    repetitions = args.reps if args.reps is not None else (2 if args.tiny else 5)

    import torch

    torch.set_num_threads(1)  # as rlbench runs train; small networks gain nothing from threads
    options = Options(tiny=args.tiny, scale=args.scale)
    groups = [GROUP_BUILDERS[name](options) for name in args.groups]
    results = run_repetitions(groups, repetitions)
    report = {
        "benchmark": "training speed: environment steps per CPU second",
        "processor": processor(),
        "versions": versions(),
        "code": code,
        "settings": {"repetitions": repetitions, "tiny": args.tiny, "scale": args.scale,
                     "torch_threads": torch.get_num_threads(), "clock": "time.process_time (CPU time of this process)",
                     "order": "rotated by one each repetition"},
        "groups": {g.name: summarise(g, results[g.name]) for g in groups},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.json").write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
    text = markdown(report)
    (args.out / "speed.md").write_text(text + "\n")
    print()
    print(text)
    print(f"wrote {args.out / 'speed.json'} and {args.out / 'speed.md'}")


if __name__ == "__main__":
    main()
