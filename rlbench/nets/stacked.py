"""K networks of one architecture as one: weights stacked along a leading seed axis (batched seeds of DQN).

One batched matrix product (``torch.baddbmm``) or grouped convolution does the forward and backward pass of all K
seeds; each seed's loss touches only its own slice, so an elementwise optimiser (Adam, RMSProp) updates every seed
as a separate run would. Built from K separate networks, so each seed starts from its separate run's weights:
:class:`StackedMLP` (acting in numpy through :func:`stacked_forward_numpy`) and :class:`StackedConvNetwork`
(MinAtar's CNN, the Nature CNN). :func:`clip_grad_norm_per_seed_` clips each seed's gradients by its own global norm.
Used by :class:`rlbench.agents.dqn_batched.BatchedDQN`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rlbench.nets.cnn import ConvNetwork
from rlbench.nets.mlp import MLP


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


