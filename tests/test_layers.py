"""The architecture as tests: which sub-package may import which, no import cycle, a light analysis side."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

PACKAGE = ROOT / "rlbench"

ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "seeding": set(),
    "config": {"errors", "envs", "agents"},  # planning resolves agents and validates environment names
    "storage": {"errors", "config"},
    "planning": set(),  # exact dynamic programming: numpy only
    "envs": {"errors", "planning"},  # the maze's reference score and model come from value iteration
    "nets": {"errors", "seeding"},
    "replay": set(),
    "agents": {"errors", "seeding", "nets", "replay"},
    "training": {"errors", "seeding", "config", "storage", "envs", "agents", "planning"},
    "execution": {"errors", "config", "storage", "training"},
    "scores": {"errors", "config", "storage"},
    # The measured side of normalisation: random-policy rollouts (the evaluation protocol) and optimal returns.
    "references": {"errors", "config", "storage", "envs", "training", "scores"},
    "stats": {"errors"},
    "reporting": {"errors", "config", "storage", "scores", "stats", "envs", "planning"},  # the maze pictures
    # Imported runs: written in the store's formats (storage), checked against the declared bounds (config), read back
    # as score matrices (scores) and ranked (stats).
    "importers": {"errors", "config", "storage", "scores", "stats"},
    # An audit retrains runs (execution) and tests them (stats) with the calibration's measured rate (reporting).
    "audit": {"errors", "config", "storage", "execution", "stats", "reporting"},
    # A comparison trains operands (execution), tests them (stats), writes its report (reporting), reads imported run
    # sets (importers) and measures a normalisation where no suite has one (references).
    "compare": {"errors", "config", "storage", "execution", "scores", "stats", "reporting", "importers", "references"},
    # Adaptive seeds train seed groups (execution) until AdaStop decides (stats), scoring seeds like the analysis
    # (reporting's per-seed scores, the failure policy) from the run store and the suite's normalisation (scores).
    "adaptive": {"errors", "config", "storage", "execution", "scores", "stats", "reporting"},
    "cli": set(),  # the command line may use everything
}
"""Sub-package -> the sub-packages it may import (data flows one way: params -> plan -> execution ->
training -> storage -> scores -> stats -> reporting)."""

HEAVY = ("torch", "stable_baselines3", "rlbench.agents", "rlbench.execution", "rlbench.nets", "rlbench.replay")
"""What the statistics and reporting side never loads."""


def _imports(path: Path, runtime_only: bool) -> set[str]:
    """rlbench modules imported by ``path`` (module level only when ``runtime_only``; never TYPE_CHECKING blocks)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(nodes: list[ast.stmt], top: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rlbench"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("rlbench"))
            for child in ("body", "orelse", "handlers", "finalbody"):
                if hasattr(node, child) and (not runtime_only or isinstance(node, (ast.If, ast.Try))):
                    visit(getattr(node, child), top=False)

    visit(tree.body, top=True)
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else "rlbench"


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_subpackage_imports_only_what_its_layer_allows():
    assert {_layer(m) for m in MODULES if m != "rlbench"} == set(ALLOWED), "a new sub-package needs its place in ALLOWED"
    offences = []
    for module, path in MODULES.items():
        layer = _layer(module)
        if layer in ("rlbench", "cli"):
            continue
        for imported in _imports(path, runtime_only=False):
            target = _layer(imported)
            if target not in (layer, "rlbench") and target not in ALLOWED[layer]:
                offences.append(f"{module} imports {imported}")
    assert not offences, offences


def test_no_import_cycle_between_modules():
    graph = {m: {i for i in _imports(p, runtime_only=True) if i in MODULES and i != m} for m, p in MODULES.items()}
    state: dict[str, int] = {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in graph[module]:
            assert state.get(target) != 1, "import cycle: " + " -> ".join([*stack, module, target])
            if target not in state:
                visit(target, [*stack, module])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


def test_statistics_and_reporting_load_no_torch_sb3_or_agent():
    modules = [m for m in MODULES if _layer(m) in ("stats", "scores", "reporting")]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + f"print([m for m in sys.modules if m.startswith({HEAVY!r})])")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert loaded.strip() == "[]", f"the analysis side loaded {loaded}"


def test_stage_dependencies_cover_every_module_a_stage_loads():
    """A DVC stage depends on whole sub-packages; every rlbench module its script loads must be covered."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        body = stage.get("do", stage)
        script = body["cmd"].split()[1]
        deps = [d for d in body["deps"] if d.startswith("rlbench")]
        code = (f"import runpy, sys\nsys.argv = ['x']\nimport importlib.util\n"
                f"spec = importlib.util.spec_from_file_location('stage', {script!r})\n"
                "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
                "print('\\n'.join(sorted(getattr(m, '__file__', None) or '' for n, m in sys.modules.items() "
                "if n.startswith('rlbench'))))")
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
        files = [Path(f).resolve().relative_to(ROOT) for f in loaded.stdout.split() if f]
        uncovered = [str(f) for f in files if f.name != "__init__.py" and not any(
            str(f) == dep or str(f).startswith(dep.rstrip("/") + "/") for dep in deps)]
        if "rlbench" in deps:
            uncovered = []
        assert not uncovered, f"stage {name} loads modules its deps miss: {uncovered}"


def test_test_modules_share_helpers_only_through_conftest():
    """A helper two test modules need lives in tests/conftest.py: no test module imports another."""
    offences = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        try:
            tree = ast.parse(path.read_text())
        except SyntaxError:  # a deliberately broken plugin file used as test data
            continue
        for node in ast.walk(tree):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            offences += [f"{path.relative_to(ROOT)} imports {name}" for name in names
                         if name.startswith("tests.") and name != "tests.conftest"]
    assert not offences, offences
