"""K seeds of DQN trained at once: the arithmetic of :mod:`rlbench.agents.dqn`, batched over seeds.

Each seed keeps everything a separate run has: its own Q-network initialised from its own
``network`` stream, its own replay buffer sampled with its own ``replay`` stream, its own
epsilon-greedy exploration stream and environment. What is shared is the arithmetic: the K
networks' weights are stacked along a leading seed axis, so one batched matrix product
(``torch.baddbmm``) does the forward and backward pass of all K seeds, and one fused Adam step
updates them all. Adam is elementwise and each seed's loss touches only its own slice, so every
seed follows the same update rule as a separate run; gradient clipping is done per seed (each
seed's global norm over its own slices). Batched products round differently from unbatched ones,
so the batched mode is part of a run's identity (:data:`rlbench.config.plan.EXECUTION_MODES`).

Only the ``mlp`` network is batched here (grouped convolutions for the CNNs are future work).
The K-seed environment loop is :func:`rlbench.training.batched.run_batched_loop`.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch

from rlbench.agents.base import AgentContext, Transition
from rlbench.agents.dqn import TD_LOSSES, DQNConfig, double_dqn_targets, linear_epsilon, td_targets
from rlbench.nets.mlp import MLP
from rlbench.nets.optimizers import LeanAdam
from rlbench.nets.registry import build_network
from rlbench.seeding import generator


class StackedMLP(torch.nn.Module):
    """K MLPs of one architecture as stacked weights: (K, batch, in) -> (K, batch, out).

    Built from K :class:`~rlbench.nets.mlp.MLP` instances, so each seed starts from exactly the
    weights its separate run would have.
    """

    def __init__(self, networks: Sequence[MLP]) -> None:
        super().__init__()
        per_layer = zip(*[[m for m in net.layers if isinstance(m, torch.nn.Linear)] for net in networks])
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for layers in per_layer:  # weight (K, in, out) and bias (K, 1, out) of one layer for every seed
            self.weights.append(torch.nn.Parameter(torch.stack([layer.weight.detach().T for layer in layers]).contiguous()))
            self.biases.append(torch.nn.Parameter(torch.stack([layer.bias.detach()[None] for layer in layers]).contiguous()))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs`` (K, batch, *observation_shape) -> Q-values (K, batch, n_actions)."""
        x = obs.flatten(2).to(torch.float32)
        last = len(self.weights) - 1
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias, x, weight)
            if index < last:
                x = torch.relu(x)
        return x

    def numpy_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Live numpy views (no copy) of the stacked weights, for acting without torch overhead."""
        return [(w.detach().numpy(), b.detach().numpy()) for w, b in zip(self.weights, self.biases)]


def stacked_forward_numpy(layers: list[tuple[np.ndarray, np.ndarray]], obs: np.ndarray) -> np.ndarray:
    """Q-values (K, n_actions) of one observation per seed, ``obs`` of shape (K, *observation_shape)."""
    x = np.asarray(obs, dtype=np.float32).reshape(obs.shape[0], 1, -1)
    for index, (weight, bias) in enumerate(layers):
        x = np.matmul(x, weight) + bias
        if index < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x[:, 0, :]


class SeedGreedyPolicy:
    """The evaluation policy of one seed: greedy actions of a copy of that seed's weights."""

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.layers = layers

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> int:
        return int(np.argmax(stacked_forward_numpy(self.layers, np.asarray(obs)[None])[0]))


