"""The ``rlbench`` command line: thin over the package modules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from rlbench.errors import RlbenchError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Reproducible deep-RL benchmark.")

ParamsOption = Annotated[Path, typer.Option("--params", help="The params.yaml to read.")]
ResultsOption = Annotated[Path, typer.Option("--results", help="Results root (run store).")]


@app.command("list")
def list_choices(params: ParamsOption = Path("params.yaml")) -> None:
    """List algorithms, environments and suites."""
    from rlbench.agents.registry import available
    from rlbench.config import load_params
    from rlbench.envs import ENVIRONMENTS

    loaded = load_params(params)
    typer.echo("agents (registry):  " + ", ".join(available()))
    typer.echo("algorithms (params): " + ", ".join(f"{n} [{a.agent}]" for n, a in loaded.algos.items()))
    typer.echo("environments:       " + ", ".join(ENVIRONMENTS))
    for suite in loaded.suites.values():
        budgets = ", ".join(f"{env}={steps}" for env, steps in suite.budget.items())
        typer.echo(f"suite {suite.name}: {len(suite.algos)} algos x {len(suite.envs)} envs x {len(suite.seeds)} seeds; {budgets}")


@app.command()
def train(
    algo: Annotated[str, typer.Argument(help="An algorithm of params.yaml (algos:).")],
    env: Annotated[str, typer.Argument(help="An environment name (see `rlbench list`).")],
    seed: int = 0,
    budget: Annotated[Optional[int], typer.Option(help="Environment steps (default: the suite's budget).")] = None,
    suite: Annotated[str, typer.Option(help="Suite whose budget/evaluation settings apply.")] = "default",
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
) -> None:
    """Train one run and store it under results/runs/adhoc/<algo>/<env>/seed_<n>."""
    import dataclasses

    from rlbench.config import load_params, plan_runs
    from rlbench.envs import get_entry
    from rlbench.errors import unknown_choice
    from rlbench.launch import launch
    from rlbench.store import RunStore

    loaded = load_params(params)
    base = loaded.suite(suite)
    if algo not in loaded.algos:
        raise unknown_choice("algorithm", algo, loaded.algos)
    get_entry(env)
    if seed < 0 or (budget is not None and budget <= 0):
        raise RlbenchError(f"--seed must be >= 0 and --budget > 0, got seed {seed}, budget {budget}")
    steps = budget if budget is not None else base.budget.get(env, max(base.budget.values()))
    adhoc = dataclasses.replace(base, name="adhoc", algos=(algo,), envs=(env,), seeds=(seed,), budget={env: steps})
    specs = plan_runs(dataclasses.replace(loaded, suites={**loaded.suites, "adhoc": adhoc}), "adhoc")
    store = RunStore(results)
    report = launch(specs, store, backend="serial", retries=0, progress=False)
    spec = specs[0]
    if report.failed:
        raise RlbenchError(f"run failed: {report.failed[0][1]}")
    frame = store.load_eval([spec])
    final = frame[frame.step == frame.step.max()]["return"].mean()
    typer.echo(f"{spec.key}: final evaluation return {final:.2f} -> {store.run_dir(spec)}")


@app.command("run-suite")
def run_suite(
    suite: Annotated[Optional[str], typer.Argument(help="Suite name (default: pipeline.suite).")] = None,
    backend: Annotated[Optional[str], typer.Option(help="serial | process | ray (default: pipeline.backend).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Parallel workers (0 = cores).")] = None,
    retries: Annotated[Optional[int], typer.Option(help="Extra attempts per failing run.")] = None,
    address: Annotated[Optional[str], typer.Option(help="Ray cluster address (else RAY_ADDRESS, else local).")] = None,
    gpus_per_run: Annotated[float, typer.Option(help="GPUs per Ray task.")] = 0.0,
    checkpoint_every: Annotated[Optional[int], typer.Option(help="Env steps between checkpoints (0 = off).")] = None,
    allow_failures: Annotated[bool, typer.Option("--allow-failures/--strict", help="Exit 0 despite failed runs (the DVC stage's setting: pipeline.allow_failures).")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
) -> None:
    """Train every unfinished run of a suite (finished runs are reused)."""
    from rlbench.config import load_params
    from rlbench.launch import run_suite as launch_suite

    loaded = load_params(params)
    name = suite or loaded.pipeline.suite
    report = launch_suite(
        loaded, name, results, backend=backend, workers=workers, retries=retries,
        checkpoint_every=checkpoint_every, ray_address=address, gpus_per_run=gpus_per_run, progress=progress,
    )
    typer.echo(f"suite {name}: " + report.summary())
    if report.failed and not allow_failures:
        raise typer.Exit(1)


@app.command()
def report(
    suite: Annotated[str, typer.Argument(help="Suite whose runs to compare.")],
    algos: Annotated[Optional[str], typer.Option(help="Comma-separated algorithms (default: all of the suite).")] = None,
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
    reports: Annotated[Path, typer.Option(help="Reports root.")] = Path("reports"),
) -> None:
    """Write a comparison report (Markdown + self-contained HTML) of a suite's algorithms."""
    from rlbench.config import load_params
    from rlbench.publish import compare, publish_suite

    loaded = load_params(params)
    if algos:
        directory = compare(loaded, suite, [a.strip() for a in algos.split(",") if a.strip()], results, reports)
    else:
        publish_suite(loaded, suite, results, reports)
        directory = reports / suite
    typer.echo(f"report: {directory / 'report.md'} and {directory / 'report.html'}")


@app.command()
def leaderboard(
    suite: Annotated[str, typer.Argument(help="Suite whose leaderboard to print.")],
    params: ParamsOption = Path("params.yaml"),
    results: ResultsOption = Path("results"),
) -> None:
    """Print a suite's leaderboard (from results/<suite>/leaderboard.csv, built by `dvc repro`)."""
    from rlbench.analysis import LEADERBOARD_COLUMNS
    from rlbench.config import load_params
    from rlbench.io_utils import read_csv_checked

    config = load_params(params).suite(suite)
    path = results / suite / "leaderboard.csv"
    board = read_csv_checked(path, "leaderboard", f"run `dvc repro` (pipeline.suite: {suite}) or `rlbench report {suite}`",
                             LEADERBOARD_COLUMNS)
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


@app.command("import-scores")
def import_scores(
    sources: Annotated[list[Path], typer.Argument(help="Score files ({game: [score per run]} JSON) or a directory.")],
    human: Annotated[Path, typer.Option(help="Reference scores, {game: [score]} JSON (e.g. HUMAN.json).")],
    random: Annotated[Path, typer.Option(help="Random-policy scores, {game: [score]} JSON.")],
    out: Annotated[Path, typer.Option(help="Directory for the tables and plots.")] = Path("results/external"),
    seed: int = 0,
    reps: int = 2000,
) -> None:
    """Aggregate table (median, IQM, mean, optimality gap with CIs) of score files from other tools."""
    import numpy as np

    from rlbench.external import publish_external
    from rlbench.scores import load_external_scores

    paths = sources[0] if len(sources) == 1 and sources[0].is_dir() else sources
    scores = load_external_scores(paths, human, random)
    table = publish_external(scores, out, out, seed, reps, np.linspace(0.0, 8.0, 81), "Imported scores")
    typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(f"tables and plots: {out}")


def main() -> None:
    """Entry point: RlbenchError becomes one line on stderr and exit status 2."""
    try:
        status = app(standalone_mode=False)  # click returns the code of a typer.Exit here
    except RlbenchError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as error:  # click usage errors
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
