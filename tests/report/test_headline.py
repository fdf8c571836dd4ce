"""The report's opening verdict, its number formatting and the names it shows: pure functions, no MCMC.

Every expected value is worked out by hand in the test (the binomial tails are quoted with their
sums), so a flipped comparison in the code fails a test.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import matplotlib.colors
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mmmlab.diagnostics import GateCheck, Verdict
from mmmlab.report.headline import Headline, TruthCoverage, coverage_falls_short, headline
from mmmlab.report.numbers import column, number
from mmmlab.report.words import gate_sentence, label, parameter_name, summary_label

PASSED = (
    GateCheck("max_r_hat", 1.003, 1.01, "<", True),
    GateCheck("min_ess_bulk", 1113.7, 400.0, ">", True),
    GateCheck("min_ess_tail", 1315.0, 400.0, ">", True),
    GateCheck("divergences", 0, 0, "<=", True),
    GateCheck("min_bfmi", 0.75, 0.3, ">", True),
)
LOW_ESS = GateCheck("min_ess_bulk", 150.0, 400.0, ">", False)


def with_gate(gate: GateCheck) -> tuple[GateCheck, ...]:
    return tuple(gate if g.name == gate.name else g for g in PASSED)


# --------------------------------------------------------------------------- the verdict
def test_converged_but_nothing_informed_is_amber_with_the_exact_sentence():
    h = headline(PASSED, informed=0, channel_parameters=16, truth=None, prob=0.94)
    assert h.level == "amber"
    assert h.text == ("Sampler converged. The data inform 0 of 16 channel parameters: "
                      "the channel effects below are mostly the prior.")
    assert h.terms == ("informed",)
    assert h.metrics == {"headline.converged": 1.0, "headline.channel_parameters": 16.0,
                         "headline.informed_channel_parameters": 0.0, "headline.level": 1.0}


def test_half_informed_is_green_and_one_fewer_is_amber():
    # "fewer than half" is 2 * informed < total: 8 of 16 is half (green), 7 of 16 is fewer (amber)
    eight = headline(PASSED, 8, 16, None, 0.94)
    assert eight.level == "green"
    assert eight.text == ("Sampler converged. The data inform 8 of 16 channel parameters; "
                          "the other 8 are mostly the prior.")
    assert eight.metrics["headline.level"] == 0.0
    seven = headline(PASSED, 7, 16, None, 0.94)
    assert seven.level == "amber"
    assert seven.sentences[1] == "The data inform 7 of 16 channel parameters: the channel effects below are mostly the prior."


def test_everything_informed_is_green():
    h = headline(PASSED, 16, 16, None, 0.94)
    assert (h.level, h.text) == ("green", "Sampler converged. The data inform all 16 channel parameters.")


def test_a_failed_gate_is_red_whatever_the_rest():
    perfect_truth = TruthCoverage(covered=16, compared=16)
    h = headline(with_gate(LOW_ESS), 16, 16, perfect_truth, 0.94)
    assert h.level == "red"
    assert h.sentences[0] == "Sampler did not converge: bulk ESS 150 (must be above 400)."
    assert "nothing below can be trusted" in h.text and "inform all" not in h.text
    assert h.terms == ("ESS",)
    assert h.metrics["headline.level"] == 2.0 and h.metrics["headline.converged"] == 0.0
    # the parts are still in the metrics
    assert h.metrics["headline.informed_channel_parameters"] == 16.0 and h.metrics["headline.truth_covered"] == 16.0


def test_a_gate_missing_from_the_trace_is_red_and_said_so():
    missing = GateCheck("min_bfmi", float("nan"), 0.3, ">", False)
    h = headline(with_gate(missing), 0, 16, None, 0.94)
    assert h.level == "red"
    assert h.sentences[0] == "Sampler did not converge: BFMI missing from the trace."
    assert h.terms == ("BFMI",)


def test_unknown_information_is_amber():
    h = headline(PASSED, None, 16, None, 0.94)
    assert h.level == "amber"
    assert "no prior draws" in h.text
    assert "headline.informed_channel_parameters" not in h.metrics


def test_coverage_falls_short_only_beyond_chance():
    # Binomial(16, 0.94): P(X <= 12) = sum_k<=12 C(16,k) .94^k .06^(16-k)
    #   k=12: 1820 * .94^12 * .06^4 = 0.01123;  k=11: 0.00172;  k=10: 0.00020  -> 0.0132 < 0.05: short
    # P(X <= 13) = 0.0132 + 560 * .94^13 * .06^3 (= 0.0541) = 0.0673 >= 0.05: not short
    assert coverage_falls_short(12, 16, 0.94)
    assert not coverage_falls_short(13, 16, 0.94)
    assert not coverage_falls_short(16, 16, 0.94)
    assert not coverage_falls_short(0, 0, 0.94)


def test_truth_coverage_within_chance_stays_green_and_names_the_misses():
    truth = TruthCoverage(covered=15, compared=16, outside=("decay (TV)",))
    h = headline(PASSED, 16, 16, truth, 0.94)
    assert h.level == "green"
    assert h.sentences[-1] == ("The true value lies inside the 94% HDI for 15 of 16 channel parameters, "
                               "within what chance allows; outside: decay (TV).")
    assert h.terms == ("informed", "HDI")
    assert h.metrics["headline.truth_short"] == 0.0


def test_truth_coverage_short_of_chance_is_amber():
    outside = ("decay (TV)", "decay (Print)", "k (TV)", "alpha (Radio)")
    short = headline(PASSED, 16, 16, TruthCoverage(12, 16, outside), 0.94)
    assert short.level == "amber"
    assert short.sentences[-1].endswith("fewer than chance allows; outside: decay (TV), decay (Print), k (TV), alpha (Radio).")
    assert short.metrics["headline.truth_short"] == 1.0
    assert headline(PASSED, 16, 16, TruthCoverage(13, 16, outside[:3]), 0.94).level == "green"


def test_full_truth_coverage_sentence():
    h = headline(PASSED, 0, 16, TruthCoverage(16, 16), 0.9)
    assert h.sentences[-1] == "The true value lies inside the 90% HDI for 16 of 16 channel parameters."
    assert h.level == "amber"  # still mostly prior


# --------------------------------------------------------------------------- the verdict from a report's context
def test_opening_verdict_counts_channel_rows_and_reads_csv_booleans():
    from mmmlab.report.build import opening_verdict

    contraction = pd.DataFrame({
        "parameter": ["decay", "decay", "alpha", "alpha", "intercept_contribution"],
        "channel": ["TV", "Radio", "TV", "Radio", None],
        "contraction": [0.1, 0.7, 0.2, 0.2, 0.9],
        "prior_dominated": [True, False, True, True, False],
    })
    truth = pd.DataFrame({  # read back from CSV: a column with an empty cell holds text
        "channel": ["TV", "Radio", "TV", "Radio"], "parameter": ["decay", "decay", "alpha", "alpha"],
        "true": [0.8, 0.5, 2.0, 3.0], "covered": ["False", "True", "True", np.nan],
    })
    context = SimpleNamespace(verdict=Verdict(PASSED), contraction=contraction, prob=0.94, channels=["TV", "Radio"],
                              posterior_params=xr.Dataset(), truth_tables={"parameters_vs_truth": truth})
    h = opening_verdict(context)
    # 4 channel rows (the intercept is not one), 1 of them informed: 2 * 1 < 4 -> amber
    assert h.level == "amber"
    assert h.sentences[1] == "The data inform 1 of 4 channel parameters: the channel effects below are mostly the prior."
    # covered: False, True, True and one empty (no interval): 2 of 3 compared
    assert h.metrics["headline.truth_covered"] == 2.0 and h.metrics["headline.truth_compared"] == 3.0
    assert h.sentences[2].endswith("outside: decay (TV).")


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(("value", "text"), [
    (1419225.38113189, "1,419,225"),
    (1113.7264941539786, "1,114"),
    (3.003923441376827e-05, "0.00003004"),
    (0.40157741724764895, "0.4016"),
    (1.0031814894782884, "1.003"),
    (0.8, "0.8"),
    (400.0, "400"),
    (123.456, "123.5"),
    (999.96, "1,000"),
    (-0.2336, "-0.2336"),
    (0, "0"),
    (3.2e-08, "3.2e-08"),  # truly tiny: scientific
    (float("nan"), ""),
    (None, ""),
])
def test_number(value, text):
    assert number(value) == text


def test_number_with_three_digits_for_sentences():
    assert number(1.7647, digits=3) == "1.76"
    assert number(0.11541, digits=3) == "0.115"


def test_column_shares_decimals_when_magnitudes_agree():
    # largest 93.13 -> 4 significant digits -> 2 decimals for every value
    assert column([40.3036708521873, 93.13375000177007, 8.25088525238614, 48.631929954535565]) == \
        ["40.30", "93.13", "8.25", "48.63"]
    assert column([0.3447, 0.68, 2.1724, 2.9223]) == ["0.345", "0.680", "2.172", "2.922"]
    assert column([0.5, None, float("nan")]) == ["0.5000", "", ""]
    assert column([1, 2, 30]) == ["1", "2", "30"]


def test_column_mixing_magnitudes_is_written_value_by_value_without_scientific_notation():
    assert column([3.003923441376827e-05, 1419225.38113189]) == ["0.00003004", "1,419,225"]
    # the spread limit is a factor 1,000: 999.5 / 1.5 shares decimals, 1,500.7 / 1.5 does not
    assert column([1.5, 999.5]) == ["1.5", "999.5"]
    assert column([1.5, 1500.7]) == ["1.5", "1,501"]
    # shared decimals keep at least 2 significant digits of the smallest value: 1,499 needs none, 1.5 needs 1
    assert column([1.5, 1499.2]) == ["1.5", "1,499.2"]
    roas_lower = [3.0e-05, 7.8e-05, 2.6e-05, 2.846e-04, 2.4e-05, 9.997e-07, 1.8e-05, 2.044e-04]
    assert not any("e" in text for text in column(roas_lower))


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize(("shown", "expected"), [
    ("adstock_alpha[TV]", "decay (TV)"),
    ("saturation_beta[Digital]", "alpha (Digital)"),
    ("saturation_slope[Radio]", "gamma (Radio)"),
    ("saturation_kappa[Print]", "k (Print)"),
    ("gamma_control[Seasonal_Event[Easter]]", "control coefficient (Seasonal_Event[Easter])"),
    ("intercept_contribution", "intercept"),
    ("y_sigma", "noise sd"),
])
def test_summary_labels_use_the_simulator_names(shown, expected):
    assert summary_label(shown) == expected


def test_original_unit_names_pass_through():
    for name in ("decay", "alpha", "gamma", "k"):
        assert parameter_name(name) == name
    assert label("decay", "TV") == "decay (TV)" and label("saturation_kappa") == "k"


def test_gate_sentences_use_plain_names_and_one_number_format():
    assert gate_sentence(PASSED[1]) == "bulk ESS, smallest over the structural parameters: 1,114 (must be above 400): ok"
    assert gate_sentence(LOW_ESS).endswith(": 150 (must be above 400): FAILED")
    assert gate_sentence(PASSED[0]).startswith("R-hat, largest over the structural parameters: 1.003 (must be below 1.01)")


# --------------------------------------------------------------------------- the page
def small_report(parts, tables, headline_: Headline | None = None, explanations=()):
    from mmmlab.report.model import Report

    return Report("t", parts, {}, tables, Verdict(PASSED), {}, [], headline_, list(explanations))


def test_page_opens_with_the_headline_in_its_colour_then_the_explanations():
    from mmmlab.report.html import render

    h = headline(PASSED, 0, 16, None, 0.94)
    page = render(small_report([], {}, h, ["Informed: the data shrank it."]), {})
    top = page.split("<nav>")[0]
    assert 'class="headline amber"' in top and h.text in top
    assert "Informed: the data shrank it." in top
    assert "Convergence PASSED" not in top  # the gates' badge lives in section 3, not at the top


def test_tables_show_chosen_columns_with_yes_no_and_links_point_at_the_csv():
    from mmmlab.report.html import render
    from mmmlab.report.model import Part

    part = Part("p", "1. P")
    part.table("summary", "caption", ("name", "r_hat"))
    part.link("tables/fit_contributions_vs_truth.csv", "Every period:")
    tables = {"summary": pd.DataFrame({"name": ["decay (TV)"], "parameter": ["adstock_alpha[TV]"], "r_hat": [1.0031],
                                       "covered": [True]})}
    page = render(small_report([part], tables), {})
    assert "<th>R-hat</th>" in page and "<td>1.003</td>" in page and "decay (TV)" in page
    assert "adstock_alpha" not in page  # the CSV keeps the column, the page does not show it
    assert '<a href="tables/fit_contributions_vs_truth.csv">' in page


def test_truth_section_draws_the_per_period_table_and_links_its_csv():
    from mmmlab.report.context import Context
    from mmmlab.report.html import render
    from mmmlab.report.truth import truth_section

    dates = pd.date_range("2020-01-01", periods=6, freq="MS")
    rows = [{"date": str(d.date()), "channel": ch, "mean": 10.0 + i, "lower": 5.0, "upper": 20.0, "true": 12.0,
             "covered": i != 0 or ch != "TV"} for i, d in enumerate(dates) for ch in ("TV", "Radio")]
    per_period = pd.DataFrame(rows)
    parameters = pd.DataFrame({"channel": ["TV"], "parameter": ["decay"], "true": [0.8], "estimate": [0.4],
                               "lower": [0.05], "upper": [0.76], "covered": [False]})

    class Stub(SimpleNamespace):
        add_table = Context.add_table
        add_figure = Context.add_figure

    c = Stub(pct="94%", prob=0.94, unit="sales", channels=["TV", "Radio"], dates=dates, tables={}, figures={},
             truth_tables={"contributions_vs_truth": per_period, "parameters_vs_truth": parameters},
             truth_params={}, posterior_params=xr.Dataset())
    part = truth_section(c)
    assert "truth_contributions_over_time" in c.figures
    assert c.tables["fit_contributions_vs_truth"] is per_period  # still written as CSV
    shown = [b.content for b in part.blocks if b.kind == "table"]
    assert shown == ["fit_parameters_vs_truth"]  # the per-period table is not shown
    links = [b.content for b in part.blocks if b.kind == "link"]
    assert links == ["tables/fit_contributions_vs_truth.csv"]
    texts = " ".join(b.content for b in part.blocks if b.kind == "text")
    assert "TV 5 of 6, Radio 6 of 6" in texts
    page = render(small_report([part], c.tables), {"truth_contributions_over_time": b"png"})
    assert '<a href="tables/fit_contributions_vs_truth.csv">' in page
    assert "2020-03-01" not in page  # no per-period rows on the page
    for figure in c.figures.values():
        figure.clf()


# --------------------------------------------------------------------------- trace figures
def test_rank_and_trace_plots_have_one_panel_per_parameter_and_a_colour_per_chain():
    from mmmlab.plots.report import chain_color, rank_plots, trace_plots

    rng = np.random.default_rng(0)
    panels = {f"{p} ({ch})": rng.normal(size=(3, 200)) for p in ("decay", "alpha") for ch in ("TV", "Radio", "Print")}
    for make in (rank_plots, trace_plots):
        fig = make(panels, columns=3)
        visible = [ax for ax in fig.axes if ax.get_visible()]
        assert [ax.get_title() for ax in visible] == list(panels)
        colours = {matplotlib.colors.to_hex(line.get_color()) for line in visible[0].get_lines()
                   if line.get_linestyle() == "-"}
        assert colours == {matplotlib.colors.to_hex(chain_color(i)) for i in range(3)}
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["chain 1", "chain 2", "chain 3"]


def test_rank_plot_of_agreeing_chains_is_flat():
    from mmmlab.plots.report import rank_plots

    rng = np.random.default_rng(1)
    fig = rank_plots({"x": rng.normal(size=(4, 4000))}, bins=10)
    heights = np.concatenate([line.get_ydata() for line in fig.axes[0].get_lines() if line.get_linestyle() == "-"])
    # 400 draws per bin and chain: sd of a bin's share sqrt(4000 * .1 * .9) / 400 = 0.047
    assert np.all(np.abs(heights - 1) < 5 * math.sqrt(4000 * 0.1 * 0.9) / 400)
    shifted = rank_plots({"x": np.vstack([rng.normal(size=(3, 4000)), rng.normal(1.0, 1, size=(1, 4000))])}, bins=10)
    last = [line for line in shifted.axes[0].get_lines() if line.get_linestyle() == "-"][-1]
    assert last.get_ydata()[-1] > 2  # a chain off to the right piles up high ranks
