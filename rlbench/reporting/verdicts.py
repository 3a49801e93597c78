"""Every published number's reproduction verdict in one table, across the published suites.

Each suite's analysis tests the published cells its runs speak to (:func:`rlbench.reporting.published.published_vs_ours`,
written to ``results/published_vs_ours/<suite>.csv``). A cell can be tested by several suites (SB3 DQN on CartPole at
50k steps is in ``default`` with 5 seeds and in ``classic`` with 10, the same first five runs), or by none yet. This
table keeps one row per published cell and algorithm of ours:

* tested: the verdict of the suite with the most seeds at the published budget (the other suites that test it are
  named in ``also_tested_in``);
* not tested yet: the suites of ``params.yaml`` that would test it at its budget, and whether they are published;
  or that no suite trains it at the published budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from rlbench.config.params import Params, SuiteConfig
from rlbench.reporting.published import (DIFFERENT_BUDGET, ENV_SUCCESSORS, PUBLISHED_MATCH, VERDICT_RULE,
                                         published_label, published_results, published_statistic,
                                         published_steps)
from rlbench.reporting.tables import markdown_table

VERDICTS_DIR = "published_vs_ours"
"""The directory under ``results/`` holding every suite's published-vs-ours table, ``<suite>.csv``: one directory,
so the cross-suite stage depends on it whatever suites are published."""

COLUMNS = ["published", "env", "published_steps", "published_statistic", "ours", "suite", "our_seeds",
           "our_statistic", "compared", "difference", "difference_lower", "difference_upper", "margin", "p_value",
           "verdict", "test", "false_verdict_rate", "note", "also_tested_in", "differs_in"]
"""Columns of the cross-suite verdict table."""

NO_SUITE = "not tested: no suite trains it at the published budget"
"""The verdict of a published cell that no suite of ``params.yaml`` trains at its budget."""

TOO_FEW_RUNS = "not tested: fewer than 2 finished runs"
"""The verdict of a published cell whose published suites lack the two finished runs a test needs."""


def pending(suites: Sequence[str]) -> str:
    """The verdict of a published cell whose suites are defined but not published (not trained) yet."""
    return f"pending: suite {', '.join(suites)} not published yet"


def suites_testing(suites: Mapping[str, SuiteConfig], algo: str, env: str, steps: int | None) -> list[str]:
    """Suites of ``params.yaml`` that train ``algo`` on ``env`` for exactly ``steps`` steps (sorted)."""
    if steps is None:
        return []
    return sorted(name for name, suite in suites.items()
                  if algo in suite.algos and env in suite.envs and suite.budget.get(env) == steps)


def _published_cells(published: pd.DataFrame) -> list[tuple[object, str, str]]:
    """(published record, its label as the suite tables write it, one of our algorithms) for every matched cell."""
    cells = []
    for record in published.itertuples(index=False):
        for algo in PUBLISHED_MATCH.get(record.algorithm, ()):
            cells.append((record, published_label(record), algo))
    return cells


def verdict_table(published: pd.DataFrame, suite_tables: Mapping[str, pd.DataFrame],
                  suites: Mapping[str, SuiteConfig]) -> pd.DataFrame:
    """One row per published cell and matching algorithm of ours (in the published table's order).

    ``suite_tables`` maps each published suite to its published-vs-ours table (with an ``our_seeds`` column);
    ``suites`` are all suites of ``params.yaml``, to name those that would test a cell not tested yet.
    """
    frames = [table.assign(suite=name) for name, table in sorted(suite_tables.items()) if not table.empty]
    tested = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    tested = tested[tested["verdict"] != DIFFERENT_BUDGET]
    rows = []
    for record, label, algo in _published_cells(published):
        env = ENV_SUCCESSORS.get(record.env_id, record.env_id)
        steps = published_steps(record)
        matches = tested[(tested["published"] == label) & (tested["env"] == env) & (tested["ours"] == algo)]
        if not matches.empty:
            order = matches.assign(_seeds=-matches["our_seeds"].astype(int)).sort_values(["_seeds", "suite"])
            best = order.iloc[0]
            row = {column: best.get(column) for column in COLUMNS}
            row["also_tested_in"] = ", ".join(order["suite"].iloc[1:]) or None
            rows.append(row)
            continue
        defined = suites_testing(suites, algo, env, steps)
        unpublished = [name for name in defined if name not in suite_tables]
        rows.append({"published": label, "env": env, "published_steps": record.timesteps,
                     "published_statistic": published_statistic(record),
                     "ours": algo, "suite": ", ".join(defined) or None,
                     "verdict": pending(unpublished) if unpublished else TOO_FEW_RUNS if defined else NO_SUITE})
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.astype({"our_seeds": "Int64"})


def verdict_counts(table: pd.DataFrame) -> pd.DataFrame:
    """How many published cells got each verdict (``pending: ...`` verdicts counted together)."""
    kinds = table["verdict"].map(lambda verdict: "pending" if str(verdict).startswith("pending") else verdict)
    counts = kinds.value_counts()
    return pd.DataFrame({"verdict": counts.index, "cells": counts.to_numpy()}).sort_values(
        ["cells", "verdict"], ascending=[False, True], ignore_index=True)


def verdicts_markdown(table: pd.DataFrame, publish: Sequence[str]) -> str:
    """The verdict table as a Markdown page: the rule, the counts, then every published cell."""
    return "\n".join([
        "# Reproduction verdicts: every published number rlbench compares with\n",
        f"Published suites read: {', '.join(f'`{name}`' for name in publish)}. Published numbers and their sources: "
        "`rlbench/data/published_results.csv`, `rlbench/data/PUBLISHED_SOURCES.md`. Each row is one published cell "
        "and the algorithm of ours that it speaks about; where several suites test it, the one with the most seeds "
        "gives the verdict and the others are listed in `also_tested_in` (often with the same runs: a bigger suite's "
        "first seeds are a smaller suite's runs when their settings agree). A cell no published suite tests at its budget is `pending` (the "
        "suite that will test it is defined but not yet trained) or not tested.\n",
        VERDICT_RULE + "\n",
        "## Counts\n",
        markdown_table(verdict_counts(table)),
        "## Every published cell\n",
        markdown_table(table),
    ])


def cross_suite_verdicts(params: Params, results: Path | str = "results") -> pd.DataFrame:
    """The verdict table of the suites ``params`` publishes, from their ``results/published_vs_ours/<suite>.csv``."""
    tables = {suite: pd.read_csv(Path(results) / VERDICTS_DIR / f"{suite}.csv") for suite in params.pipeline.publish}
    return verdict_table(published_results(), tables, params.suites)


__all__ = ["COLUMNS", "NO_SUITE", "TOO_FEW_RUNS", "VERDICTS_DIR", "cross_suite_verdicts", "pending", "suites_testing", "verdict_counts",
           "verdict_table", "verdicts_markdown"]
