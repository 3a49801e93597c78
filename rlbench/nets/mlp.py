"""The fully connected network of the classic-control agents."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn


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
