"""The documentation site's generated pages (``docs/results/``): written from the published tables and figures.

Each fact lives once: a number of a leaderboard, a verdict or an error rate is written by the pipeline into
``results/`` and ``reports/``, and the site's results pages are copies of those files (tables included verbatim,
figures copied next to the page, since MkDocs serves only what is under ``docs/``), never numbers restated by hand.
The suites table (``docs/results/suites.md``) is generated from ``params.yaml`` for the same reason. DVC stages
``site-suite@<suite>`` (:func:`write_suite_site`) and ``site`` (:func:`write_index_site`), both ``pipelines/site.py``,
write them; ``mkdocs build --strict`` then renders the site.
"""

from __future__ import annotations

import ast
import inspect
import re
import shutil
from pathlib import Path

import pandas as pd

from rlbench.config.params import AlgoConfig, Params, PipelineConfig, SuiteConfig
from rlbench.reporting.report import MAIN_FIGURE, decision_statement, figure_caption
from rlbench.stats.calibration import CalibrationSettings
from rlbench.storage.files import write_text_atomic

SUITE_TABLES = (
    ("leaderboard", "Leaderboard"),
    ("per_env", "Per-environment results"),
    ("implementation_equivalence", "Implementation equivalence"),
)
"""The tables of ``results/<suite>/`` each suite's page shows (file stem, heading), in this order; the rest are
linked by name (the report has them all)."""

OUTPUT = "results"
"""The folder under the docs directory whose pages are generated (:func:`write_site` rewrites all of it)."""


def _demote(markdown: str, title: str) -> str:
    """A generated table file as a section of a page: its own ``#`` title dropped, headings one level lower."""
    lines = markdown.strip("\n").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(("#" + line) if re.match(r"#{1,5} ", line) else line for line in lines).strip("\n") + "\n"


def _figures(figure_dir: Path, page_dir: Path, suite: str) -> list[str]:
    """Copy a suite's PNG figures next to its page; the Markdown showing them (main figure first, with captions)."""
    names = sorted(path.stem for path in figure_dir.glob("*.png")) if figure_dir.is_dir() else []
    names.sort(key=lambda name: name != MAIN_FIGURE)  # stable: the main figure first, the rest by name
    out = []
    for name in names:
        (page_dir / suite).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(figure_dir / f"{name}.png", page_dir / suite / f"{name}.png")
        caption = figure_caption(name)
        out.append(f"### {name.replace('_', ' ')}\n\n![{name}]({suite}/{name}.png)\n" + (f"\n{caption}\n" if caption else ""))
    return out


