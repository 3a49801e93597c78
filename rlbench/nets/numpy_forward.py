"""One-observation forward passes of registry networks in numpy, for acting.

A one-observation torch forward pass costs tens of microseconds of dispatch per layer call on CPU,
more than the arithmetic of a small network, and an agent acts at every environment step. Measured on one
core: MinAtar's network 60 us here against 270 us in torch; the Nature CNN over 84x84 frames ~1.5 ms
either way, where the arithmetic dominates and torch's convolution kernels are as fast, so convolutional
networks of more than :data:`MAX_NUMPY_MACS` multiply-accumulates per observation stay in torch. The layers are numpy *views* of the module's weight tensors (no copy): optimiser steps
and ``load_state_dict`` write into the same memory, so the views always hold the current weights.
:func:`numpy_forward` returns None for a module it cannot mirror; the caller then uses torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from rlbench.nets.cnn import ConvNetwork
from rlbench.nets.mlp import MLP


def _dense(layers: nn.Sequential | nn.ModuleList) -> list[tuple[np.ndarray, np.ndarray]] | None:
    if not all(isinstance(m, (nn.Linear, nn.ReLU)) for m in layers):
        return None
    return [(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in layers if isinstance(m, nn.Linear)]


def _dense_forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    for weight, bias in layers[:-1]:
        x = np.maximum(x @ weight + bias, 0.0)
    weight, bias = layers[-1]
    return x @ weight + bias


class NumpyMLP:
    """An :class:`~rlbench.nets.mlp.MLP` of Linear and ReLU layers in numpy."""

    def __init__(self, net: MLP) -> None:
        layers = _dense(net.layers)
        if layers is None:
            raise ValueError("NumpyMLP mirrors Linear and ReLU layers only")
        self.layers = layers

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return _dense_forward(self.layers, np.asarray(obs, dtype=np.float32).reshape(-1))


MAX_NUMPY_MACS = 1_000_000
"""Above this many multiply-accumulates per observation a convolutional network acts through torch."""


class NumpyConvNetwork:
    """A :class:`~rlbench.nets.cnn.ConvNetwork` of unpadded, undilated Conv2d + ReLU layers, then a dense head."""

    def __init__(self, net: ConvNetwork) -> None:
        convs = [m for m in net.convolutions if isinstance(m, nn.Conv2d)]
        ok = all(isinstance(m, (nn.Conv2d, nn.ReLU)) for m in net.convolutions) and all(
            c.padding == (0, 0) and c.dilation == (1, 1) and c.groups == 1 and c.stride[0] == c.stride[1]
            and c.bias is not None for c in convs)
        head = _dense(net.head)
        if not ok or head is None:
            raise ValueError("NumpyConvNetwork mirrors unpadded Conv2d + ReLU layers and a Linear/ReLU head only")
        # Per convolution: the (in*kh*kw, out) weight view, the bias, and the flat input indices of every
        # output position's receptive field (im2col as one gather), with the output's height and width.
        self.convolutions = []
        channels, height, width = net.input_shape
        for conv in convs:
            (kh, kw), stride = conv.kernel_size, conv.stride[0]
            grid = np.arange(channels * height * width).reshape(channels, height, width)
            windows = sliding_window_view(grid, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
            out_height, out_width = windows.shape[1:3]
            columns = windows.transpose(1, 2, 0, 3, 4).reshape(out_height * out_width, -1)
            self.convolutions.append((conv.weight.detach().numpy().reshape(conv.out_channels, -1).T,
                                      conv.bias.detach().numpy(), columns, (out_height, out_width)))
            channels, height, width = conv.out_channels, out_height, out_width
        self.head = head
        self.scale = np.float32(net.scale)
        self.channels_last = net.channels_last

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float32) * self.scale
        if self.channels_last:
            x = x.transpose(2, 0, 1)
        x = x.reshape(-1)
        for weight, bias, columns, (height, width) in self.convolutions:
            x = np.maximum(x[columns] @ weight + bias, 0.0).T.reshape(-1)  # (out, height, width), flattened
        return _dense_forward(self.head, x)


def numpy_forward(net: nn.Module) -> Callable[[np.ndarray], np.ndarray] | None:
    """A numpy mirror of ``net`` for one observation, or None where ``net`` has layers it does not mirror."""
    try:
        if isinstance(net, MLP):
            return NumpyMLP(net)
        if isinstance(net, ConvNetwork) and net.macs <= MAX_NUMPY_MACS:
            return NumpyConvNetwork(net)
    except ValueError:
        return None
    return None


def torch_forward(net: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """The same call through torch (the fallback, and what the numpy mirrors are tested against)."""
    def forward(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.as_tensor(obs).unsqueeze(0))[0].numpy()
    return forward
