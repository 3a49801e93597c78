"""Imported run sets: written all-or-nothing and verified, read back as score matrices with their protocol.

Layout under the results root::

    imported/<name>/<env>/protocol.json           the protocol every run of the set on <env> was measured under
    imported/<name>/<env>/seed_<n>/eval.csv       step,episode,return,length   (evaluation returns), or
                                   train.csv      step,return,length           (training returns; length may be empty)
                                   provenance.json source file (path, sha256), tool, reader versions, tag
                                   manifest.json  {"format", "kind": "imported", "files": {name: {bytes, sha256}}}

The tables use the run store's columns (:mod:`rlbench.storage.schema`). One ``rlbench import`` writes one
environment of a set: every run is built and verified in ``imported/.staging/`` and the environment's directory is
renamed into place at the end, so a bad file leaves nothing behind. An environment joining an existing set must
share the set's return kind, step axis and statistic.

A run's final score (:func:`load_imported`): evaluation returns, the mean over the episodes of its last evaluation;
training returns, the mean of its last :data:`FINAL_WINDOW` values. Two sets are compared only like with like: same
environments, and on each the same :class:`ImportProtocol`; otherwise :func:`check_comparable` refuses, or, asked
to, names the differences so the comparison is marked (never mixed in silently).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rlbench.config.bounds import env_bounds
from rlbench.errors import RlbenchError
from rlbench.importers.sources import EPISODE, RETURN_KINDS, SourceRun, source_record
from rlbench.scores.matrices import ScoreSet
from rlbench.storage.files import fsync_directory, json_bytes, write_bytes_atomic
from rlbench.storage.manifest import MANIFEST, file_record
from rlbench.storage.provenance import package_versions
from rlbench.storage.schema import EVAL_COLUMNS, TRAIN_COLUMNS

if TYPE_CHECKING:
    from rlbench.config.plan import SuitePlan

IMPORTED = "imported"
"""The directory of imported run sets under the results root."""

FORMAT = 1
"""Version of an imported run's manifest and protocol layout."""

STEP_AXES: dict[str, str] = {
    "env_steps": "environment steps (agent actions; one per env.step call, summed over parallel environments)",
    "frames": "emulator frames (environment steps times the frame skip, as Atari papers count)",
}
"""What the step axis counts."""

FINAL_WINDOW = 10
"""How many of a run's last training values its final score averages."""

ENV_ID = re.compile(r"^[A-Za-z0-9_.:/-]+-v\d+$")
"""An environment id with its version, as gymnasium names them (``CartPole-v1``, ``ALE/Breakout-v5``)."""

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""A run set's name."""


@dataclass(frozen=True)
class ImportProtocol:
    """How an imported set's returns were measured on one environment: compared only when equal."""

    returns: str
    """A key of :data:`rlbench.importers.sources.RETURN_KINDS`: ``evaluation`` (greedy) or ``training`` (exploring)."""
    env: str
    """The environment id with its version."""
    step_axis: str
    """A key of :data:`STEP_AXES`."""
    budget: int
    """The training length on the step axis (given, or the last step logged)."""
    statistic: str
    """What one value is: one episode's return, or a mean (``rlbench.importers.sources.KNOWN_TAGS``)."""

    def describe(self) -> str:
        """One line: ``evaluation returns, CartPole-v1, 500 env_steps, one episode per value``."""
        return f"{self.returns} returns, {self.env}, {self.budget:,} {self.step_axis}, {self.statistic}"


@dataclass(frozen=True)
class ImportedSet:
    """An imported run set read back: what :mod:`rlbench` compares (``rlbench compare`` included)."""

    name: str
    scores: np.ndarray
    """``(runs x tasks)`` final scores (raw returns), rows :attr:`seeds`, columns :attr:`envs`."""
    envs: list[str]
    seeds: list[int]
    protocols: dict[str, ImportProtocol]
    """Environment -> its protocol."""
    tools: dict[str, str]
    """Environment -> the tool the runs came from, as recorded at import."""

    def score_set(self) -> ScoreSet:
        """The set as a one-algorithm :class:`~rlbench.scores.matrices.ScoreSet` named :attr:`name`."""
        return ScoreSet({self.name: self.scores}, list(self.envs), {self.name: list(self.seeds)})


def set_dir(results: Path, name: str) -> Path:
    return Path(results) / IMPORTED / name


def check_env(env: str) -> str:
    if not ENV_ID.match(env):
        raise RlbenchError(f"environment id {env!r} has no version; give it as gymnasium names it, e.g. CartPole-v1")
    return env


