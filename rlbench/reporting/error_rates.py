"""What the calibration measured, in the words the leaderboards, reports and verdict tables quote beside each rule.

The ``calibration`` stage (:mod:`rlbench.stats.calibration`) writes ``results/calibration/rates.csv`` (every rule,
scenario and setting) and ``summary.csv`` (one row per rule: its worst measured false-positive rate and where).
Every decision the reports print names its test and this measured rate; without the calibration's files (a project
that has not run the stage) the texts say "not measured".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rlbench.stats.calibration import false_verdict_rates, measured_coverage, summary_statement

CALIBRATION_DIR = "calibration"
"""The directory under ``results/`` holding the calibration's tables."""

NOT_MEASURED = "not measured (run the `calibration` stage)"


@dataclass(frozen=True)
class MeasuredRates:
    """The calibration's two tables."""

    rates: pd.DataFrame
    """``rates.csv``: one row per rule, scenario and setting."""
    summary: pd.DataFrame
    """``summary.csv``: one row per rule."""


def read_rates(results: Path | str = "results") -> MeasuredRates | None:
    """The calibration's tables under ``results/calibration/``, or None where the stage has not run."""
    directory = Path(results) / CALIBRATION_DIR
    if not (directory / "rates.csv").is_file() or not (directory / "summary.csv").is_file():
        return None
    return MeasuredRates(pd.read_csv(directory / "rates.csv"), pd.read_csv(directory / "summary.csv"))


def rank_statement(measured: MeasuredRates | None) -> str:
    """The measured error of the "clearly better" relation, against the per-pair rule it replaced."""
    if measured is None:
        return f"Measured error rates: {NOT_MEASURED}."
    now = summary_statement(measured.summary, "better_exact_holm")
    before = measured.summary[measured.summary["rule"] == "better_poi_ci"]
    was = (f" The rule it replaced (each pair's bootstrap CI of P(X > Y) above 0.5, uncorrected) separated identical "
           f"algorithms on up to {100 * float(before.iloc[0]['worst_rate']):.0f}% of simulated leaderboards."
           if not before.empty else "")
    return f"Calibration (`results/calibration/`): identical algorithms separated: {now}.{was}"


def interval_statement(measured: MeasuredRates | None, seeds: int, tasks: int) -> str:
    """The measured coverage of this suite's nominal 95% IQM intervals at its number of seeds and tasks: the lowest
    and the highest over the simulated scenarios."""
    if measured is None:
        return f"IQM interval coverage: {NOT_MEASURED}."
    scenarios = sorted(set(measured.rates[(measured.rates["rule"] == "interval_iqm_expanded")]["scenario"]))
    found = {s: measured_coverage(measured.rates, "expanded", seeds, tasks, "iqm", s) for s in scenarios}
    low, high = min(found, key=found.get), max(found, key=found.get)
    return (f"Measured coverage of the nominal 95% IQM intervals near {seeds} seeds x {tasks} environment(s): "
            f"{100 * found[low]:.0f}% ({low} scores) to {100 * found[high]:.0f}% ({high}); below 95%, read them as "
            "too narrow by that much.")


def verdict_rate_texts(measured: MeasuredRates | None) -> dict[str, str]:
    """Per reproduction test (keyed by its name as a verdict states it): its worst measured false-verdict rate."""
    if measured is None:
        return {}
    return {test: f"at most {100 * rate:.1f}% (nominal 5%)" for test, rate in false_verdict_rates(measured.summary).items()}


def rules_markdown(measured: MeasuredRates | None) -> str:
    """The report's section body: every calibrated rule with its measured rate, or why there is none."""
    if measured is None:
        return f"_{NOT_MEASURED}_\n"
    rows = [f"- `{rule}`: {summary_statement(measured.summary, rule)}." for rule in measured.summary["rule"]]
    return ("Every rule the tables and verdicts use, run on simulated suites with known truth (identical algorithms, "
            "one better by a stated effect, scores piling at a ceiling, heavy negative tails, cycles across tasks; "
            "3, 5 and 10 seeds, 2 and 5 tasks): its worst measured false-positive rate over those scenarios (for an "
            "interval: 1 - its lowest coverage), with its Monte-Carlo error. The full table: "
            "`results/calibration/rates.md`.\n\n" + "\n".join(rows) + "\n")


__all__ = ["CALIBRATION_DIR", "MeasuredRates", "NOT_MEASURED", "interval_statement", "rank_statement", "read_rates",
           "rules_markdown", "verdict_rate_texts"]
