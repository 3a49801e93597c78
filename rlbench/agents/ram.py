"""The Recurrent Attention Model (Mnih et al. 2014, "Recurrent Models of Visual Attention"), and the
full-image classifier it is compared with, for glimpse classification (:mod:`rlbench.envs.glimpse`).

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
(``location_learning_rate``), beats random locations within ten thousand images (see the README).

The lecture's variance point, measured: at every update, the per-episode gradients of the location
policy's surrogate with respect to the location head's weights are computed in closed form (for a
Gaussian mean ``mu = tanh(z)``, ``d log pi / dz = (l - mu) / sigma^2 * (1 - mu^2)``; for the grid's
softmax, ``onehot(a) - p``), with and without
subtracting the baseline, on the same episodes; their variance across the batch (summed over the
head's weights) is reported at each evaluation as ``location_grad_variance/baseline`` and
``location_grad_variance/no_baseline`` (:meth:`RecurrentAttentionAgent.diagnostics`).

:class:`FullImageClassifier` reads the observation's ``canvas`` (the whole image) with a small CNN
and is trained by cross-entropy at the last step of each episode: the reference that sees everything
at once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
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


def _check_glimpse_spaces(context: AgentContext) -> None:
    obs, action = context.observation_space, context.action_space
    if not (isinstance(obs, gym.spaces.Dict) and {"glimpse", "location", "canvas"} <= set(obs.spaces)
            and isinstance(action, gym.spaces.Dict) and {"location", "label"} <= set(action.spaces)):
        raise ValueError("this agent needs the glimpse task's spaces (rlbench.envs.glimpse: Dict observations with "
                         "glimpse, location and canvas; Dict actions with location and label)")


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


def location_grid(points: int) -> np.ndarray:
    """The ``(points**2, 2)`` candidate locations of a grid policy, row-major."""
    axis = np.linspace(-1.0, 1.0, points, dtype=np.float32)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


def cell_centres(canvas: int, cell: int) -> np.ndarray:
    """The ``(cells, 2)`` locations, row-major, of the centres of a ``canvas``-pixel canvas's grid of
    ``cell``-pixel cells, where the glimpse task's default placement puts the digit (``placement: grid``): a
    cell-wide patch centred there covers the cell exactly (:func:`rlbench.envs.glimpse.extract_glimpse` centres
    a patch on pixel ``(location + 1) / 2 * canvas``). On the 16-pixel canvas with 8-pixel cells: ``(+-0.5, +-0.5)``."""
    tops = np.arange(canvas // cell) * cell
    axis = ((tops + cell / 2) / canvas * 2.0 - 1.0).astype(np.float32)
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


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
        _check_glimpse_spaces(context)
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
        _check_glimpse_spaces(context)
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
