"""Timing harness: CPU-time stopwatches, interleaved repetitions in rotated order, spreads, the report.

Every competitor runs in one process with one torch thread and is timed by CPU time (``time.process_time``: less
sensitive than wall time to other jobs on a shared machine, though not immune, since they still compete for caches
and memory bandwidth). Repetitions are interleaved and their order rotates (rep 1: A B C D, rep 2: B C D A, ...), so
slow drifts of the machine hit every competitor alike. Each competitor reports the median steps/s over the
repetitions and its spread; every ratio is computed *within* a repetition and reported as the median and spread of
those per-repetition ratios. Figures carry no more digits than their spread over repetitions supports
(:func:`spread`). The report records the commit measured; a benchmark refuses uncommitted code unless asked
(:func:`code_state`).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_ID = "CartPole-v1"
"""The classic groups train on CartPole-v1 (cheap env steps, so agent overhead is what shows)."""

REPOSITORY = Path(__file__).resolve().parents[2]
"""The checkout being measured."""

MEASURED_PATHS = ("rlbench", "benchmarks", "params.yaml")
"""What the figures depend on: a change there, uncommitted, makes the recorded commit a lie."""


@dataclass(frozen=True)
class Options:
    """Command-line choices every group builder sees."""

    tiny: bool
    """Structure check: runs of a few hundred steps; the numbers mean nothing."""
    scale: float
    """Multiplier of every group's run length (1 = each group's default; see ``groups``)."""


@dataclass(frozen=True)
class TimingWindow:
    """Which environment steps of a run are timed: ``timed_steps`` steps after ``warmup_steps``."""

    warmup_steps: int
    """Steps run before the clock starts (0: the clock starts with the run)."""
    timed_steps: int
    """Steps inside the timed window."""

    @property
    def end(self) -> int:
        """The step at which the clock stops (and the run ends)."""
        return self.warmup_steps + self.timed_steps


@dataclass(frozen=True)
class Measurement:
    """Environment steps inside the timed window and what they cost."""

    env_steps: int
    cpu_s: float
    """CPU seconds of this process (``time.process_time``) over the window."""
    wall_s: float
    """Wall-clock seconds over the window (only to report the CPU share: contention shows up there)."""

    @property
    def steps_per_s(self) -> float:
        return self.env_steps / self.cpu_s


class Stopwatch:
    """Starts at the first tick at or past ``warmup_steps``, stops at the first tick at or past the end.

    ``tick(step)`` is called by every competitor after each environment step (after the agent learned from it),
    and with ``step = 0`` before the first one; it returns False once the window is over (which stops SB3's
    ``learn``).
    """

    def __init__(self, window: TimingWindow) -> None:
        self.window = window
        self.start: tuple[int, float, float] | None = None  # (step, cpu, wall)
        self.stop: tuple[int, float, float] | None = None

    def tick(self, step: int) -> bool:
        if self.start is None and step >= self.window.warmup_steps:
            self.start = (step, time.process_time(), time.perf_counter())
        elif self.start is not None and self.stop is None and step >= self.window.end:
            self.stop = (step, time.process_time(), time.perf_counter())
        return self.stop is None

    def measurement(self) -> Measurement:
        if self.start is None or self.stop is None:
            raise RuntimeError(f"the run ended before its timed window closed (start {self.start}, stop {self.stop})")
        return Measurement(self.stop[0] - self.start[0], self.stop[1] - self.start[1], self.stop[2] - self.start[2])


class StopwatchMonitor:
    """A ``TrainingMonitor`` that only ticks the stopwatch: no evaluation, no checkpoints."""

    def __init__(self, stopwatch: Stopwatch) -> None:
        self.stopwatch = stopwatch

    def on_step(self, step: int) -> None:
        self.stopwatch.tick(step)

    def on_episode_end(self, step: int, episode_return: float, length: int) -> None:
        pass

    def checkpoint_due(self, step: int) -> bool:
        return False

    def save_checkpoint(self, step: int, state: dict[str, Any]) -> None:
        pass


@dataclass(frozen=True)
class Competitor:
    """One contestant: a name and a callable that builds it afresh, runs it, and times its window."""

    name: str
    """Key in the output (``rlbench``, ``sb3``, ...)."""
    label: str
    """Human-readable description for the table."""
    run: Callable[[], Measurement]


@dataclass(frozen=True)
class Goal:
    """A ratio of steps/s that must reach ``at_least``."""

    ratio: str
    """``"<numerator> / <denominator>"``, one of the group's ratios."""
    at_least: float
    why: str
    """What the goal stands for (printed with it)."""


