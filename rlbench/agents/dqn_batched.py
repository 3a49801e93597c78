"""K seeds of DQN trained at once: the arithmetic of :mod:`rlbench.agents.dqn`, batched over seeds.

Each seed keeps everything a separate run has: its own Q-network initialised from its own
``network`` stream, its own replay buffer sampled with its own ``replay`` stream, its own
epsilon-greedy exploration stream (drawn a block at a time, :class:`ExplorationDraws`) and its own
environment. What is shared is the arithmetic: the K networks' weights are stacked along a leading
seed axis, so one batched matrix product (``torch.baddbmm``) or grouped convolution does the
forward and backward pass of all K seeds, and one optimiser step updates them all. Adam and
RMSProp are elementwise and each seed's loss touches only its own slice, so every seed follows the
same update rule as a separate run; gradient clipping is done per seed (each seed's global norm
over its own slices). Batched products round differently from unbatched ones,
so the batched mode is part of a run's identity (:data:`rlbench.config.plan.EXECUTION_MODES`).

The parts, each in its layer: the stacked networks and per-seed gradient clipping are
:mod:`rlbench.nets.stacked` (the ``mlp``, acting in numpy, and the CNNs as grouped convolutions), the K
replay buffers :class:`rlbench.replay.stacked.SeedStackedReplay` (the ``vector`` storage only: each seed's
frame-stack storage is not batched, so Atari runs train each seed alone), the K-seed environment loop
:func:`rlbench.training.batched.run_batched_loop`. This module holds the agent and its exploration draws.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch

from rlbench.agents.base import AgentContext
from rlbench.agents.dqn import (OPTIMIZERS, TD_LOSSES, DQNConfig, GreedyQPolicy, double_dqn_targets, linear_epsilon,
                                td_targets)
from rlbench.nets.registry import build_network
from rlbench.nets.stacked import StackedConvNetwork, StackedMLP, clip_grad_norm_per_seed_, stacked_forward_numpy
from rlbench.replay.stacked import SeedStackedReplay
from rlbench.seeding import generator


class SeedGreedyPolicy:
    """The evaluation policy of one seed: greedy actions of a copy of that seed's weights."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.layers = layers

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        return int(np.argmax(stacked_forward_numpy(self.layers, np.asarray(obs)[None])[0]))


class ExplorationDraws:
    """Each seed's epsilon-greedy draws, taken from its own stream in blocks: per step a uniform (explore
    if below epsilon) and a uniform random action, for every seed at once.

    A separate run draws one uniform per step and a random action only when it explores; drawing both
    every step, a block at a time, costs one numpy call per seed per ``block`` steps instead of one or
    two per seed per step. Seed ``k``'s draws still depend on its own stream alone.
    """

    def __init__(self, rngs: Sequence[np.random.Generator], n_actions: int, block: int = 1024) -> None:
        self.rngs, self.n_actions, self.block = list(rngs), n_actions, block
        self.uniforms = np.empty((block, len(self.rngs)))
        self.actions = np.empty((block, len(self.rngs)), dtype=np.int64)
        self.cursor = block

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        """This step's (K,) uniforms and (K,) random actions."""
        if self.cursor == self.block:
            for k, rng in enumerate(self.rngs):
                self.uniforms[:, k] = rng.random(self.block)
                self.actions[:, k] = rng.integers(self.n_actions, size=self.block)
            self.cursor = 0
        t = self.cursor
        self.cursor += 1
        return self.uniforms[t], self.actions[t].copy()


