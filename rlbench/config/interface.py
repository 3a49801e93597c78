"""The agent interface, checked when a suite is planned: a plugin that does not meet it is one line at
``rlbench plan``, before any run starts (not a traceback in a worker an hour later).

The interface is :mod:`rlbench.agents.base`; its version is :data:`AGENT_INTERFACE_VERSION` (kept here, in a
module no agent imports, so it names runs of no agent). A plugin may declare the version it was written for
(``interface_version = 2`` in its class); a different one is refused with what changed in between.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from typing import Any

from rlbench.errors import RlbenchError

AGENT_INTERFACE_VERSION = 2
"""The version of the agent interface (:mod:`rlbench.agents.base`) this rlbench implements."""

INTERFACE_CHANGES: dict[int, str] = {
    2: ("the budget is AgentContext.total_steps, known when the agent is built (OnlineAgent.total_steps, set by "
        "train(), is gone: rlbench's loop drives an OnlineAgent and never calls its train()); observe_first(obs) "
        "opens every episode; evaluation acts through evaluation_policy(), on a snapshot of the agent"),
}
"""Version -> what changed from the version before it (shown to a plugin written for an older one)."""

CALLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "__init__": (("config", "context"), ()),
    "act": (("obs",), ("explore",)),
    "observe_first": (("obs",), ()),
    "observe": (("transition",), ()),
    "update": (("step",), ()),
    "train": (("total_steps", "monitor"), ()),
    "evaluation_policy": ((), ()),
    "diagnostics": ((), ()),
    "state_dict": ((), ()),
    "load_state_dict": (("state",), ()),
}
"""Method -> how rlbench calls it on an agent: (arguments passed by position, arguments passed by keyword)."""


def _describe(name: str) -> str:
    positional, keywords = CALLS[name]
    return f"{name}(self{''.join(', ' + p for p in (*positional, *keywords))})"


def _accepts(raw: Any, owner: type, name: str) -> bool:
    """Whether the method ``raw`` (as found in a class's namespace) accepts rlbench's call of ``name``."""
    positional, keywords = CALLS[name]
    args = [object()] * len(positional)
    kwargs = {key: object() for key in keywords}
    if isinstance(raw, staticmethod):
        function, bound = raw.__func__, []
    elif isinstance(raw, classmethod):
        function, bound = raw.__func__, [owner]
    else:
        function, bound = raw, [object()]
    try:
        inspect.signature(function).bind(*bound, *args, **kwargs)
    except TypeError:
        return False
    return True


def _defined(agent_cls: type, base_module: str) -> dict[str, tuple[type, Any]]:
    """Attributes the class and its bases outside the interface module define: name -> (owner, raw value)."""
    found: dict[str, tuple[type, Any]] = {}
    for owner in reversed(agent_cls.__mro__):
        if owner.__module__ in (base_module, "abc", "builtins"):
            continue
        found.update({name: (owner, value) for name, value in vars(owner).items()})
    return found


def interface_problems(agent_cls: type) -> list[str]:
    """What keeps ``agent_cls`` (a subclass of ``Agent``) from meeting the interface; empty when it does."""
    from rlbench.agents.base import Agent, OnlineAgent

    online = issubclass(agent_cls, OnlineAgent)
    own = _defined(agent_cls, Agent.__module__)
    methods = sorted(name for name, (_, value) in own.items() if callable(value) and not name.startswith("__"))
    problems = []
    missing = sorted(getattr(agent_cls, "__abstractmethods__", ()))
    for name in missing:
        guess = difflib.get_close_matches(name, [m for m in methods if m not in CALLS], n=1, cutoff=0.6)
        problems.append(f"missing method {_describe(name) if name in CALLS else name}"
                        + (f" (it defines {guess[0]}: misnamed?)" if guess else ""))
    if not online and "train" not in own:
        problems.append("neither an OnlineAgent (observe_first/act/observe/update, driven by rlbench's loop) nor "
                        f"an Agent that implements {_describe('train')}")
    if online and "train" in own:
        problems.append("an OnlineAgent that defines train(), which rlbench never calls for an OnlineAgent "
                        f"(interface version {AGENT_INTERFACE_VERSION}: its loop drives the agent; the budget is "
                        "context.total_steps)")
    for name in CALLS:
        if name not in own or name in missing:
            continue
        owner, raw = own[name]
        if not (callable(raw) or isinstance(raw, (staticmethod, classmethod))):
            problems.append(f"{name} is not a method (it is {type(raw).__name__} {raw!r}); expected {_describe(name)}")
        elif not _accepts(raw, owner, name):
            try:
                found = f"{name}{inspect.signature(getattr(raw, '__func__', raw))}"
            except (TypeError, ValueError):
                found = name
            problems.append(f"wrong signature {found}; rlbench calls {_describe(name)}"
                            + (" with " + ", ".join(f"{k}=..." for k in CALLS[name][1]) + " by keyword"
                               if CALLS[name][1] else ""))
    if getattr(agent_cls, "supports_checkpoint", False):
        absent = [name for name in ("state_dict", "load_state_dict") if name not in own]
        if absent:
            problems.append(f"supports_checkpoint is true but {' and '.join(absent)} not implemented")
    if "make_config" not in own:
        config = getattr(agent_cls, "Config", None)
        if not (inspect.isclass(config) and dataclasses.is_dataclass(config)):
            problems.append(f"Config is {config!r}, not a dataclass (its fields are the hyperparameters)")
    return problems


def check_version(agent_cls: type, reference: str, where: str = "") -> None:
    """Refuse a plugin that declares another ``interface_version`` than :data:`AGENT_INTERFACE_VERSION`."""
    agent = f"agent {reference!r}{f' ({where})' if where else ''}"
    declared = getattr(agent_cls, "interface_version", None)
    if declared is None or declared == AGENT_INTERFACE_VERSION and type(declared) is int:
        return
    if type(declared) is not int or declared < 1:
        raise RlbenchError(f"{agent}: interface_version {declared!r} is not a version; allowed: an "
                           f"integer, this rlbench implements {AGENT_INTERFACE_VERSION}")
    if declared > AGENT_INTERFACE_VERSION:
        raise RlbenchError(f"{agent} is written for agent interface version {declared}, newer than this "
                           f"rlbench's {AGENT_INTERFACE_VERSION}: upgrade rlbench, or use a version of the plugin "
                           f"for interface {AGENT_INTERFACE_VERSION}")
    changes = "; ".join(f"version {v}: {INTERFACE_CHANGES[v]}" for v in range(declared + 1, AGENT_INTERFACE_VERSION + 1)
                        if v in INTERFACE_CHANGES)
    raise RlbenchError(f"{agent} is written for agent interface version {declared}, this rlbench "
                       f"implements {AGENT_INTERFACE_VERSION} (what changed: {changes}); update the plugin and set "
                       f"interface_version = {AGENT_INTERFACE_VERSION}")


def check_interface(agent_cls: type, reference: str, where: str = "") -> None:
    """One line naming every way ``agent_cls`` misses the agent interface (and its version), or nothing."""
    check_version(agent_cls, reference, where)
    problems = interface_problems(agent_cls)
    if problems:
        raise RlbenchError(f"agent {reference!r}{f' ({where})' if where else ''} does not meet the agent interface "
                           f"(version {AGENT_INTERFACE_VERSION}): {'; '.join(problems)}")