@dataclass
class CompetitorGroup:
    """Competitors compared with each other, and the ratios of interest between them."""

    name: str
    title: str
    competitors: list[Competitor]
    ratios: list[tuple[str, str]]
    """(numerator, denominator) competitor names; each ratio is of steps/s, computed per repetition."""
    window: TimingWindow
    settings: dict[str, Any]
    """Everything that defines the comparison (written to the output)."""
    notes: list[str] = field(default_factory=list)
    """Caveats printed with the results (fallbacks, settings a competitor cannot honour)."""
    goals: list[Goal] = field(default_factory=list)
    headline: str | None = None
    """The ratio that answers the group's question (a like-for-like one), when there is one."""


def rotated(items: Sequence[Any], offset: int) -> list[Any]:
    """``items`` starting at ``offset`` (mod length): repetition r runs competitor r first."""
    k = offset % len(items)
    return list(items[k:]) + list(items[:k])


def run_repetitions(groups: list[CompetitorGroup], repetitions: int) -> dict[str, dict[str, list[Measurement]]]:
    """Every competitor of every group once per repetition, group by group, in rotated order."""
    results: dict[str, dict[str, list[Measurement]]] = {g.name: {c.name: [] for c in g.competitors} for g in groups}
    for rep in range(repetitions):
        for group in groups:
            for competitor in rotated(group.competitors, rep):
                gc.collect()  # start every competitor from a collected heap
                m = competitor.run()
                results[group.name][competitor.name].append(m)
                print(f"  rep {rep + 1}/{repetitions} {group.name:<22} {competitor.name:<22} {m.steps_per_s:>10.0f} "
                      f"steps/s  ({m.env_steps} steps, {m.cpu_s:.1f} CPU s, CPU share {m.cpu_s / m.wall_s:.2f})",
                      flush=True)
    return results


def decimals(values: Sequence[float]) -> int:
    """Decimal places the spread of ``values`` supports: the last digit kept is the one of the order of their range
    (max - min over repetitions); never so few that the smallest value loses its leading digit. Negative: tens,
    hundreds, ... A single value (or no spread at all) keeps three significant digits."""
    positive = [abs(v) for v in values if v]
    floor = -math.floor(math.log10(min(positive))) if positive else 0
    width = max(values) - min(values)
    if len(values) < 2 or width <= 0:
        return -math.floor(math.log10(max(positive))) + 2 if positive else 0
    return max(-math.floor(math.log10(width)), floor)


def _round(value: float, places: int) -> float | int:
    rounded = round(value, places)
    return int(rounded) if places <= 0 else rounded


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and quartiles (inclusive method) of ``values``, each rounded to :func:`decimals`, and the
    places kept (``decimals``)."""
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    places = decimals(values)
    return {"median": _round(statistics.median(values), places), "min": _round(min(values), places),
            "max": _round(max(values), places), "q1": _round(q1, places), "q3": _round(q3, places),
            "per_repetition": [_round(v, places) for v in values], "decimals": places}


def summarise(group: CompetitorGroup, measurements: dict[str, list[Measurement]]) -> dict[str, Any]:
    competitors = {}
    for c in group.competitors:
        ms = measurements[c.name]
        competitors[c.name] = {
            "label": c.label,
            "steps_per_s": spread([m.steps_per_s for m in ms]),
            "timed_env_steps": ms[0].env_steps,
            "cpu_s": spread([m.cpu_s for m in ms]),
            "cpu_share_median": round(statistics.median(m.cpu_s / m.wall_s for m in ms), 2),
        }
    ratios = {}
    for numerator, denominator in group.ratios:
        per_rep = [a.steps_per_s / b.steps_per_s for a, b in zip(measurements[numerator], measurements[denominator])]
        ratios[f"{numerator} / {denominator}"] = spread(per_rep)
    goals = []
    for goal in group.goals:
        ratio = ratios[goal.ratio]
        goals.append({"ratio": goal.ratio, "at_least": goal.at_least, "why": goal.why, "median": ratio["median"],
                      "met": bool(ratio["median"] >= goal.at_least),
                      "met_in_every_repetition": bool(ratio["min"] >= goal.at_least)})
    return {"title": group.title, "window": dataclasses.asdict(group.window), "settings": group.settings,
            "notes": group.notes, "competitors": competitors, "ratios": ratios, "headline": group.headline,
            "goals": goals}


def processor() -> dict[str, Any]:
    """Model name, family and model from /proc/cpuinfo (no host name, no serials)."""
    info: dict[str, Any] = {"machine": platform.machine()}
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        info["model name"] = platform.processor() or "unknown"
        return info
    for line in lines:
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("model name", "cpu family", "model") and key not in info:
            info[key] = value.strip()
    info["logical_cpus"] = sum(1 for line in lines if line.startswith("processor"))
    return info


def code_state() -> dict[str, Any]:
    """The commit measured (full hash) and whether :data:`MEASURED_PATHS` hold uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, check=False).stdout.strip()

    dirty = git("status", "--porcelain", "--", *MEASURED_PATHS)
    return {"commit": git("rev-parse", "HEAD") or "unknown", "uncommitted_changes": bool(dirty)}


