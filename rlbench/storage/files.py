"""Result files: the one atomic writer, and the checked reader of result tables.

Every writer here writes the whole content to a temporary file in the *same directory* as the
target (so the final rename never crosses a file system), flushes and fsyncs it, and then
``os.replace``-s it over the target. ``os.replace`` is atomic on POSIX and Windows, so a
concurrent reader (or a DVC stage killed half-way) sees either the old file or the new one.
Parent directories are created as needed.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from rlbench.errors import RlbenchError

__all__ = [
    "fsync_directory",
    "json_bytes",
    "read_csv_checked",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_json_atomic",
    "write_text_atomic",
]


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same directory, then ``os.replace``).

    Returns the target path. On any failure the temporary file is removed and the previous
    content of ``path`` (if any) is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; give results ordinary read permissions.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically, with ``\\n`` line endings on every platform."""
    return write_bytes_atomic(path, text.encode(encoding))


def json_bytes(payload: Any) -> bytes:
    """``payload`` as the project's JSON files hold it: sorted keys, two-space indent, final newline, UTF-8."""
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_json_atomic(path: str | os.PathLike[str], payload: Any) -> Path:
    """Write ``payload`` as JSON (:func:`json_bytes`) atomically."""
    return write_bytes_atomic(path, json_bytes(payload))


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make a rename inside ``path`` durable (POSIX: fsync the directory itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_csv_atomic(
    path: str | os.PathLike[str],
    frame: pd.DataFrame,
    float_format: str | None = "%.4f",
    index: bool = False,
) -> Path:
    """Write ``frame`` as CSV to ``path`` atomically.

    Floats are written with the fixed ``float_format`` (4 decimals by default) and lines end in
    ``\\n``, so the same frame always gives byte-identical files.
    """
    buffer = io.StringIO()
    frame.to_csv(buffer, index=index, float_format=float_format, lineterminator="\n")
    return write_text_atomic(path, buffer.getvalue())


def read_csv_checked(path: str | os.PathLike[str], what: str, missing_hint: str,
                     columns: list[str] | None = None) -> pd.DataFrame:
    """Read a result table; a missing, unparsable or wrongly shaped file is a one-line RlbenchError."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise RlbenchError(f"{path} not found: {missing_hint}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise RlbenchError(f"corrupt {what} {path}: {str(error).strip().splitlines()[0]}") from None
    if columns is not None and list(frame.columns) != columns:
        raise RlbenchError(f"corrupt {what} {path}: columns {list(frame.columns)}, expected {columns}")
    return frame
