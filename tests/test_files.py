"""Atomic writes: a stage's table and figure folders, and a stage's outputs replaced together or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
from matplotlib.figure import Figure

from mmmlab import interrupts
from mmmlab.errors import Interrupted
from mmmlab.files import STAGING, OutputSet, remove_leftovers, write_figures, write_json, write_tables


def test_write_tables_replaces_and_removes_a_previous_runs_tables(tmp_path):
    folder = tmp_path / "tables"
    write_tables(folder, {"a": pd.DataFrame({"x": [1]}), "old": pd.DataFrame({"y": [2]})})
    (folder / "notes.txt").write_text("kept")
    write_tables(folder, {"a": pd.DataFrame({"x": [3]}), "b": pd.DataFrame({"z": [4]})})
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv", "b.csv", "notes.txt"]  # only CSVs are ours
    assert (folder / "a.csv").read_text() == "x\n3\n"  # no index column


def test_write_figures_removes_a_previous_runs_figures(tmp_path):
    folder = tmp_path / "figures"
    write_figures(folder, {"one": Figure(), "two": Figure()})
    write_figures(folder, {"one": Figure()})
    assert [p.name for p in folder.iterdir()] == ["one.png"]


# --------------------------------------------------------------------------- a stage's output set

def _paths(root):
    """A file and a folder in one place, a file in another: the shape of a stage's outputs."""
    return root / "data" / "a.csv", root / "reports" / "tables", root / "reports" / "metrics.json"


def _write(out, paths, tag: str) -> None:
    csv, tables, metrics = paths
    out.path(csv).write_text(f"a {tag}\n")
    out.path(tables).mkdir()
    (out.path(tables) / "t.csv").write_text(f"t {tag}\n")
    (out.path(tables) / f"only_{tag}.csv").write_text(tag)
    write_json(out.path(metrics), {"tag": tag})


def _files(root) -> dict[str, bytes]:
    """Every file under root with its bytes, hidden staging leftovers included."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def previous(tmp_path):
    """Outputs of an earlier run (tag "old"), and a snapshot of every file."""
    paths = _paths(tmp_path)
    with OutputSet(paths) as out:
        _write(out, paths, "old")
        out.commit()
    return paths, _files(tmp_path)


def test_commit_replaces_every_output_and_leaves_nothing_else(tmp_path, previous):
    paths, _ = previous
    with OutputSet(paths) as out:
        _write(out, paths, "new")
        out.commit()
    assert _files(tmp_path) == {
        "data/a.csv": b"a new\n",
        "reports/metrics.json": b'{\n  "tag": "new"\n}\n',
        "reports/tables/only_new.csv": b"new",  # the folder is replaced whole: only_old.csv is gone
        "reports/tables/t.csv": b"t new\n",
    }
    assert not list(tmp_path.rglob(f"*.{STAGING}"))
    umask = os.umask(0)
    os.umask(umask)
    assert paths[0].stat().st_mode & 0o777 == 0o666 & ~umask  # what a plain open and mkdir give
    assert paths[1].stat().st_mode & 0o777 == 0o777 & ~umask


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), Interrupted(signal.SIGTERM)],
                         ids=["error", "ctrl-c", "sigterm"])
def test_an_error_while_writing_keeps_every_previous_output_byte_for_byte(tmp_path, previous, error):
    paths, before = previous
    with pytest.raises(type(error)), OutputSet(paths) as out:
        _write(out, paths, "new")
        raise error
    assert _files(tmp_path) == before  # and no staging folder left


def test_a_signal_that_a_library_swallowed_stops_the_commit(tmp_path, previous):
    paths, before = previous
    with interrupts.handled(), OutputSet(paths) as out:
        _write(out, paths, "new")
        try:  # nutpie, pymc's posterior predictive: they catch KeyboardInterrupt and return what they have
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass
        with pytest.raises(Interrupted):
            out.commit()
        assert interrupts.message() == "interrupted: previous outputs kept"
    assert _files(tmp_path) == before


@pytest.mark.parametrize("sender", ["this thread", "another thread"])
def test_a_signal_during_the_renames_comes_after_all_of_them(tmp_path, previous, monkeypatch, sender):
    """SIGTERM sent at the first rename: blocked in this thread, or (the kernel may pick any thread of the
    process) handled at once in the main thread, where the handler must only note it."""
    paths, _ = previous
    idle = threading.Event()
    helper = threading.Thread(target=idle.wait, args=(10,), daemon=True)  # a thread that does not block signals
    helper.start()
    rename, renames = os.replace, []

    def replace(source, target):
        if not renames:
            if sender == "this thread":
                signal.raise_signal(signal.SIGTERM)  # blocked here: it waits for the end of the commit
            else:
                seen = interrupts.mark()
                os.kill(os.getpid(), signal.SIGTERM)  # delivered to the helper thread, handled in this one
                deadline = time.monotonic() + 5
                while interrupts.mark() == seen and time.monotonic() < deadline:
                    time.sleep(0.001)
                assert interrupts.mark() > seen, "the handler did not run during the commit"
        renames.append(target)
        rename(source, target)

    try:
        with interrupts.handled(), OutputSet(paths) as out:
            _write(out, paths, "new")
            monkeypatch.setattr(os, "replace", replace)
            with pytest.raises(Interrupted) as caught:
                out.commit()
            monkeypatch.undo()
            assert caught.value.signum == signal.SIGTERM
            assert interrupts.message() == "interrupted: new outputs complete"
    finally:
        idle.set()
    assert len(renames) == 4  # the previous folder aside, then the three outputs in
    assert _files(tmp_path) == {
        "data/a.csv": b"a new\n",
        "reports/metrics.json": b'{\n  "tag": "new"\n}\n',
        "reports/tables/only_new.csv": b"new",
        "reports/tables/t.csv": b"t new\n",
    }


def test_an_output_never_written_is_an_error_and_nothing_moves(tmp_path, previous):
    paths, before = previous
    with pytest.raises(FileNotFoundError, match="metrics.json"), OutputSet(paths) as out:
        out.path(paths[0]).write_text("a new\n")
        out.path(paths[1]).mkdir()
        out.commit()
    assert _files(tmp_path) == before


def test_staging_folders_of_processes_that_are_gone_are_removed(tmp_path):
    output = tmp_path / "reports" / "tables"
    output.parent.mkdir()
    gone = subprocess_pid()
    leftovers = {pid: output.parent / f".tables.{pid}.{STAGING}" for pid in (gone, os.getpid(), os.getppid())}
    for folder in leftovers.values():
        (folder / "tables").mkdir(parents=True)
        (folder / "tables" / "x.csv").write_text("x")
    other = output.parent / f".tables.backup.{STAGING}"  # not a pid: not ours
    other.mkdir()
    with OutputSet([output]) as out:
        out.path(output).mkdir()
        out.commit()
    assert not leftovers[gone].exists() and not leftovers[os.getpid()].exists()
    assert leftovers[os.getppid()].exists() and other.exists()  # a running process's, and a stranger
    assert remove_leftovers(output) == []


def subprocess_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)
