"""What a run's identity covers besides its config: the code and the package versions behind it.

A run id (:attr:`rlbench.config.plan.RunSpec.run_id`) hashes the resolved config, the execution
mode and :func:`code_digest` of its agent. The digest covers

* for rlbench's own agents: the agent's module and :data:`SHARED_TRAINING_CODE`, the parts of
  rlbench every run's numbers flow through (whole sub-packages, so a new module cannot be missed);
* for a plugin, wherever it lives (a file, a module of the project, an installed distribution
  found through the ``rlbench.agents`` entry point): every Python file of its top-level package,
  or its single file when it is not in a package;
* the versions of :data:`RESULT_PACKAGES`.

A changed plugin therefore always gets new run ids, and the launcher retrains its runs. Where
the plugin's code lives outside the repository DVC cannot see it; the plan stage writes each
suite's run ids to ``results/plans/<suite>.json``, which ``make reproduce`` refreshes first (see
README, "Run identity").
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

SHARED_TRAINING_CODE: tuple[str, ...] = ("agents/base.py", "training", "envs", "nets", "replay", "seeding.py")
"""Paths under ``rlbench/`` that shape every built-in run's numbers (the one list of them), less
:data:`BATCHED_TRAINING_CODE`."""

BATCHED_TRAINING_CODE: tuple[str, ...] = ("training/batched.py",)
"""Paths under ``rlbench/`` that only batched runs execute: in their digest, not in a single run's."""

RESULT_PACKAGES: tuple[str, ...] = ("torch", "numpy", "gymnasium", "stable-baselines3")
"""Distributions whose versions shape results (the one list of them)."""

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
"""The ``rlbench`` package directory."""


@dataclass(frozen=True)
class AgentOrigin:
    """Where an agent class comes from: recorded in the plan and in every run's provenance."""

    builtin: bool
    """Whether it is one of rlbench's own agents."""
    distribution: str | None
    """The installed distribution that provides it (None for a file or a module of the project)."""
    version: str | None
    """That distribution's version."""


def agent_origin(agent_cls: type) -> AgentOrigin:
    """Built-in or not, and the installed distribution (name, version) that provides an agent class."""
    top = agent_cls.__module__.split(".")[0]
    names = packages_distributions().get(top, [])
    distribution = names[0] if names else None
    try:
        found_version = version(distribution) if distribution else None
    except PackageNotFoundError:
        found_version = None
    return AgentOrigin(top == "rlbench", distribution, found_version)


def _python_files(directory: Path) -> list[tuple[str, Path]]:
    return [(str(file.relative_to(directory)), file) for file in sorted(directory.rglob("*.py"))]


def source_files(agent_cls: type, batched_cls: type | None = None) -> list[tuple[str, Path]]:
    """(name, path) of the source files a run of ``agent_cls`` depends on (see the module docstring);
    for a batched run (trained by ``batched_cls``), also that class's module and :data:`BATCHED_TRAINING_CODE`.

    Names are relative (to ``rlbench/`` or to the plugin's package), so the digest does not depend
    on where the project or the environment lives.
    """
    module_file = Path(inspect.getfile(agent_cls)).resolve()
    top = agent_cls.__module__.split(".")[0]
    if top == "rlbench":
        files = [(str(module_file.relative_to(PACKAGE_ROOT)), module_file)]
        for relative in SHARED_TRAINING_CODE:
            path = PACKAGE_ROOT / relative
            files += [(f"{relative}/{name}", file) for name, file in _python_files(path)] if path.is_dir() else [(relative, path)]
        files = [(name, file) for name, file in files if name not in BATCHED_TRAINING_CODE]
        if batched_cls is not None:
            batched_file = Path(inspect.getfile(batched_cls)).resolve()
            files += [(str(batched_file.relative_to(PACKAGE_ROOT)), batched_file)]
            files += [(relative, PACKAGE_ROOT / relative) for relative in BATCHED_TRAINING_CODE]
        return files
    package_dirs = [Path(p).resolve() for p in getattr(sys.modules.get(top), "__path__", [])]
    if package_dirs:
        return [(f"{top}/{name}", file) for directory in package_dirs for name, file in _python_files(directory)]
    return [(module_file.name, module_file)]


def code_digest(agent_cls: type, batched_cls: type | None = None) -> str:
    """Digest of the code and package versions behind a run of ``agent_cls`` (trained by ``batched_cls``
    in the batched mode). Part of its run id."""
    digest = hashlib.sha256()
    for name, file in source_files(agent_cls, batched_cls):
        digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    for package in RESULT_PACKAGES:
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()[:16]
