"""Deep Q-Network (Mnih et al. 2015, "Human-level control through deep reinforcement learning").

A Q-network is regressed (Huber or squared TD error, ``loss``) onto one-step TD targets computed
by a periodically hard-copied target network, from minibatches drawn uniformly out of a replay buffer; actions are
epsilon-greedy with epsilon decayed linearly. ``double_dqn=True`` selects the next action with the
online network and evaluates it with the target network (van Hasselt, Guez & Silver 2016,
"Deep Reinforcement Learning with Double Q-learning").

Hyperparameter names and meanings follow Stable-Baselines3's DQN, so rl-baselines3-zoo settings
map over one to one. As in SB3, actions are uniformly random until ``learning_starts`` steps.

Speed (see ``benchmarks/speed.py``): greedy actions are computed in numpy on live views of the network's
weights (:mod:`rlbench.nets.numpy_forward`; a one-observation torch forward pass costs ~40 us of dispatch
per layer call against a few microseconds of arithmetic),
and the target copy and gradient clipping use torch's multi-tensor (``foreach``) kernels.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
from rlbench.nets.numpy_forward import numpy_forward
from rlbench.nets.optimizers import LeanAdam
from rlbench.nets.registry import build_network
from rlbench.replay.buffer import REPLAY_STORAGES, ReplayBuffer
from rlbench.seeding import generator


def td_targets(rewards: torch.Tensor, next_q_target: torch.Tensor, terminated: torch.Tensor, gamma: float) -> torch.Tensor:
    """One-step Q-learning targets ``r + gamma * (1 - terminated) * max_a' Q_target(s', a')``.

    ``rewards`` and ``terminated`` have shape (batch,), ``next_q_target`` (batch, n_actions).
    """
    not_done = 1.0 - terminated.to(rewards.dtype)
    return rewards + gamma * not_done * next_q_target.max(dim=1).values


def double_dqn_targets(
    rewards: torch.Tensor,
    next_q_online: torch.Tensor,
    next_q_target: torch.Tensor,
    terminated: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """Double-DQN targets ``r + gamma * (1 - terminated) * Q_target(s', argmax_a' Q_online(s', a'))``."""
    not_done = 1.0 - terminated.to(rewards.dtype)
    best = next_q_online.argmax(dim=1, keepdim=True)
    return rewards + gamma * not_done * next_q_target.gather(1, best).squeeze(1)


TD_LOSSES = {"huber": F.smooth_l1_loss, "mse": F.mse_loss}
"""The TD losses ``DQNConfig.loss`` may name: Huber (Mnih et al. 2015 clip the error's gradient to
[-1, 1], which the Huber loss with delta 1 does; SB3's choice) or the mean squared error (CleanRL's
``dqn.py``)."""


def td_loss(q: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """The mean ``kind`` loss (a key of :data:`TD_LOSSES`) between Q-values and their TD targets."""
    return TD_LOSSES[kind](q, targets)


OPTIMIZERS = {
    # torch's fused Adam kernel (~2.5x faster than the per-tensor loop on CPU), called without the per-step Python.
    "adam": LeanAdam,
    # Centred RMSProp with MinAtar's constants (Young & Tian 2019, examples/dqn.py: alpha 0.95, eps 0.01).
    "rmsprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr, alpha=0.95, eps=0.01, centered=True, foreach=True),
}
"""The optimisers ``DQNConfig.optimizer`` may name: Adam (SB3, CleanRL) or centred RMSProp (MinAtar's DQN)."""


def linear_epsilon(step: int, initial: float, final: float, decay_steps: float) -> float:
    """Epsilon after ``step`` steps, moving linearly from ``initial`` to ``final`` over ``decay_steps``."""
    if decay_steps <= 0:
        return final
    return initial + (final - initial) * min(1.0, step / decay_steps)


def greedy_action(q_net: torch.nn.Module, obs: np.ndarray) -> int:
    """argmax_a Q(obs, a), consuming no randomness."""
    with torch.inference_mode():
        q = q_net(torch.as_tensor(obs).unsqueeze(0))
    return int(q.argmax(dim=1).item())


def greedy_actor(q_net: torch.nn.Module) -> Callable[[np.ndarray], int]:
    """``obs -> argmax_a Q(obs, a)`` for ``q_net``: in numpy where :mod:`rlbench.nets.numpy_forward` mirrors
    the network (MLPs, the CNNs), else a torch forward pass."""
    forward = numpy_forward(q_net)
    if forward is None:
        return lambda obs: greedy_action(q_net, obs)
    return lambda obs: int(np.argmax(forward(obs)))


class GreedyQPolicy:
    """The evaluation policy: greedy actions of a Q-network snapshot."""

    def __init__(self, q_net: torch.nn.Module) -> None:
        self.q_net = q_net
        self.act = greedy_actor(q_net)

    def reset(self) -> None:
        pass


@dataclass(frozen=True)
class DQNConfig:
    """DQN hyperparameters (defaults are Stable-Baselines3's, except ``net_arch``)."""

    learning_rate: float = 1e-4
    """Optimiser step size."""
    batch_size: int = 32
    """Transitions per gradient step."""
    buffer_size: int = 1_000_000
    """Replay capacity in transitions."""
    learning_starts: int = 100
    """Environment steps of uniformly random actions before the first gradient step."""
    gamma: float = 0.99
    """Discount factor."""
    target_update_interval: int = 10_000
    """Environment steps between hard copies of the online network into the target network."""
    train_freq: int = 4
    """Environment steps between two training phases."""
    gradient_steps: int = 1
    """Gradient steps per training phase; -1 means as many as ``train_freq``."""
    exploration_fraction: float = 0.1
    """Fraction of the training budget over which epsilon decays linearly."""
    exploration_initial_eps: float = 1.0
    """Epsilon at the start of the decay."""
    exploration_final_eps: float = 0.05
    """Epsilon after the decay."""
    max_grad_norm: float | None = 10.0
    """Clip the global gradient norm to this value (None: no clipping, as in CleanRL's ``dqn.py``)."""
    loss: str = "huber"
    """TD loss, a key of ``TD_LOSSES``: ``huber`` (SB3, Mnih et al. 2015) or ``mse`` (CleanRL's ``dqn.py``)."""
    optimizer: str = "adam"
    """Optimiser, a key of ``OPTIMIZERS``: ``adam`` or ``rmsprop`` (centred, MinAtar's constants)."""
    double_dqn: bool = False
    """Use Double-DQN targets (van Hasselt et al. 2016)."""
    network: str = "mlp"
    """Q-network architecture, a name in ``rlbench.nets.registry.NETWORKS``."""
    net_arch: tuple[int, ...] = (256, 256)
    """Hidden layer sizes of the Q-network (the dense layers after a CNN's convolutions)."""
    replay_storage: str = "vector"
    """Replay storage, a key of ``rlbench.replay.buffer.REPLAY_STORAGES``: ``vector`` (every field of every
    transition) or ``frames`` (stacked uint8 frames, each frame stored once: Atari)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "net_arch", tuple(int(h) for h in self.net_arch))
        for name in ("batch_size", "buffer_size", "target_update_interval", "train_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.gradient_steps < 1 and self.gradient_steps != -1:
            raise ValueError(f"gradient_steps must be positive or -1, got {self.gradient_steps}")
        if not 0.0 <= self.exploration_fraction <= 1.0:
            raise ValueError(f"exploration_fraction must be in [0, 1], got {self.exploration_fraction}")
        for name, choices in (("loss", TD_LOSSES), ("optimizer", OPTIMIZERS), ("replay_storage", REPLAY_STORAGES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")


class DQNAgent(OnlineAgent):
    """DQN / Double DQN for Discrete action spaces."""

    Config = DQNConfig
    supports_checkpoint = True

    def __init__(self, config: DQNConfig, context: AgentContext) -> None:
        super().__init__(config, context)
        if not isinstance(context.action_space, gym.spaces.Discrete):
            raise ValueError(f"DQN needs a Discrete action space, got {context.action_space}")
        self.n_actions = int(context.action_space.n)
        self.q_net = build_network(config.network, context.observation_space, self.n_actions, config.net_arch, context.seeds.network)
        self.target_net = copy.deepcopy(self.q_net)
        self.target_net.requires_grad_(False)
        self.online_parameters = list(self.q_net.parameters())
        self.target_parameters = list(self.target_net.parameters())
        self.greedy = greedy_actor(self.q_net)
        self.optimizer = OPTIMIZERS[config.optimizer](self.q_net.parameters(), config.learning_rate)
        self.replay = ReplayBuffer(config.buffer_size, context.observation_space, context.action_space,
                                   generator(context.seeds.replay), config.replay_storage)
        self.rng = generator(context.seeds.exploration)
        self.gradient_steps = config.train_freq if config.gradient_steps == -1 else config.gradient_steps
        self.num_timesteps = 0
        """Transitions observed so far (drives warm-up and the epsilon schedule)."""
        self.num_gradient_steps = 0
        """Gradient steps taken so far."""
        self.last_loss = float("nan")
        """Loss of the latest gradient step (for logging)."""

    @property
    def epsilon(self) -> float:
        """The current exploration rate."""
        c = self.config
        decay_steps = c.exploration_fraction * self.context.total_steps
        return linear_epsilon(self.num_timesteps, c.exploration_initial_eps, c.exploration_final_eps, decay_steps)

    def act(self, obs: np.ndarray, explore: bool) -> int:
        if explore and (self.num_timesteps < self.config.learning_starts or self.rng.random() < self.epsilon):
            return int(self.rng.integers(self.n_actions))
        return self.greedy(obs)

    def evaluation_policy(self) -> GreedyQPolicy:
        """Greedy actions of a copy of the online Q-network."""
        return GreedyQPolicy(copy.deepcopy(self.q_net))

    @property
    def discount(self) -> float:
        """The discount the Q-values are defined under (for the distance to Q* on known models)."""
        return self.config.gamma

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """``(n, actions)`` Q-values of the online network for a batch of observations."""
        with torch.no_grad():
            return self.q_net(torch.as_tensor(observations)).numpy().astype(np.float64)

    def observe(self, transition: Transition) -> None:
        self.replay.add(transition.obs, transition.action, transition.reward, transition.next_obs, transition.terminated)
        self.num_timesteps += 1

    def update(self, step: int) -> None:
        c = self.config
        if step % c.target_update_interval == 0:
            torch._foreach_copy_(self.target_parameters, self.online_parameters)
        if step > c.learning_starts and step % c.train_freq == 0:
            for _ in range(self.gradient_steps):
                self.last_loss = self.gradient_step()

    def gradient_step(self) -> float:
        """One Adam step on the TD loss of a replay minibatch; returns the loss."""
        c = self.config
        batch = self.replay.sample(c.batch_size)
        with torch.no_grad():
            next_q_target = self.target_net(batch.next_observations)
            if c.double_dqn:
                next_q_online = self.q_net(batch.next_observations)
                targets = double_dqn_targets(batch.rewards, next_q_online, next_q_target, batch.terminated, c.gamma)
            else:
                targets = td_targets(batch.rewards, next_q_target, batch.terminated, c.gamma)
        q = self.q_net(batch.observations).gather(1, batch.actions.unsqueeze(1)).squeeze(1)
        loss = td_loss(q, targets, c.loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.online_parameters, c.max_grad_norm, foreach=True)
        self.optimizer.step()
        self.num_gradient_steps += 1
        return float(loss.item())

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimiser, replay, exploration RNG and counters; tensors and plain Python only."""
        learner = copy.deepcopy(
            {
                "q_net": self.q_net.state_dict(),
                "target_net": self.target_net.state_dict(),
                "optimizer": self.optimizer.state_dict(),
            }
        )
        return {
            **learner,
            "replay": self.replay.state_dict(),
            "exploration_rng": self.rng.bit_generator.state,
            "num_timesteps": self.num_timesteps,
            "num_gradient_steps": self.num_gradient_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q_net.load_state_dict(state["q_net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.replay.load_state_dict(state["replay"])
        self.rng.bit_generator.state = state["exploration_rng"]
        self.num_timesteps = int(state["num_timesteps"])
        self.num_gradient_steps = int(state["num_gradient_steps"])