def field_docs(cls: type) -> list[tuple[str, str]]:
    """``(field, docstring)`` of a dataclass whose fields are documented by the string under each (PEP 257's
    attribute docstrings), in declaration order: the documentation of ``params.yaml``'s keys, read from the code
    that validates them."""
    body = ast.parse(inspect.getsource(cls)).body[0].body
    out = []
    for node, after in zip(body, body[1:] + [None]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            doc = (after.value.value if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                   and isinstance(after.value.value, str) else "")
            out.append((node.target.id, " ".join(doc.split()).replace("``", "`")))
    return out


PARAMS_SECTIONS = (
    ("pipeline", PipelineConfig, "How `dvc repro` runs.", ()),
    ("suites.<suite>", SuiteConfig, "One suite. `budget` is one number for every environment or a map from "
     "environment to steps.", ("name",)),
    ("algos.<algo>", AlgoConfig, "One leaderboard entry.", ("name",)),
    ("calibration", CalibrationSettings, "The `calibration` stage's simulations (measured error rates).", ()),
)
"""The sections of ``params.yaml``: key, the class that validates it, a line, fields that are not keys."""


def params_markdown() -> str:
    """The reference of ``params.yaml``'s keys, generated from the documented fields of the classes that read it."""
    out = ["# `params.yaml`\n",
           "Generated from the classes that validate `params.yaml` (`rlbench/config/params.py`, "
           "`rlbench/stats/calibration.py`): each key with its documentation. The values are in `params.yaml` "
           "itself; an unknown key is refused in one line naming the allowed ones. Which suite runs what: "
           "[suites](suites.md).\n"]
    for key, cls, line, skip in PARAMS_SECTIONS:
        out.append(f"## `{key}`\n\n{line}\n\n| key | meaning |\n|---|---|")
        out.extend("| `" + name + "` | " + doc.replace("|", "\\|") + " |" for name, doc in field_docs(cls) if name not in skip)
        out.append("")
    return "\n".join(out)


def suites_markdown(params: Params) -> str:
    """Every suite of ``params.yaml`` as one table: published or not, algorithms, environments, seeds, budgets."""
    rows = ["| suite | published | algorithms | environments | seeds | budget (steps) | evaluation |",
            "|---|---|---|---|---|---|---|"]
    for name, suite in params.suites.items():
        budget = ", ".join(f"{env} {steps:,}" for env, steps in suite.budget.items())
        seeds = f"{len(suite.seeds)}" + (f" ({suite.batch_seeds} trained together)" if suite.batch_seeds > 1 else "")
        rows.append(f"| `{name}` | {'yes' if name in params.pipeline.publish else 'no'} | "
                    f"{', '.join(f'`{a}`' for a in suite.algos)} | {', '.join(suite.envs)} | {seeds} | {budget} | "
                    f"every {suite.eval_every:,} steps, {suite.eval_episodes} episodes |")
    return ("# Suites\n\nGenerated from `params.yaml` (`suites`, `pipeline.publish`) by the pipeline's `site` stage: "
            "edit `params.yaml`, not this page. `make reproduce` reproduces the published suites; any other is "
            "trained on demand (`rlbench run-suite <suite>`). Each algorithm's settings: `algos` in `params.yaml` "
            "([reference](params.md)).\n\n" + "\n".join(rows) + "\n")


def suite_page(suite: str, root: Path, page_dir: Path) -> str:
    """One published suite's page, led like its report by the decision and the main figure: its tables from
    ``results/<suite>/`` and its figures from ``reports/<suite>/``."""
    tables = root / "results" / suite
    out = [f"# Suite `{suite}`\n",
           f"Generated from `results/{suite}/` and `reports/{suite}/` by the pipeline's `site` stage. The full report "
           f"(every table, the hyperparameters, provenance): `reports/{suite}/report.html` in the repository. "
           f"All tables as CSV: `results/{suite}/`.\n"]
    figures = _figures(root / "reports" / suite, page_dir, suite)
    board = tables / "leaderboard.csv"
    if board.is_file():
        out.append(f"## Decision\n\n**{decision_statement(pd.read_csv(board, keep_default_na=False))}**\n")
    if figures and f"![{MAIN_FIGURE}]" in figures[0]:
        out.append(figures.pop(0).replace("### ", "### Main figure: ", 1))
    for stem, heading in SUITE_TABLES:
        path = tables / f"{stem}.md"
        if path.is_file():
            out.append(f"## {heading}\n\n" + _demote(path.read_text(), heading))
    verdicts = root / "results" / "published_vs_ours" / f"{suite}.md"
    if verdicts.is_file():
        out.append("## Published vs ours\n\n" + _demote(verdicts.read_text(), "Published vs ours"))
    if figures:
        out.append("## Figures\n")
        out.extend(figures)
    return "\n".join(out)


def _reset(path: Path) -> None:
    """An empty folder of figures for one page (what an earlier run copied there is gone)."""
    if path.exists():
        shutil.rmtree(path)


def write_suite_site(suite: str, root: Path | str = ".", docs: Path | str = "docs") -> list[Path]:
    """Write one published suite's page, ``<docs>/results/<suite>.md``, and its figures, ``<docs>/results/<suite>/``
    (DVC stage ``site-suite@<suite>``). Returns the page."""
    page_dir = Path(docs) / OUTPUT
    _reset(page_dir / suite)
    (page_dir / suite).mkdir(parents=True)  # a DVC output: there even when the suite has no figure
    return [write_text_atomic(page_dir / f"{suite}.md", suite_page(suite, Path(root), page_dir))]


def write_index_site(params: Params, root: Path | str = ".", docs: Path | str = "docs") -> list[Path]:
    """Write the pages of ``<docs>/results/`` that are not one suite's (DVC stage ``site``): the index with the
    cross-suite verdicts, the Atari 100k table, the measured error rates, the suites table and the ``params.yaml``
    reference. Returns the pages written."""
    root, page_dir = Path(root), Path(docs) / OUTPUT
    _reset(page_dir / "atari100k")
    (page_dir / "atari100k").mkdir(parents=True)
    pages: dict[str, str] = {}
    published = list(params.pipeline.publish)
    atari = root / "results" / "atari100k" / "aggregate.md"
    if atari.is_file():
        pages["atari100k.md"] = "\n".join(
            ["# Atari 100k (published agents)\n",
             "Generated from `results/atari100k/` and `reports/atari100k/`: the published Atari 100k scores, "
             "analysed with rlbench's statistics (no training).\n", "## Aggregate\n\n" + _demote(atari.read_text(), "")]
            + ["## Figures\n"] + _figures(root / "reports" / "atari100k", page_dir, "atari100k"))
    rates = root / "results" / "calibration" / "rates.md"
    if rates.is_file():
        pages["calibration.md"] = ("# Measured error rates\n\nGenerated from `results/calibration/rates.md` (stage "
                                   "`calibration`). How the rules work: [statistics rules](../reference/statistics.md)."
                                   "\n\n" + _demote(rates.read_text(), ""))
    pages["suites.md"] = suites_markdown(params)
    pages["params.md"] = params_markdown()
    links = "\n".join(f"- [`{suite}`]({suite}.md)" for suite in published)
    extra = "".join(f"- [{title}]({name})\n" for name, title in
                    (("atari100k.md", "Atari 100k (published agents)"), ("calibration.md", "Measured error rates"))
                    if name in pages)
    verdicts = root / "results" / "verdicts.md"
    index = ["# Results\n",
             "Generated by the pipeline's `site` stages from the published tables (`results/`) and figures "
             "(`reports/`): every number on these pages is the pipeline's, copied, never typed. How to read a suite's "
             "page and its report: [read a report](../guides/read-a-report.md).\n",
             f"## Published suites\n\n{links}\n\n{extra}- [All suites (`params.yaml`)](suites.md)\n"]
    if verdicts.is_file():
        index.append("## Reproduction verdicts, across suites\n\n" + _demote(verdicts.read_text(), ""))
    pages["index.md"] = "\n".join(index)
    return [write_text_atomic(page_dir / name, text) for name, text in pages.items()]


def write_site(params: Params, root: Path | str = ".", docs: Path | str = "docs") -> list[Path]:
    """Write all of ``<docs>/results/`` afresh: every published suite's page and the index pages (what the
    ``site-suite@<suite>`` and ``site`` stages write together). Returns the pages written."""
    page_dir = Path(docs) / OUTPUT
    if page_dir.exists():
        shutil.rmtree(page_dir)
    pages = [page for suite in params.pipeline.publish for page in write_suite_site(suite, root, docs)]
    return pages + write_index_site(params, root, docs)
