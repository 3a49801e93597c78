"""Readers of other tools' result files: each turns one source file (one run) into a table of returns.

Supported sources (``rlbench import FORMAT``):

* ``sb3``: Stable-Baselines3's ``Monitor`` file ``*.monitor.csv`` / ``monitor.csv`` (a ``#{json}`` line with
  ``t_start`` and ``env_id``, then columns ``r,l,t``: one row per finished training episode, so the returns are
  **training** returns under the agent's exploration; the step of an episode is the running sum of ``l``), or
  ``EvalCallback``'s ``evaluations.npz`` (arrays ``timesteps`` (n,), ``results`` and ``ep_lengths`` (n, episodes):
  **evaluation** returns of the deterministic (greedy) policy by default). SB3 ``stable_baselines3/common/monitor.py``
  and ``stable_baselines3/common/callbacks.py`` define both layouts.
* ``tensorboard``: a TensorBoard event file or a run's log directory, read with ``tbparse`` 0.0.9; one scalar tag
  is the return: CleanRL's ``charts/episodic_return`` (one value per finished training episode at its
  ``global_step``), SB3's ``rollout/ep_rew_mean`` (the mean of the last 100 training episodes, SB3's
  ``stats_window_size``) or ``eval/mean_reward`` (the mean of an ``EvalCallback`` evaluation), or a tag the user
  names (then the user says which returns it holds).
* ``csv``: see :data:`CSV_COLUMNS`.

Every reader raises :class:`~rlbench.errors.RlbenchError` with one line naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError

FORMATS: tuple[str, ...] = ("sb3", "tensorboard", "csv")
"""The source formats ``rlbench import`` reads."""

RETURN_KINDS: dict[str, str] = {
    "evaluation": "evaluation episodes of the greedy (deterministic) policy, separate from training",
    "training": "training episodes, under the agent's exploration",
}
"""What the imported returns are: never mixed in one comparison."""

EPISODE = "one episode per value"
"""The statistic of a source whose every value is one episode's return."""

KNOWN_TAGS: dict[str, tuple[str, str]] = {
    "charts/episodic_return": ("training", EPISODE),
    "rollout/ep_rew_mean": ("training", "rolling mean of the last 100 training episodes (SB3 rollout/ep_rew_mean)"),
    "eval/mean_reward": ("evaluation", "mean of one evaluation's episodes (SB3 eval/mean_reward)"),
}
"""TensorBoard tags rlbench knows: tag -> (return kind, statistic)."""

CSV_COLUMNS: dict[str, str] = {
    "step": "required; the step (on the --step-axis) at which the return was recorded: an episode's end, or the "
            "evaluation it belongs to",
    "return": "required; the episode's return (undiscounted sum of rewards)",
    "seed": "optional; the run (seed) the row belongs to (without it, each file is one run)",
    "episode": "optional, evaluation returns only; the episode's index within its evaluation (0, 1, ...; default: "
               "the row's position among the rows of its step)",
    "length": "optional; the episode's length in steps (empty where unknown)",
}
"""Columns of a plain CSV source (``rlbench import csv``): a header row naming them, any order, no other column."""


@dataclass(frozen=True)
class SourceRun:
    """The returns of one run read from one source file."""

    seed: int
    returns: str
    """A key of :data:`RETURN_KINDS`."""
    statistic: str
    """What one value is: :data:`EPISODE`, or a mean (:data:`KNOWN_TAGS`)."""
    table: pd.DataFrame
    """Evaluation: ``step, episode, return, length``; training: ``step, return, length`` (length NaN where the source
    has none), sorted by step."""
    source: Path
    env_id: str | None = None
    """The environment id the file itself records (SB3's monitor header), else None."""
    tag: str | None = None


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def source_record(path: Path) -> dict[str, object]:
    """What provenance records of a source: its path, and the size and SHA-256 of it (a file) or of every file in it
    (a log directory, by relative path)."""
    path = Path(path)
    if path.is_file():
        return {"path": str(path), "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return {"path": str(path), "files": {str(p.relative_to(path)): {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
                                         for p in files}}


def _bad(path: Path, why: str) -> RlbenchError:
    return RlbenchError(f"{path}: {why}")


def _finite(path: Path, values: np.ndarray, what: str) -> None:
    if values.size and not np.isfinite(values.astype(float)).all():
        raise _bad(path, f"{what} holds a missing, NaN or infinite value")


