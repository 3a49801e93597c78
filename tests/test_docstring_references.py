"""Every cross-reference in rlbench's docstrings (``:mod:``, ``:func:``, ``:class:``, ``:meth:``, ``:attr:``,
``:data:`` naming ``rlbench.…``) names something that exists: a module renamed or split leaves no citation of the
old name behind."""

from __future__ import annotations

import dataclasses
import importlib
import re

from tests.conftest import ROOT

REFERENCE = re.compile(r":(?:mod|func|class|meth|data|attr):`~?(rlbench(?:\.\w+)+)`")


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            fields = {f.name for f in dataclasses.fields(target)} if dataclasses.is_dataclass(target) else set()
            if attribute in fields:
                return attribute == parts[-1]  # a dataclass field (no class attribute when it has a factory)
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_every_docstring_reference_resolves() -> None:
    broken = [(str(path.relative_to(ROOT)), match.group(1))
              for path in sorted((ROOT / "rlbench").rglob("*.py"))
              for match in REFERENCE.finditer(path.read_text())
              if not _resolves(match.group(1))]
    assert not broken, f"docstring references to nothing: {broken}"
