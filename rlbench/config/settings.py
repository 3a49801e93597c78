"""What shapes a comparison, in one vocabulary for every agent: the settings a "differs in" names.

Two leaderboard entries are comparable only as far as one can say what differs between them. Each built-in agent's
resolved config is translated here into :data:`SETTINGS` (one plain string per setting, the unit written out), so
rlbench's DQN and Stable-Baselines3's DQN with the same optimiser, schedule and network read the same, and any
difference reads as one line ("optimizer: centred RMSProp (alpha 0.95, eps 0.01) vs Adam (eps 1e-08)").

The plan stage calls :func:`comparable_settings` for every algorithm and environment of a suite and writes the result
into ``results/plans/<suite>.json``; the analysis compares them (:mod:`rlbench.config.comparison`) without importing an
agent (this module names agent classes but imports none; Stable-Baselines3 only inside its translations). A plugin agent may declare its own translation, a classmethod ``comparable_settings(config, budget) ->
dict[str, str]`` using these names; otherwise its hyperparameters are listed under their own names, so a difference
in them is still named.

Stable-Baselines3's defaults are read from its constructors' signatures (the installed version), and its optimiser
defaults are its documented ones (SB3 2.x: DQN uses ``torch.optim.Adam`` with torch's defaults; A2C RMSProp with
alpha 0.99, eps 1e-5 unless ``use_rms_prop`` is false; PPO and A2C's Adam use eps 1e-5; ``max_grad_norm`` 10 for
DQN, 0.5 for A2C and PPO).

No agent imports this module, so it is in no run's identity: the vocabulary can grow without retraining anything.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from typing import Any

SETTINGS: dict[str, str] = {
    "algorithm": "the learning algorithm",
    "implementation": "whose code trains it",
    "optimizer": "the optimiser and its constants",
    "learning_rate": "the step size and its schedule",
    "updates_per_step": "gradient steps per environment step",
    "batch": "samples or episodes per gradient step",
    "target_period": "how often the target network is copied, in environment steps and in updates",
    "loss": "the loss regressed",
    "gradient_clipping": "the gradient-norm clip",
    "network": "the function approximator",
    "replay": "replay capacity and when learning starts",
    "exploration": "the exploration schedule",
    "discount": "the discount factor",
    "parallel_envs": "training environments stepped together",
    "normalization": "normalisation of observations, rewards, returns or advantages",
    "baseline": "what is subtracted from the return in the policy gradient",
    "truncation": "how an episode cut by the time limit is treated",
    "locations": "where glimpses are taken",
}
"""The shared vocabulary, in reporting order: setting name -> what it describes."""


def number(value: Any) -> str:
    """A number as the tables print it (``0.00025``, ``1e-08``, ``100,000``)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1):
        return f"{int(value):,}"
    return f"{float(value):g}"


def _per_step(updates: float, steps: float) -> str:
    ratio = updates / steps
    return f"{number(ratio)} ({number(updates)} per {number(steps)} steps)"


def _exploration(initial: float, final: float, fraction: float, budget: int, random_steps: int) -> str:
    text = f"epsilon {number(initial)} -> {number(final)} over {number(round(fraction * budget))} steps"
    return text + (f", uniformly random for the first {number(random_steps)}" if random_steps else "")


def _clip(norm: float | None) -> str:
    return "none" if norm is None or not math.isfinite(norm) or norm >= 1e9 else f"global norm {number(norm)}"


def _dqn_common(values: dict[str, Any], budget: int, n_envs: int = 1) -> dict[str, str]:
    train_freq = int(values["train_freq"])
    gradient_steps = train_freq * n_envs if int(values["gradient_steps"]) == -1 else int(values["gradient_steps"])
    steps_per_phase = train_freq * n_envs
    period = int(values["target_update_interval"])
    return {
        "algorithm": "DQN" + (" (Double)" if values.get("double_dqn") else ""),
        "learning_rate": number(values["learning_rate"]),
        "updates_per_step": _per_step(gradient_steps, steps_per_phase),
        "batch": f"{number(values['batch_size'])} transitions",
        "target_period": f"hard copy every {number(period)} env steps ({number(period * gradient_steps / steps_per_phase)}"
                         " updates)",
        "replay": f"{number(values['buffer_size'])} transitions, learning after {number(values['learning_starts'])} steps",
        "exploration": _exploration(values["exploration_initial_eps"], values["exploration_final_eps"],
                                    values["exploration_fraction"], budget, int(values["learning_starts"])),
        "discount": number(values["gamma"]),
    }


