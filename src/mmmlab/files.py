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


def write_tables(folder: str | Path, tables: dict) -> None:
    """Write each table as ``<name>.csv`` without its index, atomically; then remove the folder's other CSVs.

    Parameters
    ----------
    folder : str or pathlib.Path
        Created if missing; a CSV in it that ``tables`` does not name is a previous run's, and goes.
    tables : dict of str to pandas.DataFrame
        By file name without ``.csv``.
    """
    paths = {Path(folder) / f"{name}.csv": table for name, table in tables.items()}
    for path, table in paths.items():
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
    _remove_others(folder, "*.csv", paths)


def write_figures(folder: str | Path, figures: dict) -> None:
    """Write each figure as ``<name>.png`` (:func:`write_figure`); then remove the folder's other PNGs.

    Parameters
    ----------
    folder : str or pathlib.Path
        Created if missing; a PNG in it that ``figures`` does not name is a previous run's, and goes.
    figures : dict of str to matplotlib.figure.Figure
        By file name without ``.png``.
    """
    paths = {Path(folder) / f"{name}.png": figure for name, figure in figures.items()}
    for path, figure in paths.items():
        write_figure(path, figure)
    _remove_others(folder, "*.png", paths)


def _remove_others(folder: str | Path, pattern: str, keep) -> None:
    for stale in set(Path(folder).glob(pattern)) - set(keep):
        stale.unlink()
