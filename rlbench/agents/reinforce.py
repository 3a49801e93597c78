"""REINFORCE: Monte-Carlo policy gradient (Williams 1992, "Simple statistical gradient-following
algorithms for connectionist reinforcement learning"), as Sutton & Barto (2018, ch. 13.3-13.4) state it.

The policy collects ``episodes_per_update`` complete episodes, then takes one gradient step on the
surrogate ``mean_t log pi(a_t | s_t) * A_t`` over all their steps (the ``gamma^t`` factor of Sutton &
Barto's pseudocode is dropped, as in almost every implementation), with

* ``A_t = G_t``, the discounted return-to-go (REINFORCE, ch. 13.3), or
* ``A_t = G_t - V(s_t)`` with ``baseline`` (REINFORCE with baseline, ch. 13.4).

``V`` is a state-value network fitted by squared error to ``G_t`` with its own network and optimiser. It is
trained in every configuration: ``baseline`` decides only whether it is subtracted, so REINFORCE with and
without a baseline differ in that subtraction alone (and both variances below can be measured on any run).

Truncation. An episode cut by a time limit did not end: the return of its last steps does not stop at the
cut (Pardo et al. 2018, "Time limits in reinforcement learning"). With ``truncation: bootstrap`` the
return-to-go of an episode truncated after ``T`` steps continues with ``gamma^(T-t) V(s_T)``, the learned
value of the observation at the cut (:func:`discounted_returns`); ``ignore`` treats the cut as a
termination (a timed-out Acrobot failure's last actions then look better than a success's).

Standardisation (``normalize_returns``) is a setting, off by default: standardising over the batch
subtracts the batch mean, itself a baseline, so with it "no baseline" would not be REINFORCE without one.

The policy is Categorical for Discrete actions and a diagonal Gaussian with a state-independent learned
log-std for Box actions (samples are clipped to the bounds only when handed to the environment; the
unclipped sample is what is learned from).

The variance of the gradient estimate, measured: at every evaluation, :meth:`ReinforceAgent.diagnostics`
takes the latest batch of episodes and the policy parameters that collected it, and computes each
episode's gradient estimate ``sum_t A_t grad log pi(a_t | s_t)`` (:func:`episode_gradients`) once with
``A_t = G_t - V(s_t)`` and once with ``A_t = G_t`` (the same episodes, the same parameters, unstandardised,
without the entropy term). The trace of their covariance across the episodes
(:func:`gradient_variance`, the glimpse model's definition of ``location_grad_variance/*``) is
reported as ``policy_grad_variance/baseline`` and ``policy_grad_variance/no_baseline``.

Acting goes through a numpy mirror of the policy network where one exists
(:mod:`rlbench.nets.numpy_forward`: a one-observation torch call costs more dispatch than arithmetic).
Actions are sampled with a numpy Generator on the run's ``exploration`` stream, never torch's global RNG.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Normal
from torch.func import functional_call

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
from rlbench.nets.numpy_forward import numpy_forward, torch_forward
from rlbench.nets.registry import build_network
from rlbench.seeding import child, generator

TRUNCATION_MODES: tuple[str, ...] = ("bootstrap", "ignore")
"""How the return of an episode cut by a time limit is computed (see the module docstring)."""

GRADIENT_VARIANCE = "policy_grad_variance/"
"""Prefix of the two diagnostics (``baseline``, ``no_baseline``)."""


def discounted_returns(rewards: np.ndarray, gamma: float, bootstrap: float = 0.0) -> np.ndarray:
    """Return-to-go ``G_t = sum_{k=t}^{T-1} gamma^(k-t) r_k + gamma^(T-t) * bootstrap`` of one episode's
    rewards ``r_0 .. r_{T-1}``, as float32.

    ``bootstrap`` is 0 for an episode that terminated (the Monte-Carlo return of Sutton & Barto 2018,
    eq. 3.8, used by REINFORCE in ch. 13.3), and ``V(s_T)``, the value of the observation where a time
    limit cut the episode, for a truncated one: the return then continues past the cut as an n-step
    return does (ch. 7.1, with n = T - t). Accumulated in float64 so long episodes lose no precision
    before the final cast.
    """
    values = np.asarray(rewards, dtype=np.float64).tolist()
    returns = [0.0] * len(values)
    running = float(bootstrap)
    for t in range(len(values) - 1, -1, -1):
        running = values[t] + gamma * running
        returns[t] = running
    return np.asarray(returns, dtype=np.float64).astype(np.float32)


def policy_loss(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """The REINFORCE surrogate ``-mean(log pi(a_t|s_t) * A_t)`` (advantages carry no gradient; its
    gradient is minus the policy-gradient estimate of Sutton & Barto 2018, eq. 13.8, averaged over steps)."""
    return -(log_probs * advantages.detach()).mean()


def baseline_loss(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """Mean squared error ``mean((V(s_t) - G_t)^2)`` of the value baseline (Sutton & Barto 2018, ch. 13.4)."""
    return ((values - returns) ** 2).mean()


def standardized(advantages: torch.Tensor) -> torch.Tensor:
    """``(A - mean A) / (std A + 1e-8)`` over a batch (``normalize_returns``); a single value is left as is."""
    if len(advantages) < 2:
        return advantages
    return (advantages - advantages.mean()) / (advantages.std(correction=0) + 1e-8)


def episode_gradients(log_probs_of: Callable[[int], torch.Tensor], parameters: Sequence[torch.Tensor],
                      advantages: Sequence[Sequence[torch.Tensor]]) -> list[np.ndarray]:
    """Per-episode policy-gradient estimates ``sum_t A_t grad log pi(a_t | s_t)`` (the single-episode
    REINFORCE estimate of Sutton & Barto 2018, eq. 13.8, summed over the episode), one
    ``(episodes, parameters)`` array per advantage variant.

    ``log_probs_of(e)``: the log-probabilities ``(T_e,)`` of episode ``e``'s actions, a graph reaching
    ``parameters``; ``advantages[k][e]``: variant ``k``'s advantages ``(T_e,)`` of episode ``e``. One forward
    pass per episode, one backward pass per episode and variant.
    """
    episodes = len(advantages[0])
    size = sum(p.numel() for p in parameters)
    found = [np.empty((episodes, size), dtype=np.float64) for _ in advantages]
    for e in range(episodes):
        log_probs = log_probs_of(e)
        for k, variant in enumerate(advantages):
            grads = torch.autograd.grad((log_probs * variant[e]).sum(), parameters, retain_graph=k < len(advantages) - 1)
            found[k][e] = torch.cat([g.reshape(-1) for g in grads]).double().numpy()
    return found


def gradient_variance(gradients: np.ndarray) -> float:
    """Total variance of per-episode gradient estimates ``(episodes, parameters)``: the trace of their covariance
    across episodes (0 for fewer than two). The same definition as :func:`rlbench.agents.ram.gradient_variance`,
    kept here so that REINFORCE's run identity does not cover the glimpse model and its task."""
    return float(gradients.var(axis=0, ddof=1).sum()) if len(gradients) > 1 else 0.0


