"""Profile: where rlbench DQN's training time goes (py-spy samples of the real env loop, steady state).

A child process trains rlbench's ``DQNAgent`` through ``run_env_loop`` with one of the DQN
configurations of ``benchmarks/speed.py`` (``speedbench.settings``: params.yaml; CleanRL's by default). When it
reaches the start of the timed window (learning has started, the replay buffer is prefilled) it waits; py-spy attaches to it
and samples it until it finishes, so the profile holds only the steady-state window. Every sample is
assigned to the innermost frame that names a part of DQN training (env step, acting, replay add,
replay sample, forward/targets/loss, backward, clipping, optimiser step, target copy, loop
bookkeeping) and the shares are printed and written with py-spy's raw (collapsed-stack) output:

    python benchmarks/profile_dqn.py                          # CleanRL settings, writes results/benchmarks/profile/
    python benchmarks/profile_dqn.py --config rl_zoo --steps 6400 --out /tmp/profile

Needs ``py-spy`` (in the project's virtualenv) and permission to attach to a child process.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # speedbench/, next to this file

from speedbench import settings  # noqa: E402
from speedbench.competitors import build_rlbench_agent  # noqa: E402
from speedbench.harness import Stopwatch, StopwatchMonitor, TimingWindow  # noqa: E402

CONFIGS = {"cleanrl": settings.cleanrl, "rl_zoo": settings.rl_zoo}


@dataclass(frozen=True)
class Category:
    """A part of DQN training, recognised by a frame's file and function name."""

    name: str
    files: tuple[str, ...]
    """Substrings of the frame's file path (any matches)."""
    functions: tuple[str, ...] = ()
    """Function names (the part after the last dot); empty means any function in those files."""

    def matches(self, function: str, file: str) -> bool:
        if not any(part in file for part in self.files):
            return False
        return not self.functions or function.rsplit(".", 1)[-1] in self.functions


# Checked on every frame from the innermost outwards; the first frame matching any category decides,
# so e.g. torch frames under ``clip_grad_norm_`` count as clipping, not as the gradient step.
CATEGORIES: tuple[Category, ...] = (
    Category("env step", ("gymnasium/",), ("step",)),
    Category("env reset", ("gymnasium/",), ("reset",)),
    Category("gradient clipping", ("torch/nn/utils/clip_grad",)),
    Category("gradient clipping", ("rlbench/agents/dqn.py",), ("clip_gradients", "clip_grad_norm")),
    Category("optimizer step + zero_grad", ("torch/optim/",)),
    Category("backward", ("torch/autograd/", "torch/_tensor.py")),
    Category("replay sample", ("rlbench/replay/",), ("sample", "gather")),
    Category("replay add", ("rlbench/replay/",), ("add",)),
    Category("replay add", ("rlbench/agents/dqn.py",), ("observe",)),
    Category("acting (epsilon-greedy, greedy forward)", ("rlbench/agents/dqn.py",),
             ("act", "greedy_action", "greedy_actor", "epsilon", "linear_epsilon", "__call__", "<lambda>")),
    Category("gradient step: forward, TD targets, loss", ("rlbench/agents/dqn.py",),
             ("gradient_step", "td_targets", "double_dqn_targets", "td_loss")),
    Category("target network copy", ("rlbench/agents/dqn.py",), ("update", "copy_target", "update_target")),
    Category("loop bookkeeping (Transition, counters, monitor)", ("rlbench/training/loop.py", "<string>", "harness.py",
                                                                   "profile_dqn.py")),
)

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_frame(frame: str) -> tuple[str, str]:
    """(function, file) of one py-spy frame ``function (file:line)``."""
    match = FRAME.match(frame.strip())
    return (match["function"], match["file"]) if match else (frame.strip(), "")


def categorise(stack: list[tuple[str, str]]) -> str:
    """The category of a sample: the innermost frame matching a category, else ``other``."""
    for function, file in reversed(stack):
        for category in CATEGORIES:
            if category.matches(function, file):
                return category.name
    return "other"


def summarise(raw: str, top: int = 15) -> dict[str, Any]:
    """Category shares, and py-spy-top-like own/total sample counts per function, of a raw profile."""
    by_category: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = [parse_frame(frame) for frame in stack_text.split(";")]
        # py-spy may prefix process/thread frames; keep only Python frames.
        stack = [(f, path) for f, path in stack if path.endswith(".py") or path.startswith("<")]
        if not stack:
            continue
        samples += count
        by_category[categorise(stack)] += count
        own[f"{stack[-1][0]} ({stack[-1][1]})"] += count
        # The harness frames (this script, module level) are on every stack: leave them out of "total".
        for name in {f"{f} ({path})" for f, path in stack if not path.endswith("profile_dqn.py")}:
            total[name] += count

    def share(counter: Counter[str], n: int | None = None) -> list[dict[str, Any]]:
        return [{"name": k, "samples": v, "percent": round(100 * v / samples, 1)} for k, v in counter.most_common(n)]

    return {"samples": samples, "categories": share(by_category), "own_top": share(own, top), "total_top": share(total, top)}


