"""REINFORCE: Monte-Carlo policy gradient (Williams 1992, "Simple statistical gradient-following
algorithms for connectionist reinforcement learning").

After every ``episodes_per_update`` complete episodes, the policy ascends
``mean_t log pi(a_t | s_t) * A_t`` where ``A_t`` is the discounted reward-to-go ``G_t``, minus an
optional learned state-value baseline ``V(s_t)`` (Sutton & Barto 2018, ch. 13.4) fitted by MSE to
``G_t`` with its own network and optimiser. The policy is Categorical for Discrete actions and a
diagonal Gaussian with a state-independent learned log-std for Box actions (samples are clipped to
the bounds only when handed to the environment; the unclipped sample is what is learned from).

Actions are sampled with a numpy Generator on the run's ``exploration`` stream, never torch's
global RNG. Episodes ended by truncation are treated like terminated ones (no bootstrapping).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Normal

from rlbench.agents.base import AgentContext, OnlineAgent, Transition
from rlbench.nets.registry import build_network
from rlbench.seeding import child, generator


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """Reward-to-go ``G_t = sum_{k>=t} gamma^(k-t) r_k`` of one episode's rewards, as float32.

    Accumulated in float64 so long episodes lose no precision before the final cast.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    returns = np.empty_like(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns.astype(np.float32)


def policy_loss(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """The REINFORCE surrogate ``-mean(log pi(a_t|s_t) * A_t)`` (advantages carry no gradient)."""
    return -(log_probs * advantages.detach()).mean()


def baseline_loss(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """Mean squared error ``mean((V(s_t) - G_t)^2)`` of the value baseline."""
    return ((values - returns) ** 2).mean()


def _policy_output(policy_net: nn.Module, obs: np.ndarray) -> torch.Tensor:
    with torch.inference_mode():
        return policy_net(torch.as_tensor(obs).unsqueeze(0))[0]


class GreedyPolicyNet:
    """The evaluation policy: the most likely action (Categorical) or the clipped mean (Gaussian)."""

    def __init__(self, policy_net: nn.Module, discrete: bool, low: np.ndarray | None, high: np.ndarray | None) -> None:
        self.policy_net, self.discrete, self.low, self.high = policy_net, discrete, low, high

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> Any:
        return self.act_on_output(_policy_output(self.policy_net, obs))

    def act_on_output(self, out: torch.Tensor) -> Any:
        if self.discrete:
            return int(out.argmax().item())
        assert self.low is not None and self.high is not None
        return np.clip(out.numpy().reshape(self.low.shape), self.low, self.high)


@dataclass(frozen=True)
class ReinforceConfig:
    """REINFORCE hyperparameters."""

    learning_rate: float = 2e-3
    """Adam step size of the policy (and of the log-std for Box actions)."""
    gamma: float = 0.99
    """Discount factor of the reward-to-go."""
    baseline: bool = True
    """Subtract a learned state-value baseline from the returns (Sutton & Barto ch. 13.4)."""
    baseline_learning_rate: float = 2e-3
    """Adam step size of the value network (used only with ``baseline``)."""
    normalize_returns: bool = True
    """Standardise the advantages (or the returns, without a baseline) over each update's batch."""
    episodes_per_update: int = 1
    """Complete episodes collected per policy update."""
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
        self.value_net: nn.Module | None = None
        self.value_optimizer: torch.optim.Optimizer | None = None
        if config.baseline:
            self.value_net = build_network(config.network, obs_space, 1, config.net_arch, child(context.seeds.network, 1))
            self.value_optimizer = torch.optim.Adam(self.value_net.parameters(), lr=config.baseline_learning_rate, fused=True)
        self._greedy = GreedyPolicyNet(self.policy_net, self.discrete, self.action_low, self.action_high)
        self.rng = generator(context.seeds.exploration)
        self.num_updates = 0
        """Policy updates taken so far."""
        self._sampled_action: Any = None  # the unclipped action of the latest exploring ``act``
        self._episode: list[tuple[np.ndarray, Any, float]] = []  # (obs, sampled action, reward) so far
        self._batch_obs: list[np.ndarray] = []  # complete episodes awaiting an update ...
        self._batch_actions: list[Any] = []
        self._batch_returns: list[np.ndarray] = []
        self._batch_episodes = 0

    def distribution(self, obs: torch.Tensor) -> Distribution:
        """The policy's action distribution for a batch of observations."""
        out = self.policy_net(obs)
        if self.discrete:
            return Categorical(logits=out, validate_args=False)
        assert self.log_std is not None
        return Normal(out, self.log_std.exp().expand_as(out), validate_args=False)

    def act(self, obs: np.ndarray, explore: bool) -> Any:
        out = _policy_output(self.policy_net, obs)
        if not explore:
            return self._greedy.act_on_output(out)
        if self.discrete:
            probs = torch.softmax(out.double(), dim=0).numpy()
            action = min(int(np.searchsorted(np.cumsum(probs), self.rng.random(), side="right")), len(probs) - 1)
            self._sampled_action = action
            return action
        assert self.log_std is not None
        mean = out.numpy().reshape(self.action_low.shape)
        std = np.exp(self.log_std.detach().numpy()).reshape(mean.shape)
        sample = (mean + std * self.rng.standard_normal(mean.shape)).astype(np.float32)
        self._sampled_action = sample
        return np.clip(sample, self.action_low, self.action_high)

    def evaluation_policy(self) -> "GreedyPolicyNet":
        """The mode of the policy (argmax, or the clipped Gaussian mean) on a copy of the policy network."""
        return GreedyPolicyNet(copy.deepcopy(self.policy_net), self.discrete, self.action_low, self.action_high)

    def observe(self, transition: Transition) -> None:
        self._episode.append((transition.obs, self._sampled_action, transition.reward))
        if transition.terminated or transition.truncated:
            obs, actions, rewards = zip(*self._episode)
            self._batch_obs.extend(obs)
            self._batch_actions.extend(actions)
            self._batch_returns.append(discounted_returns(np.array(rewards), self.config.gamma))
            self._batch_episodes += 1
            self._episode = []

    def update(self, step: int) -> None:
        if self._batch_episodes >= self.config.episodes_per_update:
            self.learn()

    def learn(self) -> None:
        """One policy (and baseline) gradient step on the collected episodes, then clear them."""
        c = self.config
        obs = torch.as_tensor(np.stack(self._batch_obs))
        action_dtype = np.int64 if self.discrete else np.float32
        actions = torch.as_tensor(np.stack(self._batch_actions).astype(action_dtype))
        if not self.discrete:
            actions = actions.reshape(len(actions), -1)
        returns = torch.as_tensor(np.concatenate(self._batch_returns))
        self._batch_obs, self._batch_actions, self._batch_returns, self._batch_episodes = [], [], [], 0

        advantages = returns
        if self.value_net is not None and self.value_optimizer is not None:
            values = self.value_net(obs).squeeze(1)
            advantages = returns - values.detach()
            self._step(self.value_optimizer, baseline_loss(values, returns), self.value_net.parameters())
        if c.normalize_returns and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std(correction=0) + 1e-8)

        dist = self.distribution(obs)
        log_probs = dist.log_prob(actions)
        entropy = dist.entropy()
        if not self.discrete:
            log_probs, entropy = log_probs.sum(dim=1), entropy.sum(dim=1)
        loss = policy_loss(log_probs, advantages) - c.entropy_coef * entropy.mean()
        self._step(self.policy_optimizer, loss, [p for g in self.policy_optimizer.param_groups for p in g["params"]])
        self.num_updates += 1

    def _step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, params: Any) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, RNG, counters and any complete episodes awaiting an update."""
        if self._episode:
            raise RuntimeError("REINFORCE checkpoints must be taken at an episode boundary")
        learner: dict[str, Any] = {"policy_net": self.policy_net.state_dict(), "policy_optimizer": self.policy_optimizer.state_dict()}
        if self.log_std is not None:
            learner["log_std"] = self.log_std.data
        if self.value_net is not None and self.value_optimizer is not None:
            learner["value_net"] = self.value_net.state_dict()
            learner["value_optimizer"] = self.value_optimizer.state_dict()
        pending: dict[str, Any] = {"episodes": self._batch_episodes}
        if self._batch_episodes:
            pending["obs"] = torch.from_numpy(np.stack(self._batch_obs))
            pending["actions"] = torch.from_numpy(np.stack(self._batch_actions))
            pending["returns"] = [torch.from_numpy(r) for r in self._batch_returns]
        return {
            **copy.deepcopy(learner),
            "pending": copy.deepcopy(pending),
            "exploration_rng": self.rng.bit_generator.state,
            "num_updates": self.num_updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy_net.load_state_dict(state["policy_net"])
        self.policy_optimizer.load_state_dict(state["policy_optimizer"])
        if self.log_std is not None:
            with torch.no_grad():
                self.log_std.copy_(state["log_std"])
        if self.value_net is not None and self.value_optimizer is not None:
            self.value_net.load_state_dict(state["value_net"])
            self.value_optimizer.load_state_dict(state["value_optimizer"])
        pending = state["pending"]
        self._batch_episodes = int(pending["episodes"])
        self._batch_obs, self._batch_actions, self._batch_returns = [], [], []
        if self._batch_episodes:
            self._batch_obs = list(pending["obs"].numpy())
            actions = pending["actions"].numpy()
            self._batch_actions = [int(a) for a in actions] if self.discrete else list(actions)
            self._batch_returns = [r.numpy() for r in pending["returns"]]
        self._episode = []
        self.rng.bit_generator.state = state["exploration_rng"]
        self.num_updates = int(state["num_updates"])
