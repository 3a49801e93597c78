"""Provenance of runs: package versions, the code's git state and the machine (never in hashed results)."""

from __future__ import annotations

import os
import platform
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from collections.abc import Sequence
from typing import Any

from rlbench.config.identity import RESULT_PACKAGES

REPORTED_PACKAGES = ("rlbench", *RESULT_PACKAGES, "ale-py", "pandas", "rliable")
"""Packages whose versions provenance and reports name: those that shape results, and the analysis's."""


def package_versions(names: Sequence[str] = REPORTED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (default :data:`REPORTED_PACKAGES`); "not installed" for a missing one."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    """The current commit and whether the work tree had uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


@lru_cache(maxsize=1)
def machine() -> dict[str, Any]:
    """The machine a run computed on: host, Python, and the processor. Float results are bitwise
    reproducible on the same processor model; another model may pick other math-library kernels
    (other rounding), so it is recorded."""
    import torch

    cpu = {"model name": platform.processor() or platform.machine()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break  # the first processor describes them all
                key, _, value = line.partition(":")
                cpu[key.strip()] = value.strip()
    except OSError:
        pass
    return {
        "host": platform.node(),
        "python": platform.python_version(),
        "cpu": cpu["model name"],
        "cpu_id": "/".join(cpu.get(key, "?") for key in ("vendor_id", "cpu family", "model", "stepping")),
        "cpu_count": os.cpu_count(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def code_provenance() -> dict[str, Any]:
    """What the launcher records with every run it writes (the worker adds its own ``machine()``)."""
    return {"packages": package_versions(), "git": git_state()}