def markdown(summary: dict[str, Any], header: str) -> str:
    lines = [header, "", f"{summary['samples']} samples.", "", "| part of training | % of samples | samples |", "|---|---:|---:|"]
    lines += [f"| {c['name']} | {c['percent']:.1f} | {c['samples']} |" for c in summary["categories"]]
    for key, title in (("own_top", "own time (innermost frame)"), ("total_top", "total time (anywhere on the stack)")):
        lines += ["", f"Top functions by {title}:", "", "| function | % | samples |", "|---|---:|---:|"]
        lines += [f"| `{c['name']}` | {c['percent']:.1f} | {c['samples']} |" for c in summary[key]]
    return "\n".join(lines) + "\n"


class WaitingMonitor(StopwatchMonitor):
    """At the window's start: signal ``ready_file`` and wait for ``go_file`` (py-spy attached)."""

    def __init__(self, stopwatch: Stopwatch, ready_file: Path, go_file: Path) -> None:
        super().__init__(stopwatch)
        self.ready_file, self.go_file = ready_file, go_file

    def on_step(self, step: int) -> None:
        if step == self.stopwatch.window.warmup_steps:
            self.ready_file.write_text("ready")
            while not self.go_file.exists():
                time.sleep(0.05)
        super().on_step(step)


def workload(config: str, steps: int, ready_file: Path, go_file: Path) -> None:
    """The profiled child: rlbench DQN through the real env loop (what ``speed.py`` times)."""
    import torch

    from rlbench.training.loop import run_env_loop

    torch.set_num_threads(1)
    run = CONFIGS[config]()
    # steady state: the window starts after learning started (replay prefilled), inside a whole run's schedule
    window = TimingWindow(run.values["learning_starts"] + 1, min(steps, run.budget - run.values["learning_starts"] - 1))
    values, notes = run.values, [f"params.yaml algos.{run.entry}, run of {run.budget:,} steps"]
    agent = build_rlbench_agent("dqn", values, run.budget)
    stopwatch = Stopwatch(window)
    run_env_loop(agent, window.end, WaitingMonitor(stopwatch, ready_file, go_file))
    m = stopwatch.measurement()
    print(json.dumps({"window": [window.warmup_steps, window.end], "steps_per_s_under_profiler": round(m.steps_per_s, 1),
                      "hyperparameters": values, "notes": notes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=list(CONFIGS), default="cleanrl")
    parser.add_argument("--steps", type=int, default=30_000, help="timed (profiled) env steps after the warm-up")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/profile"))
    parser.add_argument("--workload", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--go-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload:
        workload(args.config, args.steps, args.ready_file, args.go_file)
        return

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    args.out.mkdir(parents=True, exist_ok=True)
    ready, go = args.out / ".ready", args.out / ".go"
    ready.unlink(missing_ok=True)
    go.unlink(missing_ok=True)
    raw_path = args.out / f"dqn_{args.config}.raw.txt"
    child = subprocess.Popen([sys.executable, __file__, "--workload", "--config", args.config, "--steps", str(args.steps),
                              "--ready-file", str(ready), "--go-file", str(go)], stdout=subprocess.PIPE, text=True)
    while not ready.exists():
        if child.poll() is not None:
            raise SystemExit(f"the workload exited ({child.returncode}) before its window")
        time.sleep(0.1)
    recorder = subprocess.Popen([py_spy, "record", "--pid", str(child.pid), "--format", "raw", "--rate", str(args.rate),
                                 "--output", str(raw_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)  # let py-spy attach before the window starts
    go.write_text("go")
    child_out, _ = child.communicate()
    _, recorder_err = recorder.communicate()
    ready.unlink(missing_ok=True)
    go.unlink(missing_ok=True)
    if child.returncode != 0 or not raw_path.exists():
        raise SystemExit(f"profiling failed: workload {child.returncode}, py-spy: {recorder_err.strip()[-500:]}")
    run = json.loads(child_out.strip().splitlines()[-1])
    summary = summarise(raw_path.read_text())
    summary["run"] = {"config": args.config, "rate_hz": args.rate, **run}
    header = (f"# rlbench DQN profile, {args.config} settings, env steps {run['window'][0]}..{run['window'][1]} "
              f"(py-spy {args.rate} Hz; {run['steps_per_s_under_profiler']:.0f} steps/s under the profiler)")
    if run["notes"]:
        header += "\n\n" + "\n".join(f"- {note}" for note in run["notes"])
    text = markdown(summary, header)
    (args.out / f"dqn_{args.config}.summary.md").write_text(text)
    (args.out / f"dqn_{args.config}.summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(text)
    print(f"wrote {raw_path} and the summary next to it")


if __name__ == "__main__":
    main()
