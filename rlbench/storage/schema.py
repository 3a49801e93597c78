"""The run files' schema: which files a finished run holds and their columns (the one definition).

The analysis reads these files, it never recomputes them, so writer and readers share this module.
"""

from __future__ import annotations

RUN_FILES: tuple[str, ...] = ("config.json", "eval.csv", "train.csv", "diagnostics.csv")
"""The files of a finished run directory."""

EVAL_COLUMNS: tuple[str, ...] = ("step", "episode", "return", "length")
"""``eval.csv``: one row per evaluation episode (``step`` is the evaluation step it belongs to)."""

TRAIN_COLUMNS: tuple[str, ...] = ("step", "return", "length")
"""``train.csv``: one row per finished training episode (``step`` at the episode's end)."""

DIAGNOSTIC_COLUMNS: tuple[str, ...] = ("step", "name", "value")
"""``diagnostics.csv``: one row per diagnostic per evaluation step (:mod:`rlbench.training.diagnostics`);
only a header where an agent and environment measure none."""

RUN_KEY_COLUMNS: tuple[str, ...] = ("algo", "env", "seed")
"""Columns that name a run in the long frames the store returns."""

EVAL_FRAME_COLUMNS: tuple[str, ...] = (*RUN_KEY_COLUMNS, *EVAL_COLUMNS)
"""The long evaluation frame the score matrices are built from (one row per evaluation episode)."""

SCORE_SOURCE_COLUMNS: tuple[str, ...] = (*RUN_KEY_COLUMNS, "step", "episode", "return")
"""The columns of the evaluation frame that score matrices and learning-curve plots read."""
