"""Benchmark: training speed (environment steps per CPU second, one torch thread) you can trust.

Every competitor runs in this one process with ``torch.set_num_threads(1)``, is timed by CPU time
(``time.process_time``: less sensitive than wall time to other jobs on a shared machine, though not immune,
since they still compete for caches and memory bandwidth), and is repeated in
interleaved repetitions whose order rotates (rep 1: A B C D, rep 2: B C D A, ...), so slow drifts of the
machine hit every competitor alike. Each competitor reports the median steps/s over the repetitions and
its spread; every ratio is computed *within* a repetition (A and B measured minutes apart at most) and
reported as the median and spread of those per-repetition ratios.

Groups (see ``GROUP_BUILDERS``; adding one is a function returning a ``CompetitorGroup`` and one line):

* ``dqn_rl_zoo``: DQN with the rl-baselines3-zoo CartPole settings (``params.yaml``,
  ``algos.dqn.per_env.CartPole-v1``): rlbench DQN through the real env loop, SB3 DQN, a hand-written bare
  loop, and the gradient-only floor.
* ``dqn_cleanrl``: the same four with CleanRL ``dqn.py``'s CartPole defaults, timed in a steady-state
  window after learning has started.
(REINFORCE against SB3 A2C is ``benchmarks/reinforce_vs_a2c.py``, which reuses this harness.)
* ``batched_seeds_rl_zoo``, ``batched_seeds_cleanrl``: ten seeds of rlbench DQN trained at once
  (``BatchedDQN``, a suite's ``batch_seeds``) against ten separate runs, aggregate env steps/s.
* ``dqn_minatar``, ``dqn_atari``: DQN from pixels, rlbench against SB3 with identical settings (the
  ``minatar`` suite's on MinAtar Breakout; the ``atari-mini`` suite's on Pong: Nature CNN, frame replay).
* ``batched_seeds_minatar``: the ``minatar`` suite's seeds of in-house DQN batched (grouped convolutions)
  against separate runs, on MinAtar Breakout.

Output: a table on stdout, ``<out>/speed.json`` and ``<out>/speed.md`` (default ``results/benchmarks``),
holding the processor, library versions, settings and results, and neither timestamps nor host names
(the files are versioned).

    python benchmarks/speed.py --tiny --out /tmp/b   # every group, structure check, about a minute
    python benchmarks/speed.py --groups dqn_cleanrl --reps 7 --scale 2

The versioned figures are three runs, one per topic (each about 15-40 min wall on a busy 2-core EPYC):

    python benchmarks/speed.py --groups dqn_rl_zoo dqn_cleanrl batched_seeds_rl_zoo batched_seeds_cleanrl
    python benchmarks/speed.py --groups dqn_minatar dqn_atari --out results/benchmarks/pixels
    python benchmarks/speed.py --groups batched_seeds_minatar --out results/benchmarks/batched-minatar

and the batched mode's ceiling (gradient steps alone) beside its full loop, measured on its own later:

    python benchmarks/speed.py --groups batched_seeds_cleanrl --out results/benchmarks/batched-cleanrl
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import json
import math
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ENV_ID = "CartPole-v1"
"""The classic groups train on CartPole-v1 (cheap env steps, so agent overhead is what shows); the pixel groups
name their environment."""

CLEANRL_DQN_SOURCE = (
    "CleanRL cleanrl/dqn.py argparse defaults (https://github.com/vwxyzjn/cleanrl/blob/master/cleanrl/dqn.py; "
    "read at commit 020cf0e53305793c8e39f4b68f9ac1ae9099f004): Q-network Linear-120-ReLU-Linear-84-ReLU-Linear, "
    "plain Adam, F.mse_loss, no gradient clipping"
)


# ---------------------------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DQNSettings:
    """One DQN configuration, in SB3/rlbench names, with where its numbers come from."""

    name: str
    """Short key of the configuration (group names derive from it)."""
    source: str
    """Where the numbers come from (cited in the output)."""
    net_arch: tuple[int, ...]
    """Hidden layer sizes of the Q-network (ReLU MLP)."""
    batch_size: int
    """Transitions per gradient step."""
    learning_rate: float
    """Adam step size."""
    buffer_size: int
    """Replay capacity in transitions."""
    learning_starts: int
    """Environment steps of uniformly random actions before the first gradient step."""
    gamma: float
    """Discount factor."""
    target_update_interval: int
    """Environment steps between hard copies of the online into the target network (tau = 1)."""
    train_freq: int
    """Environment steps between two training phases."""
    gradient_steps: int
    """Gradient steps per training phase."""
    exploration_fraction: float
    """Fraction of ``schedule_steps`` over which epsilon decays linearly."""
    exploration_initial_eps: float
    """Epsilon at the start of the decay."""
    exploration_final_eps: float
    """Epsilon after the decay."""
    schedule_steps: int
    """The training budget the epsilon schedule is laid out over (a run's total steps)."""
    loss: str
    """TD loss: ``huber`` (SB3, rl-zoo) or ``mse`` (CleanRL)."""
    max_grad_norm: float | None
    """Global gradient-norm clip, or None for none (CleanRL does not clip)."""

    @property
    def gradient_steps_per_env_step(self) -> float:
        """How many gradient steps one environment step costs once learning has started."""
        return self.gradient_steps / self.train_freq

    @property
    def alignment(self) -> int:
        """Window boundaries are multiples of this, so every competitor's timed window holds the same
        number of training phases and target copies (SB3 checks its callback before training at a
        step, the env loops after; with aligned boundaries both windows hold the same count)."""
        return math.lcm(self.train_freq, self.target_update_interval)

    def sb3_hyperparameters(self) -> dict[str, Any]:
        """What this configuration is for SB3 DQN (whose loss is always Huber, clip always on)."""
        return {
            "net_arch": self.net_arch,
            "algo_kwargs": {
                "learning_rate": self.learning_rate, "batch_size": self.batch_size, "buffer_size": self.buffer_size,
                "learning_starts": self.learning_starts, "gamma": self.gamma,
                "target_update_interval": self.target_update_interval, "train_freq": self.train_freq,
                "gradient_steps": self.gradient_steps, "exploration_fraction": self.exploration_fraction,
                "exploration_initial_eps": self.exploration_initial_eps,
                "exploration_final_eps": self.exploration_final_eps,
            },
        }


RL_ZOO_CARTPOLE = DQNSettings(
    name="rl_zoo",
    source="rl-baselines3-zoo 2.9.2 hyperparams/dqn.yml CartPole-v1, as in params.yaml algos.dqn.per_env.CartPole-v1",
    net_arch=(256, 256), batch_size=64, learning_rate=2.3e-3, buffer_size=100_000, learning_starts=1000,
    gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
    exploration_initial_eps=1.0, exploration_final_eps=0.04,
    schedule_steps=50_000,  # the default suite's CartPole budget
    loss="huber", max_grad_norm=10.0,  # SB3's defaults, which rl-zoo keeps
)

CLEANRL_CARTPOLE = DQNSettings(
    name="cleanrl",
    source=CLEANRL_DQN_SOURCE,
    net_arch=(120, 84), batch_size=128, learning_rate=2.5e-4, buffer_size=10_000, learning_starts=10_000,
    gamma=0.99, target_update_interval=500, train_freq=10, gradient_steps=1, exploration_fraction=0.5,
    exploration_initial_eps=1.0, exploration_final_eps=0.05,
    schedule_steps=500_000,  # CleanRL's total_timesteps
    loss="mse", max_grad_norm=None,
)


@dataclass(frozen=True)
class TimingWindow:
    """Which environment steps of a run are timed: ``timed_steps`` steps after ``warmup_steps``."""

    warmup_steps: int
    """Steps run before the clock starts (replay prefill, first training phases, lazy initialisation)."""
    timed_steps: int
    """Steps inside the timed window."""

    @property
    def end(self) -> int:
        """The step at which the clock stops (and the run ends)."""
        return self.warmup_steps + self.timed_steps


@dataclass(frozen=True)
class Options:
    """Command-line choices every group builder sees."""

    tiny: bool
    """Structure check: a few hundred steps per competitor, learning starts early."""
    scale: float
    """Multiplier of every group's timed window (1 = the full benchmark)."""


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


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
    """Starts at the first step at or past ``warmup_steps``, stops at the first step at or past the end.

    ``tick(step)`` is called by every competitor after each environment step (after the agent learned
    from it); it returns False once the window is over, which stops SB3's ``learn``.
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


@dataclass(frozen=True)
class Competitor:
    """One contestant: a name and a callable that builds it afresh, runs it, and times its window."""

    name: str
    """Key in the output (``rlbench``, ``sb3``, ...)."""
    label: str
    """Human-readable description for the table."""
    run: Callable[[], Measurement]


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


# ---------------------------------------------------------------------------------------------
# Competitors: rlbench through its real code path
# ---------------------------------------------------------------------------------------------


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


def build_rlbench_agent(agent_name: str, hyperparameters: dict[str, Any], schedule_steps: int, seed: int = 0,
                        env_id: str = ENV_ID) -> Any:
    """An rlbench agent built as ``rlbench.training.runner.execute_run`` builds it (same seeding, same
    context), with ``schedule_steps`` as the budget its schedules are laid out over."""
    from rlbench.agents.base import AgentContext
    from rlbench.agents.registry import resolve
    from rlbench.envs.registry import make_env
    from rlbench.seeding import RunSeeds
    from rlbench.training.runner import seed_frameworks

    seeds = RunSeeds.from_seed(seed)
    seed_frameworks(seeds)
    agent_cls = resolve(agent_name)
    config = agent_cls.make_config(hyperparameters)
    probe = make_env(env_id)
    observation_space, action_space = probe.observation_space, probe.action_space
    probe.close()
    context = AgentContext(
        env_name=env_id, observation_space=observation_space, action_space=action_space, seeds=seeds,
        make_env=lambda env_seed: make_env(env_id, env_seed), total_steps=schedule_steps,
    )
    return agent_cls(config, context)


def run_rlbench_online(agent_name: str, hyperparameters: dict[str, Any], schedule_steps: int, window: TimingWindow,
                       env_id: str = ENV_ID) -> Measurement:
    """Train an rlbench ``OnlineAgent`` through the real env loop (``run_env_loop``) up to the window's end."""
    from rlbench.training.loop import run_env_loop

    agent = build_rlbench_agent(agent_name, hyperparameters, schedule_steps, env_id=env_id)
    stopwatch = Stopwatch(window)
    run_env_loop(agent, window.end, StopwatchMonitor(stopwatch))
    return stopwatch.measurement()


def run_sb3(agent_name: str, hyperparameters: dict[str, Any], schedule_steps: int, window: TimingWindow,
            env_id: str = ENV_ID) -> Measurement:
    """An SB3 model built by rlbench's adapter (same env, seeding, policy), trained by SB3's own
    ``learn`` with only a stopwatch callback (no rlbench monitor forwarding), stopped at the window's end.

    ``learn`` is given ``schedule_steps`` so the exploration schedule matches the other competitors'.
    """
    from stable_baselines3.common.callbacks import BaseCallback

    class StopwatchCallback(BaseCallback):
        def __init__(self, stopwatch: Stopwatch) -> None:
            super().__init__(verbose=0)
            self.stopwatch = stopwatch

        def _on_training_start(self) -> None:
            self.stopwatch.tick(0)

        def _on_step(self) -> bool:
            return self.stopwatch.tick(self.num_timesteps)

    agent = build_rlbench_agent(agent_name, hyperparameters, schedule_steps, env_id=env_id)
    stopwatch = Stopwatch(window)
    agent.model.learn(total_timesteps=schedule_steps, callback=StopwatchCallback(stopwatch))
    return stopwatch.measurement()


def rlbench_dqn_hyperparameters(settings: DQNSettings) -> tuple[dict[str, Any], list[str]]:
    """The rlbench ``DQNConfig`` values for ``settings``, and notes on what the code cannot express.

    ``loss`` and ``max_grad_norm=None`` are new in DQNConfig; older code gets Huber and clipping at 10.
    """
    from rlbench.agents.dqn import DQNConfig

    fields = {f.name: f for f in dataclasses.fields(DQNConfig)}
    values: dict[str, Any] = {
        "learning_rate": settings.learning_rate, "batch_size": settings.batch_size,
        "buffer_size": settings.buffer_size, "learning_starts": settings.learning_starts, "gamma": settings.gamma,
        "target_update_interval": settings.target_update_interval, "train_freq": settings.train_freq,
        "gradient_steps": settings.gradient_steps, "exploration_fraction": settings.exploration_fraction,
        "exploration_initial_eps": settings.exploration_initial_eps,
        "exploration_final_eps": settings.exploration_final_eps, "net_arch": list(settings.net_arch),
    }
    notes: list[str] = []
    if "loss" in fields:
        values["loss"] = settings.loss
    elif settings.loss != "huber":
        notes.append(f"rlbench DQNConfig has no `loss` field in this code: rlbench uses Huber where the "
                     f"configuration says {settings.loss}")
    if settings.max_grad_norm is not None:
        values["max_grad_norm"] = settings.max_grad_norm
    elif "None" in str(fields["max_grad_norm"].type):
        values["max_grad_norm"] = None
    else:
        notes.append(f"rlbench DQNConfig cannot turn gradient clipping off in this code: rlbench clips at "
                     f"{fields['max_grad_norm'].default} where the configuration does not clip")
    return values, notes


# ---------------------------------------------------------------------------------------------
# Competitors: the hand-written bare loop and the gradient-only floor
# ---------------------------------------------------------------------------------------------


def bare_mlp(input_dim: int, output_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """A ReLU MLP, float32."""
    layers: list[nn.Module] = []
    previous = input_dim
    for size in hidden:
        layers += [nn.Linear(previous, size), nn.ReLU()]
        previous = size
    layers.append(nn.Linear(previous, output_dim))
    return nn.Sequential(*layers)


class BareRingBuffer:
    """Preallocated numpy circular arrays; uniform sampling with replacement."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity, self.size, self.pos = capacity, 0, 0
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        i = self.pos
        self.obs[i], self.next_obs[i], self.actions[i], self.rewards[i], self.terminated[i] = obs, next_obs, action, reward, terminated
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        idx = rng.integers(0, self.size, size=batch_size)
        return tuple(torch.from_numpy(a[idx]) for a in (self.obs, self.actions, self.rewards, self.next_obs, self.terminated))


class BareLearner:
    """Online and target Q-networks, Adam, and one gradient step, as a plain script would write them.

    Adam is the fused CPU kernel, as rlbench's DQN uses, so the comparison isolates everything else.
    """

    def __init__(self, settings: DQNSettings, obs_dim: int, n_actions: int) -> None:
        self.settings = settings
        self.q_net = bare_mlp(obs_dim, n_actions, settings.net_arch)
        self.target_net = copy.deepcopy(self.q_net).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=settings.learning_rate, fused=True)
        self.loss_fn = F.mse_loss if settings.loss == "mse" else F.smooth_l1_loss

    def gradient_step(self, obs: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                      next_obs: torch.Tensor, terminated: torch.Tensor) -> None:
        s = self.settings
        with torch.no_grad():
            targets = rewards + s.gamma * (1.0 - terminated) * self.target_net(next_obs).max(dim=1).values
        q = self.q_net(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = self.loss_fn(q, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if s.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.q_net.parameters(), s.max_grad_norm)
        self.optimizer.step()

    def copy_target(self) -> None:
        self.target_net.load_state_dict(self.q_net.state_dict())


def run_bare_dqn(settings: DQNSettings, window: TimingWindow, seed: int = 0) -> Measurement:
    """A minimal DQN loop: gymnasium env (with the episode-statistics wrapper every other competitor has),
    numpy ring buffer, epsilon-greedy with a torch forward pass, training and target copy on the same
    steps as rlbench and SB3 (train when ``step > learning_starts`` and ``step % train_freq == 0``)."""
    s = settings
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    env = gym.wrappers.RecordEpisodeStatistics(gym.make(ENV_ID))
    obs, _ = env.reset(seed=seed)
    obs_dim, n_actions = int(np.prod(env.observation_space.shape)), int(env.action_space.n)
    learner = BareLearner(s, obs_dim, n_actions)
    buffer = BareRingBuffer(s.buffer_size, obs_dim)
    decay_steps = s.exploration_fraction * s.schedule_steps
    stopwatch = Stopwatch(window)
    stopwatch.tick(0)
    for step in range(1, window.end + 1):
        epsilon = s.exploration_initial_eps + (s.exploration_final_eps - s.exploration_initial_eps) * min(1.0, (step - 1) / decay_steps)
        if step - 1 < s.learning_starts or rng.random() < epsilon:
            action = int(rng.integers(n_actions))
        else:
            with torch.inference_mode():
                action = int(learner.q_net(torch.from_numpy(obs).unsqueeze(0)).argmax())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        buffer.add(obs, action, float(reward), next_obs, bool(terminated))
        obs = env.reset()[0] if terminated or truncated else next_obs
        if step % s.target_update_interval == 0:
            learner.copy_target()
        if step > s.learning_starts and step % s.train_freq == 0:
            for _ in range(s.gradient_steps):
                learner.gradient_step(*buffer.sample(s.batch_size, rng))
        stopwatch.tick(step)
    env.close()
    return stopwatch.measurement()


def run_gradient_floor(settings: DQNSettings, window: TimingWindow, seed: int = 0) -> Measurement:
    """Only the window's gradient steps, on one fixed random batch: the speed if env stepping, acting,
    replay and target copies were free. Reported in env steps/s via ``gradient_steps_per_env_step``."""
    s = settings
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    obs_dim, n_actions = 4, 2  # CartPole-v1
    learner = BareLearner(s, obs_dim, n_actions)
    batch = (
        torch.randn(s.batch_size, obs_dim, generator=generator),
        torch.randint(0, n_actions, (s.batch_size,), generator=generator),
        torch.ones(s.batch_size),
        torch.randn(s.batch_size, obs_dim, generator=generator),
        (torch.rand(s.batch_size, generator=generator) < 0.05).float(),
    )
    for _ in range(50):  # warm up (first calls allocate)
        learner.gradient_step(*batch)
    n_gradient_steps = max(1, round(window.timed_steps * s.gradient_steps_per_env_step))
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n_gradient_steps):
        learner.gradient_step(*batch)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Measurement(round(n_gradient_steps / s.gradient_steps_per_env_step), cpu, wall)


# ---------------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------------


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def dqn_window(settings: DQNSettings, options: Options, timed_steps: int) -> TimingWindow:
    """Warm-up past ``learning_starts`` plus one aligned block; both boundaries aligned (see ``alignment``)."""
    align = settings.alignment
    warmup = round_up(settings.learning_starts + 1, align)
    timed = align if options.tiny else round_up(max(1, int(timed_steps * options.scale)), align)
    return TimingWindow(warmup, timed)


def dqn_group(settings: DQNSettings, options: Options, timed_steps: int) -> CompetitorGroup:
    """rlbench DQN, SB3 DQN, the bare loop and the gradient floor on one configuration."""
    notes: list[str] = check_against_params(rlbench_dqn_hyperparameters(settings)[0]) if settings.name == "rl_zoo" else []
    if options.tiny:
        # A structure check only: learning starts after 200 steps so the few timed steps include training.
        settings = dataclasses.replace(settings, learning_starts=min(settings.learning_starts, 200))
        notes.append("tiny mode: learning_starts lowered to at most 200; the numbers mean nothing")
    window = dqn_window(settings, options, timed_steps)
    # A run must not end before the window does (SB3 stops at its budget); schedules stay alike for all.
    settings = dataclasses.replace(settings, schedule_steps=max(settings.schedule_steps, window.end))
    rlbench_values, rlbench_notes = rlbench_dqn_hyperparameters(settings)
    notes += rlbench_notes
    if settings.loss != "huber" or settings.max_grad_norm != 10.0:
        notes.append("SB3 DQN always uses the Huber loss and clips the gradient norm (max_grad_norm 10): it cannot "
                     "follow this configuration's loss/clipping (benchmarks/profile_dqn.py shows what clipping costs)")
    if settings.learning_starts >= 1000:
        notes.append(f"timed window: steps {window.warmup_steps}..{window.end}, i.e. after learning_starts="
                     f"{settings.learning_starts} (prefill excluded, identical for every competitor); epsilon at "
                     f"the window is {_epsilon_at(settings, window.warmup_steps):.2f}..{_epsilon_at(settings, window.end):.2f}")
    sb3_values = settings.sb3_hyperparameters()
    competitors = [
        Competitor("rlbench", "rlbench DQNAgent via run_env_loop",
                   lambda: run_rlbench_online("dqn", rlbench_values, settings.schedule_steps, window)),
        Competitor("sb3", "SB3 DQN (built by rlbench's adapter, SB3 learn)",
                   lambda: run_sb3("sb3_dqn", sb3_values, settings.schedule_steps, window)),
        Competitor("bare", "hand-written bare loop (this file)", lambda: run_bare_dqn(settings, window)),
        Competitor("gradient_floor", f"gradient steps only ({settings.gradient_steps_per_env_step:g} per env step)",
                   lambda: run_gradient_floor(settings, window)),
    ]
    return CompetitorGroup(
        name=f"dqn_{settings.name}",
        title=f"DQN, {settings.name} CartPole-v1 settings",
        competitors=competitors,
        ratios=[("rlbench", "sb3"), ("rlbench", "bare"), ("rlbench", "gradient_floor"), ("bare", "gradient_floor"),
                ("sb3", "bare")],
        window=window,
        settings={**{k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(settings).items()},
                  "rlbench_hyperparameters": rlbench_values},
        notes=notes,
    )


def _epsilon_at(settings: DQNSettings, step: int) -> float:
    progress = min(1.0, step / (settings.exploration_fraction * settings.schedule_steps))
    return settings.exploration_initial_eps + (settings.exploration_final_eps - settings.exploration_initial_eps) * progress


def load_rlbench_params() -> Any:
    """``params.yaml`` of the rlbench checkout being measured (next to the imported package)."""
    import rlbench
    from rlbench.config.params import load_params

    return load_params(Path(rlbench.__file__).resolve().parents[1] / "params.yaml")


def check_against_params(rlbench_values: dict[str, Any]) -> list[str]:
    """Notes on any difference between ``RL_ZOO_CARTPOLE`` and ``params.yaml``'s ``algos.dqn`` for CartPole."""
    published = load_rlbench_params().algos["dqn"].for_env(ENV_ID)
    differ = sorted(k for k, v in published.items() if k in rlbench_values and list(np.atleast_1d(rlbench_values[k])) != list(np.atleast_1d(v)))
    return [f"differs from params.yaml algos.dqn.per_env.{ENV_ID}: {', '.join(differ)}"] if differ else []


def build_batched_dqn(hyperparameters: dict[str, Any], seeds: int, schedule_steps: int, env_id: str = ENV_ID,
                      vectorised_env: bool = True) -> tuple[Any, Any]:
    """``seeds`` seeds of rlbench DQN as one ``BatchedDQN`` (each seed built as its separate run would be) and
    their K environments, as a suite's ``batch_seeds`` builds them. ``vectorised_env=False`` steps K gymnasium
    environments instead of the numpy CartPole (which equals them float for float)."""
    from rlbench.agents.dqn_batched import BatchedDQN
    from rlbench.envs.seed_vector import make_seed_vector_env
    from rlbench.seeding import int_seed

    agents = [build_rlbench_agent("dqn", hyperparameters, schedule_steps, seed, env_id) for seed in range(seeds)]
    batched = BatchedDQN(agents[0].config, [agent.context for agent in agents])
    envs = make_seed_vector_env(env_id, [int_seed(c.seeds.env) for c in batched.contexts], vectorised_env)
    return batched, envs


def run_batched_dqn(hyperparameters: dict[str, Any], seeds: int, schedule_steps: int, window: TimingWindow,
                    vectorised_env: bool = True, env_id: str = ENV_ID) -> Measurement:
    """``seeds`` seeds of rlbench DQN trained at once (``BatchedDQN`` in ``run_batched_loop``, the code
    path of a suite's ``batch_seeds``); counts the env steps of every seed."""
    from rlbench.training.batched import run_batched_loop

    batched, envs = build_batched_dqn(hyperparameters, seeds, schedule_steps, env_id, vectorised_env)
    stopwatch = Stopwatch(window)
    run_batched_loop(batched, batched.contexts, [StopwatchMonitor(stopwatch)] * seeds, window.end, envs)
    one_seed = stopwatch.measurement()
    return Measurement(one_seed.env_steps * seeds, one_seed.cpu_s, one_seed.wall_s)


def run_batched_gradient_steps(hyperparameters: dict[str, Any], seeds: int, schedule_steps: int,
                               window: TimingWindow, env_id: str = ENV_ID) -> Measurement:
    """Only the gradient steps of ``seeds`` batched seeds (each ten-seed step samples every seed's replay
    minibatch, as in training): the batched mode's ceiling, its speed if stepping the environments,
    acting and storing transitions were free. The replay is filled by the real batched loop up to the
    window's start; the window's gradient steps are counted as the env steps of every seed they serve."""
    from rlbench.training.batched import run_batched_loop

    batched, envs = build_batched_dqn(hyperparameters, seeds, schedule_steps, env_id)
    idle = StopwatchMonitor(Stopwatch(window))  # the loop stops at the window's start: nothing is timed there
    run_batched_loop(batched, batched.contexts, [idle] * seeds, window.warmup_steps, envs)
    per_env_step = batched.gradient_steps / batched.config.train_freq
    n_gradient_steps = max(1, round(window.timed_steps * per_env_step))
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n_gradient_steps):
        batched.gradient_step()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Measurement(round(n_gradient_steps / per_env_step) * seeds, cpu, wall)


def run_separate_dqn(hyperparameters: dict[str, Any], seeds: int, schedule_steps: int, window: TimingWindow,
                     env_id: str = ENV_ID) -> Measurement:
    """``seeds`` separate rlbench DQN runs one after another; their timed windows summed."""
    from rlbench.training.loop import run_env_loop

    runs = []
    for seed in range(seeds):
        agent = build_rlbench_agent("dqn", hyperparameters, schedule_steps, seed, env_id)
        stopwatch = Stopwatch(window)
        run_env_loop(agent, window.end, StopwatchMonitor(stopwatch))
        runs.append(stopwatch.measurement())
    return Measurement(sum(r.env_steps for r in runs), sum(r.cpu_s for r in runs), sum(r.wall_s for r in runs))


def batched_seeds_group(settings: DQNSettings, options: Options, timed_steps: int, seeds: int = 10) -> CompetitorGroup:
    """K seeds of rlbench DQN batched in one process against K separate runs, on one core."""
    notes = []
    if options.tiny:
        settings = dataclasses.replace(settings, learning_starts=min(settings.learning_starts, 200))
        seeds = 3
        notes.append("tiny mode: 3 seeds, learning_starts lowered to at most 200; the numbers mean nothing")
    window = dqn_window(settings, options, timed_steps)
    settings = dataclasses.replace(settings, schedule_steps=max(settings.schedule_steps, window.end))
    values, value_notes = rlbench_dqn_hyperparameters(settings)
    notes += value_notes + [f"env steps/s count all {seeds} seeds; the timed window is steps "
                            f"{window.warmup_steps}..{window.end} of every seed"]
    return CompetitorGroup(
        name=f"batched_seeds_{settings.name}",
        title=f"{seeds} seeds of rlbench DQN: batched vs separate runs, {settings.name} CartPole-v1 settings",
        competitors=[
            Competitor("batched", f"{seeds} seeds in one BatchedDQN (stacked weights, baddbmm), numpy CartPole",
                       lambda: run_batched_dqn(values, seeds, settings.schedule_steps, window)),
            Competitor("batched_gym_envs", f"the same with {seeds} gymnasium CartPole environments",
                       lambda: run_batched_dqn(values, seeds, settings.schedule_steps, window, vectorised_env=False)),
            Competitor("separate", f"{seeds} separate DQNAgent runs",
                       lambda: run_separate_dqn(values, seeds, settings.schedule_steps, window)),
            Competitor("batched_gradient_only", f"the batched gradient steps alone ({seeds} seeds; env, acting and "
                       "replay writes free): the batched mode's ceiling",
                       lambda: run_batched_gradient_steps(values, seeds, settings.schedule_steps, window)),
        ],
        ratios=[("batched", "separate"), ("batched_gym_envs", "separate"), ("batched", "batched_gym_envs"),
                ("batched_gradient_only", "separate"), ("batched", "batched_gradient_only")],
        window=window,
        settings={"seeds": seeds, "rlbench_hyperparameters": values},
        notes=notes,
    )


def after_learning_starts(learning_starts: int, options: Options, timed_steps: int) -> TimingWindow:
    """The pixel groups' window: ``timed_steps`` (scaled) from 1,000 steps after learning starts; 200 in tiny mode."""
    if options.tiny:
        return TimingWindow(200, 200)
    return TimingWindow(learning_starts + 1000, int(timed_steps * options.scale))


def pixel_dqn_group(name: str, suite: str, env_id: str, algos: tuple[str, str], options: Options,
                    timed_steps: int) -> CompetitorGroup:
    """In-house DQN against SB3 DQN from pixels, both with a suite's ``params.yaml`` settings (the same values:
    network, replay size, batch, training frequency, target period), timed after learning has started."""
    params = load_rlbench_params()
    entries = [params.algos[a] for a in algos]
    values = [entry.for_env(env_id) for entry in entries]
    starts = [v.get("learning_starts", v.get("algo_kwargs", {}).get("learning_starts")) for v in values]
    notes = [f"timed after learning_starts ({starts[0]} steps): replay sampling and gradient steps included"]
    if options.tiny:
        values = [dict(v) for v in values]
        values[0]["learning_starts"] = 100
        values[1] = {**values[1], "algo_kwargs": {**values[1]["algo_kwargs"], "learning_starts": 100}}
        notes = ["tiny mode: learning_starts 100, a few hundred steps; the numbers mean nothing"]
    window = after_learning_starts(int(starts[0]), options, timed_steps)
    schedule_steps = max(params.suites[suite].budget[env_id], window.end)
    return CompetitorGroup(
        name=name,
        title=f"DQN from pixels: rlbench vs SB3 on {env_id}, `{suite}` suite settings",
        competitors=[
            Competitor("rlbench", entries[0].label,
                       lambda: run_rlbench_online(entries[0].agent, values[0], schedule_steps, window, env_id)),
            Competitor("sb3", entries[1].label,
                       lambda: run_sb3(entries[1].agent, values[1], schedule_steps, window, env_id)),
        ],
        ratios=[("rlbench", "sb3")],
        window=window,
        settings={"env": env_id, "suite": suite, "schedule_steps": schedule_steps,
                  "algos": {a: {"agent": e.agent, "hyperparameters": v} for a, e, v in zip(algos, entries, values)}},
        notes=notes,
    )


def batched_seeds_minatar_group(options: Options, timed_steps: int) -> CompetitorGroup:
    """The ``minatar`` suite's in-house DQN (MinAtar CNN, centred RMSProp), its seeds batched (grouped
    convolutions) against separate runs, on MinAtar Breakout."""
    params = load_rlbench_params()
    env_id, entry = "MinAtar-Breakout-v0", params.algos["dqn_minatar"]
    values = dict(entry.for_env(env_id))
    seeds = len(params.suites["minatar"].seeds)
    notes = [f"timed after learning_starts ({values['learning_starts']} steps); env steps/s count all {seeds} seeds"]
    if options.tiny:
        values["learning_starts"], seeds = 100, 3
        notes = ["tiny mode: 3 seeds, learning_starts 100, a few hundred steps; the numbers mean nothing"]
    window = after_learning_starts(int(values["learning_starts"]), options, timed_steps)
    schedule_steps = max(params.suites["minatar"].budget[env_id], window.end)
    return CompetitorGroup(
        name="batched_seeds_minatar",
        title=f"{seeds} seeds of rlbench DQN on {env_id}: batched (grouped convolutions) vs separate, `minatar` settings",
        competitors=[
            Competitor("batched", f"{seeds} seeds in one BatchedDQN (grouped convolutions, stacked dense layers)",
                       lambda: run_batched_dqn(values, seeds, schedule_steps, window, env_id=env_id)),
            Competitor("separate", f"{seeds} separate DQNAgent runs",
                       lambda: run_separate_dqn(values, seeds, schedule_steps, window, env_id=env_id)),
        ],
        ratios=[("batched", "separate")],
        window=window,
        settings={"env": env_id, "seeds": seeds, "schedule_steps": schedule_steps, "rlbench_hyperparameters": values},
        notes=notes,
    )


GroupBuilder = Callable[[Options], CompetitorGroup]

GROUP_BUILDERS: dict[str, GroupBuilder] = {
    # Timed windows sized for ~10-20 CPU s per competitor and repetition on a slow 2-core machine.
    "dqn_rl_zoo": lambda options: dqn_group(RL_ZOO_CARTPOLE, options, timed_steps=12_800),
    "dqn_cleanrl": lambda options: dqn_group(CLEANRL_CARTPOLE, options, timed_steps=50_000),
    "batched_seeds_rl_zoo": lambda options: batched_seeds_group(RL_ZOO_CARTPOLE, options, timed_steps=2_560),
    "batched_seeds_cleanrl": lambda options: batched_seeds_group(CLEANRL_CARTPOLE, options, timed_steps=10_000),
    "dqn_minatar": lambda options: pixel_dqn_group("dqn_minatar", "minatar", "MinAtar-Breakout-v0",
                                                   ("dqn_minatar", "sb3_dqn_minatar"), options, timed_steps=8_000),
    "dqn_atari": lambda options: pixel_dqn_group("dqn_atari", "atari-mini", "Atari-Pong-v0",
                                                 ("dqn_atari", "sb3_dqn_atari"), options, timed_steps=1_000),
    "batched_seeds_minatar": lambda options: batched_seeds_minatar_group(options, timed_steps=4_000),
}
"""Every comparison, in run order. A new one is a builder returning a ``CompetitorGroup`` plus one line here."""


# ---------------------------------------------------------------------------------------------
# Running and summarising
# ---------------------------------------------------------------------------------------------


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
                print(f"  rep {rep + 1}/{repetitions} {group.name:<18} {competitor.name:<20} {m.steps_per_s:>10.0f} steps/s"
                      f"  ({m.env_steps} steps, {m.cpu_s:.1f} CPU s, CPU share {m.cpu_s / m.wall_s:.2f})", flush=True)
    return results


def spread(values: Sequence[float], digits: int) -> dict[str, Any]:
    """Median, min, max and quartiles (inclusive method) of ``values``, rounded."""
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values[0],) * 3
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "q1": round(q1, digits), "q3": round(q3, digits),
            "per_repetition": [round(v, digits) for v in values]}