def versions() -> dict[str, str]:
    import gymnasium as gym
    import numpy as np
    import stable_baselines3
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "stable_baselines3": stable_baselines3.__version__, "gymnasium": gym.__version__}


def _number(value: float, places: int) -> str:
    return f"{value:,.{max(places, 0)}f}"


def _row(s: dict[str, Any]) -> str:
    d = s["decimals"]
    return (f"{_number(s['median'], d)} | {_number(s['min'], d)}-{_number(s['max'], d)} | "
            f"{_number(s['q1'], d)}-{_number(s['q3'], d)}")


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables."""
    cpu, code = report["processor"], report["code"]
    lines = ["# Training speed (env steps per CPU second, 1 torch thread)", "",
             f"Processor: {cpu.get('model name')} (family {cpu.get('cpu family')}, model {cpu.get('model')}, "
             f"{cpu.get('logical_cpus')} logical CPUs). "
             + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".", "",
             f"Code: commit `{code['commit']}`"
             + (" **plus uncommitted changes** (not reproducible from the commit)." if code["uncommitted_changes"]
                else "."), "",
             (f"{report['settings']['repetitions']} interleaved repetitions (order rotated each repetition), CPU time "
              "(`time.process_time`), one process. Spread: min-max and IQR over repetitions; ratios are computed per "
              "repetition; figures keep the digits their spread supports. CPU share = CPU time / wall time (below 1 "
              "when other jobs shared the machine)."), ""]
    if report["settings"]["tiny"]:
        lines += ["**Tiny mode: a structure check; these numbers mean nothing.**", ""]
    for name, group in report["groups"].items():
        w = group["window"]
        lines += [f"## {group['title']} (`{name}`)", "",
                  f"Timed: env steps {w['warmup_steps']}..{w['warmup_steps'] + w['timed_steps']} of each run.", "",
                  "| competitor | median steps/s | min-max | IQR | CPU share |", "|---|---:|---:|---:|---:|"]
        for c in group["competitors"].values():
            lines.append(f"| {c['label']} | {_row(c['steps_per_s'])} | {c['cpu_share_median']:.2f} |")
        lines += ["", "| ratio of steps/s | median | min-max | IQR |", "|---|---:|---:|---:|"]
        for ratio, s in group["ratios"].items():
            mark = " (headline, like for like)" if ratio == group.get("headline") else ""
            lines.append(f"| {ratio}{mark} | {_row(s)} |")
        for goal in group["goals"]:
            verdict = "met" if goal["met"] else "NOT met"
            every = " in every repetition" if goal["met_in_every_repetition"] else ""
            lines += ["", f"Goal: {goal['ratio']} >= {goal['at_least']} ({goal['why']}): median {goal['median']}, "
                          f"{verdict}{every}."]
        lines += [""] + [f"- {note}" for note in group["notes"]] + ([""] if group["notes"] else [])
        if "source" in group["settings"]:
            lines += [f"Settings source: {group['settings']['source']}.", ""]
    return "\n".join(lines)