def _check_run(run: SourceRun, protocol: ImportProtocol) -> None:
    """Refuse a run that contradicts the protocol: another environment, steps past the budget, implausible returns."""
    where = f"{run.source}"
    if run.env_id is not None and run.env_id != protocol.env:
        raise RlbenchError(f"{where}: records environment {run.env_id!r}, not {protocol.env!r} (--env)")
    if run.returns != protocol.returns:
        raise RlbenchError(f"{where}: holds {run.returns} returns, the import is of {protocol.returns} returns")
    table = run.table
    if table.empty:
        raise RlbenchError(f"{where}: holds no return (seed {run.seed})")
    if int(table["step"].max()) > protocol.budget:
        raise RlbenchError(f"{where}: step {int(table['step'].max())} is past the budget {protocol.budget}")
    bounds = env_bounds(protocol.env)
    lengths = table["length"].to_numpy(dtype=float)
    unknown = np.isnan(lengths)
    if unknown.any():  # a mean or an episode of unknown length: only the return's bounds apply
        lengths = np.where(unknown, float(bounds.max_length or 1), lengths)
        bounds = type(bounds)(bounds.env, bounds.lowest, bounds.highest, None, None, bounds.max_length, bounds.source)
    found = bounds.first_problem(table["return"].to_numpy(dtype=float), lengths)
    if found is not None:
        row, why = found
        raise RlbenchError(f"{where}: step {int(table['step'].iloc[row])}: {why}")


def _run_files(run: SourceRun, protocol: ImportProtocol, tool: str, fmt: str) -> dict[str, bytes]:
    table = run.table
    if protocol.returns == "evaluation":
        name, columns = "eval.csv", EVAL_COLUMNS
    else:
        name, columns = "train.csv", TRAIN_COLUMNS
    text = table[list(columns)].to_csv(index=False, lineterminator="\n", float_format="%.10g")
    provenance = {
        "format": FORMAT, "source_format": fmt, "tool": tool, "tag": run.tag, "seed": run.seed,
        "source": {**source_record(run.source), "env_id_recorded": run.env_id},
        "reader": package_versions(("rlbench", "numpy", "pandas", "tbparse", "tensorboard")),
        "protocol": asdict(protocol),
    }
    return {name: text.encode("utf-8"), "provenance.json": json_bytes(provenance)}


