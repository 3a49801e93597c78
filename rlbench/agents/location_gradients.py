"""The variance of REINFORCE's location-policy gradient, measured in closed form (the lecture's variance point).

At every update of the Recurrent Attention Model (:mod:`rlbench.agents.ram`) the per-episode gradients of the
location policy's surrogate with respect to the location head's weights are computed in closed form (for a Gaussian
mean ``mu = tanh(z)``, ``d log pi / dz = (l - mu) / sigma^2 * (1 - mu^2)``; for the grid's softmax,
``onehot(a) - p``), with and without subtracting the baseline, on the same episodes; their variance across the
batch (:func:`gradient_variance`, summed over the head's weights) is what the agent reports.
"""

from __future__ import annotations

import numpy as np


def location_gradients(locations: np.ndarray, means: np.ndarray, states: np.ndarray, advantages: np.ndarray,
                       std: float) -> np.ndarray:
    """Per-episode gradients ``(episodes, 2 * (hidden + 1))`` of ``sum_t A_t log N(l_t; tanh(z_t), std^2)``
    with respect to the location head's weights and biases (``z_t = W h_t + c``).

    ``locations``, ``means``: ``(episodes, T, 2)``; ``states``: ``(episodes, T, hidden)``; ``advantages``:
    ``(episodes, T)``.
    """
    d_z = (locations - means) / std**2 * (1.0 - means**2) * advantages[..., None]  # (E, T, 2)
    return head_gradients(d_z, states)


def grid_location_gradients(choices: np.ndarray, probabilities: np.ndarray, states: np.ndarray,
                            advantages: np.ndarray) -> np.ndarray:
    """Per-episode gradients of ``sum_t A_t log softmax(z_t)[a_t]`` with respect to the grid policy's head
    (``d log pi / dz = onehot(a) - p``). ``choices``: ``(episodes, T)`` indices; ``probabilities``:
    ``(episodes, T, points)``; ``states``: ``(episodes, T, hidden)``; ``advantages``: ``(episodes, T)``."""
    onehot = np.eye(probabilities.shape[-1])[choices]
    return head_gradients((onehot - probabilities) * advantages[..., None], states)


def head_gradients(d_z: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Per-episode gradients ``(episodes, outputs * (hidden + 1))`` of a linear head ``z_t = W h_t + c``
    given ``d_z`` ``(episodes, T, outputs)``, the surrogate's gradient with respect to ``z_t``."""
    d_weight = np.einsum("etj,eth->ejh", d_z, states).reshape(len(d_z), -1)
    return np.concatenate([d_weight, d_z.sum(axis=1)], axis=1)


def gradient_variance(gradients: np.ndarray) -> float:
    """Total variance of per-episode gradient estimates: the trace of their covariance across episodes."""
    return float(gradients.var(axis=0, ddof=1).sum()) if len(gradients) > 1 else 0.0
