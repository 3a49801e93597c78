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

Networks: the ``mlp`` (:class:`StackedMLP`, acting in numpy) and the CNNs (:class:`StackedConvNetwork`,
grouped convolutions), with the ``vector`` replay storage (each seed's frame-stack storage is not
batched: Atari runs train each seed alone).
The K-seed environment loop is :func:`rlbench.training.batched.run_batched_loop`.
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
from rlbench.nets.cnn import ConvNetwork
from rlbench.nets.mlp import MLP
from rlbench.nets.registry import build_network
from rlbench.seeding import generator


class StackedDense(torch.nn.Module):
    """K stacks of dense layers of one architecture, feature-major: (K, in, batch) -> (K, out, batch).

    Each layer is ``W @ h + b`` with ``W`` in ``torch.nn.Linear``'s (out, in) layout, ReLU between
    layers. Feature-major, the batched products never have an output as narrow as the action count,
    which single-threaded GEMM kernels handle badly (measured on CPU: 10 x (128 x 84) @ (84 x 2) took
    190 us, the feature-major (2 x 84) @ (84 x 128) 30 us, in the forward pass and the weight
    gradient alike).
    """

    def __init__(self, per_seed_linears: Sequence[Sequence[torch.nn.Linear]]) -> None:
        super().__init__()
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for layers in zip(*per_seed_linears):  # weight (K, out, in) and bias (K, out, 1) of one layer for every seed
            self.weights.append(torch.nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]).contiguous()))
            self.biases.append(torch.nn.Parameter(torch.stack([layer.bias.detach()[:, None] for layer in layers]).contiguous()))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(bias, weight, h)
            if index < last:
                h = h.relu_()  # in place: baddbmm's backward needs its inputs, not its output
        return h

    def load_seed_into(self, k: int, linears: Sequence[torch.nn.Linear]) -> None:
        """Copy seed ``k``'s weights into the layers of a separate network."""
        with torch.no_grad():
            for weight, bias, layer in zip(self.weights, self.biases, linears, strict=True):
                layer.weight.copy_(weight[k])
                layer.bias.copy_(bias[k, :, 0])


def _linears(module: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


class StackedMLP(torch.nn.Module):
    """K MLPs of one architecture as stacked weights: (K, batch, in) -> (K, batch, out).

    Built from K :class:`~rlbench.nets.mlp.MLP` instances, so each seed starts from exactly the
    weights its separate run would have (:class:`StackedDense` says why it computes feature-major).
    """

    def __init__(self, networks: Sequence[MLP]) -> None:
        super().__init__()
        self.dense = StackedDense([_linears(net) for net in networks])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs`` (K, batch, *observation_shape) -> Q-values (K, batch, n_actions) (a transposed view)."""
        return self.dense(obs.flatten(2).to(torch.float32).transpose(1, 2)).transpose(1, 2)

    def numpy_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Live numpy views (no copy) of the stacked weights (K, out, in) and biases (K, out, 1), for
        acting without torch overhead."""
        return [(w.detach().numpy(), b.detach().numpy()) for w, b in zip(self.dense.weights, self.dense.biases)]

    def load_seed_into(self, k: int, network: MLP) -> None:
        self.dense.load_seed_into(k, _linears(network))


class StackedConvNetwork(torch.nn.Module):
    """K convolutional networks (:class:`~rlbench.nets.cnn.ConvNetwork`: MinAtar's, the Nature CNN) in one.

    Each convolution becomes one grouped convolution (``groups=K``): the K seeds' filters are
    concatenated along the output channels, and seed ``k``'s minibatch sample ``b`` occupies channel
    group ``k`` of input ``b``, so group ``k`` convolves only seed ``k``'s images with seed ``k``'s
    filters. The dense head is a :class:`StackedDense`. Built from K separate networks, so each seed
    starts from its separate run's weights.
    """

    def __init__(self, networks: Sequence[ConvNetwork]) -> None:
        super().__init__()
        first = networks[0]
        self.scale, self.channels_last = first.scale, first.channels_last
        modules = list(first.convolutions)
        if not (len(modules) % 2 == 0 and all(isinstance(c, torch.nn.Conv2d) and c.groups == 1 and isinstance(r, torch.nn.ReLU)
                                              for c, r in zip(modules[::2], modules[1::2]))):
            raise ValueError("StackedConvNetwork stacks convolutions made of (Conv2d, ReLU) pairs only")
        self.geometry = [(c.stride, c.padding, c.dilation) for c in modules[::2]]
        per_seed = [[m for m in net.convolutions if isinstance(m, torch.nn.Conv2d)] for net in networks]
        self.conv_weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.cat([c.weight.detach() for c in layers]).contiguous()) for layers in zip(*per_seed))
        self.conv_biases = torch.nn.ParameterList(
            torch.nn.Parameter(torch.cat([c.bias.detach() for c in layers]).contiguous()) for layers in zip(*per_seed))
        self.dense = StackedDense([_linears(net.head) for net in networks])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs`` (K, batch, *observation_shape) -> Q-values (K, batch, n_actions) (a transposed view)."""
        x = obs.to(torch.float32) * self.scale
        if self.channels_last:
            x = x.permute(0, 1, 4, 2, 3)
        seeds, batch = x.shape[:2]
        x = x.transpose(0, 1).reshape(batch, -1, *x.shape[3:])  # (batch, K * channels, height, width)
        for weight, bias, (stride, padding, dilation) in zip(self.conv_weights, self.conv_biases, self.geometry):
            x = torch.nn.functional.conv2d(x, weight, bias, stride, padding, dilation, groups=seeds).relu_()
        features = x.reshape(batch, seeds, -1).permute(1, 2, 0)  # (K, flat features, batch)
        return self.dense(features).transpose(1, 2)

    def load_seed_into(self, k: int, network: ConvNetwork) -> None:
        convolutions = [m for m in network.convolutions if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            for weight, bias, conv in zip(self.conv_weights, self.conv_biases, convolutions, strict=True):
                rows = slice(k * conv.out_channels, (k + 1) * conv.out_channels)
                conv.weight.copy_(weight[rows])
                conv.bias.copy_(bias[rows])
        self.dense.load_seed_into(k, _linears(network.head))


def stacked_forward_numpy(layers: list[tuple[np.ndarray, np.ndarray]], obs: np.ndarray) -> np.ndarray:
    """Q-values (K, n_actions) of one observation per seed, ``obs`` of shape (K, *observation_shape)."""
    h = np.asarray(obs, dtype=np.float32).reshape(obs.shape[0], -1, 1)
    for index, (weight, bias) in enumerate(layers):
        h = np.matmul(weight, h) + bias
        if index < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h[:, :, 0]


class SeedGreedyPolicy:
    """The evaluation policy of one seed: greedy actions of a copy of that seed's weights."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.layers = layers

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        return int(np.argmax(stacked_forward_numpy(self.layers, np.asarray(obs)[None])[0]))


