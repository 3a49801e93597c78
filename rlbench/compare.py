"""``rlbench compare``: compare algorithms, code revisions or parameter sets, and gate a CI job on the result.

Every side of a comparison is an :class:`Operand`: final scores per seed and task (a ``(runs x tasks)`` matrix of
raw returns), optionally learning curves, and the configuration it was measured under (its settings per task in
the vocabulary of :mod:`rlbench.config.settings`, with the :data:`~rlbench.config.comparison.PROTOCOL` entries).
Anything that yields one can be compared; the command line resolves these specifications (:func:`resolve`):

* ``SUITE:ALGO``: the stored runs of ``ALGO`` in suite ``SUITE`` (the published runs of a published suite);
* ``ALGO@REF``: ``ALGO`` as the code at git revision ``REF`` trains it: the revision is checked out with
  ``git worktree`` into a temporary directory and the runs of ``--suite`` are trained there (in a subprocess running
  that revision's code), unless the revision's run ids equal stored ones (then those are reused);
* ``ALGO``: ``ALGO`` as the working tree trains it on ``--suite`` with ``--params`` (stored runs with the same run
  ids are reused; others are trained into a cache outside the published results);
* ``imported:NAME``: a run set brought in by ``rlbench import`` (Stable-Baselines3, TensorBoard or CSV files), with
  the protocol it recorded.

More kinds plug in through :data:`OPERAND_KINDS` (a prefix ``kind:`` -> a check and a resolver); an
adaptive number of seeds would replace :func:`rlbench.stats.noninferiority.noninferiority_test`
by a sequential test over the same operands.

The first operand is the **reference**, every other one a **candidate** compared with it. Per candidate the report
gives what differs between the two configurations (a difference in the protocol is refused: the comparison would be
confounded), the verdict of the non-inferiority test (:mod:`rlbench.stats.noninferiority`) with its false-pass rate
and power measured on simulated suites shaped like this one, the "clearly better" verdict of the leaderboard's
calibrated rule (:func:`rlbench.stats.ranking.better_relation`, its measured error rate from
``results/calibration/``), per-task and aggregate estimates with intervals, learning curves and the seeds needed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats
import yaml

from rlbench.config.comparison import PROTOCOL, Comparison, Settings, compare
from rlbench.errors import RlbenchError

NORMALIZATION_EPISODES = 100
"""Random-policy episodes of a normalisation measured for a comparison (a suite without a stored table)."""

CACHE = Path(".rlbench-tmp") / "compare"
"""Where runs trained for a comparison go (ignored by git, outside the pipeline's outputs)."""


@dataclass(frozen=True)
class Operand:
    """One side of a comparison: what it scored and under which configuration."""

    name: str
    """As written on the command line (the report's name for it)."""
    source: str
    """Where the scores come from, in words (stored runs, a git revision, an imported run set)."""
    tasks: tuple[str, ...]
    scores: np.ndarray
    """``(runs x tasks)`` raw final scores (mean evaluation return at the last evaluation), rows = ``seeds``."""
    seeds: tuple[int, ...]
    settings: Settings
    """``task -> setting -> value``, the protocol included (:mod:`rlbench.config.comparison`)."""
    curves: pd.DataFrame | None = None
    """Optional evaluation rows ``seed, env, step, return`` (one per episode or per evaluation) for the curves."""
    run_ids: tuple[str, ...] = ()
    """The runs' ids where known: two operands with the same ids are the same runs."""
    revision: str = ""
    """The code revision (commit) where known."""
    code_digest: str = ""
    """Digest of the agent's code (:func:`rlbench.config.identity.code_digest`) where known."""


Resolver = Callable[[str, "Context"], Operand]
"""Builds the operand ``kind:NAME`` names, from ``NAME``."""
Checker = Callable[[str, "Context"], None]
"""Refuses a bad ``NAME`` of ``kind:NAME`` (one-line error) before any operand is loaded or trained."""


@dataclass
class Context:
    """What the resolvers need from the command line."""

    params: Path = Path("params.yaml")
    params_given: bool = False
    """Whether ``--params`` was given: then every git revision trains with that file (else with its own params.yaml)."""
    suite: str | None = None
    results: Path = Path("results")
    repo: Path = Path(".")
    cache: Path = CACHE
    on_progress: Callable[[str], None] = lambda message: None


# ---------------------------------------------------------------------------------------------------------------
# Operands


def _operand_from_store(name: str, source: str, plan, results: Path, revision: str = "") -> Operand:
    """An operand from the runs of a one-algorithm plan stored under ``results``."""
    from rlbench.scores.matrices import final_scores
    from rlbench.storage.run_store import RunStore

    store = RunStore(results)
    missing = [run.key for run in plan.runs if not store.is_finished(run)]
    if missing:
        raise RlbenchError(f"{name}: {len(missing)} of {len(plan.runs)} run(s) not finished under {results}: "
                           f"{', '.join(missing[:4])}")
    frame = store.load_eval(plan.runs)
    (algo,) = plan.algos
    finals = final_scores(frame, list(plan.suite.envs))
    return Operand(name, source, tuple(finals.tasks), finals.scores[algo], tuple(finals.run_ids[algo]),
                   plan.settings.get(algo, {}), frame[["seed", "env", "step", "return"]].copy(),
                   tuple(sorted(run.run_id for run in plan.runs)), revision, plan.algos[algo].code_digest)


def _one_algo_plan(params: Path, suite: str, algo: str):
    from rlbench.config.params import load_params
    from rlbench.config.plan import plan_suite

    loaded = load_params(params)
    config = loaded.suite(suite)
    if algo not in loaded.algos:
        from rlbench.errors import unknown_choice
        raise unknown_choice("algorithm", algo, loaded.algos)
    narrowed = dataclasses.replace(config, algos=(algo,))
    return loaded, plan_suite(dataclasses.replace(loaded, suites={**loaded.suites, suite: narrowed}), suite)


def _cache_root(cache: Path, run_ids: Sequence[str]) -> Path:
    """Runs with the same ids share a cache directory (an unchanged revision is trained once)."""
    return cache / hashlib.sha256(",".join(sorted(run_ids)).encode()).hexdigest()[:16]


def resolve_stored(spec: str, context: Context) -> Operand:
    """``SUITE:ALGO``: the stored runs of an algorithm of a suite, as its recorded plan
    (``results/plans/<suite>.json``) names them; planned from ``params.yaml`` where no plan is recorded."""
    from rlbench.storage.plans import plan_path, read_plan

    suite, _, algo = spec.partition(":")
    if not suite or not algo:
        raise RlbenchError(f"operand {spec!r}: expected SUITE:ALGO")
    if plan_path(context.results, suite).is_file():
        plan = read_plan(context.results, suite).select([algo])
    else:
        _, plan = _one_algo_plan(context.params, suite, algo)
    return _operand_from_store(spec, f"stored runs of suite {suite} ({context.results})", plan, context.results)


def resolve_working_tree(spec: str, context: Context) -> Operand:
    """``ALGO``: trained by the working tree's code on ``--suite`` with ``--params`` (stored runs reused)."""
    from rlbench.execution.launcher import run_suite
    from rlbench.storage.run_store import RunStore

    if not context.suite:
        raise RlbenchError(f"operand {spec!r} is trained by the working tree: name the suite with --suite")
    loaded, plan = _one_algo_plan(context.params, context.suite, spec)
    if all(RunStore(context.results).is_finished(run) for run in plan.runs):
        return _operand_from_store(spec, f"working tree = stored runs of suite {context.suite} (same run ids)",
                                   plan, context.results)
    root = _cache_root(context.cache, [run.run_id for run in plan.runs])
    context.on_progress(f"training {len(plan.runs)} run(s) of {spec} (working tree) into {root}")
    report = run_suite(loaded, context.suite, root, plan=plan, backend="serial", retries=0, progress=False)
    if report.failed:
        raise RlbenchError(f"{spec}: run {report.failed[0][0]} failed: {report.failed[0][1]}")
    return _operand_from_store(spec, f"working tree, suite {context.suite} ({context.params})", plan, root)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        why = " ".join(done.stderr.strip().splitlines()[-1:]) or "no such revision"
        raise RlbenchError(f"git {' '.join(args)} failed in {repo}: {why}")
    return done.stdout.strip()


def _revision_params(context: Context, worktree: Path, suite: str, algo: str, out: Path) -> Path:
    """The parameter file a revision trains with, narrowed to ``suite`` with ``algo`` only."""
    # Given --params: the same parameters for every revision; else the revision's own params.yaml.
    source = context.params.resolve() if context.params_given else worktree / "params.yaml"
    if not source.is_file():
        raise RlbenchError(f"no parameter file {source} at that revision")
    raw = yaml.safe_load(source.read_text()) or {}
    suites = raw.get("suites") or {}
    if suite not in suites:
        raise RlbenchError(f"suite {suite!r} not in {source}; valid choices: {', '.join(sorted(suites))}")
    narrowed = {**suites[suite], "algos": [algo]}
    raw["suites"] = {suite: narrowed}
    raw.setdefault("pipeline", {})["publish"] = [suite]
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def resolve_revision(spec: str, context: Context) -> Operand:
    """``ALGO@REF``: trained by the code at git revision ``REF`` (in a temporary ``git worktree``)."""
    from rlbench.config.plan import SuitePlan
    from rlbench.storage.run_store import RunStore

    algo, _, ref = spec.partition("@")
    if not algo or not ref:
        raise RlbenchError(f"operand {spec!r}: expected ALGO@GITREF")
    if not context.suite:
        raise RlbenchError(f"operand {spec!r} is trained at a git revision: name the suite with --suite")
    commit = _git(context.repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    temp = Path(tempfile.mkdtemp(prefix="rlbench-compare-"))
    worktree = temp / "tree"
    _git(context.repo, "worktree", "add", "--detach", "--quiet", str(worktree), commit)
    try:
        params = _revision_params(context, worktree, context.suite, algo, temp / "params.yaml")
        environment = {**os.environ, "PYTHONPATH": str(worktree)}
        plans = temp / "plans"

        def cli(*args: str) -> None:
            done = subprocess.run([sys.executable, "-m", "rlbench.cli", *args], cwd=worktree, env=environment,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
                raise RlbenchError(f"{spec}: `rlbench {args[0]}` at {commit[:12]} failed: {' '.join(tail)}")

        cli("plan", context.suite, "--params", str(params), "--results", str(plans))
        plan = SuitePlan.from_json((plans / "plans" / f"{context.suite}.json").read_text(),
                                   f"the plan of {spec}")
        source = f"git revision {ref} ({commit[:12]})"
        if all(RunStore(context.results).is_finished(run) for run in plan.runs):
            return _operand_from_store(spec, source + f", = stored runs of suite {context.suite} (same run ids)",
                                       plan, context.results, commit)
        root = _cache_root(context.cache, [run.run_id for run in plan.runs]).resolve()
        if not all(RunStore(root).is_finished(run) for run in plan.runs):
            context.on_progress(f"training {len(plan.runs)} run(s) of {spec} at {commit[:12]} into {root}")
            cli("run-suite", context.suite, "--params", str(params), "--results", str(root), "--backend", "serial",
                "--retries", "0", "--no-progress", "--strict")
        return _operand_from_store(spec, source, plan, root, commit)
    finally:
        subprocess.run(["git", "-C", str(context.repo), "worktree", "remove", "--force", str(worktree)],
                       capture_output=True)
        shutil.rmtree(temp, ignore_errors=True)


def imported_protocol(protocol, table: pd.DataFrame) -> dict[str, str]:
    """The :data:`~rlbench.config.comparison.PROTOCOL` entries of an imported environment, in the words a suite's runs
    use (:func:`~rlbench.config.comparison.protocol_settings`), so that an import measured as a suite measures (greedy
    evaluation episodes on the same schedule, environment steps, the same budget) compares clean and any other is
    refused as confounded, naming the difference.

    ``table`` is the imported runs' ``eval.csv`` or ``train.csv`` rows (all seeds of the environment).
    """
    from rlbench.config.comparison import protocol_settings
    from rlbench.importers.runs import FINAL_WINDOW

    if protocol.returns == "evaluation" and protocol.statistic.startswith("one episode"):
        steps = np.sort(table["step"].unique())
        gaps = set(np.diff(steps).tolist())
        episodes = set(table.groupby(["seed", "step"]).size().tolist())
        if len(gaps) <= 1 and len(episodes) == 1:
            settings = protocol_settings(protocol.env, protocol.budget, int(gaps.pop()) if gaps else int(steps[0]),
                                         episodes.pop())
        else:
            settings = protocol_settings(protocol.env, protocol.budget, 0, 0)
            settings["evaluation"] = "evaluation episodes on an irregular schedule, final evaluation scored"
    else:
        settings = protocol_settings(protocol.env, protocol.budget, 0, 0)
        settings["evaluation"] = (f"{protocol.returns} returns ({protocol.statistic}), mean of the last "
                                  f"{FINAL_WINDOW} values scored" if protocol.returns == "training" else
                                  f"{protocol.returns} returns ({protocol.statistic}), last value scored")
    if protocol.step_axis != "env_steps":
        settings["budget"] = f"{protocol.budget:,} {protocol.step_axis}"
    return settings


def resolve_imported(name: str, context: Context) -> Operand:
    """``imported:NAME``: a run set brought in by ``rlbench import`` (its runs verified first), with the protocol it
    recorded (:func:`imported_protocol`); the environments of ``--suite`` where one is named, else all of the set's."""
    from rlbench.importers.runs import load_imported, set_dir

    envs = None
    if context.suite:
        from rlbench.config.params import load_params

        envs = list(load_params(context.params).suite(context.suite).envs)
    imported = load_imported(name, context.results, envs)
    settings, curves = {}, []
    for env in imported.envs:
        protocol = imported.protocols[env]
        table_name = "eval.csv" if protocol.returns == "evaluation" else "train.csv"
        rows = [pd.read_csv(run / table_name).assign(seed=int(run.name.removeprefix("seed_")), env=env)
                for run in sorted((set_dir(context.results, name) / env).glob("seed_*"))]
        table = pd.concat(rows, ignore_index=True)
        settings[env] = imported_protocol(protocol, table)
        curves.append(table[["seed", "env", "step", "return"]])
    tools = "; ".join(sorted(set(imported.tools.values())))
    return Operand(f"imported:{name}", f"imported run set {name} ({tools})", tuple(imported.envs), imported.scores,
                   tuple(imported.seeds), settings, pd.concat(curves, ignore_index=True))


def check_imported(name: str, context: Context) -> None:
    """``imported:NAME``: the set is read and its runs verified now (cheap), so a bad set stops before anything
    trains."""
    from rlbench.importers.runs import load_imported

    load_imported(name, context.results)


@dataclass(frozen=True)
class OperandKind:
    """An operand kind named by a prefix ``kind:``: how to check its name early, and how to build it."""

    check: Checker
    resolve: Resolver


OPERAND_KINDS: dict[str, OperandKind] = {"imported": OperandKind(check_imported, resolve_imported)}
"""Operand kinds named by a prefix ``kind:`` (``imported:NAME``: a set brought in by ``rlbench import``), tried
before the built-in forms: the prefix wins over a suite of the same name."""


def _parsed(spec: str) -> tuple[str, str, str, str]:
    """``(spec, kind, colon, rest)`` of a well-formed operand, ``spec.partition(":")`` after it (``colon`` empty
    without a prefix)."""
    spec = spec.strip()
    if not spec or not re.fullmatch(r"[A-Za-z0-9_.:@/~^+-]+", spec):
        raise RlbenchError(f"bad operand {spec!r}; expected SUITE:ALGO, ALGO@GITREF, ALGO or imported:NAME")
    return (spec, *spec.partition(":"))


def _check_algo(params: Path, suite: str, algo: str) -> None:
    """Refuse an unknown suite, or an algorithm ``params`` does not define."""
    from rlbench.config.params import load_params
    from rlbench.errors import unknown_choice

    loaded = load_params(params)
    loaded.suite(suite)
    if algo not in loaded.algos:
        raise unknown_choice("algorithm", algo, loaded.algos)


def check(spec: str, context: Context) -> None:
    """Refuse a malformed or unknown operand before any operand is loaded or trained (names only; cheap)."""
    spec, kind, colon, rest = _parsed(spec)
    if colon and kind in OPERAND_KINDS:
        OPERAND_KINDS[kind].check(rest, context)
        return
    if "@" in spec or not colon:
        algo, _, ref = spec.partition("@")
        if not context.suite:
            raise RlbenchError(f"operand {spec!r} is trained ({'at a git revision' if ref else 'by the working tree'}):"
                               " name the suite with --suite")
        if "@" in spec and (not algo or not ref):
            raise RlbenchError(f"operand {spec!r}: expected ALGO@GITREF")
        if ref:
            _git(context.repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
            return
        _check_algo(context.params, context.suite, algo)
        return
    suite, _, algo = spec.partition(":")
    if not suite or not algo:
        raise RlbenchError(f"operand {spec!r}: expected SUITE:ALGO")
    from rlbench.storage.plans import plan_path, read_plan

    if plan_path(context.results, suite).is_file():
        read_plan(context.results, suite).select([algo])
        return
    _check_algo(context.params, suite, algo)


def resolve(spec: str, context: Context) -> Operand:
    """The operand a command-line specification names (module docstring)."""
    spec, kind, colon, rest = _parsed(spec)
    if colon and kind in OPERAND_KINDS:
        return OPERAND_KINDS[kind].resolve(rest, context)
    if "@" in spec:
        return resolve_revision(spec, context)
    if colon:
        return resolve_stored(spec, context)
    return resolve_working_tree(spec, context)


# ---------------------------------------------------------------------------------------------------------------
# The comparison


@dataclass(frozen=True)
class PairResult:
    """One candidate against the reference."""

    candidate: str
    comparison: Comparison
    test: object  # rlbench.stats.noninferiority.NonInferiority
    rates: object  # rlbench.stats.noninferiority.GateRates
    better: str
    """The calibrated "clearly better" verdict in words."""
    per_task: pd.DataFrame
    seeds_needed: float
    same_runs: bool


def _normalization(tasks: Sequence[str], context: Context, seed: int) -> pd.DataFrame:
    from rlbench.references.measured import normalization_table

    for path in sorted(context.results.glob("*/normalization.csv")):
        table = pd.read_csv(path)
        if set(tasks) <= set(table["env"]):
            return table[table["env"].isin(tasks)].reset_index(drop=True)
    return normalization_table(list(tasks), NORMALIZATION_EPISODES, seed)


def _normalized(operand: Operand, table: pd.DataFrame) -> np.ndarray:
    from rlbench.scores.matrices import ScoreSet
    from rlbench.scores.normalization import normalize

    scores = ScoreSet({"x": operand.scores}, list(operand.tasks), {"x": list(operand.seeds)})
    return normalize(scores, table).scores["x"]


def protocol_differences(comparison: Comparison) -> list[str]:
    """The differences of a pair in its measurement protocol (what makes a comparison meaningless)."""
    return [f"{d.setting}: {d.text}" for d in comparison.differences if d.setting in PROTOCOL]


def _per_task(reference: Operand, candidate: Operand, ref_n: np.ndarray, cand_n: np.ndarray,
              alpha: float) -> pd.DataFrame:
    rows = []
    for j, task in enumerate(reference.tasks):
        r, c = reference.scores[:, j], candidate.scores[:, j]
        vr, vc = r.var(ddof=1) / r.size, c.var(ddof=1) / c.size
        diff = float(c.mean() - r.mean())
        se = float(np.sqrt(vr + vc))
        df = (vr + vc) ** 2 / (vr**2 / (r.size - 1) + vc**2 / (c.size - 1)) if se > 0 else np.inf
        t = float(scipy.stats.t.ppf(1 - alpha, df)) if np.isfinite(df) else 0.0
        rows.append({"env": task, "runs_reference": int(r.size), "runs_candidate": int(c.size),
                     "mean_reference": float(r.mean()), "sd_reference": float(r.std(ddof=1)),
                     "mean_candidate": float(c.mean()), "sd_candidate": float(c.std(ddof=1)),
                     "difference": diff, "difference_lower": diff - t * se, "difference_upper": diff + t * se,
                     "normalized_difference": float(cand_n[:, j].mean() - ref_n[:, j].mean())})
    return pd.DataFrame(rows)


def compare_operands(operands: Sequence[Operand], context: Context, margin: float, alpha: float,
                     simulations: int = 2000, seed: int = 0,
                     allow_confounded: bool = False) -> tuple[list[PairResult], pd.DataFrame, dict[str, np.ndarray]]:
    """Every candidate against the reference (the first operand); refuses a comparison across different tasks or
    (unless ``allow_confounded``) a different protocol, naming every difference."""
    from rlbench.stats.noninferiority import gate_seeds_needed, noninferiority_test, simulated_rates
    from rlbench.stats.ranking import better_relation

    if len(operands) < 2:
        raise RlbenchError("compare needs at least two operands: the reference and a candidate")
    names = [o.name for o in operands]
    if len(set(names)) != len(names):
        raise RlbenchError(f"operand(s) named twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    reference = operands[0]
    for operand in operands[1:]:
        if set(operand.tasks) != set(reference.tasks):
            raise RlbenchError(f"{operand.name} is measured on {', '.join(operand.tasks)}, {reference.name} on "
                               f"{', '.join(reference.tasks)}: compare operands on the same tasks")
    aligned = [reference] + [dataclasses.replace(o, tasks=reference.tasks, scores=o.scores[
        :, [list(o.tasks).index(t) for t in reference.tasks]]) for o in operands[1:]]
    table = _normalization(reference.tasks, context, seed)
    normalized = {o.name: _normalized(o, table) for o in aligned}
    results = []
    for candidate in aligned[1:]:
        pair = compare(reference.name, candidate.name, reference.settings, candidate.settings)
        protocol = protocol_differences(pair)
        if protocol and not allow_confounded:
            raise RlbenchError(f"{reference.name} vs {candidate.name} is confounded: measured under a different "
                               f"protocol ({'; '.join(protocol)}); every difference: {pair.differs_in}. Compare "
                               "under one protocol (or pass --allow-confounded to report it anyway)")
        ref_n, cand_n = normalized[reference.name], normalized[candidate.name]
        test = noninferiority_test(cand_n, ref_n, margin, alpha)
        rates = simulated_rates(ref_n, cand_n.shape[0], margin, alpha, simulations, seed)
        relation = better_relation({reference.name: ref_n, candidate.name: cand_n})
        if relation.clearly_better(candidate.name, reference.name):
            better = f"`{candidate.name}` clearly better"
        elif relation.clearly_better(reference.name, candidate.name):
            better = f"`{reference.name}` clearly better"
        else:
            better = "neither clearly better"
        better += (f" (exact permutation test, p = {relation.p_values[(reference.name, candidate.name)]:.3g}; "
                   f"P({candidate.name} > {reference.name}) = "
                   f"{relation.probability[(candidate.name, reference.name)]:.2f})")
        same = bool(reference.run_ids) and reference.run_ids == candidate.run_ids
        results.append(PairResult(candidate.name, pair, test, rates, better,
                                  _per_task(reference, candidate, ref_n, cand_n, alpha),
                                  gate_seeds_needed(cand_n, ref_n, margin, alpha), same))
    return results, table, normalized


# ---------------------------------------------------------------------------------------------------------------
# The report


def _curves_figure(operands: Sequence[Operand], table: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import EngFormatter

    tasks = list(operands[0].tasks)
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False, layout="constrained")
    indexed = table.set_index("env")
    for j, task in enumerate(tasks):
        ax = axes[0, j]
        random, reference = float(indexed.loc[task, "random"]), float(indexed.loc[task, "reference"])
        for operand in operands:
            if operand.curves is None or operand.curves.empty:
                continue
            rows = operand.curves[operand.curves["env"] == task]
            per_seed = rows.groupby(["seed", "step"])["return"].mean().unstack("seed")
            values = (per_seed.to_numpy() - random) / (reference - random)
            mean = values.mean(axis=1)
            sd = values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.zeros_like(mean)
            ax.plot(per_seed.index, mean, label=operand.name)
            ax.fill_between(per_seed.index, mean - sd, mean + sd, alpha=0.2)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 50k, not 50000 running into the next panel
        ax.legend(fontsize=8)
    axes[0, 0].set_ylabel("normalised return\n(mean ± sd over seeds)")
    return fig


def _fmt(value: float) -> str:
    return f"{value:+.3f}" if np.isfinite(value) else "—"


def verdict_line(pair: PairResult, reference: str, gate: bool) -> str:
    """One line: the decision and its error rates."""
    test, rates = pair.test, pair.rates
    decision = ("PASS" if test.passed else "FAIL") if gate else (
        "non-inferior" if test.passed else "not shown non-inferior")
    return (f"{decision}: {pair.candidate} vs {reference}: mean normalised difference {_fmt(test.difference.point)}, "
            f"{100 * (1 - test.alpha):.0f}% lower bound {_fmt(test.difference.lower)} vs margin -{test.margin:g} "
            f"(measured false-pass rate {100 * rates.false_pass:.1f}%, power {100 * rates.power:.0f}%)")


def report_markdown(operands: Sequence[Operand], pairs: Sequence[PairResult], table: pd.DataFrame,
                    normalized: Mapping[str, np.ndarray], margin: float, alpha: float, gate: bool,
                    rank_rate: str, figure: str | None) -> str:
    """The comparison report: the decision and its error rate first."""
    from rlbench.reporting.tables import markdown_table
    from rlbench.stats.noninferiority import NONINFERIORITY_TEST

    reference = operands[0]
    lines = [f"# rlbench compare: {' vs '.join(o.name for o in operands)}", ""]
    lines += ["## Decision", ""]
    for pair in pairs:
        lines.append(f"- **{verdict_line(pair, reference.name, gate)}**")
    lines += ["", f"Test: {NONINFERIORITY_TEST}. H0: the candidate's mean normalised score is below the reference's by "
              f"{margin:g} or more (normalised units: 0 = random policy, 1 = reference score); non-inferiority is "
              f"shown when the one-sided {100 * (1 - alpha):.0f}% lower confidence bound of the difference lies above "
              f"-{margin:g} (nominal false-pass rate {100 * alpha:g}%). The measured rates come from "
              f"{pairs[0].rates.simulations} simulated suites per rate with this comparison's tasks, seeds and seed "
              "spread (the worse of normal scores and the reference runs resampled; rlbench.stats.noninferiority."
              "simulated_rates): false pass = a candidate worse by exactly the margin passes; power = an equally good "
              "candidate passes.", ""]
    lines += ["Leaderboard rule (\"clearly better\", exact permutation test, Holm): " +
              "; ".join(f"{p.candidate}: {p.better}" for p in pairs) + f". {rank_rate}", ""]
    lines += ["## Operands", ""]
    lines.append(markdown_table(pd.DataFrame(
        [{"operand": o.name, "role": "reference" if k == 0 else "candidate", "source": o.source,
          "runs": len(o.seeds), "revision": o.revision[:12] or "—"} for k, o in enumerate(operands)])))
    lines += ["## What differs", ""]
    for pair in pairs:
        c = pair.comparison
        note = " — the same runs (same run ids): the difference is zero by construction" if pair.same_runs else ""
        flag = f" **Confounded**: {c.reason}." if c.confounded else ""
        candidate = next(o for o in operands if o.name == pair.candidate)
        code = ""
        if reference.code_digest and candidate.code_digest and reference.code_digest != candidate.code_digest:
            code = f"; code: digest {reference.code_digest[:12]} vs {candidate.code_digest[:12]}"
            if reference.revision and candidate.revision:
                code += f" (revision {reference.revision[:12]} vs {candidate.revision[:12]})"
        elif reference.code_digest and reference.code_digest == candidate.code_digest:
            code = "; code: the same (digest " + reference.code_digest[:12] + ")"
        settings = c.differs_in if c.differences else "no setting"
        lines.append(f"- `{reference.name}` vs `{pair.candidate}`: {settings}{code}{note}.{flag}")
    lines += ["", "## Aggregate (mean normalised score over tasks)", ""]
    rows = [{"operand": name, "mean": float(m.mean(axis=0).mean()),
             "sd_over_seeds": float(m.mean(axis=1).std(ddof=1))} for name, m in normalized.items()]
    lines.append(markdown_table(pd.DataFrame(rows)))
    rows = [{"candidate": p.candidate, "difference": p.test.difference.point, "lower": p.test.difference.lower,
             "upper": p.test.difference.upper, "margin": -margin, "p_value": p.test.p_value,
             "verdict": p.test.outcome,
             "seeds_needed": int(p.seeds_needed) if np.isfinite(p.seeds_needed) else "more than 100,000"}
            for p in pairs]
    lines += [f"Difference candidate − reference, {100 * (1 - 2 * alpha):.0f}% interval (its lower end is the "
              "one-sided bound of the test):", "", markdown_table(pd.DataFrame(rows))]
    lines += ["## Per task (raw returns)", ""]
    for pair in pairs:
        lines += [f"`{pair.candidate}` − `{reference.name}` ({100 * (1 - 2 * alpha):.0f}% Welch intervals):", "",
                  markdown_table(pair.per_task)]
    lines += ["Normalisation (random and reference score per task):", "",
              markdown_table(table[["env", "random", "reference"]])]
    if figure:
        lines += ["## Learning curves", "", f"![learning curves]({figure}.png)", ""]
    lines += ["## Seeds needed", ""]
    for pair in pairs:
        n = pair.seeds_needed
        lines.append(f"- `{pair.candidate}`: {'more than 100,000' if not np.isfinite(n) else int(n)} seeds per side "
                     f"for an equally good candidate to pass with 80% power at margin {margin:g} (seed spread of "
                     f"these runs; rlbench.stats.power.seeds_needed at two-sided level {2 * alpha:g}); this "
                     f"comparison has {pair.per_task['runs_candidate'].min()} and "
                     f"{pair.per_task['runs_reference'].min()}.")
    return "\n".join(lines) + "\n"


def write_report(operands: Sequence[Operand], pairs: Sequence[PairResult], table: pd.DataFrame,
                 normalized: Mapping[str, np.ndarray], margin: float, alpha: float, gate: bool, out: Path,
                 results: Path) -> Path:
    """Write ``report.md``, ``report.html``, ``comparison.csv`` and the curves under ``out``; return ``report.md``."""
    import matplotlib.pyplot as plt

    from rlbench.reporting.error_rates import rank_statement, read_rates
    from rlbench.reporting.figures import save_figure
    from rlbench.reporting.report import render_html
    from rlbench.storage.files import write_csv_atomic, write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    figure = None
    if any(o.curves is not None and not o.curves.empty for o in operands):
        fig = _curves_figure(operands, table)
        save_figure(fig, out / "learning_curves")
        plt.close(fig)
        figure = "learning_curves"
    try:
        rank_rate = rank_statement(read_rates(results))
    except RlbenchError:
        rank_rate = ""
    markdown = report_markdown(operands, pairs, table, normalized, margin, alpha, gate, rank_rate, figure)
    frames = [p.per_task.assign(reference=operands[0].name, candidate=p.candidate) for p in pairs]
    write_csv_atomic(out / "comparison.csv", pd.concat(frames, ignore_index=True), float_format="%.6f")
    write_text_atomic(out / "report.md", markdown)
    write_text_atomic(out / "report.html", render_html(markdown, out, "rlbench compare"))
    return out / "report.md"


def report_dir(reports: Path, operands: Sequence[str]) -> Path:
    """``reports/compare/<A>_vs_<B>...`` (names made safe for a path)."""
    return reports / "compare" / "_vs_".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", o) for o in operands)


__all__ = ["CACHE", "OPERAND_KINDS", "Context", "Operand", "OperandKind", "PairResult", "check", "compare_operands",
           "protocol_differences", "report_dir", "report_markdown", "resolve", "resolve_revision", "resolve_stored",
           "resolve_working_tree", "verdict_line", "write_report"]