def clip_grad_norm_per_seed_(parameters: Sequence[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale each seed's gradients (slice ``k`` of every parameter) so that seed's global norm is at
    most ``max_norm``, as ``torch.nn.utils.clip_grad_norm_`` does for one network. Returns the K norms."""
    squares = torch.stack([p.grad.pow(2).flatten(1).sum(dim=1) for p in parameters]).sum(dim=0)
    norms = squares.sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for p in parameters:
        p.grad.mul_(scale.view(-1, *([1] * (p.grad.dim() - 1))))
    return norms


class SeedStackedReplay:
    """K replay buffers of one capacity in arrays with a leading seed axis, filled in lockstep.

    Seed ``k`` samples with its own generator exactly as a separate run's
    :class:`~rlbench.replay.buffer.ReplayBuffer` does (uniform indices over the filled slots, with
    replacement), so it draws the same indices; the K minibatches are then gathered in one indexing
    operation per field.
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
        self.seed_index = np.arange(seeds)[:, None]
        self.pos = 0
        self.size = 0

    def add(self, k: int, transition: Transition) -> None:
        """Seed ``k``'s transition into the current slot (``advance`` moves to the next slot)."""
        i = self.pos
        self.observations[k, i] = transition.obs
        self.next_observations[k, i] = transition.next_obs
        self.actions[k, i] = transition.action
        self.rewards[k, i] = transition.reward
        self.terminated[k, i] = transition.terminated

    def advance(self) -> None:
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        """(observations, actions, rewards, next observations, terminated), each (K, batch, ...)."""
        indices = np.stack([rng.integers(0, self.size, size=batch_size) for rng in self.rngs])
        at = (self.seed_index, indices)
        return tuple(torch.from_numpy(array[at]) for array in
                     (self.observations, self.actions, self.rewards, self.next_observations, self.terminated))


class BatchedDQN:
    """DQN for K seeds at once (one config, one context per seed)."""

    @staticmethod
    def check_config(config: DQNConfig) -> None:
        """Raise a ValueError for a config this batched implementation cannot train."""
        if config.network != "mlp":
            raise ValueError(f"batched DQN supports the mlp network only, got network {config.network!r}")
        if config.optimizer != "adam" or config.replay_storage != "vector":
            raise ValueError(f"batched DQN supports optimizer adam and replay_storage vector only, got "
                             f"{config.optimizer!r} and {config.replay_storage!r}")

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
        networks = [build_network("mlp", c.observation_space, self.n_actions, config.net_arch, c.seeds.network) for c in contexts]
        self.q_net = StackedMLP(networks)
        self.target_net = StackedMLP(networks)
        self.target_net.requires_grad_(False)
        self.online_parameters = list(self.q_net.parameters())
        self.target_parameters = list(self.target_net.parameters())
        self.optimizer = LeanAdam(self.online_parameters, config.learning_rate)
        self.replay = SeedStackedReplay(self.k, config.buffer_size, contexts[0].observation_space,
                                        [generator(c.seeds.replay) for c in contexts])
        self.rngs = [generator(c.seeds.exploration) for c in contexts]
        self.layers = self.q_net.numpy_layers()
        self.gradient_steps = config.train_freq if config.gradient_steps == -1 else config.gradient_steps
        self.num_timesteps = 0
        """Transitions observed per seed so far (every seed steps in lockstep)."""
        self.last_losses = np.full(self.k, np.nan)

    @property
    def epsilon(self) -> float:
        c = self.config
        return linear_epsilon(self.num_timesteps, c.exploration_initial_eps, c.exploration_final_eps,
                              c.exploration_fraction * self.total_steps)

    def act(self, observations: np.ndarray, explore: bool) -> list[int]:
        """One action per seed; each seed draws from its own exploration stream exactly as a separate run."""
        actions: list[int | None] = [None] * self.k
        if explore:
            warming_up = self.num_timesteps < self.config.learning_starts
            epsilon = self.epsilon
            for k, rng in enumerate(self.rngs):
                if warming_up or rng.random() < epsilon:
                    actions[k] = int(rng.integers(self.n_actions))
        if any(a is None for a in actions):
            greedy = np.argmax(stacked_forward_numpy(self.layers, observations), axis=1)
            actions = [int(greedy[k]) if a is None else a for k, a in enumerate(actions)]
        return actions  # type: ignore[return-value]

    def observe(self, k: int, transition: Transition) -> None:
        """Seed ``k``'s transition (call for every seed, then ``end_step``)."""
        self.replay.add(k, transition)

    def end_step(self) -> None:
        self.replay.advance()
        self.num_timesteps += 1

    def update(self, step: int) -> None:
        c = self.config
        if step % c.target_update_interval == 0:
            torch._foreach_copy_(self.target_parameters, self.online_parameters)
        if step > c.learning_starts and step % c.train_freq == 0:
            for _ in range(self.gradient_steps):
                self.last_losses = self.gradient_step()

    def gradient_step(self) -> np.ndarray:
        """One Adam step on every seed's TD loss of its own replay minibatch; returns the K losses."""
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
            clip_grad_norm_per_seed_(self.online_parameters, c.max_grad_norm)
        self.optimizer.step()
        return losses.detach().numpy()

    def evaluation_policy(self, k: int) -> SeedGreedyPolicy:
        """Greedy actions of a copy of seed ``k``'s current weights."""
        return SeedGreedyPolicy([(w[k:k + 1].copy(), b[k:k + 1].copy()) for w, b in self.layers])
