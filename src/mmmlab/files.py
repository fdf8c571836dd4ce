"""Writes that never leave a half-written file: write to a temporary sibling, then ``os.replace``."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    The temporary file sits in the same folder so that ``os.replace`` is a rename on one file
    system (atomic); it gets the permissions a plain ``open`` would give (``0o666`` less the
    umask) instead of ``mkstemp``'s owner-only ones.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to write; its parent folders are created.

    Yields
    ------
    pathlib.Path
        The temporary file to write into (it exists, empty).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to (re)place; its parent folders are created.
    text : str
        The whole content.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, data) -> None:
    """Indented, key-ordered-as-given JSON, written atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to (re)place; its parent folders are created.
    data : object
        Anything ``json.dumps`` accepts; NaN and infinities are written as ``NaN``/``Infinity``.
    """
    write_text(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


def write_figure(path: str | Path, figure) -> None:
    """Save a matplotlib Figure as PNG atomically and close it.

    Parameters
    ----------
    path : str or pathlib.Path
        The PNG file to (re)place; its parent folders are created.
    figure : matplotlib.figure.Figure
        Saved at 100 dpi with a tight bounding box, then closed.
    """
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
