"""The launcher's check of a resume checkpoint's records against its run, before the run resumes from it.

A checkpoint (:mod:`rlbench.storage.checkpoints`, written by :class:`rlbench.training.monitor.RunMonitor`) carries
the environment loop's position and the monitor's records of what the run did so far: the evaluation episodes,
the training episodes and the diagnostics. A resumed run publishes those records as they are, so records edited
after the fact (an evaluation return of 500.0, an evaluation of a step never reached) would be published as
results. The storage and training code that write and read checkpoints are part of every run's identity, so the
check lives here, on the launcher side (:func:`rlbench.execution.worker.attempt`), and is a pure function of the
loaded checkpoint and the run's spec:

* the checkpoint names the run, and its loop step is an integer in ``0..budget``;
* ``next_round`` is the number of the schedule's evaluation steps (:func:`rlbench.training.evaluation.evaluation_steps`)
  before the loop step, or up to it: the loop takes a checkpoint at the end of a training episode, just before
  the evaluation due at that step (:func:`rlbench.training.loop.run_env_loop`), and an evaluation left undone there
  runs on resume, so both are honest;
* the evaluation rows are exactly episodes ``0 .. eval_episodes - 1`` of each of those evaluation steps, in order;
* the training episodes tile the steps: each ends ``length`` steps after the one before (the first at its
  length), the last at the loop step. Checkpoints are written only by the single environment loop, where this
  holds for every run (every published single-environment run's ``train.csv`` shows it; only SB3's vectorised
  A2C and PPO do not, and they never checkpoint);
* every evaluation and training episode is plausible for the environment (:mod:`rlbench.config.bounds`), and
  every diagnostic belongs to an evaluation done, with a finite value.

Not covered: a checkpoint whose records are consistent but invented, or whose agent state was replaced; only a
digest the writer puts inside the checkpoint could show that, and the writer is run-identity code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rlbench.config.bounds import EnvBounds, env_bounds
from rlbench.config.plan import RunSpec
from rlbench.training.evaluation import evaluation_steps


def _integer(value: Any) -> int | None:
    """``value`` as an int when it is one (a bool is not), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a real number (a bool is not), else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _rows(records: Any, width: int, name: str) -> list[Sequence[Any]] | str:
    """``records`` as rows of ``width`` values each, or why they are not."""
    if not isinstance(records, (list, tuple)):
        return f"monitor {name} is a {type(records).__name__}, not a list of rows"
    for index, row in enumerate(records):
        if not isinstance(row, (list, tuple)) or len(row) != width:
            return f"monitor {name}[{index}] is {row!r}, not a row of {width} values"
    return list(records)


def checkpoint_problem(payload: Any, spec: RunSpec) -> str | None:
    """Why the loaded checkpoint ``payload`` disagrees with run ``spec``, or None when its records fit the run."""
    if not isinstance(payload, dict):
        return f"holds a {type(payload).__name__}, not a checkpoint"
    if payload.get("run_id") != spec.run_id:
        return f"belongs to run {payload.get('run_id')!r}, not {spec.run_id!r}"
    loop, monitor = payload.get("loop"), payload.get("monitor")
    if not isinstance(loop, dict) or not isinstance(monitor, dict):
        return "lacks its loop or monitor section"
    step = _integer(loop.get("step"))
    if step is None or not 0 <= step <= spec.budget:
        return f"loop step {loop.get('step')!r} is not an integer in 0..{spec.budget}"
    schedule = evaluation_steps(spec.budget, spec.eval_every)
    done = _integer(monitor.get("next_round"))
    before, up_to = sum(s < step for s in schedule), sum(s <= step for s in schedule)
    if done is None or done not in (before, up_to):
        allowed = f"{before}" if before == up_to else f"{before} or {up_to}"
        return (f"monitor next_round {monitor.get('next_round')!r} disagrees with loop step {step}; "
                f"allowed: {allowed} (the evaluation steps of the schedule reached)")
    return (_eval_problem(monitor.get("eval_rows"), schedule[:done], spec)
            or _train_problem(monitor.get("train_rows"), step, spec)
            or _diagnostics_problem(monitor.get("diagnostic_rows"), schedule[:done]))


def _eval_problem(records: Any, done: Sequence[int], spec: RunSpec) -> str | None:
    rows = _rows(records, 4, "eval_rows")
    if isinstance(rows, str):
        return rows
    expected = [(s, e) for s in done for e in range(spec.eval_episodes)]
    found = [(_integer(row[0]), _integer(row[1])) for row in rows]
    if found != expected:
        return (f"monitor eval_rows hold {len(found)} (step, episode) rows that differ from the {len(expected)} "
                f"of the {len(done)} evaluation step(s) done x {spec.eval_episodes} episodes")
    bounds = env_bounds(spec.env)
    for (eval_step, episode, episode_return, length) in rows:
        problem = _episode_problem(episode_return, length, bounds)
        if problem:
            return f"monitor eval row step {eval_step} episode {episode}: {problem}"
    return None


def _train_problem(records: Any, step: int, spec: RunSpec) -> str | None:
    rows = _rows(records, 3, "train_rows")
    if isinstance(rows, str):
        return rows
    bounds = env_bounds(spec.env)
    end = 0
    for episode, (episode_step, episode_return, length) in enumerate(rows):
        where = f"monitor train row step {episode_step!r} episode {episode}"
        problem = _episode_problem(episode_return, length, bounds)
        if problem:
            return f"{where}: {problem}"
        if _integer(episode_step) != end + length:
            return (f"{where}: ends at step {episode_step!r}, the episode before ended at {end} and this one lasted "
                    f"{length}; allowed: {end + length}")
        end = episode_step
    if end != step:
        return (f"monitor train_rows end at step {end}, the loop at step {step}; allowed: equal (a checkpoint is "
                "taken at an episode's end)")
    return None


def _episode_problem(episode_return: Any, length: Any, bounds: EnvBounds) -> str | None:
    value, steps = _number(episode_return), _integer(length)
    if value is None or not math.isfinite(value):
        return f"return {episode_return!r} is not a finite number"
    if steps is None:
        return f"length {length!r} is not a positive integer"
    return bounds.episode_problem(value, steps)


def _diagnostics_problem(records: Any, done: Sequence[int]) -> str | None:
    rows = _rows(records, 3, "diagnostic_rows")
    if isinstance(rows, str):
        return rows
    for diagnostic_step, name, value in rows:
        number = _number(value)
        step = _integer(diagnostic_step)
        if step is None or step not in done or not isinstance(name, str) or number is None or not math.isfinite(number):
            return (f"monitor diagnostic row ({diagnostic_step!r}, {name!r}, {value!r}); allowed: an evaluation step "
                    f"done, a name and a finite value")
    return None


__all__ = ["checkpoint_problem"]
