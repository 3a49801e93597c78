"""Stable-Baselines3 reference agents (Raffin et al. 2021, JMLR 22(268)) behind rlbench's interface.

SB3 owns its training loop, so these agents implement ``train`` directly and forward every
vectorised step and finished episode to the runner's monitor through an SB3 callback; evaluation
goes through ``evaluation_policy``, a copy of the SB3 policy (and of the observation-normalisation
statistics), exactly as for the in-house agents. Hyperparameters are plain values, the
rl-baselines3-zoo ones for each environment live in ``params.yaml``.

Image observations: ``policy: CnnPolicy`` is SB3's Nature CNN over channels-first uint8 frame stacks (Atari);
``features_extractor: minatar_cnn`` puts rlbench's MinAtar convolution (:func:`rlbench.nets.cnn.minatar_convolutions`)
under SB3's dense layers (``net_arch: [128]`` gives Young & Tian 2019's network).

Seeding: SB3 draws exploration, initialisation and replay sampling from the global torch/numpy
generators, so those three share the run's ``framework`` stream; the training environments are
seeded from the ``env`` stream after the model is built (SB3 would otherwise reseed them).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from rlbench.agents.base import Agent, AgentContext, TrainingMonitor
from rlbench.nets.cnn import minatar_convolutions
from rlbench.seeding import int_seed


class MinAtarFeatures(BaseFeaturesExtractor):
    """Young & Tian 2019's convolution over channels-last MinAtar boards, flattened, as SB3 features."""

    def __init__(self, observation_space: gym.spaces.Box) -> None:
        height, width, channels = observation_space.shape
        convolutions = minatar_convolutions(channels)
        with torch.no_grad():
            features = convolutions(torch.zeros(1, channels, height, width)).numel()
        super().__init__(observation_space, features_dim=features)
        self.convolutions = convolutions

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.convolutions(observations.float().permute(0, 3, 1, 2)).flatten(1)


POLICIES: tuple[str, ...] = ("MlpPolicy", "CnnPolicy")
"""SB3 policy names an ``SB3Config`` may give."""

FEATURE_EXTRACTORS: dict[str, type[BaseFeaturesExtractor]] = {"minatar_cnn": MinAtarFeatures}
"""Feature extractors an ``SB3Config`` may name (SB3's own are chosen by ``policy``)."""


@dataclass(frozen=True)
class SB3Config:
    """Plain-value SB3 settings (what rl-zoo writes as ``n_envs``, ``normalize``, ``lin_…``)."""

    n_envs: int = 1
    """Parallel training environments in one DummyVecEnv (zoo ``n_envs``)."""
    policy: str = "MlpPolicy"
    """SB3 policy, one of ``POLICIES`` (``CnnPolicy``: the Nature CNN over frame stacks)."""
    features_extractor: str | None = None
    """A key of ``FEATURE_EXTRACTORS`` (``minatar_cnn``) under the policy's dense layers; None = the policy's own."""
    normalize: bool = False
    """Wrap the training envs in VecNormalize (observations and rewards), as zoo ``normalize: true``."""
    net_arch: tuple[int, ...] | None = None
    """Hidden layer sizes of the policy/value networks (zoo ``policy_kwargs.net_arch``); None = SB3 default."""
    linear_schedules: tuple[str, ...] = ()
    """Names of ``algo_kwargs`` that decay linearly to 0 over training (zoo ``lin_<value>``)."""
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the SB3 algorithm's constructor, plain values only."""


class _MonitorCallback(BaseCallback):
    """Forwards SB3's steps and finished episodes to the runner's monitor."""

    def __init__(self, monitor: TrainingMonitor, budget: int) -> None:
        super().__init__(verbose=0)
        self._monitor = monitor
        self._budget = budget

    def _on_step(self) -> bool:
        step = self.num_timesteps
        if step <= self._budget:  # PPO/A2C finish their last rollout past the budget; not counted
            for info in self.locals["infos"]:
                episode = info.get("episode")
                if episode is not None:
                    self._monitor.on_episode_end(step, float(episode["r"]), int(episode["l"]))
        self._monitor.on_step(min(step, self._budget))
        return True


