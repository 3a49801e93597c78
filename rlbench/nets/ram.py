"""The Recurrent Attention Model's network (Mnih et al. 2014): glimpse network, recurrent core and the location,
baseline and classifier heads (:class:`RAMNetwork`, trained in torch), and its acting half in numpy
(:class:`NumpyRAM`). The agent is :mod:`rlbench.agents.ram`."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class RAMNetwork(nn.Module):
    """Glimpse network, recurrent core and the location, baseline and classifier heads."""

    def __init__(self, retina: int, hidden: int, classes: int, location_outputs: int = 2) -> None:
        super().__init__()
        self.patches = nn.Linear(retina, hidden)
        self.where = nn.Linear(2, hidden)
        self.glimpse = nn.Linear(2 * hidden, hidden)
        self.core = nn.GRUCell(hidden, hidden)
        self.location_head = nn.Linear(hidden, location_outputs)
        self.baseline_head = nn.Linear(hidden, 1)
        self.classifier = nn.Linear(hidden, classes)

    def step(self, patches: torch.Tensor, location: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """The next core state from a batch of retinas ``(n, retina)`` at ``location`` ``(n, 2)``."""
        embedded = torch.cat([F.relu(self.patches(patches)), F.relu(self.where(location))], dim=1)
        return self.core(F.relu(self.glimpse(embedded)), state)

    def location_logits(self, state: torch.Tensor) -> torch.Tensor:
        """The location head's outputs (pre-tanh Gaussian means, or the grid policy's logits), read from the
        core state detached: only REINFORCE trains where to look."""
        return self.location_head(state.detach())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class NumpyRAM:
    """The acting half of a :class:`RAMNetwork` in numpy: one glimpse at a time costs a few microseconds
    of matrix products instead of torch's per-call overhead (the update recomputes everything in torch)."""

    def __init__(self, net: RAMNetwork) -> None:
        weights = {name: value.detach().numpy().copy() for name, value in net.state_dict().items()}
        self.w = weights
        self.hidden = net.core.hidden_size

    def step(self, patches: np.ndarray, location: np.ndarray, state: np.ndarray) -> np.ndarray:
        w, h = self.w, self.hidden
        embedded = np.concatenate([np.maximum(w["patches.weight"] @ patches + w["patches.bias"], 0.0),
                                   np.maximum(w["where.weight"] @ location + w["where.bias"], 0.0)])
        x = np.maximum(w["glimpse.weight"] @ embedded + w["glimpse.bias"], 0.0)
        gi = w["core.weight_ih"] @ x + w["core.bias_ih"]
        gh = w["core.weight_hh"] @ state + w["core.bias_hh"]
        reset = _sigmoid(gi[:h] + gh[:h])
        update = _sigmoid(gi[h:2 * h] + gh[h:2 * h])
        candidate = np.tanh(gi[2 * h:] + reset * gh[2 * h:])
        return (1.0 - update) * candidate + update * state

    def label(self, state: np.ndarray) -> int:
        return int(np.argmax(self.w["classifier.weight"] @ state + self.w["classifier.bias"]))

    def location_logits(self, state: np.ndarray) -> np.ndarray:
        return self.w["location_head.weight"] @ state + self.w["location_head.bias"]
