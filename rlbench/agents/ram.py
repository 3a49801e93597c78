"""The Recurrent Attention Model (Mnih et al. 2014, "Recurrent Models of Visual Attention") for glimpse
classification (:mod:`rlbench.envs.glimpse`); its network is :mod:`rlbench.nets.ram`, the full-image classifier it
is compared with :mod:`rlbench.agents.full_image`.

RAM reads one glimpse per step and never the whole image. A glimpse network embeds the retina's
patches and their location, ``g_t = relu(W_g [relu(W_p patches), relu(W_l location)])``; a recurrent
core (a GRU cell here, where the paper used a plain ReLU RNN) carries ``h_t``; from ``h_t`` three heads:

* the location policy chooses where to look next: the paper's Gaussian with mean ``tanh(W_mu h_t)`` and
  fixed standard deviation ``location_std`` or, with ``location_grid: k``, a softmax over the k x k points
  of a grid (random locations are then uniform over the same points: the learned policy starts as the
  random baseline). Where to look is not differentiable, so it learns by
  REINFORCE (Williams 1992): ascend ``sum_t (R - b_t) log pi(l_{t+1} | h_t)`` with R the episode's
  reward (1 if the label was right). As in common implementations, the location head reads ``h_t``
  detached: the REINFORCE signal trains where to look, the classifier's gradient trains the core;
* the baseline ``b_t = W_b h_t`` (detached too) regresses R by squared error; with ``baseline: false``
  it still learns, and is measured, but is not subtracted;
* the classifier ``softmax(W_c h_t)`` is trained by cross-entropy against the true label at the last
  step (``info["label"]``): supervised, as in the paper.

With ``locations: random`` the next location is uniform on [-1, 1]^2 (or over the grid's points) and
only the classifier and core learn (the random-locations baseline). With ``locations: random_centres`` it
is uniform over the centres of the canvas's digit-sized cells (:func:`cell_centres`: the 4 places where the
task's default placement puts a digit, 4 of the 5 x 5 grid's 25 points), a random baseline that never wastes
a glimpse between cells. With ``locations: oracle`` the next location is the centre of the digit
(``obs["digit"]``, which the environment reports for this baseline alone): the same model looking exactly where
the digit is, the upper bound of any location policy on this task. For all three the network, its heads and its
training are the same; only the location head stays untrained.

Why the grid: on this budget (tens of thousands of training images) the
Gaussian policy, starting at the centre with a small spread, rarely glimpses the digit, the classifier
never learns to use such glimpses, and the learned locations end no better than random ones; a grid
policy starts uniform over the canvas and, with a larger step size for the location head
(``location_learning_rate``), beats random locations within ten thousand images (docs/findings.md).

The lecture's variance point, measured: at every update, the variance of the location policy's per-episode
gradients, with and without subtracting the baseline, on the same episodes, in closed form
(:mod:`rlbench.agents.location_gradients`), is reported at each evaluation as
``location_grad_variance/baseline`` and ``location_grad_variance/no_baseline``
(:meth:`RecurrentAttentionAgent.diagnostics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
from rlbench.agents.glimpse_task import cell_centres, check_glimpse_spaces, location_grid
from rlbench.agents.location_gradients import gradient_variance, grid_location_gradients, location_gradients
from rlbench.nets.ram import NumpyRAM, RAMNetwork
from rlbench.seeding import child, generator, int_seed

LOCATION_POLICIES: tuple[str, ...] = ("learned", "random", "random_centres", "oracle")


@dataclass(frozen=True)
class RAMConfig:
    """Hyperparameters of the Recurrent Attention Model."""

    locations: str = "learned"
    """``learned`` (REINFORCE location policy), ``random`` (uniform locations: the baseline), ``random_centres``
    (uniform over the centres of the ``cell``-sized cells where a digit can sit) or ``oracle`` (the centre of the
    digit, which the environment reports as ``obs["digit"]``: the upper bound of any location policy)."""
    cell: int = 8
    """Side in pixels of the canvas's cells where the task places a digit (``placement: grid``; the digits are
    8 x 8): ``random_centres`` draws among their centres."""
    baseline: bool = True
    """Subtract the learned baseline b_t from the reward in the REINFORCE update."""
    hidden: int = 128
    """Width of the glimpse embeddings and of the recurrent core."""
    location_std: float = 0.15
    """Standard deviation of the Gaussian location policy (fixed, as in the paper)."""
    location_grid: int = 0
    """0: continuous locations, the paper's Gaussian policy. k >= 2: the next location is one of the k x k
    points of ``linspace(-1, 1, k)`` in each coordinate, chosen by a softmax policy (random locations then
    draw uniformly from the same points, so the learned policy starts as the random baseline)."""
    learning_rate: float = 0.001
    """Adam step size of the glimpse network, core, classifier and baseline."""
    location_learning_rate: float = 0.001
    """Adam step size of the location head (Adam moves each weight by about its step size per update, so
    a policy that must move its logits by several units in a few thousand updates needs a larger one)."""
    episodes_per_update: int = 8
    """Complete episodes per gradient step."""
    max_grad_norm: float = 5.0
    """Gradient clipping threshold (global L2 norm)."""

    def __post_init__(self) -> None:
        if self.locations not in LOCATION_POLICIES:
            raise ValueError(f"locations must be one of {', '.join(LOCATION_POLICIES)}, got {self.locations!r}")
        if self.hidden < 1 or self.episodes_per_update < 1 or self.cell < 1:
            raise ValueError("hidden, episodes_per_update and cell must be positive")
        if self.location_grid < 0 or self.location_grid == 1:
            raise ValueError(f"location_grid must be 0 (continuous) or at least 2, got {self.location_grid}")
        if not min(self.location_std, self.learning_rate, self.location_learning_rate, self.max_grad_norm) > 0:
            raise ValueError("location_std, learning_rate, location_learning_rate and max_grad_norm must be positive")


class RAMPolicy:
    """Acting with a RAM network: the core state carried through an episode."""

    def __init__(self, net: NumpyRAM, config: RAMConfig, rng: np.random.Generator,
                 centres: np.ndarray | None = None) -> None:
        self.net, self.config, self.rng = net, config, rng
        self.state = np.zeros(config.hidden, np.float32)
        self.grid = location_grid(config.location_grid) if config.location_grid else None
        self.centres = centres
        """The cell centres ``random_centres`` draws from (:func:`cell_centres`)."""
        if config.locations == "random_centres" and centres is None:
            raise ValueError("random_centres locations need the cell centres")
        self.choice = 0
        """The grid point chosen by the last ``act`` (grid policies; with ``random_centres``, the centre's index)."""

    def reset(self) -> None:
        self.state = np.zeros(self.config.hidden, np.float32)

    def act(self, obs: dict[str, np.ndarray], explore: bool = False) -> dict[str, Any]:
        self.state = self.net.step(np.asarray(obs["glimpse"], np.float32).reshape(-1),
                                   np.asarray(obs["location"], np.float32), self.state)
        if self.config.locations == "oracle":
            location = np.asarray(obs["digit"], np.float32)
        elif self.config.locations == "random_centres":
            self.choice = int(self.rng.integers(len(self.centres)))
            location = self.centres[self.choice]
        elif self.grid is not None:
            if self.config.locations == "random":
                self.choice = int(self.rng.integers(len(self.grid)))
            else:
                logits = self.net.location_logits(self.state)
                if explore:
                    probabilities = np.exp(logits - logits.max())
                    self.choice = int(self.rng.choice(len(self.grid), p=probabilities / probabilities.sum()))
                else:
                    self.choice = int(np.argmax(logits))
            location = self.grid[self.choice]
        elif self.config.locations == "random":
            location = self.rng.uniform(-1.0, 1.0, 2)
        else:
            mean = np.tanh(self.net.location_logits(self.state))
            location = mean + self.config.location_std * self.rng.standard_normal(2) if explore else mean
        return {"location": np.clip(location, -1.0, 1.0).astype(np.float32), "label": self.net.label(self.state)}


def _new_episode() -> dict[str, list]:
    """What an episode records: glimpses, where they were seen, the locations chosen and the grid choices."""
    return {"glimpses": [], "seen_at": [], "chosen": [], "choice": []}


class RecurrentAttentionAgent(OnlineAgent):
    """RAM: glimpses chosen by REINFORCE, the label by a supervised classifier (see the module docstring)."""

    Config = RAMConfig

    def __init__(self, config: RAMConfig, context: AgentContext) -> None:
        super().__init__(config, context)
        check_glimpse_spaces(context)
        if config.locations == "oracle" and "digit" not in context.observation_space.spaces:
            raise ValueError("oracle locations need the glimpse task's digit observation (rlbench.envs.glimpse)")
        glimpse = context.observation_space["glimpse"]
        self.classes = int(context.action_space["label"].n)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int_seed(context.seeds.network))
            self.net = RAMNetwork(int(np.prod(glimpse.shape)), config.hidden, self.classes,
                                  config.location_grid**2 if config.location_grid else 2)
        head = list(self.net.location_head.parameters())
        rest = [p for name, p in self.net.named_parameters() if not name.startswith("location_head.")]
        self.optimizer = torch.optim.Adam([{"params": rest}, {"params": head, "lr": config.location_learning_rate}],
                                          lr=config.learning_rate)
        self.rng = generator(context.seeds.exploration)
        self.centres = cell_centres(context.observation_space["canvas"].shape[0], config.cell)
        self.policy = RAMPolicy(NumpyRAM(self.net), config, self.rng, self.centres)
        self.episode = _new_episode()
        self.batch: list[dict[str, Any]] = []
        self.variances: dict[str, list[float]] = {"baseline": [], "no_baseline": []}

    def observe_first(self, obs: dict[str, np.ndarray]) -> None:
        self.policy.reset()
        self.episode = _new_episode()

    def act(self, obs: dict[str, np.ndarray], explore: bool) -> dict[str, Any]:
        action = self.policy.act(obs, explore)
        if explore:
            self.episode["glimpses"].append(np.asarray(obs["glimpse"], np.float32).reshape(-1))
            self.episode["seen_at"].append(np.asarray(obs["location"], np.float32))
            self.episode["chosen"].append(action["location"])
            self.episode["choice"].append(self.policy.choice)
        return action

    def evaluation_policy(self) -> RAMPolicy:
        # Greedy (mean) locations; random locations draw from a stream of their own, the same every round.
        return RAMPolicy(NumpyRAM(self.net), self.config, generator(child(self.context.seeds.exploration, 1)),
                         self.centres)

    def observe(self, transition: Transition) -> None:
        if transition.terminated or transition.truncated:
            if "label" not in transition.info:
                raise ValueError("the glimpse environment must report the true label at an episode's end")
            self.batch.append({**{k: np.stack(v) for k, v in self.episode.items()},
                               "label": int(transition.info["label"]), "reward": float(transition.reward)})

    def update(self, step: int) -> None:
        if len(self.batch) >= self.config.episodes_per_update:
            self.gradient_step(self.batch)
            self.batch = []

    def gradient_step(self, episodes: list[dict[str, Any]]) -> None:
        """One update from complete episodes of equal length (the task's fixed number of glimpses)."""
        glimpses = torch.as_tensor(np.stack([e["glimpses"] for e in episodes]))  # (E, T, retina)
        seen_at = torch.as_tensor(np.stack([e["seen_at"] for e in episodes]))  # (E, T, 2)
        chosen = np.stack([e["chosen"] for e in episodes])[:, :-1]  # (E, T-1, 2): the last choice is never used
        choices = np.stack([e["choice"] for e in episodes])[:, :-1]  # (E, T-1): grid points (grid policies)
        labels = torch.as_tensor([e["label"] for e in episodes])
        rewards = torch.as_tensor([e["reward"] for e in episodes], dtype=torch.float32)
        count, steps = glimpses.shape[:2]
        state = torch.zeros(count, self.config.hidden)
        states = []
        for t in range(steps):
            state = self.net.step(glimpses[:, t], seen_at[:, t], state)
            states.append(state)
        classify = F.cross_entropy(self.net.classifier(states[-1]), labels)
        loss = classify
        if steps > 1:
            choosing = torch.stack(states[:-1], dim=1)  # (E, T-1, hidden): the states that chose a location
            baselines = self.net.baseline_head(choosing.detach()).squeeze(-1)  # (E, T-1)
            loss = loss + ((baselines - rewards[:, None]) ** 2).mean()
            if self.config.locations == "learned":
                outputs = self.net.location_logits(choosing)
                advantages = rewards[:, None] - (baselines.detach() if self.config.baseline else 0.0)
                if self.config.location_grid:
                    log_softmax = F.log_softmax(outputs, dim=-1)
                    log_probs = log_softmax.gather(-1, torch.as_tensor(choices)[..., None]).squeeze(-1)
                    policy = (choices, log_softmax.detach().exp().numpy())
                else:
                    means = torch.tanh(outputs)
                    log_probs = torch.distributions.Normal(means, self.config.location_std).log_prob(
                        torch.as_tensor(chosen)).sum(-1)
                    policy = (chosen, means.detach().numpy())
                loss = loss - (log_probs * advantages).sum(dim=1).mean()
                self._measure(policy, choosing.detach().numpy(), rewards.numpy(), baselines.detach().numpy())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.policy.net = NumpyRAM(self.net)

    def _measure(self, policy: tuple[np.ndarray, np.ndarray], states: np.ndarray, rewards: np.ndarray,
                 baselines: np.ndarray) -> None:
        """``policy``: (grid choices, probabilities) or (chosen locations, Gaussian means) of the update."""
        plain = np.broadcast_to(rewards[:, None], baselines.shape)
        for name, advantages in (("no_baseline", plain), ("baseline", plain - baselines)):
            advantages = np.ascontiguousarray(advantages)
            if self.config.location_grid:
                gradients = grid_location_gradients(*policy, states, advantages)
            else:
                gradients = location_gradients(*policy, states, advantages, self.config.location_std)
            self.variances[name].append(gradient_variance(gradients))

    def diagnostics(self) -> dict[str, float]:
        """Mean variance of the location-policy gradient estimates, with and without the baseline, over the
        updates since the last evaluation (nothing before the first update; random locations: nothing)."""
        found = {f"location_grad_variance/{name}": float(np.mean(values))
                 for name, values in self.variances.items() if values}
        self.variances = {name: [] for name in self.variances}
        return found
