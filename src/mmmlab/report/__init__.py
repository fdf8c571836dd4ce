"""The technical validation report, built from a saved trace alone.

:mod:`.model` holds the report's objects, :mod:`.context` what every section reads, the sections
live in :mod:`.fit_checks` (how the fit was made and whether it can be trusted), :mod:`.media_effects`
(what it says about the media) and :mod:`.truth` (against the truth, and its limits);
:mod:`.headline` is the verdict that opens the page (convergence, what the data inform, the truth),
:mod:`.words` the names and one-line explanations the reader sees, :mod:`.numbers` the one way
numbers are written; :mod:`.build` assembles them and :mod:`.html` renders the page.
"""

from mmmlab.report.build import build_report, read_fit_tables
from mmmlab.report.html import png_bytes, render

__all__ = ["build_report", "png_bytes", "read_fit_tables", "render"]
