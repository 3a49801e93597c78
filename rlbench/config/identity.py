"""What a run's identity covers besides its config: the code and the package versions behind it.

A run id (:attr:`rlbench.config.plan.RunSpec.run_id`) hashes the resolved config, the execution
mode and :func:`code_digest` of its agent on its environment. The digest covers exactly the code a
run executes, found by following imports (module level and inside functions) through rlbench's
sources, so a module added for another agent or environment leaves every other run's id alone,
and a module a run does import can never be missed:

* the closure of :data:`RUN_CODE` (the runner, the environment loop, the evaluation protocol, the
  agent interface, seeding, the environment registry);
* the agent's module, and for a batched run the class that trains K seeds together;
* the environment's own module where rlbench provides the environment (its gymnasium entry point);
* for a plugin, wherever it lives (a file, a module of the project, an installed distribution
  found through the ``rlbench.agents`` entry point): every Python file of its top-level package,
  or its single file when it is not in a package, and the rlbench modules it imports;
* the versions of :data:`RESULT_PACKAGES`, and of the distributions any of those modules declares in a
  ``RESULT_PACKAGES`` tuple of its own (:func:`result_packages`).

Imports into :data:`NOT_FOLLOWED` are not followed: they name runs, file results or list agents
and do not shape a run's numbers (the agent registry's lazy loaders would otherwise pull every
agent into every run). A changed plugin therefore always gets new run ids, and the launcher
retrains its runs. Where the plugin's code lives outside the repository DVC cannot see it; the
plan stage writes each suite's run ids to ``results/plans/<suite>.json``, which ``make reproduce``
refreshes first (docs/reference/reproducibility.md).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import sys
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

RUN_CODE: tuple[str, ...] = (
    "rlbench.training.runner", "rlbench.training.loop", "rlbench.training.monitor", "rlbench.training.evaluation",
    "rlbench.agents.base", "rlbench.seeding", "rlbench.envs.registry",
)
"""Modules every run executes, whatever its agent (the one list of them); their imports are followed."""

BATCHED_RUN_CODE: tuple[str, ...] = ("rlbench.training.batched",)
"""Modules only batched runs execute: in their digest, not in a single run's."""

NOT_FOLLOWED: tuple[str, ...] = (
    "rlbench.config", "rlbench.storage.provenance", "rlbench.storage.files", "rlbench.errors",
    "rlbench.agents.registry",
)
"""Modules (and packages) that name, file or list runs without shaping their numbers."""

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


def _module_file(module: str) -> Path | None:
    """The source file of an rlbench module or package (None for a name that is not one)."""
    relative = Path(*module.split(".")[1:])
    for candidate in (PACKAGE_ROOT / relative.with_suffix(".py"), PACKAGE_ROOT / relative / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _followed(module: str) -> bool:
    return module.split(".")[0] == "rlbench" and not any(
        module == skip or module.startswith(skip + ".") for skip in NOT_FOLLOWED)


def rlbench_imports(file: Path, module: str | None) -> set[str]:
    """The rlbench modules a source file imports, anywhere in it (``module`` resolves relative imports)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_bytes(), str(file))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and module is not None:  # relative: from the importing module's package upwards
                package = module.split(".") if file.name == "__init__.py" else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            # ``from rlbench.x import y`` may name a module y or an attribute of x: take y when it is a module.
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "rlbench" and _module_file(name) is not None}


@cache
def module_closure(roots: frozenset[str]) -> tuple[str, ...]:
    """``roots`` and every rlbench module they import, directly or not (sorted); :data:`NOT_FOLLOWED` excluded."""
    seen: set[str] = set()
    todo = [root for root in roots if _followed(root)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        file = _module_file(module)
        if file is None:
            continue
        parts = module.split(".")
        parents = [".".join(parts[:i]) for i in range(2, len(parts))]  # importing a.b.c runs a.b/__init__
        todo += [m for m in sorted(rlbench_imports(file, module)) + parents if _followed(m) and m not in seen]
    return tuple(sorted(seen))


def _relative(file: Path) -> str:
    return str(file.relative_to(PACKAGE_ROOT))


def _python_files(directory: Path) -> list[tuple[str, Path]]:
    return [(str(file.relative_to(directory)), file) for file in sorted(directory.rglob("*.py"))]


def env_module(env_name: str | None) -> str | None:
    """The rlbench module that implements environment ``env_name`` (None for gymnasium's own or no env)."""
    if env_name is None:
        return None
    import gymnasium as gym

    from rlbench.envs.registry import get_entry

    entry_point = gym.spec(get_entry(env_name).gym_id).entry_point
    module = entry_point.split(":")[0] if isinstance(entry_point, str) else getattr(entry_point, "__module__", "")
    return module if module.split(".")[0] == "rlbench" else None


def source_files(agent_cls: type, batched_cls: type | None = None, env: str | None = None) -> list[tuple[str, Path]]:
    """(name, path) of the source files a run of ``agent_cls`` on ``env`` depends on (see the module
    docstring); for a batched run (trained by ``batched_cls``), also that class's module and
    :data:`BATCHED_RUN_CODE`.

    Names are relative (to ``rlbench/`` or to the plugin's package), so the digest does not depend
    on where the project or the environment lives.
    """
    roots = set(RUN_CODE)
    environment = env_module(env)
    if environment is not None:
        roots.add(environment)
    if batched_cls is not None:
        roots.update(BATCHED_RUN_CODE)
        roots.add(batched_cls.__module__)
    top = agent_cls.__module__.split(".")[0]
    module_file = Path(inspect.getfile(agent_cls)).resolve()
    if top == "rlbench":
        roots.add(agent_cls.__module__)
        own = [(_relative(module_file), module_file)]
    else:
        package_dirs = [Path(p).resolve() for p in getattr(sys.modules.get(top), "__path__", [])]
        if package_dirs:
            own = [(f"{top}/{name}", file) for directory in package_dirs for name, file in _python_files(directory)]
        else:
            own = [(module_file.name, module_file)]
        for _, file in own:
            roots.update(rlbench_imports(file, None))
    rlbench_files = [(_relative(path), path) for path in (_module_file(m) for m in module_closure(frozenset(roots)))
                     if path is not None]
    return own + sorted(set(rlbench_files) - set(own))


def declared_packages(file: Path) -> tuple[str, ...]:
    """The distributions a module declares in a module-level ``RESULT_PACKAGES = (...)`` (read, not imported)."""
    for node in ast.parse(file.read_bytes(), str(file)).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "RESULT_PACKAGES" for t in targets) and node.value is not None:
                return tuple(ast.literal_eval(node.value))
    return ()


def result_packages(files: list[tuple[str, Path]]) -> list[str]:
    """:data:`RESULT_PACKAGES`, then the distributions the run's own modules declare (e.g. the glimpse task's
    scikit-learn, whose bundled digits are its images), each once."""
    extra = [p for _, file in files for p in declared_packages(file)]
    return list(dict.fromkeys([*RESULT_PACKAGES, *extra]))


def code_digest(agent_cls: type, batched_cls: type | None = None, env: str | None = None) -> str:
    """Digest of the code and package versions behind a run of ``agent_cls`` on ``env`` (trained by
    ``batched_cls`` in the batched mode). Part of its run id."""
    digest = hashlib.sha256()
    files = source_files(agent_cls, batched_cls, env)
    for name, file in files:
        digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    for package in result_packages(files):
        digest.update(f"{package}=={version(package)}".encode())
    return digest.hexdigest()[:16]
