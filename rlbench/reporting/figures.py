"""The one place figures are written to disk: reproducible PNG + SVG, written atomically.

:mod:`rlbench.reporting.plots` only builds :class:`matplotlib.figure.Figure` objects; :func:`save_figure`
writes them. Output is byte-identical across runs and machines with the same library versions:

* PNG: rendered by Agg, with the ``Software`` metadata key removed;
* SVG: ``svg.hashsalt`` fixed (element ids are otherwise random), ``Date`` and ``Creator``
  metadata removed, text embedded as paths (no dependence on installed fonts at view time);
* nothing clock-dependent is written; each file is replaced atomically
  (:func:`rlbench.storage.files.write_bytes_atomic`).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from rlbench.storage.files import write_bytes_atomic  # noqa: E402

__all__ = ["SVG_HASHSALT", "save_figure", "figure_bytes"]

SVG_HASHSALT = "rlbench"
"""Fixed salt for the ids matplotlib writes into SVG files."""

_RC = {"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "path", "svg.id": None}


def _freeze_layout(fig: Figure) -> None:
    """Run the figure's layout engine once and keep its result.

    Constrained layout re-runs on every draw starting from the previous positions, so a figure
    drawn twice can come out a pixel different. Freezing the layout after one draw makes every
    later rendering of the same figure identical (and fresh figures built the same way still
    give identical bytes).
    """
    engine = fig.get_layout_engine()
    if engine is not None and type(engine).__name__ != "PlaceHolderLayoutEngine":
        with matplotlib.rc_context(_RC):
            fig.draw_without_rendering()
        fig.set_layout_engine("none")


def figure_bytes(fig: Figure, fmt: str, dpi: int = 150) -> bytes:
    """Render ``fig`` to PNG or SVG bytes, without metadata that changes between runs."""
    metadata: dict[str, str | None]
    if fmt == "png":
        metadata = {"Software": None}
    elif fmt == "svg":
        metadata = {"Date": None, "Creator": None}
    else:
        raise ValueError(f"unsupported figure format {fmt!r}; use 'png' or 'svg'")
    _freeze_layout(fig)
    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata, bbox_inches="tight")
    return buffer.getvalue()


def save_figure(fig: Figure, path_without_suffix: str | os.PathLike[str], dpi: int = 150) -> tuple[Path, Path]:
    """Write ``fig`` to ``<path>.png`` and ``<path>.svg`` (atomically; parents created).

    The only file-writing function for figures in rlbench. Saving the same figure twice gives
    byte-identical files. Returns the two paths.
    """
    base = str(path_without_suffix)
    png = write_bytes_atomic(Path(base + ".png"), figure_bytes(fig, "png", dpi))
    svg = write_bytes_atomic(Path(base + ".svg"), figure_bytes(fig, "svg", dpi))
    return png, svg
