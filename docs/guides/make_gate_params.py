"""Write the regression gate's parameter file: params.yaml with its suites replaced by the gate suite.

Usage: ``python docs/guides/make_gate_params.py OUT.yaml [SUITE.yaml]`` (default suite:
``docs/guides/regression-gate-suite.yaml``). Both revisions of a gate train with this one file, so the comparison
isolates the change of code (docs/guides/regression-gate.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def gate_params(params: Path, suite: Path) -> dict:
    """``params`` with one suite, ``gate``, read from ``suite``, and ``pipeline.publish: [gate]``."""
    raw = yaml.safe_load(params.read_text())
    raw["suites"] = {"gate": yaml.safe_load(suite.read_text())}
    raw["pipeline"]["publish"] = ["gate"]
    return raw


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    suite = Path(argv[1]) if len(argv) > 1 else HERE / "regression-gate-suite.yaml"
    out.write_text(yaml.safe_dump(gate_params(HERE.parents[1] / "params.yaml", suite), sort_keys=False))


if __name__ == "__main__":
    main(sys.argv[1:])
