"""Auditing a published suite: retrain a random sample of its runs and compare them with what is published.

Verification and the suite's index (:mod:`rlbench.storage.run_index`) check that a run's files are the ones the
pipeline wrote; nothing local can show that the pipeline wrote what training produces, since a forger can
rewrite the files, their checksums, the index and ``dvc.lock`` together. Retraining can: a run is a
deterministic function of its plan entry (config, seed, code and package versions), so anyone can retrain some
of a suite's runs and compare.

* **The draw** is reproducible: ``numpy.random.default_rng(seed)`` chooses ``sample`` runs without replacement
  among the plan's published runs (those with a run directory) in plan order, and the drawn runs are listed in
  plan order with the sample size and seed.
* **Retraining** goes through the launcher into a temporary run store, never over the published run (a run of a
  batched group is retrained with its whole group, as it was trained).
* **Comparison**, one verdict per run. The run files (``eval.csv``, ``train.csv``, ``diagnostics.csv``,
  ``config.json``) byte for byte first: ``identical``, whatever the processor. Where they differ and this
  machine's processor (``cpu_id`` as :func:`rlbench.storage.provenance.machine` records it) is the one the
  published run's provenance names, ``differs``, naming the first differing file and line. Where the processor
  differs (or is not recorded), bytes are not expected to agree (docs/reference/reproducibility.md), and the published
  run's final evaluation return is tested against the audit's retrained runs of the same algorithm and
  environment with the single-case test of Crawford & Howell (:func:`rlbench.stats.reproduction.single_run_verdict`,
  its measured false-positive rate from ``results/calibration/``): ``consistent`` or ``inconsistent``, or
  ``inconclusive`` with fewer than :data:`MIN_DISTRIBUTION_RUNS` retrained runs of that cell. A published run
  that fails verification is ``fails verification``; one whose retraining raised, ``retraining failed``.

The record, ``results/audits/<suite>/seed_<S>-sample_<N|all>.json`` and ``.md``, holds the suite, its plan's
hash, the draw, this machine's processor and every verdict with its reason; no clock, host or path, so the same
audit on the same processor writes the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlbench.config.params import Params
from rlbench.config.plan import RunSpec, SuitePlan
from rlbench.errors import RlbenchError
from rlbench.execution.launcher import launch
from rlbench.execution.worker import WorkerOptions
from rlbench.reporting.error_rates import NOT_MEASURED, read_rates
from rlbench.stats.calibration import false_verdict_rates, summary_statement
from rlbench.stats.reproduction import (
    CONSISTENT,
    INCONCLUSIVE,
    INCONSISTENT,
    SINGLE_CASE_ALPHA,
    SINGLE_CASE_TEST,
    single_run_verdict,
)
from rlbench.storage.files import write_json_atomic, write_text_atomic
from rlbench.storage.provenance import machine
from rlbench.storage.run_store import RunStore

AUDIT_DIR = "audits"
"""The directory under the results root holding audit records (``audits/<suite>/``)."""

DEFAULT_SAMPLE = 3
"""Runs drawn when no ``--sample`` is given: a few runs' training, enough to catch a forged suite at random."""

COMPARED_FILES: tuple[str, ...] = ("eval.csv", "train.csv", "diagnostics.csv", "config.json")
"""The run files compared byte for byte, in the order a difference is looked for (the returns first)."""

MIN_DISTRIBUTION_RUNS = 2
"""Retrained runs of a cell the single-case test needs at least (it estimates their spread)."""

CALIBRATED_RULE = "single_run_consistent"
"""The calibration's rule of the single-case test (``results/calibration/summary.csv``)."""

IDENTICAL = "identical"
DIFFERS = "differs"
UNVERIFIED = "fails verification"
NOT_RETRAINED = "retraining failed"

FAILING_VERDICTS = frozenset({DIFFERS, INCONSISTENT, UNVERIFIED, NOT_RETRAINED})
"""Verdicts that make the audit fail (exit status 1)."""


@dataclass(frozen=True)
class RunVerdict:
    """One audited run: its verdict and what it rests on."""

    run: str
    """``algo/env/seed_<n>``."""
    run_id: str
    published_cpu_id: str | None
    """The processor the published run's provenance names (None where it names none)."""
    comparison: str
    """``bytes``, ``distribution`` (processors differ) or ``none`` (nothing to compare)."""
    verdict: str
    reason: str
    index: str
    """What the suite's index says of the published run: it vouches for it, it does not (changed outside the
    pipeline), or the suite has no index."""
    published_final_return: float | None = None
    retrained_final_returns: list[float] = field(default_factory=list)
    """The final returns of the audit's retrained runs of this run's algorithm and environment (distribution
    comparisons only)."""
    p_value: float | None = None


