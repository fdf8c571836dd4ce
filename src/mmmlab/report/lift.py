"""The lift-tests section: each experiment's readout against the lift the model predicts for it."""

from __future__ import annotations

from mmmlab.plots import report as plots
from mmmlab.report.context import Context
from mmmlab.report.model import Part
from mmmlab.report.numbers import number

TABLE = "lift_tests"  # the fit stage's table (mmmlab.bayes.summaries.lift_table)


def has_lift_tests(c: Context) -> bool:
    """Whether the fit was calibrated by lift tests (its table is among the fit's tables)."""
    return TABLE in c.fit_tables


def lift_section(c: Context) -> Part:
    """Readouts, predicted lifts under the prior and the posterior, and how far each interval narrowed."""
    part = Part("lift_tests", "Lift tests")
    table = c.fit_tables[TABLE].copy()
    table["channel_index"] = [c.channels.index(str(ch)) for ch in table["channel"]]
    part.text(f"Each lift test entered the fit as a likelihood term: its readout against the lift the model predicts "
              "for it (the channel's contribution with the observed spend minus that without the test's extra spend, "
              f"through the model's adstock and saturation, over the periods the readout covers). The bars are the "
              f"{c.pct} HDIs of that predicted lift under the prior and the posterior; narrowing is 1 - posterior "
              "width / prior width.")
    c.add_figure(part, "lift_tests", plots.lift_tests(table, c.prob, c.unit),
                 "Readouts (black, ± 1.96 se), prior (grey) and posterior predicted lift")
    shown = table[["lift_test", "measured", "se", "prior_mean", "posterior_mean", "posterior_lower", "posterior_upper",
                   "narrowing"]]
    c.add_table(part, TABLE, shown, f"Measured and predicted lift ({c.unit}; {c.pct} HDI)")
    far = [f"{r.lift_test} (readout {number(r.measured)}, predicted {number(r.posterior_mean)})"
           for r in table.itertuples(index=False) if not r.posterior_lower - 2 * r.se <= r.measured
           <= r.posterior_upper + 2 * r.se]
    part.text("Every readout lies within two standard errors of the posterior's predicted lift." if not far else
              "Readouts the posterior does not reproduce (more than two standard errors outside its HDI): "
              + "; ".join(far) + ". The test and the rest of the data disagree: check the test's window and spend, "
              "or the model's form.")
    part.text("How much the tests narrowed each channel's intervals against a fit without them is measured by the "
              "calibration study's arms (README, Calibration studies), not from this one trace.")
    return part
