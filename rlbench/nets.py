"""Network builders behind a name registry, so agents never hard-code an architecture.

An agent asks ``build_network(config.network, observation_space, output_dim, config.net_arch,
seeds.network)`` and gets a module mapping a batch of observations (any dtype; the module casts)
to ``output_dim`` outputs. A new architecture (e.g. the Nature-DQN CNN of Mnih et al. 2015) is one
more entry in ``NETWORKS``; no agent changes.

Weights are initialised from the given ``numpy.random.SeedSequence`` inside ``torch.random.fork_rng``,
so building a network neither reads nor advances torch's global random state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlbench.errors import RlbenchError
from rlbench.seeding import int_seed

NetworkBuilder = Callable[[gym.Space, int, tuple[int, ...]], nn.Module]
"""Builds a module from (observation space, number of outputs, hidden layer sizes)."""


class UnknownNetworkError(RlbenchError, ValueError):
    """An unknown network name (a ValueError, and a user-facing ``RlbenchError``)."""


class MLP(nn.Module):
    """A fully connected network: flattened observation → hidden ReLU layers → linear outputs."""

    def __init__(self, input_dim: int, output_dim: int, hidden_sizes: Sequence[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = input_dim
        for size in hidden_sizes:
            layers += [nn.Linear(previous, size), nn.ReLU()]
            previous = size
        layers.append(nn.Linear(previous, output_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs`` has shape (batch, *observation_shape); returns (batch, output_dim) float32."""
        return self.layers(obs.flatten(1).to(torch.float32))


def mlp(observation_space: gym.Space, output_dim: int, hidden_sizes: tuple[int, ...]) -> nn.Module:
    """The ``"mlp"`` builder: an ``MLP`` over a flattened Box observation."""
    if not isinstance(observation_space, gym.spaces.Box):
        raise ValueError(f"the 'mlp' network needs a Box observation space, got {observation_space}")
    return MLP(int(np.prod(observation_space.shape)), output_dim, hidden_sizes)


NETWORKS: dict[str, NetworkBuilder] = {"mlp": mlp}
"""Every network an agent config may name, by name."""


def register_network(name: str, builder: NetworkBuilder) -> None:
    """Add a network architecture to the registry."""
    NETWORKS[name] = builder


def build_network(
    name: str,
    observation_space: gym.Space,
    output_dim: int,
    hidden_sizes: Sequence[int],
    seed_sequence: np.random.SeedSequence,
) -> nn.Module:
    """Build network ``name`` with weights drawn deterministically from ``seed_sequence``.

    The same sequence always gives identical weights, whatever torch's global RNG state is, and
    the global state is left untouched. Raises ``UnknownNetworkError`` (a ValueError) for an
    unknown name, naming the valid choices.
    """
    try:
        builder = NETWORKS[name]
    except KeyError:
        valid = ", ".join(sorted(NETWORKS))
        raise UnknownNetworkError(f"unknown network {name!r}; valid choices: {valid}") from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int_seed(seed_sequence))
        return builder(observation_space, int(output_dim), tuple(int(h) for h in hidden_sizes))