class BatchedDQN:
    """DQN for K seeds at once (one config, one context per seed)."""

    NETWORKS: dict[str, type[torch.nn.Module]] = {"mlp": StackedMLP, "minatar_cnn": StackedConvNetwork,
                                                   "nature_cnn": StackedConvNetwork}
    """The networks it stacks, and how."""

    @classmethod
    def check_config(cls, config: DQNConfig) -> None:
        """Raise a ValueError for a config this batched implementation cannot train."""
        if config.network not in cls.NETWORKS:
            raise ValueError(f"batched DQN supports the networks {', '.join(cls.NETWORKS)}, got {config.network!r}")
        if config.replay_storage != "vector":
            raise ValueError(f"batched DQN supports replay_storage vector only, got {config.replay_storage!r}")

    def __init__(self, config: DQNConfig, contexts: Sequence[AgentContext]) -> None:
        self.check_config(config)
        action_space = contexts[0].action_space
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(f"DQN needs a Discrete action space, got {action_space}")
        self.config = config
        self.contexts = list(contexts)
        self.k = len(contexts)
        self.n_actions = int(action_space.n)
        self.total_steps = contexts[0].total_steps
        networks = [build_network(config.network, c.observation_space, self.n_actions, config.net_arch, c.seeds.network)
                    for c in contexts]
        stacked = self.NETWORKS[config.network]
        self.q_net = stacked(networks)
        self.target_net = stacked(networks)
        self.target_net.requires_grad_(False)
        self.evaluation_network = networks[0]
        """A separate network of the architecture, which evaluation copies a seed's weights into."""
        self.online_parameters = list(self.q_net.parameters())
        self.target_parameters = list(self.target_net.parameters())
        self.optimizer = OPTIMIZERS[config.optimizer](self.online_parameters, config.learning_rate)
        self.replay = SeedStackedReplay(self.k, config.buffer_size, contexts[0].observation_space,
                                        [generator(c.seeds.replay) for c in contexts])
        self.exploration = ExplorationDraws([generator(c.seeds.exploration) for c in contexts], self.n_actions)
        self.layers = self.q_net.numpy_layers() if isinstance(self.q_net, StackedMLP) else None
        """Numpy views of an MLP's weights, for acting without torch (None for a CNN)."""
        self.gradient_steps = config.train_freq if config.gradient_steps == -1 else config.gradient_steps
        self.num_timesteps = 0
        """Transitions observed per seed so far (every seed steps in lockstep)."""
        self.last_losses = np.full(self.k, np.nan)

    @property
    def epsilon(self) -> float:
        c = self.config
        return linear_epsilon(self.num_timesteps, c.exploration_initial_eps, c.exploration_final_eps,
                              c.exploration_fraction * self.total_steps)

    def act(self, observations: np.ndarray, explore: bool) -> np.ndarray:
        """One action per seed: epsilon-greedy from each seed's own exploration stream when ``explore``."""
        if not explore:
            return self.greedy_actions(observations)
        uniforms, random_actions = self.exploration.next()
        if self.num_timesteps < self.config.learning_starts:
            return random_actions
        explores = uniforms < self.epsilon
        if explores.all():
            return random_actions
        return np.where(explores, random_actions, self.greedy_actions(observations))

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        """Each seed's greedy action for its observation (``observations`` (K, *observation_shape))."""
        if self.layers is not None:
            return np.argmax(stacked_forward_numpy(self.layers, observations), axis=1)
        with torch.no_grad():
            return self.q_net(torch.as_tensor(observations)[:, None])[:, 0].argmax(dim=1).numpy()

    def observe(self, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_observations: np.ndarray,
                terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Every seed's transition of this step (arrays with a leading seed axis). A truncated episode
        bootstraps like a separate run's: only ``terminated`` cuts the target."""
        self.replay.add(observations, actions, rewards, next_observations, terminated)
        self.num_timesteps += 1

    def update(self, step: int) -> None:
        c = self.config
        if step % c.target_update_interval == 0:
            torch._foreach_copy_(self.target_parameters, self.online_parameters)
        if step > c.learning_starts and step % c.train_freq == 0:
            for _ in range(self.gradient_steps):
                self.last_losses = self.gradient_step()

    def gradient_step(self) -> np.ndarray:
        """One optimiser step (Adam or RMSProp, ``config.optimizer``) on every seed's TD loss of its own replay
        minibatch; returns the K losses."""
        c = self.config
        observations, actions, rewards, next_observations, terminated = self.replay.sample(c.batch_size)
        with torch.no_grad():
            next_q_target = self.target_net(next_observations).flatten(0, 1)
            flat_rewards, flat_terminated = rewards.flatten(), terminated.flatten()
            if c.double_dqn:
                next_q_online = self.q_net(next_observations).flatten(0, 1)
                targets = double_dqn_targets(flat_rewards, next_q_online, next_q_target, flat_terminated, c.gamma)
            else:
                targets = td_targets(flat_rewards, next_q_target, flat_terminated, c.gamma)
        q = self.q_net(observations).gather(2, actions.unsqueeze(2)).squeeze(2)
        losses = TD_LOSSES[c.loss](q, targets.view(self.k, -1), reduction="none").mean(dim=1)
        self.optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()  # seed k's loss depends only on its own slices: the gradients stay apart
        if c.max_grad_norm is not None:
            clip_grad_norm_per_seed_(self.online_parameters, c.max_grad_norm, self.k)
        self.optimizer.step()
        return losses.detach().numpy()

    @property
    def discount(self) -> float:
        """The discount the Q-values are defined under (for the distance to Q* on known models)."""
        return self.config.gamma

    def seed_network(self, k: int) -> torch.nn.Module:
        """A separate network (the architecture of a single run) holding a copy of seed ``k``'s current weights."""
        network = copy.deepcopy(self.evaluation_network)
        self.q_net.load_seed_into(k, network)
        return network

    def q_values(self, k: int, observations: np.ndarray) -> np.ndarray:
        """``(n, actions)`` Q-values of seed ``k``'s online network for a batch of observations."""
        with torch.no_grad():
            return self.seed_network(k)(torch.as_tensor(np.asarray(observations))).numpy().astype(np.float64)

    def evaluation_policy(self, k: int) -> SeedGreedyPolicy | GreedyQPolicy:
        """Greedy actions of a copy of seed ``k``'s current weights."""
        if self.layers is not None:
            return SeedGreedyPolicy([(w[k:k + 1].copy(), b[k:k + 1].copy()) for w, b in self.layers])
        return GreedyQPolicy(self.seed_network(k))