class SB3Agent(Agent):
    """Common adapter; subclasses name the SB3 algorithm class."""

    Config: ClassVar[type] = SB3Config
    algorithm: ClassVar[type[BaseAlgorithm]]

    def __init__(self, config: SB3Config, context: AgentContext) -> None:
        super().__init__(config, context)
        venv: VecEnv = DummyVecEnv([lambda: context.make_env(None) for _ in range(config.n_envs)])
        if config.normalize:
            gamma = config.algo_kwargs.get("gamma", 0.99)
            venv = VecNormalize(venv, gamma=gamma)
        self._venv = venv
        kwargs = dict(config.algo_kwargs)
        for name in config.linear_schedules:
            kwargs[name] = _linear(float(kwargs[name]))
        policy_kwargs: dict[str, Any] = {}
        if config.net_arch is not None:
            policy_kwargs["net_arch"] = list(config.net_arch)
        if config.features_extractor is not None:
            policy_kwargs["features_extractor_class"] = FEATURE_EXTRACTORS[config.features_extractor]
        self.model = self.algorithm(
            config.policy,
            venv,
            seed=int_seed(context.seeds.framework),
            device="cpu",
            verbose=0,
            policy_kwargs=policy_kwargs or None,
            **kwargs,
        )
        venv.seed(int_seed(context.seeds.env))

    @classmethod
    def make_config(cls, values: dict[str, Any]) -> SB3Config:
        config = super().make_config(values)
        cls._check_kwargs(config)
        net_arch = tuple(config.net_arch) if config.net_arch is not None else None
        return SB3Config(
            n_envs=config.n_envs,
            policy=config.policy,
            features_extractor=config.features_extractor,
            normalize=config.normalize,
            net_arch=net_arch,
            linear_schedules=tuple(config.linear_schedules),
            algo_kwargs=dict(config.algo_kwargs),
        )

    @classmethod
    def _check_kwargs(cls, config: SB3Config) -> None:
        accepted = set(inspect.signature(cls.algorithm.__init__).parameters) - {"self", "policy", "env"}
        reserved = {"seed", "device", "verbose", "policy_kwargs"}
        unknown = sorted(set(config.algo_kwargs) - (accepted - reserved))
        if unknown:
            valid = ", ".join(sorted(accepted - reserved))
            raise ValueError(f"unknown {cls.algorithm.__name__} argument(s) {', '.join(unknown)}; valid: {valid}")
        if config.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {config.policy!r}")
        if config.features_extractor is not None and config.features_extractor not in FEATURE_EXTRACTORS:
            raise ValueError(f"features_extractor must be one of {', '.join(FEATURE_EXTRACTORS)}, "
                             f"got {config.features_extractor!r}")
        missing = sorted(set(config.linear_schedules) - set(config.algo_kwargs))
        if missing:
            raise ValueError(f"linear_schedules names {', '.join(missing)} absent from algo_kwargs")

    def act(self, obs: np.ndarray, explore: bool) -> Any:
        if isinstance(self._venv, VecNormalize):
            obs = self._venv.normalize_obs(obs)
        action, _ = self.model.predict(obs, deterministic=not explore)
        return action.item() if np.ndim(action) == 0 else action

    def evaluation_policy(self) -> "SB3Policy":
        """SB3's deterministic prediction (what ``model.predict(deterministic=True)`` does) on copies."""
        normalizer = self._venv if isinstance(self._venv, VecNormalize) and self._venv.norm_obs else None
        statistics = copy.deepcopy(normalizer.obs_rms) if normalizer is not None else None
        return SB3Policy(copy.deepcopy(self.model.policy), normalizer, statistics)

    def train(self, total_steps: int, monitor: TrainingMonitor) -> None:
        monitor.on_step(0)
        self.model.learn(total_timesteps=total_steps, callback=_MonitorCallback(monitor, total_steps))
        self._venv.close()


class SB3Policy:
    """A copied SB3 policy with a frozen copy of the VecNormalize observation statistics."""

    def __init__(self, policy: BasePolicy, normalizer: VecNormalize | None, statistics: RunningMeanStd | None) -> None:
        self.policy, self.normalizer, self.statistics = policy, normalizer, statistics

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray) -> Any:
        if self.normalizer is not None:
            # VecNormalize.normalize_obs with the frozen statistics (its clip and epsilon are constants).
            obs = self.normalizer._normalize_obs(obs, self.statistics).astype(np.float32)
        action, _ = self.policy.predict(obs, deterministic=True)
        return action.item() if np.ndim(action) == 0 else action


def _linear(initial: float):  # noqa: ANN202 - SB3 schedules are plain callables
    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


class SB3DQN(SB3Agent):
    """SB3 DQN (Mnih et al. 2015)."""

    algorithm = DQN


class SB3A2C(SB3Agent):
    """SB3 A2C (Mnih et al. 2016, synchronous variant)."""

    algorithm = A2C


class SB3PPO(SB3Agent):
    """SB3 PPO (Schulman et al. 2017)."""

    algorithm = PPO
