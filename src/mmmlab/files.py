"""Writes that never leave a half-written file, and a stage's outputs replaced together or not at all.

Single files: write to a temporary sibling, then ``os.replace`` (:func:`atomic_path` and the
writers built on it). A stage's outputs: :class:`OutputSet` stages every one of them beside its
place and moves them all in at the end, with SIGINT and SIGTERM held back meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from mmmlab import interrupts

STAGING = "staging"  # a staging folder is "<parent>/.<output name>.<pid>.staging"


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
    Path(folder).mkdir(parents=True, exist_ok=True)  # even for no tables: the folder is an output
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
    Path(folder).mkdir(parents=True, exist_ok=True)  # even for no figures: the folder is an output
    paths = {Path(folder) / f"{name}.png": figure for name, figure in figures.items()}
    for path, figure in paths.items():
        write_figure(path, figure)
    _remove_others(folder, "*.png", paths)


def _remove_others(folder: str | Path, pattern: str, keep) -> None:
    for stale in set(Path(folder).glob(pattern)) - set(keep):
        stale.unlink()


class OutputSet:
    """A stage's outputs (files and folders), replaced together or not at all.

    Each output is written into its own staging folder beside it (same folder, so the same file
    system and a rename moves it): :meth:`path` says where. :meth:`commit` then moves every staged
    output into place; leaving the ``with`` block removes the staging folders (and the previous
    versions of replaced folders). Without a commit (an error, an interrupt) the previous outputs
    stay byte for byte as they were.

    Usage::

        with OutputSet([csv, truth]) as out:
            frame.to_csv(out.path(csv))
            write_json(out.path(truth), data)
            out.commit()

    The commit runs inside :func:`mmmlab.interrupts.deferred`: SIGINT and SIGTERM are held back
    until every rename is done, so an interrupt leaves all the previous outputs or all the new
    ones. It refuses to start when a signal has arrived since the set was opened (one that a
    library swallowed included): partial results are never committed.

    The one gap is SIGKILL (or a crash, or a power cut) during the renames themselves: it can
    leave some outputs new, others previous, and a folder missing. The window is kept as small as
    it can be: all work that can fail or take time comes before it (the new files are on disk,
    with ``fsync``, and each previous file gets a second hard link, so that the rename over it
    frees no blocks); in it there is only one rename per output, plus one per previous folder
    (a folder cannot be renamed over a non-empty one, so it is first renamed aside), one after
    the other. For the fit's trace, tables folder and verdict that is four renames, about 0.1 ms
    in all on ext4 (10 ms without the flush and the link). The previous versions are deleted
    after the window. The staging folders of a killed process are removed by the next set opened
    on the same outputs.
    """

    def __init__(self, outputs: Iterable[str | Path]):
        """
        Parameters
        ----------
        outputs : iterable of str or pathlib.Path
            Every file and folder the stage writes; relative paths are taken from the working
            directory (pass them through :func:`mmmlab.config.resolve`).
        """
        self.outputs = [Path(os.path.abspath(p)) for p in outputs]
        if len(set(self.outputs)) != len(self.outputs):
            raise ValueError(f"an output is listed twice: {self.outputs}")
        self._staging = {p: p.parent / f".{p.name}.{os.getpid()}.{STAGING}" for p in self.outputs}
        self._mark = 0
        self.committed = False

    def __enter__(self) -> Self:
        self._mark = interrupts.mark()
        interrupts.note_replaced(False)
        try:
            for output, staging in self._staging.items():
                output.parent.mkdir(parents=True, exist_ok=True)
                remove_leftovers(output)
                staging.mkdir()  # the mode a plain mkdir gives: the folders moved in keep it
        except BaseException:
            self._clean()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._clean()

    def path(self, output: str | Path) -> Path:
        """Where to write ``output`` (its name, inside its staging folder).

        Parameters
        ----------
        output : str or pathlib.Path
            One of the set's outputs.

        Returns
        -------
        pathlib.Path
            Not created: write a file there, or create a folder.
        """
        output = Path(os.path.abspath(output))
        if output not in self._staging:
            raise KeyError(f"{output} is not one of this set's outputs")
        return self._staging[output] / output.name

    def commit(self) -> None:
        """Move every staged output into place, with SIGINT and SIGTERM held back.

        Raises
        ------
        FileNotFoundError
            An output was never written; nothing is replaced.
        Interrupted
            A signal arrived since the set was opened (nothing is replaced), or during the renames
            (raised once they are all done: the new outputs are in place).
        """
        missing = [str(p) for p in self.outputs if not os.path.lexists(self.path(p))]
        if missing:
            raise FileNotFoundError(f"outputs never written: {', '.join(missing)}")
        for output in self.outputs:
            _flush(self.path(output))
            if os.path.isfile(output) and not os.path.islink(output):
                with contextlib.suppress(OSError):  # a second link: the rename over it then frees no blocks
                    os.link(output, self._staging[output] / f"{output.name}.previous")
        with interrupts.deferred():
            interrupts.check(self._mark)  # a swallowed signal still stops the commit
            # a folder cannot be renamed over anything, nor anything over a non-empty folder
            aside = [p for p in self.outputs if os.path.lexists(p) and (_is_folder(p) or _is_folder(self.path(p)))]
            for output in aside:
                os.replace(output, self._staging[output] / f"{output.name}.previous")
            for output in self.outputs:
                os.replace(self.path(output), output)
            self.committed = True
            interrupts.note_replaced(True)

    def _clean(self) -> None:
        for staging in self._staging.values():
            shutil.rmtree(staging, ignore_errors=True)


def _flush(path: Path) -> None:
    """Put the file, or every file in the folder, on disk.

    Before the renames, not during them: a rename over an existing file makes the file system
    write the new file's data first (ext4 does, for a trace tens of milliseconds), which would
    stretch the window the renames leave to a SIGKILL; and after a crash the new outputs are whole.
    """
    files = [path] if not _is_folder(path) else [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    for file in files:
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def remove_leftovers(output: str | Path) -> list[Path]:
    """Remove the staging folders of ``output`` left by processes that no longer run (killed, or this one's pid).

    Parameters
    ----------
    output : str or pathlib.Path
        An output of an :class:`OutputSet`.

    Returns
    -------
    list of pathlib.Path
        The folders removed.
    """
    output = Path(output)
    removed = []
    for staging in output.parent.glob(f".{output.name}.*.{STAGING}"):
        pid = staging.name[len(output.name) + 2 : -len(STAGING) - 1]
        if pid.isdigit() and (int(pid) == os.getpid() or not _running(int(pid))):
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
