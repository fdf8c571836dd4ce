"""Atomic writes of a stage's table and figure folders: what a run does not write again is removed."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from mmmlab.files import write_figures, write_tables


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
