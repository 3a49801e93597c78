"""The tight bare loop: DQN as a short plain script would write it, with rlbench's own speed measures.

It is the yardstick of rlbench's DQN (goal: rlbench at least 0.95 of it), so it must be as lean as rlbench is
allowed to be: it acts in numpy (the Q-network's weights read as numpy views, as rlbench acts through
:mod:`rlbench.nets.numpy_forward`), and learns on the same optimiser path (rlbench's ``LeanAdam``: the fused Adam
kernel without ``torch.optim``'s per-step Python; the gradient-norm clip with ``foreach``; the target copy with
``torch._foreach_copy_``). What it leaves out is rlbench's generality: the agent interface, the monitor, the
transition records, the replay classes, config validation. It steps the environment rlbench steps (``make_env``).
The schedule is rlbench's: act at random before ``learning_starts``, then epsilon-greedy with epsilon decaying
linearly over ``exploration_fraction`` of the budget; train when ``step > learning_starts`` and
``step % train_freq == 0``; copy the target every ``target_update_interval`` steps.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speedbench.harness import ENV_ID, Measurement, Stopwatch, TimingWindow
from speedbench.settings import DQNRun


def mlp(input_dim: int, output_dim: int, hidden: list[int]) -> nn.Sequential:
    """A ReLU MLP, float32."""
    layers: list[nn.Module] = []
    previous = input_dim
    for size in hidden:
        layers += [nn.Linear(previous, size), nn.ReLU()]
        previous = size
    layers.append(nn.Linear(previous, output_dim))
    return nn.Sequential(*layers)


class Learner:
    """Online and target Q-networks, the optimiser rlbench's DQN uses for ``adam``, and one gradient step."""

    def __init__(self, values: dict[str, Any], obs_dim: int, n_actions: int) -> None:
        from rlbench.nets.optimizers import LeanAdam

        if values["optimizer"] != "adam" or values["network"] != "mlp" or values["double_dqn"]:
            raise ValueError("the bare loop covers the MLP DQN with Adam (the CartPole groups)")
        self.values = values
        self.q_net = mlp(obs_dim, n_actions, values["net_arch"])
        self.target_net = mlp(obs_dim, n_actions, values["net_arch"]).requires_grad_(False)
        self.online = list(self.q_net.parameters())
        self.target = list(self.target_net.parameters())
        torch._foreach_copy_(self.target, self.online)
        self.optimizer = LeanAdam(self.online, values["learning_rate"])
        self.loss = F.mse_loss if values["loss"] == "mse" else F.smooth_l1_loss
        linears = [m for m in self.q_net if isinstance(m, nn.Linear)]
        # numpy views of the weights: the optimiser updates them in place, so acting always sees the current net
        self.layers = [(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in linears]

    def greedy(self, obs: np.ndarray) -> int:
        x = obs.astype(np.float32, copy=False)
        last = len(self.layers) - 1
        for i, (weight_t, bias) in enumerate(self.layers):
            x = x @ weight_t + bias
            if i < last:
                np.maximum(x, 0.0, out=x)
        return int(np.argmax(x))

    def gradient_step(self, obs: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                      next_obs: torch.Tensor, terminated: torch.Tensor) -> None:
        v = self.values
        with torch.no_grad():
            targets = rewards + v["gamma"] * (1.0 - terminated) * self.target_net(next_obs).max(dim=1).values
        q = self.q_net(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = self.loss(q, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if v["max_grad_norm"] is not None:
            torch.nn.utils.clip_grad_norm_(self.online, v["max_grad_norm"], foreach=True)
        self.optimizer.step()

    def copy_target(self) -> None:
        torch._foreach_copy_(self.target, self.online)


class RingBuffer:
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
        self.obs[i], self.next_obs[i], self.actions[i] = obs, next_obs, action
        self.rewards[i], self.terminated[i] = reward, terminated
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        idx = rng.integers(0, self.size, size=batch_size)
        return tuple(torch.from_numpy(a[idx]) for a in (self.obs, self.actions, self.rewards, self.next_obs,
                                                         self.terminated))


def run_bare_dqn(run: DQNRun, window: TimingWindow, seed: int = 0) -> Measurement:
    """The tight bare loop over ``window`` (of a run laid out over ``run.budget`` steps)."""
    from rlbench.envs.registry import make_env

    v = run.values
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    env = make_env(ENV_ID, seed)
    obs, _ = env.reset()
    obs_dim, n_actions = int(np.prod(env.observation_space.shape)), int(env.action_space.n)
    learner = Learner(v, obs_dim, n_actions)
    buffer = RingBuffer(v["buffer_size"], obs_dim)
    starts, train_freq, target_every = v["learning_starts"], v["train_freq"], v["target_update_interval"]
    gradient_steps = train_freq if v["gradient_steps"] == -1 else v["gradient_steps"]
    initial, final = v["exploration_initial_eps"], v["exploration_final_eps"]
    decay = v["exploration_fraction"] * run.budget
    batch_size = v["batch_size"]
    stopwatch = Stopwatch(window)
    stopwatch.tick(0)
    for step in range(1, window.end + 1):
        done = step - 1
        epsilon = final if decay <= 0 else initial + (final - initial) * min(1.0, done / decay)
        if done < starts or rng.random() < epsilon:
            action = int(rng.integers(n_actions))
        else:
            action = learner.greedy(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        buffer.add(obs, action, float(reward), next_obs, bool(terminated))
        obs = env.reset()[0] if terminated or truncated else next_obs
        if step % target_every == 0:
            learner.copy_target()
        if step > starts and step % train_freq == 0:
            for _ in range(gradient_steps):
                learner.gradient_step(*buffer.sample(batch_size, rng))
        stopwatch.tick(step)
    env.close()
    return stopwatch.measurement()


def run_gradient_floor(run: DQNRun, window: TimingWindow, seed: int = 0) -> Measurement:
    """Only the gradient steps a run of ``window`` takes, on one fixed random batch: the speed if env stepping,
    acting, replay and target copies were free. Reported in env steps/s (the env steps those gradient steps serve)."""
    v = run.values
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    obs_dim, n_actions = 4, 2  # CartPole-v1
    learner = Learner(v, obs_dim, n_actions)
    size = v["batch_size"]
    batch = (torch.randn(size, obs_dim, generator=generator), torch.randint(0, n_actions, (size,), generator=generator),
             torch.ones(size), torch.randn(size, obs_dim, generator=generator),
             (torch.rand(size, generator=generator) < 0.05).float())
    for _ in range(50):  # warm up (first calls allocate)
        learner.gradient_step(*batch)
    trained_steps = max(1, window.end - max(window.warmup_steps, v["learning_starts"]))
    n_gradient_steps = max(1, round(trained_steps * run.gradient_steps_per_env_step))
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n_gradient_steps):
        learner.gradient_step(*batch)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return Measurement(window.timed_steps, cpu, wall)
