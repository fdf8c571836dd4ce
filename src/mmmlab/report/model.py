"""The report's objects: sections made of blocks, and the report that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mmmlab.diagnostics import Verdict
from mmmlab.report.headline import Headline


# --------------------------------------------------------------------------- report objects
@dataclass(frozen=True)
class Block:
    """One piece of a section: ``kind`` is text, list, table, figure, verdict, formula or link.

    Attributes
    ----------
    kind : str
        ``"text"``, ``"list"``, ``"table"``, ``"figure"``, ``"verdict"``, ``"formula"`` or ``"link"``.
    content : object
        The text; the list of items; the table's or figure's name in the :class:`Report`; the
        :class:`~mmmlab.diagnostics.Verdict`; ``(name, formula)`` pairs; or, for a link, the
        path of a file the report writes (``tables/<name>.csv``).
    caption : str
        Shown with tables, figures and formulas; a link's sentence (the path follows it).
    columns : tuple of str, optional
        For a table: the columns the page shows (None: all); its CSV keeps every column.
    """

    kind: str
    content: Any
    caption: str = ""
    columns: tuple[str, ...] | None = None


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

    def table(self, name: str, caption: str = "", columns: tuple[str, ...] | None = None) -> None:
        """Append a reference to the report's table ``name`` (see :meth:`~mmmlab.report.context.Context.add_table`),
        showing ``columns`` of it (None: all)."""
        self.blocks.append(Block("table", name, caption, None if columns is None else tuple(columns)))

    def link(self, path: str, sentence: str) -> None:
        """Append ``sentence`` followed by a link to ``path``, a file of the report (``tables/<name>.csv``)."""
        self.blocks.append(Block("link", path, sentence))

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
    verdict : Verdict or None
        The convergence gates' verdict (None for a page about many fits, which opens with its headline).
    metrics : dict of str to float
        Headline numbers (``headline.level``, ``ppc.coverage``, ``share.<channel>`` ...), logged to MLflow.
    notes : list of str
        Lines shown under the title.
    headline : Headline, optional
        The opening verdict (convergence, what the data inform, the truth); None: the page opens
        with the convergence verdict alone.
    explanations : list of str
        One-line explanations of the statistics the headline names, shown right under it.
    """

    title: str
    parts: list[Part]
    figures: dict[str, Figure]
    tables: dict[str, pd.DataFrame]
    verdict: Verdict | None
    metrics: dict[str, float]
    notes: list[str] = field(default_factory=list)
    headline: Headline | None = None
    explanations: list[str] = field(default_factory=list)


