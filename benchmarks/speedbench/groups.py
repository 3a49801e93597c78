"""The comparisons. Each builder returns a :class:`~speedbench.harness.CompetitorGroup`; :data:`GROUP_BUILDERS`
lists them in run order. Every setting comes from ``params.yaml`` (:mod:`speedbench.settings`).

Windows are representative of a whole run: the DQN groups time whole runs (their suite's budget, or a fraction of
it with ``learning_starts`` scaled alike, so the shares of random actions, greedy actions and training steps are a
whole run's; each group states them). Batched groups compare like for like (the same environment implementation on
both sides, their headline); the numpy environment's gain is a ratio of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from speedbench import bare
from speedbench.competitors import run_batched_dqn, run_rlbench_online, run_sb3, run_separate_dqn
from speedbench.harness import ENV_ID, Competitor, CompetitorGroup, Goal, Options, TimingWindow
from speedbench.settings import DQNRun, cleanrl, load_rlbench_params, rl_zoo

TINY_STEPS = 600
"""Run length in tiny mode (a structure check)."""

SB3_DEFAULT_CLIP = 10.0
"""SB3 DQN's ``max_grad_norm`` default (SB3 always clips; it has no MSE loss)."""


def whole_run(run: DQNRun, options: Options, fraction: float) -> tuple[DQNRun, TimingWindow, list[str]]:
    """``run`` at ``fraction`` of its budget (times ``options.scale``; tiny: :data:`TINY_STEPS`), timed whole."""
    factor = TINY_STEPS / run.budget if options.tiny else min(1.0, fraction * options.scale)
    shortened = run.scaled(factor) if factor < 1.0 else run
    window = TimingWindow(0, shortened.budget)
    share = shortened.random_action_share()
    notes = [f"timed: whole runs of {shortened.budget:,} steps"
             + ("" if shortened is run else f" ({factor:.3g} of the {run.suite} suite's {run.budget:,}, learning_starts "
                                            f"{shortened.values['learning_starts']:,}: a whole run's proportions)")
             + f"; expected share of random actions {share:.0%}, greedy {1 - share:.0%}"]
    if options.tiny:
        notes.append("tiny mode: a structure check; the numbers mean nothing")
    return shortened, window, notes


def dqn_group(run: DQNRun, options: Options, fraction: float, sb3_goal: float) -> CompetitorGroup:
    """rlbench DQN, SB3 DQN, the tight bare loop and the gradient floor on one configuration, whole runs."""
    run, window, notes = whole_run(run, options, fraction)
    values = run.values
    if values["loss"] != "huber" or values["max_grad_norm"] != SB3_DEFAULT_CLIP:
        notes.append(f"SB3 DQN always uses the Huber loss and clips the gradient norm at {SB3_DEFAULT_CLIP:g}: it "
                     "cannot follow this configuration's loss/clipping")
    return CompetitorGroup(
        name=f"dqn_{run.name}",
        title=f"DQN, {run.name} {ENV_ID} settings (params.yaml algos.{run.entry})",
        competitors=[
            Competitor("rlbench", "rlbench DQNAgent via run_env_loop",
                       lambda: run_rlbench_online("dqn", values, run.budget, window)),
            Competitor("sb3", f"SB3 DQN ({run.sb3_source}; SB3 learn)",
                       lambda: run_sb3("sb3_dqn", run.sb3, run.budget, window)),
            Competitor("bare", "tight bare loop (numpy acting, LeanAdam; benchmarks/speedbench/bare.py)",
                       lambda: bare.run_bare_dqn(run, window)),
            Competitor("gradient_floor", f"gradient steps only ({run.gradient_steps_per_env_step:g} per env step)",
                       lambda: bare.run_gradient_floor(run, window)),
        ],
        ratios=[("rlbench", "sb3"), ("rlbench", "bare"), ("rlbench", "gradient_floor"), ("bare", "gradient_floor"),
                ("sb3", "bare")],
        window=window,
        settings={"budget": run.budget, "suite": run.suite, "rlbench_hyperparameters": values,
                  "sb3_hyperparameters": run.sb3, "source": f"params.yaml algos.{run.entry}; {run.sb3_source}"},
        notes=notes,
        goals=[Goal("rlbench / bare", 0.95, "rlbench's generality costs at most 5% against the tight bare loop"),
               Goal("rlbench / sb3", sb3_goal, f"in-house DQN at least {sb3_goal}x SB3 with the {run.name} settings")],
        headline="rlbench / bare",
    )


def batched_seeds_group(run: DQNRun, options: Options, fraction: float, seeds: int = 10) -> CompetitorGroup:
    """K seeds of rlbench DQN batched in one process against K separate runs, whole (shortened) runs."""
    run, window, notes = whole_run(run, options, fraction)
    if options.tiny:
        seeds = 3
    values = run.values
    notes.append(f"env steps/s count all {seeds} seeds. Like for like: batched_gym_envs steps the gymnasium "
                 "CartPole separate runs step; the numpy CartPole's own gain is batched / batched_gym_envs")
    return CompetitorGroup(
        name=f"batched_seeds_{run.name}",
        title=f"{seeds} seeds of rlbench DQN: batched vs separate runs, {run.name} {ENV_ID} settings",
        competitors=[
            Competitor("batched_gym_envs", f"{seeds} seeds in one BatchedDQN, {seeds} gymnasium CartPole environments",
                       lambda: run_batched_dqn(values, seeds, run.budget, window, vectorised_env=False)),
            Competitor("separate", f"{seeds} separate DQNAgent runs (gymnasium CartPole)",
                       lambda: run_separate_dqn(values, seeds, run.budget, window)),
            Competitor("batched", f"{seeds} seeds in one BatchedDQN, the numpy CartPole (all seeds in one array)",
                       lambda: run_batched_dqn(values, seeds, run.budget, window)),
        ],
        ratios=[("batched_gym_envs", "separate"), ("batched", "batched_gym_envs"), ("batched", "separate")],
        window=window,
        settings={"seeds": seeds, "budget": run.budget, "rlbench_hyperparameters": values},
        notes=notes,
        headline="batched_gym_envs / separate",
    )


