"""The full-image classifier, the reference the Recurrent Attention Model (:mod:`rlbench.agents.ram`) is compared
with on glimpse classification: it reads the observation's ``canvas`` (the whole image) with a small CNN and is
trained by cross-entropy at the last step of each episode, the reference that sees everything at once."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
from rlbench.agents.glimpse_task import check_glimpse_spaces
from rlbench.seeding import int_seed


@dataclass(frozen=True)
class FullImageConfig:
    """Hyperparameters of the full-image classifier."""

    hidden: int = 128
    """Width of the hidden layer after the two convolutions (16 and 32 filters of 3x3, the second of stride 2)."""
    learning_rate: float = 0.001
    """Adam step size."""
    episodes_per_update: int = 8
    """Images (one per episode) per gradient step."""

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.episodes_per_update < 1 or not self.learning_rate > 0:
            raise ValueError("hidden, episodes_per_update and learning_rate must be positive")


class _FullImagePolicy:
    def __init__(self, net: nn.Module) -> None:
        self.net = net

    def reset(self) -> None:
        pass

    def act(self, obs: dict[str, np.ndarray]) -> dict[str, Any]:
        with torch.no_grad():
            label = int(self.net(torch.as_tensor(obs["canvas"]).reshape(1, -1)).argmax())
        return {"location": np.zeros(2, np.float32), "label": label}


class FullImageClassifier(OnlineAgent):
    """A small CNN on the whole canvas, trained by cross-entropy: the reference that needs no glimpses."""

    Config = FullImageConfig

    def __init__(self, config: FullImageConfig, context: AgentContext) -> None:
        super().__init__(config, context)
        check_glimpse_spaces(context)
        side = context.observation_space["canvas"].shape[0]
        classes = int(context.action_space["label"].n)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int_seed(context.seeds.network))
            self.net = nn.Sequential(
                nn.Unflatten(1, (1, side, side)),
                nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                nn.Linear(32 * ((side + 1) // 2) ** 2, config.hidden), nn.ReLU(), nn.Linear(config.hidden, classes))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.learning_rate)
        self.policy = _FullImagePolicy(self.net)
        self.canvases: list[np.ndarray] = []
        self.labels: list[int] = []

    def act(self, obs: dict[str, np.ndarray], explore: bool) -> dict[str, Any]:
        return self.policy.act(obs)

    def evaluation_policy(self) -> _FullImagePolicy:
        return _FullImagePolicy(copy.deepcopy(self.net))

    def observe(self, transition: Transition) -> None:
        if transition.terminated or transition.truncated:
            self.canvases.append(np.asarray(transition.obs["canvas"], np.float32).reshape(-1))
            self.labels.append(int(transition.info["label"]))

    def update(self, step: int) -> None:
        if len(self.labels) < self.config.episodes_per_update:
            return
        logits = self.net(torch.as_tensor(np.stack(self.canvases)))
        loss = F.cross_entropy(logits, torch.as_tensor(self.labels))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.canvases, self.labels = [], []
