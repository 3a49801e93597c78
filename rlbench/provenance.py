"""Provenance of runs: package versions and the code's git state (never stored with hashed results)."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

TRACKED_PACKAGES = ("rlbench", "torch", "numpy", "gymnasium", "stable-baselines3", "ale-py", "pandas", "rliable")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    found = {}
    for name in TRACKED_PACKAGES:
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


def code_provenance() -> dict[str, Any]:
    return {"packages": package_versions(), "git": git_state()}