def sample_categorical(logits: np.ndarray, uniform: float) -> int:
    """Inverse-CDF sample of ``softmax(logits)`` from one uniform draw in [0, 1) (float64 arithmetic)."""
    values = logits.tolist()
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    threshold = uniform * sum(weights)
    cumulative = 0.0
    for action, weight in enumerate(weights):
        cumulative += weight
        if threshold < cumulative:
            return action
    return len(weights) - 1


class GreedyPolicyNet:
    """The evaluation policy: the most likely action (Categorical) or the clipped mean (Gaussian)."""

    def __init__(self, policy_net: nn.Module, discrete: bool, low: np.ndarray | None, high: np.ndarray | None) -> None:
        self.policy_net, self.discrete, self.low, self.high = policy_net, discrete, low, high
        self.forward = numpy_forward(policy_net) or torch_forward(policy_net)
        """``obs -> outputs`` of ``policy_net`` (numpy views of its weights where it can be mirrored)."""

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> Any:
        return self.act_on_output(self.forward(obs))

    def act_on_output(self, out: np.ndarray) -> Any:
        if self.discrete:
            return int(np.argmax(out))
        assert self.low is not None and self.high is not None
        return np.clip(out.reshape(self.low.shape), self.low, self.high)


@dataclass(frozen=True)
class ReinforceConfig:
    """REINFORCE hyperparameters."""

    learning_rate: float = 5e-3
    """Adam step size of the policy (and of the log-std for Box actions)."""
    gamma: float = 0.99
    """Discount factor of the reward-to-go."""
    baseline: bool = True
    """Subtract the learned state value V(s_t) from the returns (Sutton & Barto ch. 13.4). V is learned either
    way (for truncated returns and the variance diagnostic); this decides only the subtraction."""
    baseline_learning_rate: float = 2e-3
    """Adam step size of the value network V, which serves as the baseline and bootstraps truncated returns."""
    value_steps: int = 10
    """Adam steps of the value network per update, each on the whole batch, taken after the baseline and the
    bootstrap values are read (a few updates of long episodes must still fit returns of size 1 / (1 - gamma))."""
    normalize_returns: bool = False
    """Standardise the advantages (the returns, without a baseline) to mean 0 and standard deviation 1 over each
    update's batch. Off: the advantages are the raw discounted returns (minus V with ``baseline``); on, the batch
    mean is subtracted, which is a baseline of its own."""
    episodes_per_update: int = 4
    """Complete episodes collected with the same policy per update (the batch the gradient is averaged over; at
    least 2 for the variance diagnostic). Long episodes make updates rare: Acrobot's and the maze's first episodes
    run to their time limits, and with 8 per update (25 updates in Acrobot's first 100k steps) the maze was not
    learned within its budget on any of 3 seeds tried, where 4 (with a step size of 5e-3) learned it on 6 of 6."""
    truncation: str = "bootstrap"
    """An episode cut by a time limit: ``bootstrap`` (its returns continue with gamma^(T-t) V(s_T) of the learned
    value of the observation at the cut) or ``ignore`` (treated as terminated, the return ends at the cut)."""
    network: str = "mlp"
    """Architecture of the policy and value networks, a name in ``rlbench.nets.registry.NETWORKS``."""
    net_arch: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of the policy and value networks."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus added to the policy objective."""
    max_grad_norm: float | None = None
    """Clip each network's global gradient norm to this value; None disables clipping."""
    initial_log_std: float = 0.0
    """Initial log standard deviation of the Gaussian policy (Box actions only)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "net_arch", tuple(int(h) for h in self.net_arch))
        if self.episodes_per_update < 1:
            raise ValueError(f"episodes_per_update must be at least 1, got {self.episodes_per_update}")
        if self.value_steps < 1:
            raise ValueError(f"value_steps must be at least 1, got {self.value_steps}")
        if self.truncation not in TRUNCATION_MODES:
            raise ValueError(f"truncation must be one of {', '.join(TRUNCATION_MODES)}, got {self.truncation!r}")


@dataclass(frozen=True)
class Episode:
    """One complete episode awaiting an update."""

    obs: np.ndarray
    """``(T, *observation_shape)``: the observations actions were chosen in."""
    actions: np.ndarray
    """``(T,)`` int64 (Discrete) or ``(T, *action_shape)`` float32 unclipped samples (Box)."""
    rewards: np.ndarray
    """``(T,)`` float64."""
    final_obs: np.ndarray | None
    """The observation at a time-limit cut, to bootstrap from (``truncation: bootstrap``); None otherwise."""


@dataclass(frozen=True)
class LatestBatch:
    """What the variance diagnostic needs of the latest update's episodes."""

    obs: torch.Tensor
    actions: torch.Tensor
    returns: torch.Tensor
    """``G_t`` (bootstrapped where truncated)."""
    values: torch.Tensor
    """``V(s_t)`` before the update."""
    lengths: list[int]
    parameters: list[torch.Tensor]
    """The policy parameters that collected the episodes (before the update), in ``_policy_parameters`` order."""