@dataclass(frozen=True)
class Audit:
    """An audit of a suite: the draw, the machine, the test and one verdict per drawn run."""

    suite: str
    plan_sha256: str
    published: int
    """Runs of the plan with a run directory: the population of the draw."""
    sample: int | None
    """Runs drawn (None: all)."""
    seed: int
    cpu_id: str
    test: str
    false_positive_rate: float | None
    """The single-case test's worst measured false-positive rate (None where the calibration has not run)."""
    rate_statement: str
    runs: tuple[RunVerdict, ...]

    @property
    def failed(self) -> bool:
        return any(verdict.verdict in FAILING_VERDICTS for verdict in self.runs)

    @property
    def name(self) -> str:
        """The record's file stem: the draw's inputs, so the same audit always has the same record."""
        return f"seed_{self.seed}-sample_{'all' if self.sample is None else self.sample}"

    def draw_line(self) -> str:
        return draw_line(self.suite, [v.run for v in self.runs], self.published, self.sample, self.seed)

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "plan_sha256": self.plan_sha256, "published_runs": self.published,
            "sample": "all" if self.sample is None else self.sample, "seed": self.seed,
            "draw": "numpy.random.default_rng(seed).choice(published_runs, sample, replace=False), in plan order",
            "drawn": [v.run for v in self.runs], "machine": {"cpu_id": self.cpu_id},
            "distribution_test": {"test": SINGLE_CASE_TEST, "alpha": SINGLE_CASE_ALPHA,
                                  "measured_false_positive_rate": self.false_positive_rate,
                                  "measured": self.rate_statement,
                                  "min_retrained_runs": MIN_DISTRIBUTION_RUNS},
            "runs": [dataclasses.asdict(v) for v in self.runs],
            "failed": self.failed,
        }

    def to_markdown(self) -> str:
        rows = "\n".join(f"| `{v.run}` | {v.published_cpu_id or 'not recorded'} | {v.comparison} | **{v.verdict}** | "
                         f"{v.reason.replace('|', '/')} |" for v in self.runs)
        outcome = ("**failed**: a run differs from its retraining, is inconsistent with it, fails verification or "
                   "could not be retrained" if self.failed else "passed")
        return (f"# Audit of suite `{self.suite}`\n\n{self.draw_line()}.\n\n"
                f"Plan sha256 `{self.plan_sha256}`; this machine's processor `{self.cpu_id}`. Each drawn run was "
                "retrained into a temporary directory and compared with the published one: byte for byte, and, "
                "where the bytes differ and so do the processors, its final evaluation return against the audit's "
                f"retrained runs of the same algorithm and environment, by the {SINGLE_CASE_TEST} (two-sided at "
                f"{SINGLE_CASE_ALPHA:g}; {self.rate_statement}).\n\n"
                "| run | published on | comparison | verdict | reason |\n|---|---|---|---|---|\n"
                f"{rows}\n\nOutcome: {outcome}. Repeat it: `rlbench audit {self.suite} --sample "
                f"{'all' if self.sample is None else self.sample} --seed {self.seed}`.\n")


def draw_line(suite: str, drawn: Sequence[str], published: int, sample: int | None, seed: int) -> str:
    """How the runs were drawn, in words anyone can repeat."""
    size = "all" if sample is None else str(sample)
    return (f"audit {suite}: {len(drawn)} of {published} published run(s) drawn with --sample {size} --seed {seed} "
            f"(numpy.random.default_rng({seed}), without replacement, over the plan's published runs in plan order): "
            f"{', '.join(drawn)}")


def parse_sample(text: str, published: int) -> int | None:
    """The ``--sample`` value: a number of runs in 1..``published``, or ``all`` (None)."""
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= published:
        raise RlbenchError(f"--sample {text!r} is not allowed: give a number of runs from 1 to {published} (the "
                           "suite's published runs) or 'all'")
    return value


def draw_sample(runs: Sequence[RunSpec], sample: int | None, seed: int) -> list[RunSpec]:
    """``sample`` runs (all when None) drawn without replacement by ``numpy.random.default_rng(seed)``, in the order
    of ``runs`` (the plan's): the same runs, seed and sample always draw the same runs."""
    if sample is None:
        return list(runs)
    chosen = np.random.default_rng(seed).choice(len(runs), size=sample, replace=False)
    return [runs[i] for i in sorted(int(i) for i in chosen)]


