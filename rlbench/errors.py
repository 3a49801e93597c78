"""The one exception type the command line turns into a one-line error and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterable


class RlbenchError(Exception):
    """A user-facing error: bad input, unknown names, corrupt result files."""


def unknown_choice(kind: str, name: object, choices: Iterable[str]) -> RlbenchError:
    """Build the standard 'unknown X' error that names every valid choice."""
    valid = ", ".join(sorted(choices)) or "(none)"
    return RlbenchError(f"unknown {kind} {name!r}; valid choices: {valid}")