IN_HOUSE_OPTIMIZERS = {"adam": "Adam (eps 1e-08)", "rmsprop": "centred RMSProp (alpha 0.95, eps 0.01)"}
"""``DQNConfig.optimizer`` in this vocabulary (rlbench.agents.dqn.OPTIMIZERS: torch's Adam defaults; MinAtar's
centred RMSProp)."""


def _in_house_dqn(values: dict[str, Any], budget: int) -> dict[str, str]:
    return {
        **_dqn_common(values, budget),
        "implementation": "rlbench",
        "optimizer": IN_HOUSE_OPTIMIZERS.get(values["optimizer"], values["optimizer"]),
        "loss": "Huber" if values["loss"] == "huber" else "squared error",
        "gradient_clipping": _clip(values["max_grad_norm"]),
        "network": f"{values['network']} {list(values['net_arch'])}",
        "parallel_envs": "1",
        "normalization": "none",
    }


def _reinforce(values: dict[str, Any], budget: int) -> dict[str, str]:
    del budget
    episodes = int(values["episodes_per_update"])
    standardised = values.get("normalize_returns", False)
    return {
        "algorithm": "REINFORCE",
        "implementation": "rlbench",
        "optimizer": "Adam (eps 1e-08)",
        "learning_rate": number(values["learning_rate"]),
        "updates_per_step": f"1 per {episodes} episode(s)",
        "batch": f"{episodes} episode(s)",
        "loss": "policy gradient" + (f" + {number(values['entropy_coef'])} entropy" if values.get("entropy_coef") else ""),
        "gradient_clipping": _clip(values.get("max_grad_norm")),
        "network": f"{values['network']} {list(values['net_arch'])}",
        "discount": number(values["gamma"]),
        "parallel_envs": str(values.get("n_envs", 1)),
        "normalization": (f"returns standardised over each update's {episodes} episode(s)" if standardised else "none"),
        "baseline": (f"learned state value (Adam, step size {number(values['baseline_learning_rate'])})"
                     if values.get("baseline") else "none"),
        "truncation": {"bootstrap": f"bootstrapped from a learned state value (Adam, step size "
                                    f"{number(values['baseline_learning_rate'])})",
                       "ignore": "treated as termination"}.get(values.get("truncation", "ignore"),
                                                               str(values.get("truncation"))),
    }


def _qlearning(values: dict[str, Any], budget: int) -> dict[str, str]:
    schedule = values.get("step_size", "constant")
    step = (number(values["learning_rate"]) if schedule == "constant"
            else f"1 / (1 + visits)^{number(values.get('step_size_exponent', 1.0))} per state-action")
    return {
        "algorithm": "Q-learning",
        "implementation": "rlbench",
        "optimizer": "tabular update",
        "learning_rate": step,
        "updates_per_step": "1 (1 per 1 steps)",
        "network": f"table (initial value {number(values['initial_value'])})",
        "exploration": _exploration(values["exploration_initial_eps"], values["exploration_final_eps"],
                                    values["exploration_fraction"], budget, 0),
        "discount": number(values["gamma"]),
        "parallel_envs": "1",
        "normalization": "none",
    }