def clip_grad_norm_per_seed_(parameters: Sequence[torch.Tensor], max_norm: float, seeds: int | None = None) -> torch.Tensor:
    """Scale each seed's gradients so that seed's global norm is at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_`` does for one network. Every parameter's leading axis is seed-major
    (``seeds`` equal blocks; default: the leading axis is the seed). Returns the K norms."""
    seeds = parameters[0].shape[0] if seeds is None else seeds
    grads = [p.grad.view(seeds, -1) for p in parameters]
    norms = torch.stack([g.pow(2).sum(dim=1) for g in grads]).sum(dim=0).sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale[:, None])
    return norms


class SeedStackedReplay:
    """K replay buffers of one capacity in arrays with a leading seed axis, filled in lockstep.

    Seed ``k`` samples with its own generator exactly as a separate run's
    :class:`~rlbench.replay.buffer.ReplayBuffer` does (uniform indices over the filled slots, with
    replacement), so it draws the same indices; the K minibatches are then gathered in one ``take``
    per field from its (K * capacity, ...) view.
    """

    def __init__(self, seeds: int, capacity: int, observation_space: gym.Space, rngs: Sequence[np.random.Generator]) -> None:
        shape, dtype = tuple(observation_space.shape), np.dtype(observation_space.dtype)
        self.capacity = int(capacity)
        self.observations = np.zeros((seeds, self.capacity, *shape), dtype=dtype)
        self.next_observations = np.zeros((seeds, self.capacity, *shape), dtype=dtype)
        self.actions = np.zeros((seeds, self.capacity), dtype=np.int64)
        self.rewards = np.zeros((seeds, self.capacity), dtype=np.float32)
        self.terminated = np.zeros((seeds, self.capacity), dtype=np.float32)
        self.rngs = list(rngs)
        self.seed_offsets = (np.arange(seeds) * self.capacity)[:, None]
        """Where each seed's slots start in a field's (K * capacity, ...) view."""
        self.pos = 0
        self.size = 0

    def add(self, observations: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_observations: np.ndarray,
            terminated: np.ndarray) -> None:
        """One transition per seed (each argument has a leading seed axis) into the next slot."""
        i = self.pos
        self.observations[:, i] = observations
        self.next_observations[:, i] = next_observations
        self.actions[:, i] = actions
        self.rewards[:, i] = rewards
        self.terminated[:, i] = terminated
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        """(observations, actions, rewards, next observations, terminated), each (K, batch, ...)."""
        indices = np.stack([rng.integers(0, self.size, size=batch_size) for rng in self.rngs])
        flat = (indices + self.seed_offsets).ravel()
        fields = (self.observations, self.actions, self.rewards, self.next_observations, self.terminated)
        return tuple(torch.from_numpy(np.take(array.reshape(-1, *array.shape[2:]), flat, axis=0)
                                      .reshape(indices.shape + array.shape[2:])) for array in fields)


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
