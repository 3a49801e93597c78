"""Agent registry: a name in ``params.yaml`` maps to an ``Agent`` class.

Three ways to name an agent, so a new algorithm never needs an edit of this package:

* a built-in name (``dqn``, ``reinforce``, ``qlearning``, ``ram``, ``full_image``, ``sb3_dqn``, ``sb3_a2c``,
  ``sb3_ppo``);
* a name registered by an installed package through the ``rlbench.agents`` entry-point group;
* a reference ``package.module:ClassName`` or ``path/to/file.py:ClassName`` (relative paths are
  taken from the working directory, the project root under ``dvc repro``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from rlbench.agents.base import Agent
from rlbench.errors import RlbenchError, unknown_choice

ENTRY_POINT_GROUP = "rlbench.agents"

# Built-ins are imported lazily: SB3 and torch are slow to import and workers need only one.
_BUILTINS: dict[str, Callable[[], type[Agent]]] = {}


def builtin(name: str) -> Callable[[Callable[[], type[Agent]]], Callable[[], type[Agent]]]:
    def register(loader: Callable[[], type[Agent]]) -> Callable[[], type[Agent]]:
        _BUILTINS[name] = loader
        return loader

    return register


@builtin("dqn")
def _dqn() -> type[Agent]:
    from rlbench.agents.dqn import DQNAgent

    return DQNAgent


@builtin("reinforce")
def _reinforce() -> type[Agent]:
    from rlbench.agents.reinforce import ReinforceAgent

    return ReinforceAgent


@builtin("sb3_dqn")
def _sb3_dqn() -> type[Agent]:
    from rlbench.agents.sb3 import SB3DQN

    return SB3DQN


@builtin("sb3_a2c")
def _sb3_a2c() -> type[Agent]:
    from rlbench.agents.sb3 import SB3A2C

    return SB3A2C


@builtin("sb3_ppo")
def _sb3_ppo() -> type[Agent]:
    from rlbench.agents.sb3 import SB3PPO

    return SB3PPO


@builtin("qlearning")
def _qlearning() -> type[Agent]:
    from rlbench.agents.qlearning import QLearningAgent

    return QLearningAgent


@builtin("ram")
def _ram() -> type[Agent]:
    from rlbench.agents.ram import RecurrentAttentionAgent

    return RecurrentAttentionAgent


@builtin("full_image")
def _full_image() -> type[Agent]:
    from rlbench.agents.full_image import FullImageClassifier

    return FullImageClassifier


_BATCHED: dict[str, Callable[[], type]] = {}
"""Agent class (``module:QualName``) -> loader of the class that trains K seeds of it at once."""


def _batched_dqn() -> type:
    from rlbench.agents.dqn_batched import BatchedDQN

    return BatchedDQN


_BATCHED["rlbench.agents.dqn:DQNAgent"] = _batched_dqn


def batched_implementation(agent_cls: type) -> type | None:
    """The class that trains several seeds of ``agent_cls`` in one process (batched arithmetic), or None."""
    loader = _BATCHED.get(f"{agent_cls.__module__}:{agent_cls.__qualname__}")
    return loader() if loader is not None else None


def available() -> list[str]:
    """Built-in names plus every installed ``rlbench.agents`` entry point."""
    return sorted(set(_BUILTINS) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def resolve(name: str) -> type[Agent]:
    """The ``Agent`` class for a registry name, entry point or ``module:Class`` reference."""
    if name in _BUILTINS:
        return _BUILTINS[name]()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            try:
                loaded = ep.load()
            except Exception as error:  # noqa: BLE001 - a broken plugin is a user error, one line
                raise RlbenchError(f"cannot load agent entry point {name!r} ({ep.value}): {type(error).__name__}: {error}") from None
            return _check(loaded, name)
    if ":" in name:
        return _check(_load_reference(name), name)
    raise unknown_choice("agent", name, [*available(), "<module>:<Class>", "<file.py>:<Class>"])


def _load_reference(reference: str) -> object:
    target, _, attribute = reference.rpartition(":")
    try:
        if target.endswith(".py"):
            path = Path(target).resolve()
            if not path.is_file():
                raise RlbenchError(f"agent file {target!r} not found (from agent reference {reference!r})")
            module_name = "rlbench_plugin_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
            module = sys.modules.get(module_name)
            if module is None:
                spec = importlib.util.spec_from_file_location(module_name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module  # dataclasses and pickling look modules up here
                spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except RlbenchError:
        raise
    except Exception as error:  # noqa: BLE001 - syntax or runtime errors in a plugin: one line, not a traceback
        first = str(error).splitlines()[0] if str(error) else ""
        raise RlbenchError(f"cannot import agent module for {reference!r}: {type(error).__name__}: {first}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise RlbenchError(f"agent reference {reference!r}: {target} has no attribute {attribute!r}") from None


def _check(obj: object, name: str) -> type[Agent]:
    if not (inspect.isclass(obj) and issubclass(obj, Agent)):
        raise RlbenchError(f"agent {name!r} does not name a subclass of rlbench.agents.base.Agent")
    if not hasattr(obj, "Config"):
        raise RlbenchError(f"agent {name!r} has no Config dataclass")
    return obj
