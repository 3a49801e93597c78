"""Benchmark: REINFORCE (rlbench) against A2C (Stable-Baselines3), environment steps per CPU second on CartPole-v1.

The speed goal: rlbench's REINFORCE trains at least 1.5x as many environment steps per CPU second as SB3's A2C
at matched settings. Both have a policy and a separate value network of two hidden layers of 64 (SB3's A2C
``MlpPolicy`` default, ``net_arch: [64, 64]`` for REINFORCE), both are told the same budget and timed over the
same window of environment steps, and both step one environment, rlbench's REINFORCE through the real
environment loop (``run_env_loop``: an ``OnlineAgent`` steps one environment) with the ``params.yaml``
hyperparameters of ``reinforce`` and ``reinforce_baseline``. A2C is measured twice:

* ``sb3_a2c_1env``: one environment, the matched comparison the goal is stated for;
* ``sb3_a2c``: ``params.yaml``'s ``sb3_a2c`` for CartPole (rl-zoo's 8 environments in a DummyVecEnv, one policy
  call for 8 steps), the faster way to run A2C and the one the suites train.

Method as in ``benchmarks/harness.py`` (whose timing and reporting this reuses): one process, one torch thread,
CPU time (``time.process_time``), interleaved repetitions in rotated order, each competitor's median steps/s
with its spread, and every ratio computed within a repetition and reported as the median and spread of
those per-repetition ratios.

    python benchmarks/reinforce_vs_a2c.py                    # 3 repetitions -> results/benchmarks/reinforce/
    python benchmarks/reinforce_vs_a2c.py --tiny --out /tmp/b   # structure check, seconds
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # speedbench/, next to this file

from speedbench import harness  # noqa: E402
from speedbench.competitors import run_rlbench_online, run_sb3  # noqa: E402
from speedbench.settings import load_rlbench_params  # noqa: E402

GOAL = 1.5
"""REINFORCE's steps/s over matched A2C's that the benchmark checks."""

MATCHED_A2C: dict[str, Any] = {"n_envs": 1, "net_arch": [64, 64], "algo_kwargs": {"ent_coef": 0.0, "gamma": 0.99}}
"""SB3 A2C with REINFORCE's network sizes (policy and value networks of 64-64) and discount, and one environment;
every other setting SB3's A2C default (n_steps 5, RMSProp 7e-4)."""


def group(options: harness.Options, timed_steps: int) -> harness.CompetitorGroup:
    """REINFORCE with and without baseline against A2C with one environment and with its 8, same window."""
    params = load_rlbench_params()
    window = harness.TimingWindow(200, 400) if options.tiny else harness.TimingWindow(2000, int(timed_steps * options.scale))
    schedule_steps = max(params.suites["default"].budget[harness.ENV_ID], window.end)
    resolved: dict[str, Any] = {}
    competitors: list[harness.Competitor] = []
    for name in ("reinforce", "reinforce_baseline"):
        entry = params.algos[name]
        values = entry.for_env(harness.ENV_ID)
        resolved[name] = {"agent": entry.agent, "hyperparameters": values}
        competitors.append(harness.Competitor(name, f"{entry.label}, 1 env", lambda a=entry.agent, v=values:
                                            run_rlbench_online(a, v, schedule_steps, window)))
    resolved["sb3_a2c_1env"] = {"agent": "sb3_a2c", "hyperparameters": MATCHED_A2C}
    competitors.append(harness.Competitor("sb3_a2c_1env", "A2C (SB3), 1 env, 64-64 networks",
                                        lambda: run_sb3("sb3_a2c", MATCHED_A2C, schedule_steps, window)))
    a2c = params.algos["sb3_a2c"]
    a2c_values = a2c.for_env(harness.ENV_ID)
    resolved["sb3_a2c"] = {"agent": a2c.agent, "hyperparameters": a2c_values}
    competitors.append(harness.Competitor("sb3_a2c", f"{a2c.label}, {a2c_values.get('n_envs', 1)} envs (params.yaml)",
                                        lambda: run_sb3(a2c.agent, a2c_values, schedule_steps, window)))
    notes = [f"goal: reinforce / sb3_a2c_1env >= {GOAL} (matched: same networks, one environment each, same window)",
             "sb3_a2c steps 8 environments per policy call (params.yaml n_envs); steps/s counts every env step",
             "REINFORCE acts through a numpy mirror of its policy network and learns once per batch of episodes"]
    if options.tiny:
        notes.append("tiny mode: a few hundred steps; the numbers mean nothing")
    return harness.CompetitorGroup(
        name="reinforce_vs_a2c_matched",
        title=f"REINFORCE (rlbench) vs A2C (SB3), {harness.ENV_ID}, matched networks and environments",
        competitors=competitors,
        ratios=[("reinforce", "sb3_a2c_1env"), ("reinforce_baseline", "sb3_a2c_1env"),
                ("reinforce", "sb3_a2c"), ("reinforce_baseline", "sb3_a2c"), ("sb3_a2c", "sb3_a2c_1env")],
        window=window,
        settings={"schedule_steps": schedule_steps, "algos": resolved},
        notes=notes,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/reinforce"),
                        help="folder of reinforce_vs_a2c.json and reinforce_vs_a2c.md")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3; 2 with --tiny)")
    parser.add_argument("--tiny", action="store_true", help="a few hundred steps per competitor: structure check")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the timed window (20,000 steps) by this")
    args = parser.parse_args(argv)
    repetitions = args.reps if args.reps is not None else (2 if args.tiny else 3)
    torch.set_num_threads(1)  # as rlbench runs train

    options = harness.Options(tiny=args.tiny, scale=args.scale)
    benchmark = group(options, timed_steps=20_000)
    results = harness.run_repetitions([benchmark], repetitions)
    summary = harness.summarise(benchmark, results[benchmark.name])
    goal = summary["ratios"]["reinforce / sb3_a2c_1env"]
    report = {
        "benchmark": "training speed: environment steps per CPU second",
        "processor": harness.processor(),
        "versions": harness.versions(),
        "code": harness.code_state(),
        "settings": {"repetitions": repetitions, "tiny": args.tiny, "scale": args.scale,
                     "torch_threads": torch.get_num_threads(), "clock": "time.process_time (CPU time of this process)",
                     "order": "rotated by one each repetition", "env": harness.ENV_ID},
        "goal": {"ratio": "reinforce / sb3_a2c_1env", "at_least": GOAL, "median": goal["median"],
                 "met": bool(goal["median"] >= GOAL), "met_in_every_repetition": bool(goal["min"] >= GOAL)},
        "groups": {benchmark.name: summary},
    }
    text = harness.markdown(report) + (
        f"\nGoal (REINFORCE >= {GOAL}x matched A2C): median {goal['median']:.2f}, "
        f"{'met' if report['goal']['met'] else 'NOT met'}"
        f"{' in every repetition' if report['goal']['met_in_every_repetition'] else ''}.\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reinforce_vs_a2c.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "reinforce_vs_a2c.md").write_text(text)
    print()
    print(text)
    print(f"wrote {args.out / 'reinforce_vs_a2c.json'} and {args.out / 'reinforce_vs_a2c.md'}")


if __name__ == "__main__":
    main()
