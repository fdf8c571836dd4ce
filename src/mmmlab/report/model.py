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
    """One piece of a section: ``kind`` is text, list, table, figure, verdict or formula."""

    kind: str
    content: Any
    caption: str = ""


@dataclass
class Part:
    """One numbered section of the report."""

    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def text(self, text: str) -> None:
        self.blocks.append(Block("text", text))

    def items(self, items: list[str]) -> None:
        self.blocks.append(Block("list", list(items)))

    def table(self, name: str, caption: str = "") -> None:
        self.blocks.append(Block("table", name, caption))

    def figure(self, name: str, caption: str = "") -> None:
        self.blocks.append(Block("figure", name, caption))


@dataclass
class Report:
    """Everything the report shows, computed before anything is written."""

    title: str
    parts: list[Part]
    figures: dict[str, Figure]
    tables: dict[str, pd.DataFrame]
    verdict: Verdict
    metrics: dict[str, float]
    notes: list[str] = field(default_factory=list)