def import_runs(results: Path, name: str, runs: Sequence[SourceRun], env: str, step_axis: str,
                budget: int | None, tool: str, fmt: str, replace: bool = False) -> Path:
    """Write ``runs`` (one per seed) as environment ``env`` of imported set ``name``, all or nothing.

    Every run is checked against the protocol before anything is written; the environment's directory is built in
    staging, verified, and renamed into place. Returns that directory.
    """
    if not NAME.match(name):
        raise RlbenchError(f"run set name {name!r}: allowed letters, digits, '_', '.', '-' (not first)")
    check_env(env)
    if step_axis not in STEP_AXES:
        raise RlbenchError(f"unknown step axis {step_axis!r}; valid choices: {', '.join(STEP_AXES)}")
    if not runs:
        raise RlbenchError("no run to import")
    seeds = [run.seed for run in runs]
    if len(set(seeds)) != len(seeds):
        raise RlbenchError(f"seed(s) {sorted({s for s in seeds if seeds.count(s) > 1})} given twice")
    kinds = {run.returns for run in runs}
    statistics = {run.statistic for run in runs}
    if len(kinds) > 1 or len(statistics) > 1:
        raise RlbenchError(f"the sources hold different returns ({', '.join(sorted(kinds | statistics))}); import "
                           "evaluation and training returns as separate sets")
    last = max(int(run.table["step"].max()) for run in runs)
    if budget is not None and budget < 1:
        raise RlbenchError(f"--budget {budget}: allowed a positive number of steps")
    protocol = ImportProtocol(runs[0].returns, env, step_axis, int(budget if budget is not None else last),
                              runs[0].statistic)
    for run in runs:
        _check_run(run, protocol)
    root = set_dir(results, name)
    final = root / env
    if final.exists() and not replace:
        raise RlbenchError(f"{final} exists: import under another --name, or pass --replace")
    for other in sorted(p.parent for p in root.glob(f"*/{PROTOCOL}")) if root.is_dir() else []:
        if other == final:
            continue
        theirs = _read_protocol(other)
        differ = [f for f in ("returns", "step_axis", "statistic") if getattr(theirs, f) != getattr(protocol, f)]
        if differ:
            raise RlbenchError(f"set {name} holds {other.name} as {theirs.describe()}; this import differs in "
                               f"{', '.join(differ)} ({protocol.describe()}): import it under another --name")
    staging = Path(results) / IMPORTED / ".staging" / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    built = staging / env
    try:
        built.mkdir(parents=True)
        write_bytes_atomic(built / PROTOCOL, json_bytes({"format": FORMAT, "tool": tool, **asdict(protocol)}))
        for run in sorted(runs, key=lambda r: r.seed):
            files = _run_files(run, protocol, tool, fmt)
            run_dir = built / f"seed_{run.seed}"
            for file_name, data in files.items():
                write_bytes_atomic(run_dir / file_name, data)
            manifest = {"format": FORMAT, "kind": "imported",
                        "files": {n: file_record(d) for n, d in sorted(files.items())}}
            write_bytes_atomic(run_dir / MANIFEST, json_bytes(manifest))
        problem = verify_env_dir(built)
        if problem is not None:
            raise RlbenchError(f"imported runs would not verify: {problem}")
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            trash = staging / "replaced"
            os.replace(final, trash)
        os.replace(built, final)
        fsync_directory(final.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.parent.rmdir()
        except OSError:
            pass
    return final


PROTOCOL = "protocol.json"


def _read_protocol(env_dir: Path) -> ImportProtocol:
    path = env_dir / PROTOCOL
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}")
        protocol = ImportProtocol(str(raw["returns"]), str(raw["env"]), str(raw["step_axis"]), int(raw["budget"]),
                                  str(raw["statistic"]))
    except FileNotFoundError:
        raise RlbenchError(f"{path} is missing: {env_dir} is not an imported environment") from None
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as error:
        raise RlbenchError(f"corrupt {path}: {error}") from None
    if protocol.returns not in RETURN_KINDS or protocol.step_axis not in STEP_AXES or protocol.env != env_dir.name:
        raise RlbenchError(f"corrupt {path}: returns, step_axis or env is not a valid value")
    return protocol


def _tool(env_dir: Path) -> str:
    return str(json.loads((env_dir / PROTOCOL).read_bytes().decode("utf-8")).get("tool", "unknown"))