def _ram(values: dict[str, Any], budget: int) -> dict[str, str]:
    del budget
    episodes = int(values["episodes_per_update"])
    return {
        "algorithm": "Recurrent Attention Model",
        "implementation": "rlbench",
        "optimizer": "Adam (eps 1e-08)",
        "learning_rate": f"{number(values['learning_rate'])}, location head {number(values['location_learning_rate'])}",
        "updates_per_step": f"1 per {episodes} episode(s)",
        "batch": f"{episodes} episode(s)",
        "loss": "classification + policy gradient",
        "gradient_clipping": _clip(values["max_grad_norm"]),
        "network": f"glimpse network and recurrent core, width {values['hidden']}",
        "parallel_envs": "1",
        "normalization": "none",
        "baseline": "learned baseline" if values["baseline"] else "none",
        "locations": _ram_locations(values),
    }


def _ram_locations(values: dict[str, Any]) -> str:
    grid = int(values["location_grid"])
    if values["locations"] == "oracle":
        return "oracle (the digit's centre)"
    if values["locations"] == "random_centres":
        return f"random among the centres of the {values['cell']}-pixel cells"
    return values["locations"] + (f" on a {grid}x{grid} grid" if grid else f" Gaussian (std {number(values['location_std'])})")


def _full_image(values: dict[str, Any], budget: int) -> dict[str, str]:
    del budget
    episodes = int(values["episodes_per_update"])
    return {
        "algorithm": "full-image classifier",
        "implementation": "rlbench",
        "optimizer": "Adam (eps 1e-08)",
        "learning_rate": number(values["learning_rate"]),
        "updates_per_step": f"1 per {episodes} episode(s)",
        "batch": f"{episodes} image(s)",
        "loss": "classification",
        "network": f"2-layer CNN on the whole canvas, width {values['hidden']}",
        "parallel_envs": "1",
        "normalization": "none",
        "locations": "none (sees the whole image)",
    }


def _sb3_defaults(algorithm: type) -> dict[str, Any]:
    return {name: parameter.default for name, parameter in inspect.signature(algorithm.__init__).parameters.items()
            if parameter.default is not inspect.Parameter.empty}


def _sb3_network(values: dict[str, Any], default: list[int]) -> str:
    if values.get("policy") == "CnnPolicy":
        return "nature_cnn [512]" if values.get("net_arch") is None else f"nature_cnn [512] + {list(values['net_arch'])}"
    extractor = values.get("features_extractor") or "mlp"
    arch = default if values.get("net_arch") is None else list(values["net_arch"])
    return f"{extractor} {arch}"


def _sb3_learning_rate(values: dict[str, Any], kwargs: dict[str, Any]) -> str:
    rate = kwargs["learning_rate"]
    text = number(rate) if isinstance(rate, (int, float)) else str(rate)
    return text + (", linear decay to 0" if "learning_rate" in values.get("linear_schedules", ()) else "")


def _sb3_dqn(values: dict[str, Any], budget: int) -> dict[str, str]:
    from stable_baselines3 import DQN

    kwargs = {**_sb3_defaults(DQN), **values.get("algo_kwargs", {})}
    n_envs = int(values.get("n_envs", 1))
    settings = _dqn_common(kwargs, budget, n_envs)
    if float(kwargs.get("tau", 1.0)) != 1.0:
        settings["target_period"] = f"Polyak tau {number(kwargs['tau'])} " + settings["target_period"]
    return {
        **settings,
        "implementation": "Stable-Baselines3",
        "optimizer": "Adam (eps 1e-08)",
        "learning_rate": _sb3_learning_rate(values, kwargs),
        "loss": "Huber",
        "gradient_clipping": _clip(kwargs["max_grad_norm"]),
        "network": _sb3_network(values, [64, 64]),
        "parallel_envs": str(n_envs),
        "normalization": "observations and rewards (VecNormalize)" if values.get("normalize") else "none",
    }


