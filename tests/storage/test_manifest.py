"""The corruption battery: every kind of damage to a finished run is detected, never read as valid,
and the launcher retrains the run to the same bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rlbench.errors import RlbenchError
from rlbench.execution.launcher import launch
from rlbench.storage.files import json_bytes
from rlbench.storage.manifest import MANIFEST, file_record
from rlbench.storage.run_store import RunStore
from tests.conftest import smoke_spec


def _rewrite(path: Path, change: Callable[[bytes], bytes]) -> None:
    path.write_bytes(change(path.read_bytes()))


def _drop_last_line(data: bytes) -> bytes:
    return b"".join(data.splitlines(keepends=True)[:-1])


def _cut_inside_last_number(data: bytes) -> bytes:
    return data.rstrip(b"\n")[:-1] + b"\n"  # "...,12.5\n" -> "...,12.\n": still parses as a number


def _repeat_last_row(data: bytes) -> bytes:
    return data + data.splitlines(keepends=True)[-1]


def _nan_return(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    step, episode, _, length = lines[1].decode().split(",")
    return b"".join([lines[0], f"{step},{episode},nan,{length}".encode(), *lines[2:]])


def _reseal(directory: Path) -> None:
    """A forger who also rewrites the manifest's checksums: only the structural checks stand."""
    manifest = json.loads((directory / MANIFEST).read_text())
    for name in manifest["files"]:
        manifest["files"][name] = file_record((directory / name).read_bytes())
    (directory / MANIFEST).write_bytes(json_bytes(manifest))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    # kind of damage: (what is done to the run directory, what verification says)
    "eval.csv last line dropped": (lambda d: _rewrite(d / "eval.csv", _drop_last_line), "eval.csv does not match"),
    "eval.csv cut inside a number": (lambda d: _rewrite(d / "eval.csv", _cut_inside_last_number), "eval.csv does not match"),
    "eval.csv extra episode row": (lambda d: _rewrite(d / "eval.csv", _repeat_last_row), "eval.csv does not match"),
    "eval.csv not UTF-8": (lambda d: _rewrite(d / "eval.csv", lambda b: b.replace(b"step", b"st\xffp")), "eval.csv does not match"),
    "eval.csv NaN return": (lambda d: _rewrite(d / "eval.csv", _nan_return), "eval.csv does not match"),
    "train.csv binary bytes": (lambda d: _rewrite(d / "train.csv", lambda b: b + b"\x00\x01\x02\xfe"), "train.csv does not match"),
    "train.csv missing": (lambda d: (d / "train.csv").unlink(), "train.csv is missing"),
    "config.json truncated": (lambda d: _rewrite(d / "config.json", lambda b: b[: len(b) // 2]), "config.json does not match"),
    "manifest missing": (lambda d: (d / MANIFEST).unlink(), "manifest.json is missing"),
    "manifest truncated": (lambda d: _rewrite(d / MANIFEST, lambda b: b[:40]), "manifest.json does not parse"),
    # Damage with matching checksums (the manifest rewritten too) is still caught by the structure checks.
    "resealed: extra episode row": (lambda d: (_rewrite(d / "eval.csv", _repeat_last_row), _reseal(d)),
                                    "eval.csv has 7 episode rows, expected 6 (3 evaluation steps x 2 episodes); duplicate rows"),
    "resealed: last line dropped": (lambda d: (_rewrite(d / "eval.csv", _drop_last_line), _reseal(d)),
                                    "eval.csv has 5 episode rows, expected 6"),
    "resealed: NaN return": (lambda d: (_rewrite(d / "eval.csv", _nan_return), _reseal(d)),
                             "eval.csv holds a missing, NaN or infinite value"),
    "resealed: not UTF-8": (lambda d: (_rewrite(d / "eval.csv", lambda b: b.replace(b"step", b"st\xffp")), _reseal(d)),
                            "eval.csv is not UTF-8 text"),
    "resealed: binary bytes": (lambda d: (_rewrite(d / "train.csv", lambda b: b + b"\x00\x01\x02\xfe"), _reseal(d)),
                               "train.csv"),
    "resealed: config.json truncated": (lambda d: (_rewrite(d / "config.json", lambda b: b[: len(b) // 2]), _reseal(d)),
                                        "config.json does not parse"),
    "diagnostics.csv missing": (lambda d: (d / "diagnostics.csv").unlink(), "diagnostics.csv is missing"),
    "resealed: diagnostic off the schedule": (lambda d: (_rewrite(d / "diagnostics.csv", lambda b: b + b"7,q_error,0.5\n"),
                                                         _reseal(d)), "off the evaluation schedule"),
    "resealed: diagnostic NaN": (lambda d: (_rewrite(d / "diagnostics.csv", lambda b: b + b"0,q_error,nan\n"), _reseal(d)),
                                 "diagnostics.csv holds a step or value that is not a finite number"),
    "resealed: diagnostic twice": (lambda d: (_rewrite(d / "diagnostics.csv", lambda b: b + b"0,q,1.0\n0,q,2.0\n"),
                                              _reseal(d)), "diagnostics.csv has a diagnostic twice at one step"),
    "resealed: episode renumbered": (lambda d: (_rewrite(d / "eval.csv", lambda b: b.replace(b"\n0,1,", b"\n0,7,", 1)), _reseal(d)),
                                     "eval.csv's (step, episode) rows differ from the evaluation schedule"),
}


@pytest.fixture(scope="module")
def trained(params, tmp_path_factory) -> tuple[RunStore, object, dict[str, bytes]]:
    """A real run store holding one finished run, and the bytes of its files."""
    store = RunStore(tmp_path_factory.mktemp("store"))
    spec = smoke_spec(params, "reinforce", budget=1000)
    report = launch([spec], store, backend="serial", progress=False)
    assert report.completed == [spec.key]
    directory = store.run_dir(spec)
    return store, spec, {p.name: p.read_bytes() for p in directory.iterdir()}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_run_is_detected_refused_and_retrained(trained, kind):
    store, spec, original = trained
    directory = store.run_dir(spec)
    assert store.verify(spec) is None and sorted(original) == ["config.json", "diagnostics.csv", "eval.csv", "manifest.json", "train.csv"]
    damage, message = DAMAGE[kind]
    damage(directory)

    problem = store.verify(spec)
    assert problem is not None and message in problem
    assert not store.is_finished(spec)
    with pytest.raises(RlbenchError, match=f"{directory} fails verification"):
        store.load_eval([spec])
    assert store.load_eval([spec], skip_unverified=True).empty  # left out ...
    assert [f.reason for f in store.unverified([spec])] == [f"unverified: {problem}"]  # ... and listed

    report = launch([spec], store, backend="serial", progress=False)
    assert report.completed == [spec.key] and report.unverified == [(spec.key, problem)]
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == original  # retrained to the same bytes
    assert store.verify(spec) is None


def test_manifest_records_the_run_and_its_schedule(trained):
    store, spec, original = trained
    manifest = json.loads(original[MANIFEST])
    assert manifest["run_id"] == spec.run_id
    assert (manifest["budget"], manifest["eval_every"], manifest["eval_episodes"]) == (1000, 500, 2)
    assert manifest["evaluation_steps"] == [0, 500, 1000]
    assert manifest["files"]["eval.csv"] == file_record(original["eval.csv"])