def first_difference(name: str, published: bytes, retrained: bytes) -> str | None:
    """Where ``published`` and ``retrained`` bytes of file ``name`` first differ (its line and both texts), or None."""
    if published == retrained:
        return None
    ours, theirs = published.splitlines(), retrained.splitlines()
    for number, (a, b) in enumerate(zip(ours, theirs), start=1):
        if a != b:
            return f"{name} line {number}: published {_shown(a)}, retrained {_shown(b)}"
    line = min(len(ours), len(theirs)) + 1
    if len(ours) != len(theirs):
        return f"{name} line {line}: published has {len(ours)} lines, retrained {len(theirs)}"
    return f"{name}: line endings differ"


def _shown(line: bytes, width: int = 60) -> str:
    text = line.decode("utf-8", errors="replace")
    return f"`{text[:width]}{'...' if len(text) > width else ''}`"


def compare_runs(published: Path, retrained: Path) -> str | None:
    """The first difference between two run directories' :data:`COMPARED_FILES`, or None when byte-identical."""
    for name in COMPARED_FILES:
        difference = first_difference(name, (published / name).read_bytes(), (retrained / name).read_bytes())
        if difference is not None:
            return difference
    return None


def _final_return(store: RunStore, spec: RunSpec) -> float:
    """A run's final score: its mean evaluation return at the last evaluation (the budget)."""
    frame = store.load_eval([spec])
    return float(frame[frame.step == frame.step.max()]["return"].mean())


