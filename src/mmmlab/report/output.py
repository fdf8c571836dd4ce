"""A built report on disk: its figures rendered once, then page, PNGs, CSVs and metrics replacing the old folder together."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from mmmlab.files import OutputSet, write_json, write_text
from mmmlab.report.html import png_bytes
from mmmlab.report.model import Report


def render_figures(report: Report) -> dict[str, bytes]:
    """Every figure as PNG bytes (the figures are closed afterwards).

    Parameters
    ----------
    report : Report
        The built report.

    Returns
    -------
    dict of str to bytes
        PNG bytes by figure name: the same bytes go into the page and the PNG files.
    """
    images = {}
    for name, figure in report.figures.items():
        images[name] = png_bytes(figure)
        plt.close(figure)
    return images


def write_report(folder: Path, page: str, images: dict[str, bytes], report: Report) -> None:
    """Write the report into a staging folder, then put it in place of ``folder`` in one step.

    Through :class:`mmmlab.files.OutputSet`, like every stage's outputs: an error or an interrupt
    while writing leaves the previous report whole.

    Parameters
    ----------
    folder : pathlib.Path
        The report's folder (``reports/validation``).
    page : str
        ``index.html``.
    images : dict of str to bytes
        PNG bytes by figure name, written as ``figures/<name>.png``.
    report : Report
        Its tables are written as ``tables/<name>.csv`` and its metrics as ``metrics.json``.
    """
    with OutputSet([folder]) as out:
        staging = out.path(folder)
        for name, data in images.items():
            (staging / "figures").mkdir(parents=True, exist_ok=True)
            (staging / "figures" / f"{name}.png").write_bytes(data)
        for name, table in report.tables.items():
            (staging / "tables").mkdir(parents=True, exist_ok=True)
            table.to_csv(staging / "tables" / f"{name}.csv", index=False)
        write_json(staging / "metrics.json", report.metrics)
        write_text(staging / "index.html", page)
        out.commit()