def verify_imported_run(run_dir: Path, protocol: ImportProtocol) -> str | None:
    """Why ``run_dir`` is not a valid imported run under ``protocol``, or None."""
    try:
        manifest = json.loads((run_dir / MANIFEST).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return f"{run_dir / MANIFEST} is missing"
    except (ValueError, UnicodeDecodeError) as error:
        return f"{run_dir / MANIFEST} does not parse ({error})"
    table_name = "eval.csv" if protocol.returns == "evaluation" else "train.csv"
    if (not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("kind") != "imported"
            or sorted(manifest.get("files") or {}) != sorted([table_name, "provenance.json"])):
        return f"{run_dir / MANIFEST} is not an imported run's manifest (files {table_name}, provenance.json)"
    for name, record in manifest["files"].items():
        path = run_dir / name
        if not path.is_file():
            return f"{path} is missing"
        if file_record(path.read_bytes()) != record:
            return f"{path} does not match its manifest entry (checksum differs)"
    columns = EVAL_COLUMNS if table_name == "eval.csv" else TRAIN_COLUMNS
    frame = pd.read_csv(run_dir / table_name)
    if tuple(frame.columns) != columns or frame.empty:
        return f"{run_dir / table_name} has columns {list(frame.columns)}, expected {list(columns)}, and rows"
    values = frame.drop(columns="length").to_numpy(dtype=float)
    if not np.isfinite(values).all():
        return f"{run_dir / table_name} holds a missing or non-finite value"
    try:
        _check_run(SourceRun(0, protocol.returns, protocol.statistic, frame, run_dir / table_name), protocol)
    except RlbenchError as error:
        return str(error)
    return None


def verify_env_dir(env_dir: Path) -> str | None:
    """Why an imported environment directory is not valid, or None."""
    protocol = _read_protocol(env_dir)
    runs = sorted(env_dir.glob("seed_*"))
    if not runs:
        return f"{env_dir} holds no seed_<n> run"
    for run_dir in runs:
        problem = verify_imported_run(run_dir, protocol)
        if problem is not None:
            return problem
    return None


def _final_score(frame: pd.DataFrame, returns: str) -> float:
    if returns == "evaluation":
        last = frame["step"].max()
        return float(frame.loc[frame["step"] == last, "return"].mean())
    return float(frame["return"].iloc[-FINAL_WINDOW:].mean())


def load_imported(name: str, results: str | Path = "results", envs: Sequence[str] | None = None) -> ImportedSet:
    """Imported run set ``name`` as a ``(runs x tasks)`` score matrix with its protocol per environment.

    Every run is verified first (a run that fails names itself and why, as an :class:`RlbenchError`). Every
    environment must hold the same seeds (the matrix is never made rectangular by dropping runs). ``envs`` selects
    and orders the environments (default: all, sorted).
    """
    root = set_dir(Path(results), name)
    if not root.is_dir():
        found = sorted(p.name for p in (Path(results) / IMPORTED).glob("*") if p.is_dir() and p.name != ".staging") \
            if (Path(results) / IMPORTED).is_dir() else []
        raise RlbenchError(f"no imported run set {name!r} under {Path(results) / IMPORTED}; imported sets: "
                           f"{', '.join(found) or '(none)'} (see `rlbench import --help`)")
    available = sorted(p.parent.name for p in root.glob(f"*/{PROTOCOL}"))
    chosen = list(envs) if envs is not None else available
    missing = [env for env in chosen if env not in available]
    if missing or not chosen:
        raise RlbenchError(f"imported set {name} has no environment {missing or ''}; it has {', '.join(available)}")
    protocols, tools, columns, seeds_by_env = {}, {}, [], {}
    for env in chosen:
        env_dir = root / env
        problem = verify_env_dir(env_dir)
        if problem is not None:
            raise RlbenchError(f"imported set {name} fails verification: {problem} (import it again)")
        protocol = _read_protocol(env_dir)
        protocols[env], tools[env] = protocol, _tool(env_dir)
        table = "eval.csv" if protocol.returns == "evaluation" else "train.csv"
        by_seed = {int(d.name.removeprefix("seed_")): _final_score(pd.read_csv(d / table), protocol.returns)
                   for d in env_dir.glob("seed_*")}
        seeds_by_env[env] = by_seed
    seeds = sorted(seeds_by_env[chosen[0]])
    odd = [f"{env} has seeds {sorted(s)}" for env, s in seeds_by_env.items() if sorted(s) != seeds]
    if odd:
        raise RlbenchError(f"imported set {name}: environments hold different seeds ({chosen[0]}: {seeds}; "
                           f"{'; '.join(odd)})")
    for env in chosen:
        columns.append([seeds_by_env[env][seed] for seed in seeds])
    scores = np.asarray(columns, dtype=np.float64).T
    return ImportedSet(name, scores, list(chosen), seeds, protocols, tools)


def suite_sets(plan: SuitePlan, results: str | Path = "results", skip_unverified: bool = False) -> list[ImportedSet]:
    """A suite's algorithms as :class:`ImportedSet` s (one per algorithm, named by it), to rank beside imported sets.

    Their protocol: evaluation returns (the suite's separate evaluation episodes), one episode per value, steps on
    the ``env_steps`` axis, the suite's budget per environment; the final score is the mean over the episodes of
    the last evaluation (:func:`rlbench.scores.matrices.final_scores`), as for imported evaluation returns.
    """
    from rlbench.scores.matrices import final_scores
    from rlbench.storage.run_store import RunStore

    store = RunStore(results)
    frame = store.load_eval(plan.runs, skip_unverified=skip_unverified)
    if frame.empty:
        raise RlbenchError(f"suite {plan.name} has no finished run under {results} (run the suite first)")
    envs = list(dict.fromkeys(spec.env for spec in plan.runs))
    raw = final_scores(frame, envs)
    budgets = {spec.env: spec.budget for spec in plan.runs}
    protocols = {env: ImportProtocol("evaluation", env, "env_steps", budgets[env], EPISODE) for env in envs}
    return [ImportedSet(algo, raw.scores[algo], list(raw.tasks), list(raw.run_ids[algo]), dict(protocols),
                        {env: f"rlbench suite {plan.name}" for env in envs}) for algo in raw.algorithms]


def protocol_differences(x: ImportedSet, y: ImportedSet) -> list[str]:
    """How two sets' protocols differ, one phrase each (empty when they are comparable like with like)."""
    found = []
    if x.envs != y.envs:
        found.append(f"environments: {', '.join(x.envs)} vs {', '.join(y.envs)}")
    for env in [e for e in x.envs if e in y.envs]:
        a, b = asdict(x.protocols[env]), asdict(y.protocols[env])
        for field in ("returns", "env", "step_axis", "budget", "statistic"):
            if a[field] != b[field]:
                found.append(f"{env} {field}: {a[field]} vs {b[field]}")
    return found


def check_comparable(sets: Sequence[ImportedSet], allow_mismatch: bool = False) -> dict[tuple[str, str], list[str]]:
    """Every pair of ``sets`` whose protocols differ, with how. Refuses (one-line error) unless ``allow_mismatch``,
    in which case the caller marks those pairs confounded."""
    found = {}
    for i, x in enumerate(sets):
        for y in sets[i + 1:]:
            differences = protocol_differences(x, y)
            if differences:
                found[(x.name, y.name)] = differences
    if found and not allow_mismatch:
        (x, y), differences = next(iter(found.items()))
        more = f" (and {len(found) - 1} more pair(s))" if len(found) > 1 else ""
        raise RlbenchError(f"imported sets {x} and {y} were measured under different protocols: "
                           f"{'; '.join(differences[:4])}{more}; compare only like with like, or pass "
                           "--allow-mismatch to show them marked as confounded")
    return found


def imported_leaderboard(sets: Sequence[ImportedSet], seed: int = 0, reps: int = 2000,
                         allow_mismatch: bool = False) -> pd.DataFrame:
    """A leaderboard of imported sets: IQM and mean of the final scores with stratified-bootstrap 95% CIs
    (:func:`rlbench.stats.aggregates.aggregate_metrics`, Agarwal et al. 2021), each row with its protocol.

    On one environment the scores are raw returns; on several, each column is min-max normalised with the
    environment's declared return bounds (``rlbench/data/score_bounds.csv``), and an environment without both
    bounds is refused. Sets measured under different protocols are refused unless ``allow_mismatch`` (then the
    ``confounded_with`` column names them).
    """
    from rlbench.stats.aggregates import aggregate_metrics

    if not sets:
        raise RlbenchError("no imported set to rank")
    names = [s.name for s in sets]
    if len(set(names)) != len(names):
        raise RlbenchError(f"imported set named twice: {names}")
    mismatches = check_comparable(sets, allow_mismatch)
    envs = sets[0].envs
    if any(s.envs != envs for s in sets):
        raise RlbenchError("imported sets cover different environments: "
                           + "; ".join(f"{s.name}: {', '.join(s.envs)}" for s in sets))
    scale = "raw return"
    matrices = {s.name: s.scores for s in sets}
    if len(envs) > 1:
        low, high = [], []
        for env in envs:
            bounds = env_bounds(env)
            if bounds.lowest is None or bounds.highest is None:
                raise RlbenchError(f"{env} has no declared return bounds to normalise by "
                                   "(rlbench/data/score_bounds.csv);"
                                   " rank the sets one environment at a time")
            low.append(bounds.lowest)
            high.append(bounds.highest)
        low_a, high_a = np.asarray(low), np.asarray(high)
        matrices = {n: (m - low_a) / (high_a - low_a) for n, m in matrices.items()}
        scale = "return min-max normalised by the declared bounds"
    estimates = aggregate_metrics(matrices, seed=seed, reps=reps)
    rows = []
    for s in sets:
        iqm, mean = estimates[s.name]["iqm"], estimates[s.name]["mean"]
        confounded = sorted({b if a == s.name else a for (a, b) in mismatches if s.name in (a, b)})
        rows.append({
            "set": s.name, "runs": len(s.seeds), "iqm": iqm.point, "iqm_lower": iqm.lower, "iqm_upper": iqm.upper,
            "mean": mean.point, "mean_lower": mean.lower, "mean_upper": mean.upper,
            "protocol": "; ".join(s.protocols[env].describe() for env in envs),
            "tool": ", ".join(sorted(set(s.tools.values()))),
            "confounded_with": ", ".join(confounded),
        })
    frame = pd.DataFrame(rows).sort_values(["iqm", "set"], ascending=[False, True], kind="stable")
    frame.attrs["scale"] = scale
    return frame.reset_index(drop=True)


__all__ = ["FINAL_WINDOW", "IMPORTED", "ImportProtocol", "ImportedSet", "STEP_AXES", "check_comparable",
           "import_runs", "imported_leaderboard", "load_imported", "protocol_differences", "suite_sets",
           "verify_env_dir"]
