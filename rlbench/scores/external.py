"""Published per-run scores (e.g. the Atari 100k releases of Agarwal et al. 2021) as score matrices.

Sources of scores other than rlbench's run store: JSON files ``{game: [score per run]}`` or records
``{game, seed, score|HNS}``, human-normalised with :func:`reference_table` of the published human
and random scores. The result is an ordinary :class:`~rlbench.scores.matrices.ScoreSet`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlbench.errors import RlbenchError
from rlbench.scores.matrices import ScoreSet, _listing
from rlbench.scores.normalization import COLUMNS, HUMAN, PathLike, normalize

__all__ = ["reference_table", "load_external_scores", "atari100k_data_dir", "atari100k_scores", "ATARI100K_AGENTS"]



def read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise RlbenchError(f"score file not found: {path}") from None
    except (OSError, ValueError) as error:
        raise RlbenchError(f"cannot read score file {path}: {error}") from None


def _single_scores(source: PathLike | Mapping[str, Any], what: str) -> tuple[dict[str, float], str]:
    """Read a ``{game: score}`` or ``{game: [score]}`` mapping (file or in-memory)."""
    if isinstance(source, Mapping):
        raw, origin = dict(source), "given"
    else:
        path = Path(source)
        raw, origin = read_json(path), path.name
        if not isinstance(raw, Mapping):
            raise RlbenchError(f"{what} score file {path} must hold a JSON object {{game: score}}")
    values: dict[str, float] = {}
    for game, value in raw.items():
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise RlbenchError(f"{what} score of {game!r} in {origin} must be one number, got {len(value)}")
            value = value[0]
        try:
            values[str(game)] = float(value)
        except (TypeError, ValueError):
            raise RlbenchError(f"{what} score of {game!r} in {origin} is not a number: {value!r}") from None
    return values, origin


def reference_table(human: PathLike | Mapping[str, Any], random: PathLike | Mapping[str, Any]) -> pd.DataFrame:
    """Normalisation table (columns :data:`~rlbench.scores.normalization.COLUMNS`) from reference and random
    scores: human-normalised, unclipped, no solved threshold.

    ``human`` and ``random`` are JSON files (or mappings) ``{game: score}`` or ``{game: [score]}``
    as published with the Atari 100k results. The games of the two must agree.
    """
    ref, ref_origin = _single_scores(human, "reference")
    rnd, rnd_origin = _single_scores(random, "random")
    if set(ref) != set(rnd):
        raise RlbenchError(
            f"reference and random scores cover different games: only reference {sorted(set(ref) - set(rnd))}, "
            f"only random {sorted(set(rnd) - set(ref))}"
        )
    games = sorted(ref)
    return pd.DataFrame(
        {
            "env": games,
            "random": [rnd[g] for g in games],
            "reference": [ref[g] for g in games],
            "reference_kind": [HUMAN] * len(games),
            "clip": [False] * len(games),
            "solved": [np.nan] * len(games),
            "random_source": [rnd_origin] * len(games),
            "reference_source": [ref_origin] * len(games),
        },
        columns=COLUMNS,
    )


# --------------------------------------------------------------------------------------------
# Published (external) scores
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _External:
    name: str
    origin: str
    by_game: dict[str, np.ndarray]
    run_ids: list[int]
    normalised: bool


def _parse_external(path: Path, name: str) -> _External:
    data = read_json(path)
    origin = path.name
    if isinstance(data, Mapping):
        # {game: [raw score of run 0, run 1, ...]}; published files carry no seed ids, so the
        # runs are numbered by position.
        by_game: dict[str, np.ndarray] = {}
        for game, values in data.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise RlbenchError(f"{origin}: scores of {game!r} must be a non-empty list of numbers")
            try:
                by_game[str(game)] = np.asarray([float(v) for v in values], dtype=np.float64)
            except (TypeError, ValueError):
                raise RlbenchError(f"{origin}: scores of {game!r} are not all numbers") from None
        counts = {g: len(v) for g, v in by_game.items()}
        if len(set(counts.values())) > 1:
            common = max(set(counts.values()), key=list(counts.values()).count)
            odd = sorted(f"{g} ({n})" for g, n in counts.items() if n != common)
            raise RlbenchError(f"{origin}: games have different numbers of runs; most have {common}, but {odd}")
        n_runs = next(iter(counts.values()), 0)
        return _External(name, origin, by_game, list(range(n_runs)), normalised=False)
    if isinstance(data, list):
        # Records {game, seed, HNS | score}: HNS is already human-normalised (CURL release).
        if not data or not all(isinstance(r, Mapping) for r in data):
            raise RlbenchError(f"{origin}: a list of score records must hold JSON objects")
        keys = set(data[0])
        if "HNS" in keys:
            value_key, normalised = "HNS", True
        elif "score" in keys:
            value_key, normalised = "score", False
        else:
            raise RlbenchError(f"{origin}: score records need a 'HNS' or a 'score' field; have {sorted(keys)}")
        table: dict[str, dict[int, float]] = {}
        for record in data:
            try:
                game, seed, value = str(record["game"]), float(record["seed"]), float(record[value_key])
            except (KeyError, TypeError, ValueError):
                raise RlbenchError(f"{origin}: bad record {record!r} (needs game, seed, {value_key})") from None
            if seed != math.floor(seed):
                raise RlbenchError(f"{origin}: seed {seed} of {game!r} is not an integer")
            runs = table.setdefault(game, {})
            if int(seed) in runs:
                raise RlbenchError(f"{origin}: game {game!r} has seed {int(seed)} more than once")
            runs[int(seed)] = value
        all_seeds = sorted(set().union(*(set(r) for r in table.values())))
        problems = [
            f"{g} lacks seeds {sorted(set(all_seeds) - set(r))}" for g, r in sorted(table.items()) if set(r) != set(all_seeds)
        ]
        if problems:
            raise RlbenchError(f"{origin}: seeds differ between games: {_listing(problems)}")
        by_game = {g: np.asarray([r[s] for s in all_seeds], dtype=np.float64) for g, r in table.items()}
        return _External(name, origin, by_game, all_seeds, normalised=normalised)
    raise RlbenchError(f"{origin}: expected a JSON object {{game: [scores]}} or a list of records")


def _external_files(
    sources: PathLike | Iterable[PathLike], exclude: Iterable[PathLike | Mapping[str, Any]]
) -> list[Path]:
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    skip = {Path(e).resolve() for e in exclude if isinstance(e, (str, os.PathLike))}
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files.extend(p for p in sorted(path.glob("*.json")) if p.resolve() not in skip)
        elif path.is_file():
            files.append(path)
        else:
            raise RlbenchError(f"score source not found: {path}")
    if not files:
        raise RlbenchError("no external score files found")
    return files


def load_external_scores(
    sources: PathLike | Iterable[PathLike],
    human: PathLike | Mapping[str, Any],
    random: PathLike | Mapping[str, Any],
    names: Mapping[str, str] | None = None,
) -> ScoreSet:
    """Load published per-run scores and human-normalise them into one :class:`ScoreSet`.

    ``sources`` is a directory (every ``*.json`` in it except the ``human``/``random`` files) or
    files. Supported file shapes:

    * ``{game: [raw score per run, ...]}`` (the Atari 100k releases of Agarwal et al. 2021); runs
      are numbered ``0..n-1`` by position;
    * ``[{game, seed, HNS, ...}, ...]`` records already human-normalised (the CURL release; the
      ``HNS`` field is used as is);
    * ``[{game, seed, score}, ...]`` records of raw scores (e.g. in-house runs exported later).

    Raw scores are normalised with :func:`normalize` and :func:`reference_table` ``(human,
    random)``. Each file is one algorithm, named by the file stem (``DER.json`` -> ``DER``), or
    ``names[stem]`` when given (``{"CURL_10_evals": "CURL"}``). All files must cover the same games
    (the error names the games each file lacks). Columns are the games sorted by name; combine the
    result with in-house scores through :func:`combine`.
    """
    files = _external_files(sources, [human, random])
    names = dict(names or {})
    unknown = sorted(set(names) - {p.stem for p in files})
    if unknown:
        raise RlbenchError(f"names given for score files that were not loaded: {unknown}")
    loaded = [_parse_external(p, names.get(p.stem, p.stem)) for p in files]
    seen: dict[str, str] = {}
    for item in loaded:
        if item.name in seen:
            raise RlbenchError(f"algorithm {item.name!r} comes from both {seen[item.name]} and {item.origin}")
        seen[item.name] = item.origin

    games = sorted(set().union(*(set(item.by_game) for item in loaded)))
    problems = [
        f"{item.origin} lacks {sorted(set(games) - set(item.by_game))}"
        for item in loaded
        if set(item.by_game) != set(games)
    ]
    if problems:
        raise RlbenchError(f"score files cover different games: {_listing(problems)}")

    table = reference_table(human, random)
    raw = ScoreSet(
        {i.name: np.stack([i.by_game[g] for g in games], axis=1) for i in loaded if not i.normalised},
        games,
        {i.name: list(i.run_ids) for i in loaded if not i.normalised},
    )
    normalised = normalize(raw, table) if raw.scores else raw
    scores: dict[str, np.ndarray] = {}
    run_ids: dict[str, list[int]] = {}
    for item in loaded:
        if item.normalised:
            scores[item.name] = np.stack([item.by_game[g] for g in games], axis=1)
        else:
            scores[item.name] = normalised.scores[item.name]
        run_ids[item.name] = list(item.run_ids)
    return ScoreSet(scores, games, run_ids)


def atari100k_data_dir() -> Path:
    """Directory of the packaged Atari 100k published score files (see its ``SOURCES.md``)."""
    return Path(__file__).resolve().parents[1] / "data" / "atari100k"


ATARI100K_AGENTS: tuple[str, ...] = (
    "DER", "OTRainbow", "DrQ", "DrQ(eps)", "SPR", "CURL", "SimPLe", "IRIS", "PlayVirtual",
)
"""The published Atari 100k agents rlbench ships per-run scores of (``rlbench/data/atari100k/SOURCES.md``)."""

ATARI100K_FILES: dict[str, str] = {agent: agent for agent in ATARI100K_AGENTS} | {"CURL": "CURL_10_evals"}
"""Agent -> stem of its published score file."""


def atari100k_scores(data: Path | None = None) -> ScoreSet:
    """The published Atari 100k agents' per-run scores, human-normalised (``data``: the packaged files)."""
    data = atari100k_data_dir() if data is None else data
    files = [data / f"{ATARI100K_FILES[agent]}.json" for agent in ATARI100K_AGENTS]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise RlbenchError(f"published score files not found: {missing}")
    names = {stem: agent for agent, stem in ATARI100K_FILES.items() if stem != agent}
    return load_external_scores(files, data / "HUMAN.json", data / "RANDOM.json", names=names)
