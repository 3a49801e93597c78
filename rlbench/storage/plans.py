"""Plan files: ``results/plans/<suite>.json``, a suite's runs and their ids as the pipeline last planned them."""

from __future__ import annotations

from pathlib import Path

from rlbench.config.plan import SuitePlan
from rlbench.errors import RlbenchError
from rlbench.storage.files import write_text_atomic


def plan_path(results: Path | str, suite: str) -> Path:
    """Where the plan of ``suite`` lives under the results root."""
    return Path(results) / "plans" / f"{suite}.json"


def write_plan(plan: SuitePlan, results: Path | str) -> bool:
    """Write the plan unless its file already holds exactly this plan; True if written."""
    path, text = plan_path(results, plan.name), plan.to_json()
    if path.is_file() and path.read_text() == text:
        return False
    write_text_atomic(path, text)
    return True


def read_plan(results: Path | str, suite: str) -> SuitePlan:
    """The recorded plan of ``suite``; a missing or inconsistent file is a one-line error."""
    path = plan_path(results, suite)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RlbenchError(f"{path} not found: plan the suite first (`rlbench plan {suite}` or `dvc repro`)") from None
    except UnicodeDecodeError:
        raise RlbenchError(f"corrupt plan {path}: not UTF-8 text") from None
    return SuitePlan.from_json(text, str(path))
