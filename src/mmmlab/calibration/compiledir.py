"""A PyTensor compile folder per worker process, set before pytensor is imported (this module imports none of it).

PyTensor's compile lock and Numba's file cache are not safe with several processes compiling into one
folder. Each worker takes a reusable slot, so the next run's workers find their caches warm. The
rewritten graphs (:mod:`mmmlab.rewrite_cache`, written whole by one rename) are shared by the slots.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import sys
from pathlib import Path
from typing import IO

from mmmlab.rewrite_cache import FOLDER_ENV

FLAGS = "PYTENSOR_FLAGS"

_slot: tuple[Path, IO] | None = None  # this process's compile folder and its lock, held until the process exits


def worker_compiledir(base: Path) -> Path:
    """Give this process a PyTensor compile folder of its own under ``base``; call it before pytensor is imported.

    Takes the first free slot ``base/worker-<i>``: an exclusive lock on ``base/worker-<i>.lock``,
    held until the process exits, keeps other live processes out of it, while the next run's
    workers reuse the slots and their warm caches (a cold Numba cache adds about 20 s to the first
    compile). Sets ``base_compiledir`` in ``PYTENSOR_FLAGS``, which moves both PyTensor's compile
    folder and Numba's cache (``<base_compiledir>/numba``); an earlier ``compiledir`` or
    ``base_compiledir`` there is dropped. The rewritten graphs go to ``base/rewrites``, shared by the
    slots, unless ``$MMMLAB_REWRITES_DIR`` names a folder. A second call in the same process returns
    the same folder.

    Call it first thing in each worker process (a Dask worker plugin's ``setup``, or
    ``client.run``), before anything imports pytensor, pymc or pymc-marketing. POSIX only (flock).

    Parameters
    ----------
    base : pathlib.Path
        Folder of the slots (created if missing).

    Returns
    -------
    pathlib.Path
        This process's ``base_compiledir``.

    Raises
    ------
    RuntimeError
        pytensor was already imported with another compile folder, or this process already took
        a slot under another ``base``.
    """
    global _slot
    base = Path(base).resolve()
    if _slot is None:
        base.mkdir(parents=True, exist_ok=True)
        for i in itertools.count():
            lock = open(base / f"worker-{i}.lock", "a")  # noqa: SIM115 - held open while the process lives
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            _slot = (base / f"worker-{i}", lock)
            break
    folder = _slot[0]
    if folder.parent != base:
        raise RuntimeError(f"this process already compiles in {folder}, not under {base}")
    kept = [f for f in os.environ.get(FLAGS, "").split(",")
            if f.strip() and f.split("=")[0].strip() not in ("compiledir", "base_compiledir")]
    os.environ[FLAGS] = ",".join([*kept, f"base_compiledir={folder}"])
    os.environ.setdefault(FOLDER_ENV, str(base / "rewrites"))
    if "pytensor" in sys.modules:
        import pytensor

        if Path(pytensor.config.base_compiledir).resolve() != folder:
            raise RuntimeError(f"pytensor was imported before worker_compiledir and compiles in "
                               f"{pytensor.config.base_compiledir}, not {folder}")
    return folder