def summarise(group: CompetitorGroup, measurements: dict[str, list[Measurement]]) -> dict[str, Any]:
    competitors = {}
    for c in group.competitors:
        ms = measurements[c.name]
        competitors[c.name] = {
            "label": c.label,
            "steps_per_s": spread([m.steps_per_s for m in ms], 1),
            "timed_env_steps": ms[0].env_steps,
            "cpu_s": spread([m.cpu_s for m in ms], 2),
            "cpu_share_median": round(statistics.median(m.cpu_s / m.wall_s for m in ms), 2),
        }
    ratios = {}
    for numerator, denominator in group.ratios:
        per_rep = [a.steps_per_s / b.steps_per_s for a, b in zip(measurements[numerator], measurements[denominator])]
        ratios[f"{numerator} / {denominator}"] = spread(per_rep, 3)
    return {"title": group.title, "window": dataclasses.asdict(group.window), "settings": group.settings,
            "notes": group.notes, "competitors": competitors, "ratios": ratios}


def processor() -> dict[str, Any]:
    """Model name, family and model from /proc/cpuinfo (no host name, no serials)."""
    info: dict[str, Any] = {"machine": platform.machine()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model") and key not in info:
                info[key] = value.strip()
        info["logical_cpus"] = sum(1 for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("processor"))
    except OSError:
        info["model name"] = platform.processor() or "unknown"
    return info


def versions() -> dict[str, str]:
    import stable_baselines3

    import rlbench

    source = Path(rlbench.__file__).resolve().parents[1]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=source, capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "rlbench"], cwd=source, capture_output=True, text=True, check=False).stdout.strip()
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "stable_baselines3": stable_baselines3.__version__, "gymnasium": gym.__version__,
            "rlbench_commit": (commit or "unknown") + (" + uncommitted changes in rlbench/" if dirty else "")}


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables."""
    cpu = report["processor"]
    lines = ["# Training speed (env steps per CPU second, 1 torch thread)", "",
             f"Processor: {cpu.get('model name')} (family {cpu.get('cpu family')}, model {cpu.get('model')}, "
             f"{cpu.get('logical_cpus')} logical CPUs). "
             + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".", "",
             (f"{report['settings']['repetitions']} interleaved repetitions (order rotated each repetition), CPU time "
              "(`time.process_time`), one process. Spread: min-max and IQR over repetitions; ratios are computed per "
              "repetition. CPU share = CPU time / wall time (below 1 when other jobs shared the machine)."), ""]
    if report["settings"]["tiny"]:
        lines += ["**Tiny mode: a structure check; these numbers mean nothing.**", ""]
    for name, group in report["groups"].items():
        w = group["window"]
        lines += [f"## {group['title']} (`{name}`)", "",
                  f"Timed window: env steps {w['warmup_steps']}..{w['warmup_steps'] + w['timed_steps']} of each run.", "",
                  "| competitor | median steps/s | min-max | IQR | CPU share |", "|---|---:|---:|---:|---:|"]
        for c in group["competitors"].values():
            s = c["steps_per_s"]
            lines.append(f"| {c['label']} | {s['median']:,.0f} | {s['min']:,.0f}-{s['max']:,.0f} | "
                         f"{s['q1']:,.0f}-{s['q3']:,.0f} | {c['cpu_share_median']:.2f} |")
        lines += ["", "| ratio of steps/s | median | min-max | IQR |", "|---|---:|---:|---:|"]
        for ratio, s in group["ratios"].items():
            lines.append(f"| {ratio} | {s['median']:.2f} | {s['min']:.2f}-{s['max']:.2f} | {s['q1']:.2f}-{s['q3']:.2f} |")
        lines += [""] + [f"- {note}" for note in group["notes"]] + ([""] if group["notes"] else [])
        if "source" in group["settings"]:
            lines += [f"Settings source: {group['settings']['source']}.", ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks"), help="folder of speed.json and speed.md")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5; 2 with --tiny)")
    parser.add_argument("--tiny", action="store_true", help="a few hundred steps per competitor: structure check")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every timed window by this")
    parser.add_argument("--groups", nargs="+", choices=list(GROUP_BUILDERS), default=list(GROUP_BUILDERS))
    args = parser.parse_args(argv)
    repetitions = args.reps if args.reps is not None else (2 if args.tiny else 5)
    torch.set_num_threads(1)  # as rlbench runs train; small networks gain nothing from threads

    import rlbench

    print(f"rlbench imported from {Path(rlbench.__file__).resolve().parent}")
    options = Options(tiny=args.tiny, scale=args.scale)
    groups = [GROUP_BUILDERS[name](options) for name in args.groups]
    results = run_repetitions(groups, repetitions)
    report = {
        "benchmark": "training speed: environment steps per CPU second",
        "processor": processor(),
        "versions": versions(),
        "settings": {"repetitions": repetitions, "tiny": args.tiny, "scale": args.scale, "torch_threads": torch.get_num_threads(),
                     "clock": "time.process_time (CPU time of this process)", "order": "rotated by one each repetition",
                     "env": ENV_ID},
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