def _sb3_actor_critic(values: dict[str, Any], algorithm: type, name: str) -> dict[str, str]:
    kwargs = {**_sb3_defaults(algorithm), **values.get("algo_kwargs", {})}
    n_envs = int(values.get("n_envs", 1))
    rollout = int(kwargs["n_steps"]) * n_envs
    if name == "A2C":
        updates, batch = 1, f"{number(rollout)} transitions"
        optimizer = (f"RMSProp (alpha 0.99, eps {number(kwargs['rms_prop_eps'])})" if kwargs.get("use_rms_prop", True)
                     else "Adam (eps 1e-05)")
    else:
        minibatches = math.ceil(rollout / int(kwargs["batch_size"]))
        updates, batch = int(kwargs["n_epochs"]) * minibatches, f"{number(kwargs['batch_size'])} transitions"
        optimizer = "Adam (eps 1e-05)"
    normalization = ["observations and rewards (VecNormalize)"] if values.get("normalize") else []
    if name == "PPO" and kwargs.get("normalize_advantage", True):
        normalization.append("advantages standardised per minibatch")
    if name == "A2C" and kwargs.get("normalize_advantage", False):
        normalization.append("advantages standardised per rollout")
    return {
        "algorithm": name,
        "implementation": "Stable-Baselines3",
        "optimizer": optimizer,
        "learning_rate": _sb3_learning_rate(values, kwargs),
        "updates_per_step": _per_step(updates, rollout),
        "batch": batch,
        "loss": f"policy gradient + {number(kwargs['vf_coef'])} value + {number(kwargs['ent_coef'])} entropy"
                + (f", clip range {number(kwargs['clip_range'])}" if name == "PPO" else ""),
        "gradient_clipping": _clip(kwargs["max_grad_norm"]),
        "network": _sb3_network(values, [64, 64]),
        "discount": number(kwargs["gamma"]),
        "parallel_envs": str(n_envs),
        "normalization": ", ".join(normalization) or "none",
        "baseline": f"learned state value, GAE lambda {number(kwargs['gae_lambda'])}",
        "truncation": "bootstrapped from the learned state value",
    }


def _sb3_a2c(values: dict[str, Any], budget: int) -> dict[str, str]:
    from stable_baselines3 import A2C

    del budget
    return _sb3_actor_critic(values, A2C, "A2C")


def _sb3_ppo(values: dict[str, Any], budget: int) -> dict[str, str]:
    from stable_baselines3 import PPO

    del budget
    return _sb3_actor_critic(values, PPO, "PPO")


TRANSLATIONS: dict[str, Callable[[dict[str, Any], int], dict[str, str]]] = {
    "rlbench.agents.dqn.DQNAgent": _in_house_dqn,
    "rlbench.agents.reinforce.ReinforceAgent": _reinforce,
    "rlbench.agents.qlearning.QLearningAgent": _qlearning,
    "rlbench.agents.ram.RecurrentAttentionAgent": _ram,
    "rlbench.agents.full_image.FullImageClassifier": _full_image,
    "rlbench.agents.sb3.SB3DQN": _sb3_dqn,
    "rlbench.agents.sb3.SB3A2C": _sb3_a2c,
    "rlbench.agents.sb3.SB3PPO": _sb3_ppo,
}
"""Built-in agent class (module.qualname) -> its translation into :data:`SETTINGS`."""


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return number(value)
    if isinstance(value, (list, tuple)):
        return str([_plain(v) for v in value]).replace("'", "")
    return str(value)


def comparable_settings(agent_cls: type, config: Any, budget: int) -> dict[str, str]:
    """``agent_cls``'s resolved ``config`` (a dataclass) in the shared vocabulary, for a run of ``budget`` steps.

    Built-in agents use their translation; a plugin its ``comparable_settings`` classmethod where it has one; any other
    agent is described by its implementation and its hyperparameters under their own names (``hyperparameter <name>``).
    """
    values = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    translate = TRANSLATIONS.get(f"{agent_cls.__module__}.{agent_cls.__qualname__}")
    if translate is not None:
        return translate(values, int(budget))
    declared = getattr(agent_cls, "comparable_settings", None)
    implementation = f"{agent_cls.__module__}.{agent_cls.__qualname__}"
    if callable(declared):
        return {"implementation": implementation, **{str(k): str(v) for k, v in declared(config, int(budget)).items()}}
    return {"algorithm": implementation, "implementation": implementation,
            **{f"hyperparameter {name}": _plain(value) for name, value in sorted(values.items())}}


__all__ = ["SETTINGS", "TRANSLATIONS", "comparable_settings", "number"]