def _pixel_whole_run(values: dict[str, Any], budget: int, options: Options, fraction: float,
                     ) -> tuple[dict[str, Any], int, TimingWindow, list[str]]:
    """A pixel entry's values and a whole run of ``fraction`` of ``budget`` (``learning_starts`` scaled alike)."""
    length = TINY_STEPS if options.tiny else max(1000, round(budget * min(1.0, fraction * options.scale)))
    starts = round(values["learning_starts"] * length / budget)
    notes = [f"timed: whole runs of {length:,} steps ({length / budget:.3g} of the suite's {budget:,}), "
             f"learning_starts {starts:,} (a whole run's proportions; replay capacity unchanged)"]
    if options.tiny:
        notes.append("tiny mode: a structure check; the numbers mean nothing")
    return {**values, "learning_starts": starts}, length, TimingWindow(0, length), notes


def pixel_dqn_group(name: str, suite: str, env_id: str, algos: tuple[str, str], options: Options,
                    fraction: float) -> CompetitorGroup:
    """In-house DQN against SB3 DQN from pixels, both with a suite's ``params.yaml`` settings (the same values)."""
    params = load_rlbench_params()
    ours, theirs = (params.algos[a] for a in algos)
    budget = params.suites[suite].budget
    budget = int(budget[env_id] if isinstance(budget, dict) else budget)
    values, length, window, notes = _pixel_whole_run(ours.for_env(env_id), budget, options, fraction)
    sb3 = theirs.for_env(env_id)
    sb3 = {**sb3, "algo_kwargs": {**sb3["algo_kwargs"], "learning_starts": values["learning_starts"]}}
    return CompetitorGroup(
        name=name,
        title=f"DQN from pixels: rlbench vs SB3 on {env_id}, `{suite}` suite settings",
        competitors=[
            Competitor("rlbench", ours.label, lambda: run_rlbench_online(ours.agent, values, length, window, env_id)),
            Competitor("sb3", theirs.label, lambda: run_sb3(theirs.agent, sb3, length, window, env_id)),
        ],
        ratios=[("rlbench", "sb3")],
        window=window,
        settings={"env": env_id, "suite": suite, "run_steps": length,
                  "algos": {algos[0]: {"agent": ours.agent, "hyperparameters": values},
                            algos[1]: {"agent": theirs.agent, "hyperparameters": sb3}}},
        notes=notes,
    )


def batched_seeds_minatar_group(options: Options, fraction: float) -> CompetitorGroup:
    """The ``minatar`` suite's in-house DQN, its seeds batched (grouped convolutions) against separate runs; both
    step the same MinAtar environments (no vectorised MinAtar exists), so the ratio is like for like."""
    params = load_rlbench_params()
    env_id, entry = "MinAtar-Breakout-v0", params.algos["dqn_minatar"]
    seeds = 3 if options.tiny else len(params.suites["minatar"].seeds)
    budget = params.suites["minatar"].budget
    budget = int(budget[env_id] if isinstance(budget, dict) else budget)
    values, length, window, notes = _pixel_whole_run(entry.for_env(env_id), budget, options, fraction)
    notes.append(f"env steps/s count all {seeds} seeds")
    return CompetitorGroup(
        name="batched_seeds_minatar",
        title=f"{seeds} seeds of rlbench DQN on {env_id}: batched (grouped convolutions) vs separate, `minatar` settings",
        competitors=[
            Competitor("batched", f"{seeds} seeds in one BatchedDQN (grouped convolutions, stacked dense layers)",
                       lambda: run_batched_dqn(values, seeds, length, window, env_id=env_id)),
            Competitor("separate", f"{seeds} separate DQNAgent runs",
                       lambda: run_separate_dqn(values, seeds, length, window, env_id=env_id)),
        ],
        ratios=[("batched", "separate")],
        window=window,
        settings={"env": env_id, "seeds": seeds, "run_steps": length, "rlbench_hyperparameters": values},
        notes=notes,
        headline="batched / separate",
    )


GroupBuilder = Callable[[Options], CompetitorGroup]

GROUP_BUILDERS: dict[str, GroupBuilder] = {
    # fraction: of the suite's budget each run covers (proportions kept); 1 = whole runs as trained.
    "dqn_rl_zoo": lambda options: dqn_group(rl_zoo(), options, fraction=1.0, sb3_goal=1.6),
    "dqn_cleanrl": lambda options: dqn_group(cleanrl(), options, fraction=1.0, sb3_goal=2.5),
    "batched_seeds_rl_zoo": lambda options: batched_seeds_group(rl_zoo(), options, fraction=0.2),
    "batched_seeds_cleanrl": lambda options: batched_seeds_group(cleanrl(), options, fraction=0.05),
    "dqn_minatar": lambda options: pixel_dqn_group("dqn_minatar", "minatar", "MinAtar-Breakout-v0",
                                                   ("dqn_minatar", "sb3_dqn_minatar"), options, fraction=0.1),
    "dqn_atari": lambda options: pixel_dqn_group("dqn_atari", "atari-mini", "Atari-Pong-v0",
                                                 ("dqn_atari", "sb3_dqn_atari"), options, fraction=0.05),
    "batched_seeds_minatar": lambda options: batched_seeds_minatar_group(options, fraction=0.05),
}
"""Every comparison, in run order. A new one is a builder returning a ``CompetitorGroup`` plus one line here."""
