"""Convolutional Q-/policy networks over image observations.

* ``nature_cnn``: the network of Mnih et al. 2015 ("Human-level control through deep
  reinforcement learning", Nature 518): a stack of 4 84x84 frames, conv 32 8x8 stride 4, conv 64
  4x4 stride 2, conv 64 3x3 stride 1, a dense layer of 512, one output per action. Observations
  are channels first (``(frames, height, width)``), uint8 pixels scaled to [0, 1].
* ``minatar_cnn``: the network of Young & Tian 2019 ("MinAtar: An Atari-Inspired Testbed for
  Thorough and Reproducible Reinforcement Learning Experiments"): conv 16 3x3 stride 1 over the
  10x10 board, a dense layer of 128. MinAtar observations are channels last (``(10, 10, channels)``).

``hidden_sizes`` are the dense layers after the convolutions (``(512,)`` and ``(128,)`` in the papers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn


def _dense_head(input_dim: int, hidden_sizes: Sequence[int], output_dim: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for size in hidden_sizes:
        layers += [nn.Linear(input_dim, size), nn.ReLU()]
        input_dim = size
    return [*layers, nn.Linear(input_dim, output_dim)]


class ConvNetwork(nn.Module):
    """Convolutions, then dense layers; casts the observation to float and scales it.

    ``input_shape`` is the convolutions' input, channels first; ``head`` maps the flattened convolution
    output (``flat_size`` values) to the outputs; ``head_builder(flat_size)`` builds it.
    """

    def __init__(self, convolutions: nn.Sequential, head_builder: Callable[[int], list[nn.Module]],
                 input_shape: tuple[int, int, int], scale: float, channels_last: bool) -> None:
        super().__init__()
        self.convolutions = convolutions
        self.input_shape = input_shape
        macs, x = 0, torch.zeros(1, *input_shape)
        with torch.no_grad():
            for layer in convolutions:
                x = layer(x)
                if isinstance(layer, nn.Conv2d):
                    macs += layer.weight.numel() * x.shape[2] * x.shape[3]
        self.head = nn.Sequential(*head_builder(x.numel()))
        self.macs = macs + sum(m.weight.numel() for m in self.head if isinstance(m, nn.Linear))
        """Multiply-accumulates of one observation's forward pass."""
        self.scale = scale
        self.channels_last = channels_last

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``obs``: (batch, *observation_shape); returns (batch, output_dim) float32."""
        x = obs.to(torch.float32) * self.scale
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        return self.head(self.convolutions(x).flatten(1))


def _image_shape(observation_space: gym.Space, name: str) -> tuple[int, int, int]:
    if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 3:
        raise ValueError(f"the {name!r} network needs a 3-dimensional Box observation space, got {observation_space}")
    return tuple(int(d) for d in observation_space.shape)  # type: ignore[return-value]


def nature_cnn(observation_space: gym.Space, output_dim: int, hidden_sizes: tuple[int, ...]) -> nn.Module:
    """The ``"nature_cnn"`` builder (channels-first frame stacks, e.g. (4, 84, 84) uint8)."""
    channels, height, width = _image_shape(observation_space, "nature_cnn")
    convolutions = nn.Sequential(
        nn.Conv2d(channels, 32, 8, stride=4), nn.ReLU(),
        nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
    )
    scale = 1.0 / 255.0 if np.dtype(observation_space.dtype) == np.uint8 else 1.0
    return ConvNetwork(convolutions, lambda flat: _dense_head(flat, hidden_sizes, output_dim),
                       (channels, height, width), scale, channels_last=False)


def minatar_convolutions(channels: int) -> nn.Sequential:
    """Young & Tian 2019's convolution: 16 filters 3x3, stride 1, ReLU (shared with the SB3 adapter)."""
    return nn.Sequential(nn.Conv2d(channels, 16, 3, stride=1), nn.ReLU())


def minatar_cnn(observation_space: gym.Space, output_dim: int, hidden_sizes: tuple[int, ...]) -> nn.Module:
    """The ``"minatar_cnn"`` builder (channels-last boards, e.g. (10, 10, 4))."""
    height, width, channels = _image_shape(observation_space, "minatar_cnn")
    return ConvNetwork(minatar_convolutions(channels), lambda flat: _dense_head(flat, hidden_sizes, output_dim),
                       (channels, height, width), 1.0, channels_last=True)
