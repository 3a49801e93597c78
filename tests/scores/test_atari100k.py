"""The Atari 100k stage reproduces the published aggregate table from the packaged scores."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rlbench.scores.external import atari100k_data_dir, load_external_scores
from rlbench.stats.aggregates import METRICS, iqm

ROOT = Path(__file__).resolve().parents[2]
AGENTS = {"DER", "OTRainbow", "DrQ", "DrQ(eps)", "SPR", "CURL", "SimPLe", "IRIS", "PlayVirtual"}

# IQM of human-normalised scores published by Agarwal et al. 2021 (rliable, Atari 100k).
PUBLISHED_IQM = {"DER": 0.183, "DrQ(eps)": 0.280, "SPR": 0.337}


def test_packaged_data_is_complete() -> None:
    data = atari100k_data_dir()
    assert (data / "SOURCES.md").is_file()
    scores = load_external_scores(data, data / "HUMAN.json", data / "RANDOM.json", names={"CURL_10_evals": "CURL"})
    assert set(scores.algorithms) == AGENTS
    assert len(scores.tasks) == 26
    for agent, published in PUBLISHED_IQM.items():
        assert iqm(scores.scores[agent]) == pytest.approx(published, abs=0.0015)


def test_stage_script_writes_tables_and_plots(tmp_path: Path) -> None:
    table_dir, plot_dir = tmp_path / "results", tmp_path / "reports"
    completed = subprocess.run(
        [
            sys.executable, str(ROOT / "pipelines" / "atari100k.py"),
            "--out-table", str(table_dir), "--out-plots", str(plot_dir), "--seed", "0", "--reps", "200",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr

    table = pd.read_csv(table_dir / "aggregate.csv")
    assert set(table["algorithm"]) == AGENTS and len(table) == 9
    assert list(table["algorithm"]) == sorted(table["algorithm"], key=lambda a: (a.lower(), a))
    expected_columns = ["algorithm"] + [f"{m}_{part}" for m in METRICS for part in ("point", "lower", "upper")]
    assert list(table.columns) == expected_columns
    assert (table["iqm_lower"] <= table["iqm_point"]).all() and (table["iqm_point"] <= table["iqm_upper"]).all()
    iqms = dict(zip(table["algorithm"], table["iqm_point"]))
    for agent, published in PUBLISHED_IQM.items():
        assert iqms[agent] == pytest.approx(published, abs=0.0015)
    # fixed 4-decimal formatting
    first_row = (table_dir / "aggregate.csv").read_text().splitlines()[1]
    assert all(len(cell.split(".")[1]) == 4 for cell in first_row.split(",")[1:])

    markdown = (table_dir / "aggregate.md").read_text()
    assert all(re.search(rf"^\| {re.escape(agent)} +\|", markdown, re.M) for agent in AGENTS)
    pairs = pd.read_csv(table_dir / "probability_of_improvement.csv")
    assert len(pairs) == 9 * 8
    for name in ("interval_estimates", "performance_profiles", "probability_of_improvement"):
        assert (plot_dir / f"{name}.png").stat().st_size > 0
        assert (plot_dir / f"{name}.svg").stat().st_size > 0
    assert not list(table_dir.glob("*.tmp")) and not list(plot_dir.glob("*.tmp"))


def test_import_scores_command(tmp_path: Path) -> None:
    """Any score files of the published shape become the same aggregate table through the CLI."""
    data = atari100k_data_dir()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rlbench"), "import-scores", str(data / "DER.json"), str(data / "SPR.json"),
         "--human", str(data / "HUMAN.json"), "--random", str(data / "RANDOM.json"), "--out", str(tmp_path),
         "--reps", "100"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(tmp_path / "aggregate.csv")
    assert list(table["algorithm"]) == ["DER", "SPR"]
    assert abs(table.set_index("algorithm").loc["DER", "iqm_point"] - PUBLISHED_IQM["DER"]) < 0.0015
    assert (tmp_path / "interval_estimates.png").is_file()
