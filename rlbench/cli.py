"""The ``rlbench`` command line: thin over the package modules.

Every user error (a bad name, a malformed ``params.yaml``, a corrupt result file, an unknown
option or a missing argument) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

# typer vendors click; its exception classes are these (the installed click's are never raised here).
from typer._click.exceptions import ClickException, UsageError

from rlbench.errors import RlbenchError

if TYPE_CHECKING:
    from rlbench.config.params import Params
    from rlbench.config.plan import SuitePlan

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Reproducible deep-RL benchmark.")

ParamsOption = Annotated[Path, typer.Option("--params", help="The params.yaml to read.")]
ResultsOption = Annotated[Path, typer.Option("--results", help="Results root (run store).")]
ReportsOption = Annotated[Path, typer.Option("--reports", help="Reports root.")]
SuiteArgument = Annotated[str, typer.Argument(help="A suite of params.yaml (see `rlbench list`).")]


@app.command("list")
def list_choices(params: ParamsOption = Path("params.yaml")) -> None:
    """List algorithms, environments and suites."""
    from rlbench.agents.registry import available
    from rlbench.config.params import load_params
    from rlbench.envs.registry import ENVIRONMENTS

    loaded = load_params(params)
    typer.echo("agents (registry):  " + ", ".join(available()))
    typer.echo("algorithms (params): " + ", ".join(f"{n} [{a.agent}]" for n, a in loaded.algos.items()))
    typer.echo("environments:       " + ", ".join(ENVIRONMENTS))
    for suite in loaded.suites.values():
        budgets = ", ".join(f"{env}={steps}" for env, steps in suite.budget.items())
        published = " (published)" if suite.name in loaded.pipeline.publish else ""
        typer.echo(f"suite {suite.name}{published}: {len(suite.algos)} algos x {len(suite.envs)} envs x "
                   f"{len(suite.seeds)} seeds; {budgets}")


@app.command()
def plan(
    suites: Annotated[Optional[list[str]], typer.Argument(help="Suites to plan (default: pipeline.publish).")] = None,
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
) -> None:
    """Write results/plans/<suite>.json (every run id) when it changed: the pipeline's view of the code.

    The same write as the `plan@<suite>` stages (which `make reproduce` forces before `dvc repro`, so a changed
    plugin installed outside the repository, which DVC cannot see, still retrains its runs): use it to see
    whether a change moves any run id before committing it.
    """
    from rlbench.config.params import load_params
    from rlbench.config.plan import plan_suite
    from rlbench.storage.plans import plan_path, write_plan

    loaded = load_params(params)
    names = suites or loaded.pipeline.publish
    for name in names:  # an unknown suite is refused before any is planned
        loaded.suite(name)
    planned = [plan_suite(loaded, name) for name in names]  # a bad plugin is refused before any plan is written
    for name, suite_plan in zip(names, planned):
        changed = write_plan(suite_plan, results)
        typer.echo(f"plan {name}: {'updated' if changed else 'unchanged'} ({plan_path(results, name)})")


@app.command()
def train(
    algo: Annotated[str, typer.Argument(help="An algorithm of params.yaml (algos:).")],
    env: Annotated[str, typer.Argument(help="An environment name (see `rlbench list`).")],
    seed: Annotated[int, typer.Option(min=0, help="Run seed.")] = 0,
    budget: Annotated[Optional[int], typer.Option(min=1, help="Environment steps (default: the suite's budget).")] = None,
    suite: Annotated[str, typer.Option(help="Suite whose budget/evaluation settings apply.")] = "default",
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
) -> None:
    """Train one run and store it under results/runs/adhoc/<algo>/<env>/seed_<n>."""
    import dataclasses

    from rlbench.config.params import load_params
    from rlbench.config.plan import plan_suite
    from rlbench.envs.registry import get_entry
    from rlbench.errors import unknown_choice
    from rlbench.execution.launcher import run_suite
    from rlbench.storage.run_store import RunStore

    loaded = load_params(params)
    base = loaded.suite(suite)
    if algo not in loaded.algos:
        raise unknown_choice("algorithm", algo, loaded.algos)
    get_entry(env)
    steps = budget if budget is not None else base.budget.get(env, max(base.budget.values()))
    adhoc = dataclasses.replace(base, name="adhoc", algos=(algo,), envs=(env,), seeds=(seed,), budget={env: steps})
    adhoc_params = dataclasses.replace(loaded, suites={**loaded.suites, "adhoc": adhoc})
    planned = plan_suite(adhoc_params, "adhoc")
    report = run_suite(adhoc_params, "adhoc", results, plan=planned, backend="serial", retries=0, progress=False)
    if report.failed:
        raise RlbenchError(f"run failed: {report.failed[0][1]}")
    store, spec = RunStore(results), planned.runs[0]
    frame = store.load_eval([spec])
    final = frame[frame.step == frame.step.max()]["return"].mean()
    typer.echo(f"{spec.key}: final evaluation return {final:.2f} -> {store.run_dir(spec)}")


@app.command("run-suite")
def run_suite(
    suite: SuiteArgument,
    backend: Annotated[Optional[str], typer.Option(help="serial | process | ray (default: pipeline.backend).")] = None,
    workers: Annotated[Optional[int], typer.Option(min=0, help="Parallel workers (0 = cores).")] = None,
    retries: Annotated[Optional[int], typer.Option(min=0, help="Extra attempts per failing run.")] = None,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster address (else RAY_ADDRESS, else local).")] = None,
    gpus_per_run: Annotated[float, typer.Option(min=0.0, help="GPUs per Ray task.")] = 0.0,
    checkpoint_every: Annotated[Optional[int], typer.Option(min=0, help="Env steps between resume checkpoints (0 = off).")] = None,
    allow_failures: Annotated[bool, typer.Option("--allow-failures/--strict", help="Exit 0 despite failed runs (the DVC stage's setting: pipeline.allow_failures).")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
) -> None:
    """Train every unfinished run of a suite (finished runs are reused)."""
    from rlbench.config.params import BACKENDS, load_params
    from rlbench.errors import unknown_choice
    from rlbench.execution.launcher import run_suite as launch_suite

    if backend is not None and backend not in BACKENDS:
        raise unknown_choice("backend", backend, BACKENDS)
    loaded = load_params(params)
    loaded.suite(suite)
    report = launch_suite(
        loaded, suite, results, backend=backend, workers=workers, retries=retries,
        checkpoint_every=checkpoint_every, ray_address=address, gpus_per_run=gpus_per_run, progress=progress,
    )
    typer.echo(f"suite {suite}: " + report.summary())
    if report.failed and not allow_failures:
        raise typer.Exit(1)


def _require_runs(planned: "SuitePlan", results: Path) -> None:
    """Refuse, before any work, a suite (or a selection of its algorithms) with runs neither trained nor failed, or
    with a run changed outside the pipeline (it verifies, but its suite's index records another manifest)."""
    from rlbench.storage.run_store import RunStore

    store = RunStore(results)
    failed = {(f.algo, f.env, f.seed) for f in store.failures(planned.runs)}
    missing = [run.key for run in planned.runs
               if (run.algo, run.env, run.seed) not in failed and not store.run_dir(run).is_dir()]
    if len(missing) == len(planned.runs):
        raise RlbenchError(f"no runs of suite {planned.name} under {store.suite_dir(planned.name)}: run "
                           f"`rlbench run-suite {planned.name}` (or `make reproduce` for a published suite) first")
    if missing:
        raise RlbenchError(f"{len(missing)} of {len(planned.runs)} run(s) of suite {planned.name} not found: "
                           f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} (run `rlbench run-suite "
                           f"{planned.name}` first)")
    store.refuse_changed(planned.runs)


def _analyse(loaded: "Params", planned: "SuitePlan", results: Path, reports: Path, algos: list[str] | None,
             skip_unverified: bool = False) -> Path:
    """Make sure the suite has a normalisation table, report it, and record the freshly made plan.

    The plan is written only after the report succeeded, and a normalisation table measured for a report that
    then failed is removed again: a failing report leaves nothing behind.
    """
    from rlbench.reporting.suite_outputs import compare, publish_suite
    from rlbench.references.measured import write_normalization
    from rlbench.scores.normalization import normalization_path
    from rlbench.storage.plans import write_plan

    # Unknown algorithms and missing runs: one line, before anything is measured or written.
    _require_runs(planned.select(algos) if algos else planned, results)
    normalization = normalization_path(results, planned.name)
    measured = not normalization.is_file()
    if measured:
        write_normalization(planned.suite, results, loaded.pipeline.stats_seed)
    try:
        if algos:
            directory = compare(planned, loaded.pipeline, algos, results, reports, skip_unverified)
        else:
            publish_suite(planned, loaded.pipeline, results, reports, skip_unverified)
            directory = reports / planned.name
    except BaseException:
        if measured:
            normalization.unlink(missing_ok=True)
            try:
                normalization.parent.rmdir()  # results/<suite>/, when the table was all there was in it
            except OSError:
                pass
        raise
    write_plan(planned, results)
    return directory


@app.command()
def report(
    suite: SuiteArgument,
    algos: Annotated[Optional[str], typer.Option(help="Comma-separated algorithms (default: all of the suite).")] = None,
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
    reports: ReportsOption = Path("reports"),
    skip_unverified: Annotated[bool, typer.Option("--skip-unverified", help="Leave out runs that fail verification (listed with the failed runs) instead of stopping.")] = False,
) -> None:
    """Write the tables and report of a suite that has runs, or a comparison report of some of its algorithms."""
    from rlbench.config.params import load_params
    from rlbench.config.plan import plan_suite

    selected = [a.strip() for a in algos.split(",") if a.strip()] if algos else None
    loaded = load_params(params)
    loaded.suite(suite)  # an unknown suite: one line, before anything
    runs = results / "runs" / suite
    if not runs.is_dir() and not (results / "failures" / suite).is_dir():
        # No run trained or failed: say so before planning (importing every agent) or measuring anything.
        raise RlbenchError(f"no runs of suite {suite} under {runs}: run `rlbench run-suite {suite}` "
                           "(or `make reproduce` for a published suite) first")
    directory = _analyse(loaded, plan_suite(loaded, suite), results, reports, selected, skip_unverified)
    typer.echo(f"report: {directory / 'report.md'} and {directory / 'report.html'}")


@app.command()
def leaderboard(
    suite: SuiteArgument,
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
    reports: ReportsOption = Path("reports"),
) -> None:
    """Print a suite's leaderboard (analysing its runs first when the suite has no tables yet).

    Refuses a leaderboard made from another plan than today's code and params.yaml would make.
    """
    from rlbench.config.params import load_params
    from rlbench.config.plan import plan_suite
    from rlbench.reporting.leaderboard import LEADERBOARD_COLUMNS
    from rlbench.storage.files import read_csv_checked
    from rlbench.storage.plans import read_plan

    loaded = load_params(params)
    config = loaded.suite(suite)
    path = results / suite / "leaderboard.csv"
    if not path.is_file() and not (results / "runs" / suite).is_dir():
        raise RlbenchError(f"no runs of suite {suite} under {results / 'runs' / suite}: run `rlbench run-suite {suite}` "
                           "(or `make reproduce` for a published suite) first")
    current = plan_suite(loaded, suite)
    if not path.is_file():
        _analyse(loaded, current, results, reports, None)
    board = read_csv_checked(path, "leaderboard", f"run `rlbench report {suite}`", LEADERBOARD_COLUMNS)
    recorded = read_plan(results, suite)
    if current != recorded:
        now, then = ({r.run_id: r.algo for r in p.runs} for p in (current, recorded))
        changed = {now.get(i) or then[i] for i in set(now) ^ set(then)}
        changed |= {a for a in set(current.algos) | set(recorded.algos) if current.algos.get(a) != recorded.algos.get(a)}
        raise RlbenchError(f"the results of suite {suite} are stale: the runs of {', '.join(sorted(changed)) or 'the suite'} "
                           f"do not match today's code and params.yaml; run `make reproduce` (published suites) or "
                           f"`rlbench run-suite {suite} && rlbench report {suite}`")
    budgets = ", ".join(f"{env} {steps:,} steps" for env, steps in config.budget.items())
    typer.echo(f"Leaderboard of suite {suite}: {budgets}; {len(config.seeds)} seeds")
    shown = board.assign(iqm=[f"{p:.3f} [{lo:.3f}, {hi:.3f}]" for p, lo, hi in
                              zip(board.iqm, board.iqm_lower, board.iqm_upper)])
    columns = ["rank", "label", "runs", "iqm", "median", "optimality_gap", "auc", "seed_std", "poi_vs_best_builtin"]
    # The best built-in algorithm has no probability of improvement over itself.
    typer.echo(shown[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="—"))
    failures = results / suite / "failures.csv"
    if failures.is_file():
        failed = read_csv_checked(failures, "failure table", "")
        for row in failed.itertuples(index=False):
            typer.echo(f"FAILED {row.algo}/{row.env}/seed_{row.seed}: {row.reason}")


@app.command()
def audit(
    suite: SuiteArgument,
    sample: Annotated[Optional[str], typer.Option(help="Runs to draw and retrain: a number, or 'all' (default: "
                                                      "rlbench.audit.DEFAULT_SAMPLE, 3).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the draw (numpy default_rng).")] = 0,
    backend: Annotated[Optional[str], typer.Option(help="serial | process | ray (default: pipeline.backend).")] = None,
    workers: Annotated[Optional[int], typer.Option(min=0, help="Parallel workers (0 = cores).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = False,
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
) -> None:
    """Retrain a random sample of a suite's published runs and compare them with what is published.

    The way to check a published result: verification and the index only show that the files are the ones the
    pipeline wrote. Exit status 1 when a run differs, is inconsistent, fails verification or cannot be retrained.
    """
    from rlbench.audit import DEFAULT_SAMPLE, audit_suite, write_audit
    from rlbench.config.params import BACKENDS, load_params
    from rlbench.config.plan import plan_suite
    from rlbench.errors import unknown_choice
    from rlbench.storage.plans import plan_path, read_plan

    if backend is not None and backend not in BACKENDS:
        raise unknown_choice("backend", backend, BACKENDS)
    loaded = load_params(params)
    loaded.suite(suite)
    planned = plan_suite(loaded, suite)
    if plan_path(results, suite).is_file() and read_plan(results, suite) != planned:
        raise RlbenchError(f"the runs of suite {suite} were planned with other code or params.yaml than today's "
                           f"({plan_path(results, suite)} differs): retraining would not reproduce them; audit at the "
                           "commit that trained them, or run `make reproduce` first")
    result = audit_suite(loaded, planned, results, str(DEFAULT_SAMPLE) if sample is None else sample, seed, backend,
                         workers, progress, on_draw=typer.echo)
    typer.echo(f"this machine's processor: {result.cpu_id}")
    for verdict in result.runs:
        typer.echo(f"{verdict.verdict.upper():<20} {verdict.run}: {verdict.reason}")
    record, summary = write_audit(results, result)
    typer.echo(f"record: {record} and {summary}")
    if result.failed:
        raise typer.Exit(1)


@app.command()
def accept(
    suite: SuiteArgument,
    runs: Annotated[list[str], typer.Argument(help="Runs to accept, named as the refusal names them: "
                                                   "<algo>/<env>/seed_<n>.")],
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
) -> None:
    """Accept by hand runs changed outside the pipeline, so that `dvc repro`, `run-suite` and `report` proceed.

    Each run's provenance records its accepted manifest digest and that it was accepted by hand; the suite's index
    takes the digest. Check the runs with `rlbench audit SUITE --sample all` first; to retrain a run instead,
    delete its directory.
    """
    from rlbench.config.params import load_params
    from rlbench.config.plan import plan_suite
    from rlbench.storage.run_store import RunStore

    loaded = load_params(params)
    loaded.suite(suite)
    duplicated = sorted({run for run in runs if runs.count(run) > 1})
    if duplicated:
        raise RlbenchError(f"run(s) named twice: {', '.join(duplicated)}; name each run once")
    planned = {spec.key: spec for spec in plan_suite(loaded, suite).runs}
    unknown = [run for run in runs if run not in planned]
    if unknown:
        raise RlbenchError(f"unknown run(s) {', '.join(repr(r) for r in unknown)} of suite {suite}; a run is named "
                           f"<algo>/<env>/seed_<n>, e.g. {next(iter(planned))}")
    store = RunStore(results)
    for key, replaced, digest in store.accept([planned[run] for run in runs]):
        typer.echo(f"accepted {key} by hand: manifest sha256 {digest} (the index had {replaced or 'none'}); recorded "
                   f"in {store.provenance_path(planned[key])} and {store.suite_dir(suite) / 'index.json'}")


@app.command("compare")
def compare_command(
    operands: Annotated[list[str], typer.Argument(help="Reference first, then candidates: SUITE:ALGO (stored runs), "
                                                      "ALGO@GITREF (trained at a git revision) or ALGO (working tree).")],
    suite: Annotated[Optional[str], typer.Option(help="Suite whose protocol trains ALGO and ALGO@GITREF operands.")] = None,
    margin: Annotated[float, typer.Option(min=0.0, help="Non-inferiority margin in normalised score (0 = random, 1 = reference).")] = 0.1,
    alpha: Annotated[float, typer.Option(min=0.0, max=0.5, help="One-sided level of the non-inferiority test; with --adaptive, the family-wise error over all pairs and looks.")] = 0.05,
    fail_if_worse: Annotated[bool, typer.Option("--fail-if-worse", help="Exit 1 unless every candidate is shown non-inferior (a CI gate).")] = False,
    allow_confounded: Annotated[bool, typer.Option("--allow-confounded", help="Report a comparison under different protocols instead of refusing it.")] = False,
    repo: Annotated[Path, typer.Option(help="The git repository of ALGO@GITREF operands.")] = Path("."),
    simulations: Annotated[int, typer.Option(min=100, help="Simulated suites per measured error rate.")] = 2000,
    out: Annotated[Optional[Path], typer.Option(help="Report directory (default: reports/compare/<A>_vs_<B>).")] = None,
    params: Annotated[Optional[Path], typer.Option("--params", help="The params.yaml to read (default: params.yaml; given, it also trains every ALGO@GITREF operand, else each revision uses its own).")] = None,
    adaptive: Annotated[bool, typer.Option("--adaptive", help="Decide with as many seeds as needed: seed groups of "
                                           "--group-size until AdaStop decides (algorithms of one suite).")] = False,
    group_size: Annotated[int, typer.Option("--group-size", help="--adaptive: n, seeds per algorithm added before "
                                            "each look.")] = 5,
    max_groups: Annotated[Optional[int], typer.Option("--max-groups", help="--adaptive: K, the most looks (default: "
                                                      "the suite's seeds // n).")] = None,
    permutations: Annotated[int, typer.Option(help="--adaptive: random permutations per look.")] = 10_000,
    seed: Annotated[int, typer.Option(help="--adaptive: seed of the permutations (numpy SeedSequence).")] = 0,
    train: Annotated[bool, typer.Option("--train/--no-train", help="--adaptive: train missing seed groups (else stop "
                                                                  "as undecided, naming the runs needed).")] = True,
    backend: Annotated[Optional[str], typer.Option(help="--adaptive: serial | process | ray (default: "
                                                        "pipeline.backend).")] = None,
    workers: Annotated[Optional[int], typer.Option(min=0, help="--adaptive: parallel workers (0 = cores).")] = None,
    results: ResultsOption = Path("results"),
    reports: ReportsOption = Path("reports"),
) -> None:
    """Compare algorithms, revisions or parameter sets: a report, and with --fail-if-worse an exit status to gate on.

    Exit status 0: every candidate passes (non-inferior to the first operand within --margin); 1: a candidate fails
    the gate (only with --fail-if-worse); 2: bad input. With --adaptive (algorithms of one suite): seeds are taken in
    groups of n in the suite's seed order, finished runs reused and missing ones trained only when the decision needs
    them, until AdaStop (Mathieu et al. 2023, the adastop package) decides with the family-wise error --alpha
    controlled over every interim look; exit status 1 when undecided.
    """
    if len(operands) < 2:
        raise RlbenchError("compare needs at least two operands: the reference, then one or more candidates")
    if adaptive:
        adaptive_suite, algos = _adaptive_operands(operands, suite)
        _compare_adaptive(adaptive_suite, algos, group_size, max_groups, alpha, permutations, seed, train, backend,
                          workers, params if params is not None else Path("params.yaml"), results)
        return
    from rlbench.compare import Context, check, compare_operands, report_dir, resolve, verdict_line, write_report
    from rlbench.config.params import load_params

    if margin <= 0:
        raise RlbenchError(f"--margin must be positive, got {margin}")
    if not 0 < alpha < 0.5:
        raise RlbenchError(f"--alpha must be in (0, 0.5), got {alpha}")
    twice = sorted({spec for spec in operands if operands.count(spec) > 1})
    if twice:
        raise RlbenchError(f"operand(s) named twice: {', '.join(twice)}; name each operand once")
    path = params if params is not None else Path("params.yaml")
    stats_seed = load_params(path).pipeline.stats_seed  # --seed is --adaptive's; the comparison's is the pipeline's
    context = Context(params=path, params_given=params is not None, suite=suite, results=results, repo=repo,
                      on_progress=lambda message: typer.echo(message, err=True))
    for spec in operands:  # every name checked before any operand is loaded or trained
        check(spec, context)
    resolved = [resolve(spec, context) for spec in operands]
    pairs, table, normalized = compare_operands(resolved, context, margin, alpha, simulations, stats_seed,
                                                allow_confounded)
    directory = out if out is not None else report_dir(reports, operands)
    written = write_report(resolved, pairs, table, normalized, margin, alpha, fail_if_worse, directory, results)
    for pair in pairs:
        typer.echo(verdict_line(pair, resolved[0].name, fail_if_worse))
    typer.echo(f"report: {written} and {written.with_suffix('.html')}")
    if fail_if_worse and not all(pair.test.passed for pair in pairs):
        raise typer.Exit(1)


def _adaptive_operands(operands: list[str], suite: str | None) -> tuple[str, list[str]]:
    """``--adaptive`` compares algorithms of one suite: ``SUITE:ALGO`` operands, or ``ALGO`` with ``--suite``."""
    suites, algos = set(), []
    for spec in operands:
        named, colon, algo = spec.partition(":")
        if "@" in spec or (colon and not algo):
            raise RlbenchError(f"--adaptive compares algorithms of one suite (SUITE:ALGO, or ALGO with --suite); "
                               f"got {spec!r}")
        suites.add(named if colon else suite)
        algos.append(algo if colon else spec)
    if None in suites or len(suites) != 1:
        raise RlbenchError(f"--adaptive compares algorithms of one suite; name it (SUITE:ALGO or --suite), got "
                           f"{', '.join(sorted(str(s) for s in suites))}")
    return suites.pop(), algos


def _compare_adaptive(suite: str, algos: list[str], group_size: int, max_groups: int | None, alpha: float,
                      permutations: int, seed: int, train: bool, backend: str | None, workers: int | None,
                      params: Path, results: Path) -> None:
    """``compare --adaptive``: seed groups until AdaStop decides (see :mod:`rlbench.adaptive`)."""
    from rlbench.adaptive import adaptive_compare, check_algorithms
    from rlbench.config.params import BACKENDS, load_params
    from rlbench.config.plan import plan_suite
    from rlbench.errors import unknown_choice
    from rlbench.stats.adaptive import AdaptiveConfig

    if backend is not None and backend not in BACKENDS:
        raise unknown_choice("backend", backend, BACKENDS)
    loaded = load_params(params)
    check_algorithms(algos, loaded.suite(suite).algos, suite)  # before planning, which loads every agent
    seeds = len(loaded.suite(suite).seeds)
    groups = max(1, seeds // group_size) if max_groups is None else max_groups
    config = AdaptiveConfig(group_size=group_size, max_groups=groups, alpha=alpha, permutations=permutations,
                            seed=seed)
    run = adaptive_compare(loaded, plan_suite(loaded, suite), algos, config, results, train, backend, workers,
                           on_look=typer.echo)
    decision = run.decision
    typer.echo(f"suite {suite}: {run.status} after {decision.looks} look(s) of {group_size} seeds (at most "
               f"{config.max_groups}), family-wise alpha {alpha}")
    for (first, second), verdict in decision.decisions.items():
        typer.echo(f"  {first} {verdict} {second}" if verdict != "undecided" else f"  {first} vs {second}: undecided")
    typer.echo("  seeds used: " + ", ".join(f"{a} {n}" for a, n in decision.seeds_used.items()))
    if run.trained:
        typer.echo(f"  trained {len(run.trained)} run(s)")
    if run.missing:
        typer.echo(f"  more seeds needed: {len(run.missing)} run(s) to train, e.g. {run.missing[0]} "
                   "(rerun without --no-train)")
    if run.status != "decided":
        raise typer.Exit(1)


@app.command("import-scores")
def import_scores(
    sources: Annotated[list[Path], typer.Argument(help="Score files ({game: [score per run]} JSON) or a directory.")],
    human: Annotated[Path, typer.Option(help="Reference scores, {game: [score]} JSON (e.g. HUMAN.json).")],
    random: Annotated[Path, typer.Option(help="Random-policy scores, {game: [score]} JSON.")],
    out: Annotated[Path, typer.Option(help="Directory for the tables and plots.")] = Path("results/external"),
    seed: Annotated[int, typer.Option(min=0, help="Bootstrap seed.")] = 0,
    reps: Annotated[int, typer.Option(min=1, help="Bootstrap resamples.")] = 2000,
) -> None:
    """Aggregate table (median, IQM, mean, optimality gap with CIs) of score files from other tools."""
    import numpy as np

    from rlbench.reporting.external import publish_external
    from rlbench.scores.external import load_external_scores

    paths = sources[0] if len(sources) == 1 and sources[0].is_dir() else sources
    scores = load_external_scores(paths, human, random)
    table = publish_external(scores, out, out, seed, reps, np.linspace(0.0, 8.0, 81), "Imported scores")
    typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(f"tables and plots: {out}")


@app.command("import")
def import_runs_command(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="sb3 (monitor.csv or evaluations.npz), tensorboard "
                                                             "(event file or log directory), or csv.")],
    sources: Annotated[list[Path], typer.Argument(help="Source files, one run (seed) each (csv: or a seed column).")],
    name: Annotated[str, typer.Option(help="The run set to write: results/imported/<name>/<env>/seed_<n>/.")],
    env: Annotated[str, typer.Option(help="Environment id with its version, e.g. CartPole-v1.")],
    seeds: Annotated[Optional[str], typer.Option(help="Comma-separated seeds of the sources, in order "
                                                      "(default 0, 1, ...).")] = None,
    returns: Annotated[Optional[str], typer.Option(help="evaluation (greedy evaluation episodes) or training "
                                                        "(training episodes under exploration); sb3 and known "
                                                        "tensorboard tags know it; csv and other tags need "
                                                        "it.")] = None,
    tag: Annotated[Optional[str], typer.Option(help="tensorboard: the scalar tag of the return (default: "
                                                    "charts/episodic_return, rollout/ep_rew_mean or eval/mean_reward, "
                                                    "whichever the file holds).")] = None,
    step_axis: Annotated[str, typer.Option(help="What the steps count: env_steps or frames.")] = "env_steps",
    budget: Annotated[Optional[int], typer.Option(help="Training length on the step axis (default: the last step "
                                                       "logged).")] = None,
    tool: Annotated[Optional[str], typer.Option(help="The tool and version that trained the runs, e.g. "
                                                     "'stable-baselines3 2.9.2' (recorded in provenance).")] = None,
    replace: Annotated[bool, typer.Option(help="Replace the set's runs on this environment.")] = False,
    results: ResultsOption = Path("results"),
) -> None:
    """Import runs trained by another tool as a verified run set (all or nothing), with their protocol.

    sb3: Stable-Baselines3 Monitor files (training returns) or EvalCallback evaluations.npz (evaluation returns).

    tensorboard: one scalar tag per file (CleanRL charts/episodic_return, SB3 rollout/ep_rew_mean, or --tag).

    csv: a header row naming its columns, in any order: step, return (required); seed, episode, length (optional).

    seed: without it, each file is one run; episode (optional, evaluation only): the index within its evaluation.

    length (optional): the episode's length in steps, empty where unknown. No other column.
    """
    from rlbench.errors import unknown_choice
    from rlbench.importers.runs import import_runs
    from rlbench.importers.sources import (
        FORMATS,
        RETURN_KINDS,
        read_csv_source,
        read_sb3,
        read_tensorboard,
    )

    if fmt not in FORMATS:
        raise unknown_choice("import format", fmt, FORMATS)
    if returns is not None and returns not in RETURN_KINDS:
        raise unknown_choice("return kind", returns, RETURN_KINDS)
    if tag is not None and fmt != "tensorboard":
        raise RlbenchError("--tag is for tensorboard sources only")
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        raise RlbenchError(f"source not found: {', '.join(missing)}")
    seed_list = None
    if seeds is not None:
        try:
            seed_list = [int(s) for s in seeds.split(",")]
        except ValueError:
            raise RlbenchError(f"--seeds {seeds!r}: allowed comma-separated integers >= 0") from None
        if any(s < 0 for s in seed_list) or len(seed_list) != len(sources):
            raise RlbenchError(f"--seeds gives {len(seed_list)} seed(s) >= 0 for {len(sources)} source(s); "
                               "allowed: one integer >= 0 per source")
    numbered = seed_list if seed_list is not None else list(range(len(sources)))
    if fmt == "sb3":
        runs = [read_sb3(path, seed) for path, seed in zip(sources, numbered)]
        if returns is not None and any(run.returns != returns for run in runs):
            raise RlbenchError(f"--returns {returns}: monitor files hold training returns, evaluations.npz "
                               "evaluation returns")
    elif fmt == "tensorboard":
        runs = [read_tensorboard(path, seed, tag, returns) for path, seed in zip(sources, numbered)]
    else:
        if returns is None:
            raise RlbenchError("csv sources need --returns (evaluation or training)")
        runs = []
        for path, seed in zip(sources, numbered):
            runs.extend(read_csv_source(path, None if seed_list is None and _has_seed_column(path) else [seed],
                                        returns))
    default_tool = {"sb3": "stable-baselines3 (version not given)",
                    "tensorboard": "TensorBoard scalars (tool not given)", "csv": "plain CSV (tool not given)"}[fmt]
    written = import_runs(results, name, runs, env, step_axis, budget, tool or default_tool, fmt, replace)
    typer.echo(f"imported {len(runs)} run(s) of {env} into {written}")


def _has_seed_column(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return "seed" in handle.readline().strip().split(",")
    except (OSError, UnicodeDecodeError):
        return False


@app.command("imported-leaderboard")
def imported_leaderboard_command(
    names: Annotated[list[str], typer.Argument(help="Imported run sets (results/imported/<name>).")],
    allow_mismatch: Annotated[bool, typer.Option(help="Show sets measured under different protocols, marked as "
                                                      "confounded, instead of refusing.")] = False,
    suite: Annotated[Optional[str], typer.Option(help="Also rank this suite's algorithms (its finished runs).")] = None,
    params: ParamsOption = Path("params.yaml"),
    seed: Annotated[int, typer.Option(min=0, help="Bootstrap seed.")] = 0,
    reps: Annotated[int, typer.Option(min=1, help="Bootstrap resamples.")] = 2000,
    results: ResultsOption = Path("results"),
) -> None:
    """Rank imported run sets (IQM and mean of final scores, 95% CIs), each with its protocol, optionally beside a
    suite's algorithms; sets measured under different protocols (return kind, environment version, step axis,
    budget, statistic) are refused."""
    from rlbench.importers.runs import imported_leaderboard, load_imported, suite_sets

    sets = [load_imported(n, results) for n in names]
    if suite is not None:
        from rlbench.config.params import load_params
        from rlbench.config.plan import plan_suite

        suite_runs = suite_sets(plan_suite(load_params(params), suite), results)
        sets = [*suite_runs, *sets]
        clash = sorted({s.name for s in suite_runs} & set(names))
        if clash:
            raise RlbenchError(f"imported set(s) {', '.join(clash)} share a name with an algorithm of suite {suite}")
    board = imported_leaderboard(sets, seed, reps, allow_mismatch)
    typer.echo(f"scores: {board.attrs['scale']}")
    typer.echo(board.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _usage_line(error: UsageError) -> str:
    command = error.ctx.command_path if error.ctx is not None else "rlbench"
    return f"error: {error.format_message()} (see `{command} --help`)"


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 2."""
    try:
        status = app(standalone_mode=False)  # click returns the code of a typer.Exit here
    except RlbenchError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)
    except UsageError as error:  # unknown option, missing argument, bad value
        typer.echo(_usage_line(error), err=True)
        sys.exit(2)
    except ClickException as error:
        typer.echo(f"error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