def _integral(path: Path, values: np.ndarray, what: str, low: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    _finite(path, values, what)
    if values.size and ((values != np.round(values)).any() or (values < low).any()):
        raise _bad(path, f"{what} holds a value that is not an integer >= {low}")
    return values.astype(np.int64)


# -- Stable-Baselines3 ------------------------------------------------------------------------------------------------


def read_monitor(path: Path, seed: int) -> SourceRun:
    """An SB3 ``Monitor`` file: training episodes, steps the running sum of their lengths."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _bad(path, "is not UTF-8 text (expected an SB3 monitor.csv)") from None
    except OSError as error:
        raise _bad(path, f"cannot be read ({error.strerror or error}); expected an SB3 monitor.csv file") from None
    first, _, rest = text.partition("\n")
    if not first.startswith("#"):
        raise _bad(path, "has no '#{\"t_start\": ...}' header line: not an SB3 monitor.csv")
    try:
        header = json.loads(first[1:])
    except json.JSONDecodeError as error:
        raise _bad(path, f"header line does not parse as JSON ({error})") from None
    if not isinstance(header, dict):
        raise _bad(path, "header line is not a JSON object")
    try:
        frame = pd.read_csv(io.StringIO(rest))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise _bad(path, f"does not parse as CSV ({str(error).strip().splitlines()[0]})") from None
    missing = [c for c in ("r", "l") if c not in frame.columns]
    if missing:
        raise _bad(path, f"lacks column(s) {missing}; an SB3 monitor.csv has r,l,t")
    if frame.empty:
        raise _bad(path, "holds no finished episode")
    if not all(pd.api.types.is_numeric_dtype(frame[c]) for c in ("r", "l")):
        raise _bad(path, "column r or l holds a value that is not a number (a truncated or damaged file?)")
    returns = frame["r"].to_numpy(dtype=float)
    _finite(path, returns, "column r")
    lengths = _integral(path, frame["l"].to_numpy(), "column l", 1)
    table = pd.DataFrame({"step": np.cumsum(lengths), "return": returns, "length": lengths})
    env_id = header.get("env_id")
    return SourceRun(seed, "training", EPISODE, table, path, str(env_id) if env_id else None)


def read_evaluations(path: Path, seed: int) -> SourceRun:
    """An SB3 ``EvalCallback`` ``evaluations.npz``: evaluation episodes per evaluation step."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key]) for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise _bad(path, f"is not a readable .npz file ({str(error).strip().splitlines()[0]})") from None
    missing = [k for k in ("timesteps", "results") if k not in arrays]
    if missing:
        raise _bad(path, f"lacks array(s) {missing}; SB3's evaluations.npz has timesteps, results, ep_lengths")
    steps, results = arrays["timesteps"].reshape(-1), arrays["results"]
    if results.ndim != 2 or results.shape[0] != steps.size or steps.size == 0 or results.shape[1] == 0:
        raise _bad(path, f"results has shape {results.shape}, expected ({steps.size}, episodes) with both > 0")
    lengths = arrays.get("ep_lengths")
    if lengths is not None and lengths.shape != results.shape:
        raise _bad(path, f"ep_lengths has shape {lengths.shape}, results {results.shape}")
    steps = _integral(path, steps, "timesteps", 0)
    if (np.diff(steps) <= 0).any():
        raise _bad(path, "timesteps are not increasing")
    _finite(path, results, "results")
    n, episodes = results.shape
    table = pd.DataFrame({
        "step": np.repeat(steps, episodes), "episode": np.tile(np.arange(episodes), n),
        "return": results.reshape(-1).astype(float),
        "length": (_integral(path, lengths.reshape(-1), "ep_lengths", 1).astype(float) if lengths is not None
                   else np.full(n * episodes, np.nan)),
    })
    return SourceRun(seed, "evaluation", EPISODE, table, path)


def read_sb3(path: Path, seed: int) -> SourceRun:
    """``*.npz`` is an ``evaluations.npz``, anything else a monitor file."""
    return read_evaluations(path, seed) if path.suffix == ".npz" else read_monitor(path, seed)


# -- TensorBoard ------------------------------------------------------------------------------------------------------


def read_tensorboard(path: Path, seed: int, tag: str | None, returns: str | None) -> SourceRun:
    """One scalar tag of a TensorBoard event file (or log directory) as returns.

    Without ``tag``, the one tag of :data:`KNOWN_TAGS` the file holds (two or none: the user names one). A tag not in
    :data:`KNOWN_TAGS` needs ``returns``; a known tag's kind is fixed, and a ``returns`` that contradicts it is refused.
    """
    from tbparse import SummaryReader

    try:
        scalars = SummaryReader(str(path), pivot=False).scalars
    except Exception as error:  # tbparse raises whatever the event reader raises on a damaged file
        raise _bad(path, f"is not a readable TensorBoard event file ({type(error).__name__}: {error})") from None
    tags = sorted(set(scalars["tag"])) if not scalars.empty else []
    if not tags:
        raise _bad(path, "holds no scalar (not a TensorBoard event file, or an empty one)")
    if tag is None:
        known = [t for t in KNOWN_TAGS if t in tags]
        if len(known) != 1:
            raise _bad(path, f"name the return's tag with --tag; the file's scalar tags: {', '.join(tags)}")
        tag = known[0]
    if tag not in tags:
        raise _bad(path, f"has no scalar tag {tag!r}; its scalar tags: {', '.join(tags)}")
    if tag in KNOWN_TAGS:
        kind, statistic = KNOWN_TAGS[tag]
        if returns is not None and returns != kind:
            raise _bad(path, f"tag {tag} holds {kind} returns, not {returns}")
    elif returns is None:
        raise _bad(path, f"tag {tag!r} is not one rlbench knows ({', '.join(KNOWN_TAGS)}): say which returns it holds "
                         f"with --returns ({' or '.join(RETURN_KINDS)})")
    else:
        kind, statistic = returns, f"as logged under the tag {tag}"
    rows = scalars[scalars["tag"] == tag]
    steps = _integral(path, rows["step"].to_numpy(), f"tag {tag}'s steps", 0)
    values = rows["value"].to_numpy(dtype=float)
    _finite(path, values, f"tag {tag}")
    order = np.argsort(steps, kind="stable")
    steps, values = steps[order], values[order]
    if kind == "evaluation":
        if len(set(steps.tolist())) != steps.size:
            raise _bad(path, f"tag {tag} has two values at one step; one evaluation per step expected")
        table = pd.DataFrame({"step": steps, "episode": 0, "return": values, "length": np.nan})
    else:
        table = pd.DataFrame({"step": steps, "return": values, "length": np.nan})
    return SourceRun(seed, kind, statistic, table, path, tag=tag)


# -- plain CSV --------------------------------------------------------------------------------------------------------


def read_csv_source(path: Path, seeds: list[int] | None, returns: str) -> list[SourceRun]:
    """A plain CSV of :data:`CSV_COLUMNS`: one run, or one per value of its ``seed`` column."""
    try:
        frame = pd.read_csv(path)
    except UnicodeDecodeError:
        raise _bad(path, "is not UTF-8 text") from None
    except OSError as error:
        raise _bad(path, f"cannot be read ({error.strerror or error}); expected a CSV file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise _bad(path, f"does not parse as CSV ({str(error).strip().splitlines()[0]})") from None
    columns = list(frame.columns)
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    missing = [c for c in ("step", "return") if c not in columns]
    if missing or unknown:
        what = f"lacks column(s) {missing}" if missing else f"has unknown column(s) {unknown}"
        raise _bad(path, f"{what}; allowed columns: step, return (required), seed, episode, length")
    if frame.empty:
        raise _bad(path, "holds no row")
    for column in columns:
        if column != "length" and (not pd.api.types.is_numeric_dtype(frame[column]) or frame[column].isna().any()):
            raise _bad(path, f"column {column} holds an empty cell or a value that is not a number (truncated?)")
    if "length" in columns and not pd.api.types.is_numeric_dtype(frame["length"]):
        raise _bad(path, "column length holds a value that is not a number")
    if "episode" in columns and returns != "evaluation":
        raise _bad(path, "column episode is for evaluation returns only (--returns evaluation)")
    _finite(path, frame["return"].to_numpy(dtype=float), "column return")
    frame["step"] = _integral(path, frame["step"].to_numpy(), "column step", 0)
    if "length" in columns:
        lengths = frame["length"].to_numpy(dtype=float)
        known = lengths[~np.isnan(lengths)]
        _integral(path, known, "column length", 1)
    else:
        frame["length"] = np.nan
    if "seed" in columns:
        frame["seed"] = _integral(path, frame["seed"].to_numpy(), "column seed", 0)
        if seeds is not None:
            raise _bad(path, "has a seed column: --seeds is for files without one")
        groups = [(int(seed), part) for seed, part in frame.groupby("seed", sort=True)]
    else:
        if seeds is None or len(seeds) != 1:
            raise RlbenchError(f"{path}: internal error, one seed expected per file without a seed column")
        groups = [(seeds[0], frame)]
    runs = []
    for seed, part in groups:
        part = part.sort_values("step", kind="stable")
        if returns == "evaluation":
            if "episode" not in columns:
                part = part.assign(episode=part.groupby("step").cumcount())
            part["episode"] = _integral(path, part["episode"].to_numpy(), "column episode", 0)
            if part.duplicated(["step", "episode"]).any():
                raise _bad(path, f"seed {seed} has an (step, episode) row twice")
            table = part[["step", "episode", "return", "length"]]
        else:
            table = part[["step", "return", "length"]]
        runs.append(SourceRun(seed, returns, EPISODE, table.reset_index(drop=True), path))
    return runs