def _published_cpu(store: RunStore, spec: RunSpec) -> str | None:
    """The processor the published run's provenance names, or None where it names none."""
    try:
        provenance = json.loads(store.provenance_path(spec).read_text(encoding="utf-8"))
        cpu = provenance["machine"]["cpu_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return cpu if isinstance(cpu, str) else None


def _with_groups(drawn: Sequence[RunSpec], plan: SuitePlan) -> list[RunSpec]:
    """The runs to retrain: the drawn ones, and the whole group of each drawn batched run (trained together, a
    group's members are one computation), in plan order."""
    groups = {(s.algo, s.env, s.mode) for s in drawn if s.batched}
    keys = {s.key for s in drawn}
    return [s for s in plan.runs if s.key in keys or (s.batched and (s.algo, s.env, s.mode) in groups)]


def audit_suite(params: Params, plan: SuitePlan, results: Path, sample: str, seed: int, backend: str | None = None,
                workers: int | None = None, progress: bool = False,
                on_draw: Callable[[str], None] | None = None) -> Audit:
    """Draw, retrain and compare (see the module docstring); ``on_draw(audit_line)`` is told the draw before the
    retraining starts. Bad input (no published runs, a bad ``sample``, a negative ``seed``) is an error."""
    if seed < 0:
        raise RlbenchError(f"--seed {seed} is not allowed: give a seed >= 0")
    store = RunStore(results)
    population = [spec for spec in plan.runs if store.run_dir(spec).is_dir()]
    if not population:
        raise RlbenchError(f"no runs of suite {plan.name} under {store.suite_dir(plan.name)}: nothing to audit (run "
                           f"`rlbench run-suite {plan.name}` first)")
    size = parse_sample(sample, len(population))
    drawn = draw_sample(population, size, seed)
    cpu_id = str(machine()["cpu_id"])
    measured = read_rates(results)
    rates = false_verdict_rates(measured.summary) if measured is not None else {}
    rate = rates.get(SINGLE_CASE_TEST)
    statement = (summary_statement(measured.summary, CALIBRATED_RULE) if rate is not None and measured is not None
                 else NOT_MEASURED)
    if on_draw is not None:
        on_draw(draw_line(plan.name, [s.key for s in drawn], len(population), size, seed))

    changed = {spec.key: reason for spec, reason in store.changed_outside(drawn)}
    has_index = (store.suite_dir(plan.name) / "index.json").is_file()
    problems = {spec.key: store.verify(spec) for spec in drawn}
    pipeline = params.pipeline
    with tempfile.TemporaryDirectory(prefix=f"rlbench-audit-{plan.name}-") as scratch:
        retrained_store = RunStore(Path(scratch) / "results")
        todo = _with_groups([s for s in drawn if problems[s.key] is None], plan)
        report = launch(todo, retrained_store, backend=backend or pipeline.backend,
                        workers=pipeline.workers if workers is None else workers, retries=pipeline.retries,
                        options=WorkerOptions(), progress=progress)
        failed = dict(report.failed)
        finals: dict[tuple[str, str], list[float]] = {}
        for spec in todo:
            if retrained_store.is_finished(spec):
                finals.setdefault((spec.algo, spec.env), []).append(_final_return(retrained_store, spec))
        verdicts = []
        for spec in drawn:
            index = ("no index" if not has_index else
                     f"changed outside the pipeline: {changed[spec.key]}" if spec.key in changed else "vouched for")
            verdicts.append(_verdict(spec, store, retrained_store, problems[spec.key], failed.get(spec.key), cpu_id,
                                     finals.get((spec.algo, spec.env), []), index, statement))
    return Audit(plan.name, hashlib.sha256(plan.to_json().encode("utf-8")).hexdigest(), len(population), size, seed,
                 cpu_id, SINGLE_CASE_TEST, rate, statement, tuple(verdicts))


def _verdict(spec: RunSpec, store: RunStore, retrained: RunStore, problem: str | None, failure: str | None,
             cpu_id: str, pool: list[float], index: str, statement: str) -> RunVerdict:
    """One drawn run's verdict (see the module docstring)."""
    published_cpu = _published_cpu(store, spec)
    base = RunVerdict(spec.key, spec.run_id, published_cpu, "none", "", "", index)
    if problem is not None:
        return dataclasses.replace(base, verdict=UNVERIFIED, reason=f"the published run {problem}; retrain it with "
                                                                    f"`rlbench run-suite {spec.suite}`")
    if not retrained.is_finished(spec):
        return dataclasses.replace(base, verdict=NOT_RETRAINED, reason=failure or "the launcher wrote no run")
    difference = compare_runs(store.run_dir(spec), retrained.run_dir(spec))
    if difference is None:
        return dataclasses.replace(base, comparison="bytes", verdict=IDENTICAL,
                                   reason="every run file is byte-identical to its retraining")
    if published_cpu == cpu_id:
        return dataclasses.replace(base, comparison="bytes", verdict=DIFFERS,
                                   reason=f"retrained on the same processor ({cpu_id}), it differs: {difference}")
    published = _final_return(store, spec)
    where = (f"published on {published_cpu}, retrained on {cpu_id}" if published_cpu is not None
             else f"the published run's processor is not recorded; retrained on {cpu_id}")
    distribution = dataclasses.replace(base, comparison="distribution", published_final_return=published,
                                       retrained_final_returns=list(pool))
    if len(pool) < MIN_DISTRIBUTION_RUNS:
        return dataclasses.replace(
            distribution, verdict=INCONCLUSIVE,
            reason=f"{where}: bytes are not expected to agree ({difference}); the {SINGLE_CASE_TEST} needs at least "
                   f"{MIN_DISTRIBUTION_RUNS} retrained runs of {spec.algo} on {spec.env} and the sample has "
                   f"{len(pool)} (draw a larger --sample)")
    verdict = single_run_verdict(np.asarray(pool, dtype=float), published)
    assert verdict.outcome in (CONSISTENT, INCONSISTENT)
    return dataclasses.replace(
        distribution, verdict=verdict.outcome, p_value=float(verdict.p_value),
        reason=f"{where}: bytes are not expected to agree; published final return {published:g} against "
               f"{len(pool)} retrained runs of {spec.algo} on {spec.env} (mean {float(np.mean(pool)):g}): "
               f"{SINGLE_CASE_TEST}, p = {verdict.p_value:.3g} at alpha {SINGLE_CASE_ALPHA:g} ({statement})")


def audit_paths(results: Path, audit: Audit) -> tuple[Path, Path]:
    """Where an audit's record goes: ``<results>/audits/<suite>/<name>.json`` and ``.md``."""
    directory = Path(results) / AUDIT_DIR / audit.suite
    return directory / f"{audit.name}.json", directory / f"{audit.name}.md"


def write_audit(results: Path, audit: Audit) -> tuple[Path, Path]:
    """Write the audit's record (JSON, then its Markdown summary), each atomically; return both paths."""
    record, summary = audit_paths(results, audit)
    write_json_atomic(record, audit.to_json())
    write_text_atomic(summary, audit.to_markdown())
    return record, summary


__all__ = ["AUDIT_DIR", "Audit", "COMPARED_FILES", "DEFAULT_SAMPLE", "DIFFERS", "FAILING_VERDICTS", "IDENTICAL",
           "MIN_DISTRIBUTION_RUNS", "NOT_RETRAINED", "RunVerdict", "UNVERIFIED", "audit_paths", "audit_suite",
           "compare_runs", "draw_line", "draw_sample", "first_difference", "parse_sample", "write_audit"]
