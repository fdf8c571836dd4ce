"""The report as one self-contained HTML page: figures embedded as base64 PNG, tables as HTML.

No scripts, no external files, fonts or styles: the page reads offline from anywhere.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmmlab.diagnostics import Verdict
from mmmlab.report.headline import Headline
from mmmlab.report.model import Block, Report
from mmmlab.report.numbers import column, number
from mmmlab.report.words import gate_sentence

DPI = 100
MAX_TABLE_ROWS = 60  # longer tables are cut in the page (the CSV holds every row)
HEADINGS = {"r_hat": "R-hat", "ess_bulk": "bulk ESS", "ess_tail": "tail ESS"}  # the page's names of CSV columns

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1.5em 2em 4em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .3em; }
h2 { margin-top: 2.2em; border-bottom: 1px solid #bbb; padding-bottom: .2em; }
nav ol { columns: 2; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .86em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f0f0f0; }
td.text, th { text-align: left; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .3em 0; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
.verdict { font-size: 1.2em; font-weight: 700; padding: .5em .8em; border-radius: 4px; display: inline-block; }
.passed { background: #e3f4e3; color: #1b5e20; border: 1px solid #1b5e20; }
.failed { background: #fde2e1; color: #b71c1c; border: 1px solid #b71c1c; }
.headline { font-size: 1.15em; font-weight: 600; padding: .7em 1em; border-radius: 4px; margin: 1em 0 .4em; }
.headline p { margin: 0; }
.headline.green { background: #e3f4e3; color: #1b5e20; border: 1px solid #1b5e20; border-left-width: 8px; }
.headline.amber { background: #fff4dc; color: #7a4b00; border: 1px solid #c77c00; border-left-width: 8px; }
.headline.red { background: #fde2e1; color: #b71c1c; border: 1px solid #b71c1c; border-left-width: 8px; }
.explain { color: #444; font-size: .9em; margin: .2em 0 .8em; padding-left: 1.2em; }
.explain li { margin: .1em 0; }
.formula { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f7f7f7; padding: .15em .4em; white-space: normal; word-break: break-word; }
.note { color: #555; font-size: .9em; }
.cut { color: #777; font-size: .85em; }
"""


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes (rendered once: the same bytes go to the page and to the PNG file).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        Rendered at ``DPI`` with a tight bounding box; left open.

    Returns
    -------
    bytes
        The PNG file's content.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def render(report: Report, images: dict[str, bytes]) -> str:
    """The whole page: the opening verdict (or, without one, the convergence verdict), notes, contents, then
    every section's blocks in order.

    Parameters
    ----------
    report : Report
        The built report; its tables are looked up by the names its table blocks carry.
    images : dict of str to bytes
        Each figure's PNG bytes (:func:`png_bytes`) by figure name, embedded as base64.

    Returns
    -------
    str
        A self-contained HTML document (tables longer than ``MAX_TABLE_ROWS`` are cut, with a
        pointer to their CSV).
    """
    e = html.escape
    toc = "".join(f'<li><a href="#{e(p.anchor)}">{e(p.title)}</a></li>' for p in report.parts)
    verdict = _verdict(report.verdict) if report.headline is None else _headline(report.headline, report.explanations)
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in report.notes)
    body = []
    for part in report.parts:
        body.append(f'<section id="{e(part.anchor)}"><h2>{e(part.title)}</h2>')
        body += [_block(block, report, images) for block in part.blocks]
        body.append("</section>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{e(report.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{e(report.title)}</h1>{verdict}{notes}<nav><h3>Contents</h3><ol>{toc}</ol></nav>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _verdict(verdict: Verdict) -> str:
    kind = "passed" if verdict.passed else "failed"
    return f'<p><span class="verdict {kind}">Convergence {kind.upper()}</span></p>'


def _headline(headline: Headline, explanations: list[str]) -> str:
    """The opening verdict in its colour, then one line per statistic it names."""
    e = html.escape
    box = (f'<div class="headline {e(headline.level)}" id="headline" data-level="{e(headline.level)}">'
           f"<p>{e(headline.text)}</p></div>")
    lines = "".join(f"<li>{e(text)}</li>" for text in explanations)
    return box + (f'<ul class="explain">{lines}</ul>' if lines else "")


def _block(block: Block, report: Report, images: dict[str, bytes]) -> str:
    e = html.escape
    if block.kind == "text":
        return f"<p>{e(block.content)}</p>"
    if block.kind == "list":
        return "<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.content) + "</ul>"
    if block.kind == "verdict":
        lines = "".join(f"<li>{e(gate_sentence(c))}</li>" for c in block.content.checks)
        return _verdict(block.content) + f"<ul>{lines}</ul>"
    if block.kind == "link":
        return f'<p>{e(block.caption)} <a href="{e(block.content)}">{e(block.content)}</a></p>'
    if block.kind == "formula":
        rows = "".join(f'<tr><td class="text">{e(name)}</td><td class="text formula">{e(text)}</td></tr>'
                       for name, text in block.content)
        return f"<table><caption>{e(block.caption)}</caption>{rows}</table>"
    if block.kind == "table":
        table = report.tables[block.content]
        return _table(table if block.columns is None else table[list(block.columns)], block.caption, block.content)
    if block.kind == "figure":
        data = base64.b64encode(images[block.content]).decode("ascii")
        return (f'<figure id="fig-{e(block.content)}"><img alt="{e(block.caption or block.content)}" '
                f'src="data:image/png;base64,{data}"><figcaption>{e(block.caption)} '
                f"(figures/{e(block.content)}.png)</figcaption></figure>")
    raise ValueError(f"unknown block kind {block.kind!r}")


def _table(table: pd.DataFrame, caption: str, name: str) -> str:
    """An HTML table: numbers right-aligned and written alike per column (:func:`mmmlab.report.numbers.column`),
    booleans as yes/no, text escaped and left-aligned."""
    e = html.escape
    shown = table.head(MAX_TABLE_ROWS)
    head = "".join(f"<th>{e(HEADINGS.get(str(heading), str(heading)))}</th>" for heading in shown.columns)
    cells = [_cells(shown.iloc[:, j]) for j in range(shown.shape[1])]
    rows = ["<tr>" + "".join(col[i] for col in cells) + "</tr>" for i in range(len(shown))]
    text = f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if len(table) > len(shown):
        text += f'<p class="cut">First {len(shown)} of {len(table)} rows; all rows in tables/{e(name)}.csv</p>'
    return text


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _missing(value) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))


def _cells(values: pd.Series) -> list[str]:
    """One column's ``<td>`` cells: a numeric column (missing cells allowed) formatted as one."""
    e = html.escape
    items = list(values)
    if any(_is_number(v) and not _missing(v) for v in items) and all(_is_number(v) or _missing(v) for v in items):
        return [f"<td>{text}</td>" for text in column([None if _missing(v) else v for v in items])]
    out = []
    for value in items:
        if _missing(value):
            out.append('<td class="text"></td>')
        elif isinstance(value, (bool, np.bool_)):
            out.append(f'<td class="text">{"yes" if value else "no"}</td>')
        elif _is_number(value):
            out.append(f"<td>{number(value)}</td>")
        else:
            out.append(f'<td class="text">{e(str(value))}</td>')
    return out
