"""The report's objects: sections made of blocks, and the report that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mmmlab.diagnostics import Verdict


# --------------------------------------------------------------------------- report objects
@dataclass(frozen=True)
class Block:
    """One piece of a section: ``kind`` is text, list, table, figure, verdict or formula.

    Attributes
    ----------
    kind : str
        ``"text"``, ``"list"``, ``"table"``, ``"figure"``, ``"verdict"`` or ``"formula"``.
    content : object
        The text; the list of items; the table's or figure's name in the :class:`Report`; the
        :class:`~mmmlab.diagnostics.Verdict`; or ``(name, formula)`` pairs.
    caption : str
        Shown with tables, figures and formulas.
    """

    kind: str
    content: Any
    caption: str = ""


@dataclass
class Part:
    """One numbered section of the report.

    Attributes
    ----------
    anchor : str
        The section's HTML id.
    title : str
        Its heading (:func:`~mmmlab.report.build_report` prefixes the number).
    blocks : list of Block
        Its content, in page order.
    """

    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def text(self, text: str) -> None:
        """Append a paragraph."""
        self.blocks.append(Block("text", text))

    def items(self, items: list[str]) -> None:
        """Append a bulleted list."""
        self.blocks.append(Block("list", list(items)))

    def table(self, name: str, caption: str = "") -> None:
        """Append a reference to the report's table ``name`` (see :meth:`~mmmlab.report.context.Context.add_table`)."""
        self.blocks.append(Block("table", name, caption))

    def figure(self, name: str, caption: str = "") -> None:
        """Append a reference to the report's figure ``name`` (see :meth:`~mmmlab.report.context.Context.add_figure`)."""
        self.blocks.append(Block("figure", name, caption))


@dataclass
class Report:
    """Everything the report shows, computed before anything is written.

    Attributes
    ----------
    title : str
        The page title.
    parts : list of Part
        The numbered sections.
    figures : dict of str to matplotlib.figure.Figure
        Every figure by name (written as ``figures/<name>.png``).
    tables : dict of str to pandas.DataFrame
        Every table by name (written as ``tables/<name>.csv``), including some only in CSV.
    verdict : Verdict
        The convergence gates' verdict.
    metrics : dict of str to float
        Headline numbers (``ppc.coverage``, ``share.<channel>`` ...), logged to MLflow.
    notes : list of str
        Lines shown under the title.
    """

    title: str
    parts: list[Part]
    figures: dict[str, Figure]
    tables: dict[str, pd.DataFrame]
    verdict: Verdict
    metrics: dict[str, float]
    notes: list[str] = field(default_factory=list)


