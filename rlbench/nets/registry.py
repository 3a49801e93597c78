"""Network builders behind a name registry, so agents never hard-code an architecture.

An agent asks ``build_network(config.network, observation_space, output_dim, config.net_arch,
seeds.network)`` and gets a module mapping a batch of observations (any dtype; the module casts)
to ``output_dim`` outputs. Architectures: ``mlp`` (:mod:`rlbench.nets.mlp`), ``nature_cnn`` and
``minatar_cnn`` (:mod:`rlbench.nets.cnn`); a new one is one more entry in ``NETWORKS`` and no agent
changes. A recurrent core registers the same way and additionally implements
:class:`RecurrentNetwork` (agents keep its state and reset it in their episode-start hook).

Weights are initialised from the given ``numpy.random.SeedSequence`` inside ``torch.random.fork_rng``,
so building a network neither reads nor advances torch's global random state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlbench.errors import RlbenchError
from rlbench.nets.cnn import minatar_cnn, nature_cnn
from rlbench.nets.mlp import mlp
from rlbench.seeding import int_seed

NetworkBuilder = Callable[[gym.Space, int, tuple[int, ...]], nn.Module]
"""Builds a module from (observation space, number of outputs, hidden layer sizes)."""


class RecurrentNetwork(Protocol):
    """What a recurrent network adds to ``nn.Module``: a state carried from step to step."""

    def initial_state(self, batch_size: int) -> torch.Tensor:
        """The state at an episode's start, for ``batch_size`` sequences."""

    def forward(self, obs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Outputs for ``obs`` and the next state."""


class UnknownNetworkError(RlbenchError, ValueError):
    """An unknown network name (a ValueError, and a user-facing ``RlbenchError``)."""


NETWORKS: dict[str, NetworkBuilder] = {"mlp": mlp, "nature_cnn": nature_cnn, "minatar_cnn": minatar_cnn}
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