class ReinforceAgent(OnlineAgent):
    """REINFORCE with an optional learned baseline, for Discrete or Box action spaces."""

    Config = ReinforceConfig
    supports_checkpoint = True

    def __init__(self, config: ReinforceConfig, context: AgentContext) -> None:
        super().__init__(config, context)
        space = context.action_space
        self.discrete = isinstance(space, gym.spaces.Discrete)
        self.action_low: np.ndarray | None = None
        self.action_high: np.ndarray | None = None
        if self.discrete:
            out_dim = int(space.n)
        elif isinstance(space, gym.spaces.Box):
            out_dim = int(np.prod(space.shape))
            self.action_low, self.action_high = space.low.astype(np.float32), space.high.astype(np.float32)
        else:
            raise ValueError(f"REINFORCE needs a Discrete or Box action space, got {space}")
        obs_space = context.observation_space
        self.policy_net = build_network(config.network, obs_space, out_dim, config.net_arch, child(context.seeds.network, 0))
        params = list(self.policy_net.parameters())
        self.log_std: nn.Parameter | None = None
        if not self.discrete:
            self.log_std = nn.Parameter(torch.full((out_dim,), float(config.initial_log_std)))
            params.append(self.log_std)
        self.policy_optimizer = torch.optim.Adam(params, lr=config.learning_rate, fused=True)
        self.value_net = build_network(config.network, obs_space, 1, config.net_arch, child(context.seeds.network, 1))
        self.value_optimizer = torch.optim.Adam(self.value_net.parameters(), lr=config.baseline_learning_rate, fused=True)
        self._greedy = GreedyPolicyNet(self.policy_net, self.discrete, self.action_low, self.action_high)
        self.rng = generator(context.seeds.exploration)
        self.num_updates = 0
        """Policy updates taken so far."""
        self._sampled_action: Any = None  # the unclipped action of the latest exploring ``act``
        self._obs: list[np.ndarray] = []  # the current episode so far ...
        self._actions: list[Any] = []
        self._rewards: list[float] = []
        self._batch: list[Episode] = []  # complete episodes awaiting an update
        self._latest: LatestBatch | None = None  # the latest update's episodes, for the diagnostic

    @property
    def _policy_parameters(self) -> list[torch.Tensor]:
        return [p for group in self.policy_optimizer.param_groups for p in group["params"]]

    def distribution(self, obs: torch.Tensor) -> Distribution:
        """The policy's action distribution for a batch of observations."""
        return self._distribution(self.policy_net(obs), self.log_std)

    def _distribution(self, out: torch.Tensor, log_std: torch.Tensor | None) -> Distribution:
        if self.discrete:
            return Categorical(logits=out, validate_args=False)
        assert log_std is not None
        return Normal(out, log_std.exp().expand_as(out), validate_args=False)

    def _log_probs(self, dist: Distribution, actions: torch.Tensor) -> torch.Tensor:
        log_probs = dist.log_prob(actions)
        return log_probs if self.discrete else log_probs.sum(dim=1)

    def act(self, obs: np.ndarray, explore: bool) -> Any:
        out = self._greedy.forward(obs)
        if not explore:
            return self._greedy.act_on_output(out)
        if self.discrete:
            action = sample_categorical(out, self.rng.random())
            self._sampled_action = action
            return action
        assert self.log_std is not None and self.action_low is not None
        mean = out.reshape(self.action_low.shape)
        std = np.exp(self.log_std.detach().numpy()).reshape(mean.shape)
        sample = (mean + std * self.rng.standard_normal(mean.shape)).astype(np.float32)
        self._sampled_action = sample
        return np.clip(sample, self.action_low, self.action_high)

    def evaluation_policy(self) -> GreedyPolicyNet:
        """The mode of the policy (argmax, or the clipped Gaussian mean) on a copy of the policy network."""
        return GreedyPolicyNet(copy.deepcopy(self.policy_net), self.discrete, self.action_low, self.action_high)

    def observe(self, transition: Transition) -> None:
        self._obs.append(transition.obs)
        self._actions.append(self._sampled_action)
        self._rewards.append(transition.reward)
        if transition.terminated or transition.truncated:
            cut = transition.truncated and not transition.terminated and self.config.truncation == "bootstrap"
            actions = np.asarray(self._actions, dtype=np.int64 if self.discrete else np.float32)
            self._batch.append(Episode(np.stack(self._obs), actions, np.asarray(self._rewards, dtype=np.float64),
                                       np.array(transition.next_obs) if cut else None))
            self._obs, self._actions, self._rewards = [], [], []

    def update(self, step: int) -> None:
        if len(self._batch) >= self.config.episodes_per_update:
            self.learn()

    def returns(self, episodes: Sequence[Episode]) -> torch.Tensor:
        """``G_t`` of every step of ``episodes``, concatenated, bootstrapped with the current V where an episode
        was cut by a time limit (``truncation: bootstrap``)."""
        bootstrap = [0.0] * len(episodes)
        cut = [i for i, e in enumerate(episodes) if e.final_obs is not None]
        if cut:
            with torch.no_grad():
                values = self.value_net(torch.as_tensor(np.stack([episodes[i].final_obs for i in cut]))).squeeze(1)
            for i, value in zip(cut, values.tolist()):
                bootstrap[i] = value
        return torch.as_tensor(np.concatenate([discounted_returns(e.rewards, self.config.gamma, b)
                                               for e, b in zip(episodes, bootstrap)]))

    def learn(self) -> None:
        """One value and one policy gradient step on the collected episodes, then clear them."""
        c = self.config
        episodes, self._batch = self._batch, []
        obs = torch.as_tensor(np.concatenate([e.obs for e in episodes]))
        actions = torch.as_tensor(np.concatenate([e.actions for e in episodes]))
        if not self.discrete:
            actions = actions.reshape(len(actions), -1)
        returns = self.returns(episodes)

        values = self.value_net(obs).squeeze(1)
        baseline_values = values.detach()
        advantages = returns - baseline_values if c.baseline else returns
        self._step(self.value_optimizer, baseline_loss(values, returns), self.value_net.parameters())
        for _ in range(c.value_steps - 1):
            self._step(self.value_optimizer, baseline_loss(self.value_net(obs).squeeze(1), returns),
                       self.value_net.parameters())
        if c.normalize_returns:
            advantages = standardized(advantages)

        parameters = self._policy_parameters
        self._latest = LatestBatch(obs, actions, returns, baseline_values, [len(e.rewards) for e in episodes],
                                   [p.detach().clone() for p in parameters])
        dist = self.distribution(obs)
        loss = policy_loss(self._log_probs(dist, actions), advantages)
        if c.entropy_coef:
            entropy = dist.entropy()
            loss = loss - c.entropy_coef * (entropy if self.discrete else entropy.sum(dim=1)).mean()
        self._step(self.policy_optimizer, loss, parameters)
        self.num_updates += 1

    def _step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, params: Any) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        optimizer.step()

    def diagnostics(self) -> dict[str, float]:
        """Total variance of the per-episode policy-gradient estimates of the latest update's episodes, under
        the parameters that collected them, with ``A_t = G_t - V(s_t)`` and with ``A_t = G_t`` (nothing before
        the first update, or when it had fewer than two episodes). Changes nothing the agent learns."""
        latest = self._latest
        if latest is None or len(latest.lengths) < 2:
            return {}
        names = [name for name, _ in self.policy_net.named_parameters()]
        parameters = [p.detach().clone().requires_grad_(True) for p in latest.parameters]
        weights = dict(zip(names, parameters))
        log_std = parameters[len(names)] if self.log_std is not None else None
        bounds = np.cumsum([0, *latest.lengths])
        spans = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

        def log_probs_of(e: int) -> torch.Tensor:
            out = functional_call(self.policy_net, weights, (latest.obs[spans[e]],))
            return self._log_probs(self._distribution(out, log_std), latest.actions[spans[e]])

        plain = [latest.returns[s] for s in spans]
        subtracted = [latest.returns[s] - latest.values[s] for s in spans]
        with torch.enable_grad():
            with_baseline, without = episode_gradients(log_probs_of, parameters, [subtracted, plain])
        return {f"{GRADIENT_VARIANCE}baseline": gradient_variance(with_baseline),
                f"{GRADIENT_VARIANCE}no_baseline": gradient_variance(without)}

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, RNG, counters, complete episodes awaiting an update, and the latest update's
        episodes (the next evaluation's diagnostic measures them)."""
        if self._obs:
            raise RuntimeError("REINFORCE checkpoints must be taken at an episode boundary")
        learner: dict[str, Any] = {"policy_net": self.policy_net.state_dict(), "policy_optimizer": self.policy_optimizer.state_dict(),
                                   "value_net": self.value_net.state_dict(), "value_optimizer": self.value_optimizer.state_dict()}
        if self.log_std is not None:
            learner["log_std"] = self.log_std.data
        pending: dict[str, Any] = {
            "episodes": len(self._batch),
            "obs": [torch.from_numpy(e.obs) for e in self._batch],
            "actions": [torch.from_numpy(e.actions) for e in self._batch],
            "rewards": [torch.from_numpy(e.rewards) for e in self._batch],
            "final_obs": [None if e.final_obs is None else torch.from_numpy(e.final_obs) for e in self._batch],
        }
        latest = None
        if self._latest is not None:
            latest = {"obs": self._latest.obs, "actions": self._latest.actions, "returns": self._latest.returns,
                      "values": self._latest.values, "lengths": list(self._latest.lengths),
                      "parameters": list(self._latest.parameters)}
        return {
            **copy.deepcopy(learner),
            "pending": copy.deepcopy(pending),
            "latest": copy.deepcopy(latest),
            "exploration_rng": self.rng.bit_generator.state,
            "num_updates": self.num_updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy_net.load_state_dict(state["policy_net"])
        self.policy_optimizer.load_state_dict(state["policy_optimizer"])
        if self.log_std is not None:
            with torch.no_grad():
                self.log_std.copy_(state["log_std"])
        self.value_net.load_state_dict(state["value_net"])
        self.value_optimizer.load_state_dict(state["value_optimizer"])
        pending = state["pending"]
        self._batch = [Episode(o.numpy(), a.numpy(), r.numpy(), None if f is None else f.numpy())
                       for o, a, r, f in zip(pending["obs"], pending["actions"], pending["rewards"], pending["final_obs"])]
        latest = state.get("latest")
        self._latest = None if latest is None else LatestBatch(
            latest["obs"], latest["actions"], latest["returns"], latest["values"], [int(n) for n in latest["lengths"]],
            list(latest["parameters"]))
        self._obs, self._actions, self._rewards = [], [], []
        self.rng.bit_generator.state = state["exploration_rng"]
        self.num_updates = int(state["num_updates"])
