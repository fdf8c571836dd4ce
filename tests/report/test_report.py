"""The validation report: built from a tiny real fit (2 chains x 100 draws, fitted once per module).

Expected numbers are recomputed here from the trace with arviz, numpy and the raw trace
variables, never taken from the report code. The HTML is rendered in headless Chromium.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import arviz as az
import matplotlib.colors
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mmmlab.config import load_params, set_key
from mmmlab.plots.report import convergence_bars
from mmmlab.report.model import Report

slow = pytest.mark.slow  # a real (tiny) MCMC fit, once per module

REPO = Path(__file__).resolve().parents[2]
OUT = "reports/validation"
SECTIONS = [
    "Setup", "Model specification", "Convergence diagnostics", "Trace plots", "Posterior predictive check",
    "Prior vs posterior", "Channel decomposition", "Adstock decay curves", "Saturation response curves",
    "Model limitations",
]
FIGURES = {"convergence_bars", "rank_plots", "trace_plots", "posterior_predictive", "prior_vs_posterior", "waterfall",
           "contributions_over_time", "contribution_share", "adstock_curves", "saturation_curves"}
INTERNAL_NAMES = ("adstock_alpha", "saturation_beta", "saturation_slope", "saturation_kappa")
TRUTH_FIGURES = {"truth_adstock_curves", "truth_saturation_curves", "truth_contributions_over_time"}
TINY_FIT = [
    "fit.sampler.chains=2", "fit.sampler.draws=100", "fit.sampler.tune=100", "fit.sampler.prior_samples=200",
    "fit.sampler.reruns=0",
    "fit.sampler.progressbar=false", "fit.model.adstock.l_max=12", "fit.model.yearly_seasonality=0",
    "fit.model.controls=[Economic_Condition]",
]
LENIENT = ["fit.gates.r_hat_max=10", "fit.gates.ess_bulk_min=1", "fit.gates.ess_tail_min=1",
           "fit.gates.divergences_max=100000", "fit.gates.bfmi_min=0"]


def params_with(*overrides: str) -> dict:
    params = load_params()
    for item in overrides:
        set_key(params, item)
    return params


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A project with generated data and a tiny real fit (trace, fit tables, MLflow fit run)."""
    from mmmlab.stages import fit, generate

    root = tmp_path_factory.mktemp("report-project")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "DVC_ROOT"):
            mp.delenv(var, raising=False)
        mp.chdir(root)
        generate.run(params_with())
        fit.run(params_with(*TINY_FIT))
        shutil.copy(root / "models/mmm_fit.nc", root / "fit_original.nc")
        yield root


@pytest.fixture
def in_project(fitted, monkeypatch):
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "DVC_ROOT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(fitted)
    return fitted


@pytest.fixture(scope="module")
def passing_report(fitted):
    """The report with lenient gates (so the tiny fit passes), truth tables present, predictive in the trace."""
    from mmmlab.stages import report

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(fitted)
        summary = report.run(params_with(*TINY_FIT, *LENIENT))
        saved = fitted / "report_passing"
        shutil.copytree(fitted / OUT, saved)
    return saved, summary


def html_of(folder: Path) -> str:
    return (folder / "index.html").read_text()


def assert_real_image(data_or_path) -> np.ndarray:
    image = matplotlib.image.imread(data_or_path)
    assert image.shape[0] > 150 and image.shape[1] > 150
    colours = np.unique(image[::3, ::3].reshape(-1, image.shape[-1]), axis=0)
    assert len(colours) > 20, "nearly blank figure"
    return image


def structural_free(tree) -> list[str]:
    post = tree["posterior"].to_dataset()
    prior = set(tree["prior"].data_vars)
    return [v for v in post.data_vars if "date" not in post[v].dims and v in prior and not v.endswith("original_scale")]


# --------------------------------------------------------------------------- the full report
@slow
def test_every_section_figure_and_table_is_present_and_embedded(passing_report):
    folder, summary = passing_report
    text = html_of(folder)
    titles = re.findall(r"<h2>(\d+)\. ([^<]+)</h2>", text)
    assert [t for _, t in titles] == [*SECTIONS, "Lift tests", "Truth vs posterior"]
    assert [int(n) for n, _ in titles] == list(range(1, 13))
    assert "Convergence PASSED" in text and "Convergence FAILED" not in text

    pngs = {p.stem: p for p in (folder / "figures").glob("*.png")}
    assert set(pngs) == FIGURES | TRUTH_FIGURES | {"lift_tests"}
    embedded = dict(re.findall(r'<figure id="fig-([^"]+)"><img alt="[^"]*" src="data:image/png;base64,([^"]+)"', text))
    assert set(embedded) == set(pngs)
    for name, path in pngs.items():
        assert base64.b64decode(embedded[name]) == path.read_bytes(), name
        assert_real_image(path)
    # nothing is loaded from outside; the only links are anchors and the report's own CSV tables
    assert not re.search(r'(src|href)="(?!data:|#|tables/[\w.-]+\.csv")', text), "the page must not load anything from outside"

    tables = {p.stem: pd.read_csv(p) for p in (folder / "tables").glob("*.csv")}
    for name in ["setup_versions", "setup_thresholds", "model_specification", "priors", "convergence_checks",
                 "parameter_summary", "contraction", "contributions", "adstock", "saturation_parameters",
                 "posterior_predictive", "fit_parameters_vs_truth"]:
        assert name in tables and len(tables[name]) > 0, name
    assert "12 sections" in summary


@slow
def test_setup_and_specification_come_from_the_trace(passing_report, fitted):
    folder, _ = passing_report
    versions = pd.read_csv(folder / "tables/setup_versions.csv").set_index("item")["value"]
    import pymc
    import pymc_marketing
    assert versions["arviz version"] == az.__version__
    assert versions["pymc version"] == pymc.__version__
    assert versions["pymc-marketing version"] == pymc_marketing.__version__
    thresholds = pd.read_csv(folder / "tables/setup_thresholds.csv")
    assert thresholds["threshold"].iloc[0] == 10 and thresholds["threshold"].iloc[1] == 1  # the lenient gates in force

    tree = xr.open_datatree(fitted / "fit_original.nc")
    adstock = json.loads(tree.attrs["adstock"])
    spec = pd.read_csv(folder / "tables/model_specification.csv").set_index("item")["value"]
    assert "GeometricAdstock" in spec["adstock"] and f"l_max={adstock['l_max']}" in spec["adstock"]
    assert spec["saturation"] == "HillSaturation"
    assert spec["channels"] == ", ".join(json.loads(tree.attrs["channel_columns"]))
    assert spec["sampler: draws"] == "100" and spec["sampler: chains"] == "2"
    # the priors table maps pymc-marketing's names onto the simulator's, once
    priors = pd.read_csv(folder / "tables/priors.csv").set_index("pymc-marketing name")
    model_config = json.loads(tree.attrs["model_config"])
    assert set(priors.index) == set(model_config)
    assert "Beta" in priors.loc["adstock_alpha", "prior"] and "LogNormal" in priors.loc["saturation_kappa", "prior"]
    assert priors.loc["adstock_alpha", "parameter"] == "decay" and priors.loc["saturation_kappa", "parameter"] == "k"
    assert priors.loc["saturation_beta", "parameter"] == "alpha" and priors.loc["saturation_slope", "parameter"] == "gamma"
    text = html_of(folder)
    assert "a^gamma / (a^gamma + k^gamma)" in text and "w_l = decay^l" in text


@slow
def test_convergence_numbers_match_arviz(passing_report, fitted):
    folder, _ = passing_report
    tree = xr.open_datatree(fitted / "fit_original.nc")
    post = tree["posterior"].to_dataset()
    names = [v for v in post.data_vars if "date" not in post[v].dims]
    rhat = az.rhat(post[names])
    ess = az.ess(post[names], method="bulk")
    checks = pd.read_csv(folder / "tables/convergence_checks.csv").set_index("metric")
    assert checks.loc["max_r_hat", "value"] == pytest.approx(max(float(rhat[v].max()) for v in names))
    assert checks.loc["min_ess_bulk", "value"] == pytest.approx(min(float(ess[v].min()) for v in names))
    assert checks.loc["divergences", "value"] == int(tree["sample_stats"]["diverging"].sum())

    summary = pd.read_csv(folder / "tables/parameter_summary.csv")
    assert not summary["parameter"].str.contains("date").any()
    assert list(summary["r_hat"]) == sorted(summary["r_hat"], reverse=True)
    tv = summary.set_index("parameter").loc["adstock_alpha[TV]"]
    assert tv["r_hat"] == pytest.approx(float(rhat["adstock_alpha"].sel(channel="TV")), rel=1e-9)  # not rounded
    assert tv["mean"] == pytest.approx(float(post["adstock_alpha"].sel(channel="TV").mean()), rel=1e-9)


@slow
def test_predictive_decomposition_and_curves_recomputed_from_raw_trace(passing_report, fitted):
    folder, _ = passing_report
    tree = xr.open_datatree(fitted / "fit_original.nc")
    post = tree["posterior"].to_dataset()
    ts = float(tree["constant_data"]["target_scale"])
    cs = tree["constant_data"]["channel_scale"]
    observed = tree["fit_data"]["y"].values

    ppc = pd.read_csv(folder / "tables/posterior_predictive.csv")
    draws = tree["posterior_predictive"]["y"].values.reshape(-1, len(observed)) * ts
    assert np.allclose(ppc["observed"], observed)
    assert np.allclose(ppc["mean"], draws.mean(axis=0), rtol=1e-9)
    assert ((ppc["lower"] <= ppc["mean"]) & (ppc["mean"] <= ppc["upper"])).all()

    # the waterfall adds up to the posterior mean of the modelled mean, in sales units, rebuilt here from the
    # sampled parameters: intercept + channel contributions + control data x their coefficients
    controls = (tree["constant_data"]["control_data"] * post["gamma_control"]).sum("control")
    mu = post["intercept_contribution"] + post["channel_contribution"].sum("channel") + controls
    waterfall = pd.read_csv(folder / "tables/waterfall.csv")
    assert waterfall["mean_total"].sum() == pytest.approx(float(mu.mean(("chain", "draw")).sum()) * ts, rel=1e-6)
    contributions = pd.read_csv(folder / "tables/contributions.csv").set_index("channel")
    raw = (post["channel_contribution"] * ts).sum("date").mean(("chain", "draw"))
    for channel in contributions.index:
        assert contributions.loc[channel, "total_mean"] == pytest.approx(float(raw.sel(channel=channel)), rel=1e-6)
    assert contributions["share_mean"].sum() == pytest.approx(1.0)

    # saturation curve: beta*ts * hill(spend * sum_l decay^l; slope, kappa*cs), averaged over draws
    curves = pd.read_csv(folder / "tables/saturation_curves.csv")
    l_max = json.loads(tree.attrs["adstock"])["l_max"]
    for channel in ["TV", "Print"]:
        row = curves[curves["channel"] == channel].iloc[40]
        p = {k: post[v].sel(channel=channel).values.ravel() for k, v in
             [("decay", "adstock_alpha"), ("beta", "saturation_beta"), ("slope", "saturation_slope"), ("kappa", "saturation_kappa")]}
        s = row["spend"] * (1 - p["decay"] ** l_max) / (1 - p["decay"])
        k = p["kappa"] * float(cs.sel(channel=channel))
        expected = np.mean(p["beta"] * ts * s ** p["slope"] / (s ** p["slope"] + k ** p["slope"]))
        assert row["mean"] == pytest.approx(expected, rel=1e-6)
        assert row["lower"] <= row["mean"] <= row["upper"]

    adstock = pd.read_csv(folder / "tables/adstock.csv").set_index("channel")
    assert adstock.loc["TV", "decay_mean"] == pytest.approx(float(post["adstock_alpha"].sel(channel="TV").mean()))


@slow
def test_truth_section_uses_the_fit_tables_and_true_values(passing_report, fitted):
    folder, _ = passing_report
    text = html_of(folder)
    section = text.split('id="truth"')[1]
    truth = json.loads((fitted / "data/truth.json").read_text())["channels"]
    table = pd.read_csv(folder / "tables/fit_parameters_vs_truth.csv")
    assert table.equals(pd.read_csv(fitted / "reports/fit/tables/parameters_vs_truth.csv"))
    assert table.set_index(["channel", "parameter"]).loc[("TV", "k"), "true"] == truth["TV"]["k"]
    assert "fig-truth_saturation_curves" in section and "fig-truth_adstock_curves" in section


@slow
def test_lift_tests_section_recomputed_from_the_raw_trace(passing_report, fitted):
    """The readouts are the generated CSV's; predicted lifts are the trace's lift_predicted draws."""
    folder, _ = passing_report
    shown = pd.read_csv(folder / "tables/lift_tests.csv")
    fit_table = pd.read_csv(fitted / "reports/fit/tables/lift_tests.csv")  # prior and posterior columns
    readouts = pd.read_csv(fitted / "data/lift_tests.csv")
    np.testing.assert_allclose(shown["measured"], readouts["lift"])
    np.testing.assert_allclose(shown["se"], readouts["lift_se"])
    tree = xr.open_datatree(fitted / "models/mmm_fit.nc")
    bounds = {}
    for group in ("prior", "posterior"):
        draws = tree[group]["lift_predicted"]
        np.testing.assert_allclose(fit_table[f"{group}_mean"], draws.values.reshape(-1, len(readouts)).mean(axis=0),
                                   rtol=1e-9)
        bounds[group] = az.hdi(draws, prob=0.94).values.T  # lower, upper per test
    np.testing.assert_allclose(shown[["posterior_lower", "posterior_upper"]].to_numpy().T, bounds["posterior"],
                               rtol=1e-9)
    widths = {g: b[1] - b[0] for g, b in bounds.items()}
    np.testing.assert_allclose(shown["narrowing"], 1 - widths["posterior"] / widths["prior"], rtol=1e-9)


@slow
def test_headline_combines_convergence_information_and_truth(passing_report):
    """The opening verdict, recomputed here from the report's own CSV tables."""
    folder, summary = passing_report
    text = html_of(folder)
    top = text.split("<nav>")[0]
    metrics = json.loads((folder / "metrics.json").read_text())
    contraction = pd.read_csv(folder / "tables/contraction.csv")
    channel = contraction[contraction["channel"].notna()]
    informed, total = int((~channel["prior_dominated"]).sum()), len(channel)
    truth = pd.read_csv(folder / "tables/fit_parameters_vs_truth.csv")
    covered = int(truth["covered"].astype(str).eq("True").sum())
    assert metrics["headline.informed_channel_parameters"] == informed
    assert metrics["headline.channel_parameters"] == total == 16
    assert metrics["headline.truth_covered"] == covered and metrics["headline.truth_compared"] == len(truth)
    assert metrics["headline.converged"] == 1.0  # the lenient gates pass
    level = "amber" if 2 * informed < total else None
    match = re.search(r'<div class="headline (green|amber|red)"[^>]*><p>([^<]+)</p>', top)
    assert match, "the page opens with the headline"
    if level:
        assert match.group(1) == level
    assert match.group(2).startswith("Sampler converged. The data inform ")
    assert (f"inform {informed} of {total} channel parameters" in match.group(2)
            or f"inform all {total} channel parameters" in match.group(2))
    assert f"for {covered} of {len(truth)} channel parameters" in match.group(2)
    assert metrics["headline.level"] == ["green", "amber", "red"].index(match.group(1))
    assert f"headline {match.group(1)}" in summary
    assert "94% HDI (highest density interval): the narrowest interval holding 94% of the posterior." in top


@slow
def test_page_uses_the_simulator_names_outside_the_mapping_table(passing_report):
    text = html_of(passing_report[0])
    sections = re.split(r'<section id="', text)
    for section in sections[1:]:
        if section.startswith("specification"):
            assert all(name in section for name in INTERNAL_NAMES)  # the mapping table, once
            continue
        assert not any(name in section for name in INTERNAL_NAMES), section[:40]
    convergence = text.split('id="convergence"')[1].split("<section")[0]
    assert "decay (TV)" in convergence and "k (Print)" in convergence
    # every statistic is explained where it is first used: the thresholds table of section 1
    setup = text.split('id="setup"')[1].split("<section")[0]
    for explanation in ["R-hat compares the chains with each other: near 1 means they agree.",
                        "the number of independent draws the correlated chains are worth",
                        "low values mean poorly explored tails", "the narrowest interval holding 94% of the posterior"]:
        assert explanation in text.split('id="setup"')[0] + setup


@slow
def test_numbers_on_the_page_have_no_scientific_notation(passing_report):
    text = html_of(passing_report[0])
    for cell in re.findall(r"<td>([^<]*)</td>", text):
        if re.search(r"\de[-+]\d", cell):
            assert abs(float(cell)) < 1e-6, cell  # only truly tiny values


@slow
def test_truth_section_links_the_per_period_csv_instead_of_showing_it(passing_report):
    folder, _ = passing_report
    section = html_of(folder).split('id="truth"')[1]
    assert '<a href="tables/fit_contributions_vs_truth.csv">' in section
    assert "From the fit stage: contributions_vs_truth" not in section
    assert "fig-truth_contributions_over_time" in section
    per_period = pd.read_csv(folder / "tables/fit_contributions_vs_truth.csv")
    assert len(per_period) == 240 and {"date", "channel", "true", "covered"} <= set(per_period.columns)
    assert per_period["date"].iloc[5] not in section  # no per-period rows on the page


@slow
def test_prior_dominated_parameters_are_named(passing_report):
    folder, _ = passing_report
    contraction = pd.read_csv(folder / "tables/contraction.csv")
    assert {"parameter", "channel", "contraction", "prior_dominated"} <= set(contraction.columns)
    text = html_of(folder)
    section = text.split('id="prior-posterior"')[1].split("<section")[0]
    dominated = contraction[contraction["prior_dominated"] & contraction["channel"].notna()]
    for row in dominated.itertuples():
        assert f"{row.parameter} ({row.channel})" in section
    assert "contraction" in section


@slow
def test_report_is_logged_to_the_fit_run(passing_report, in_project):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{in_project / 'mlflow.db'}")
    fit_runs = mlflow.search_runs(search_all_experiments=True, filter_string="tags.stage = 'fit'", output_format="list")
    assert len(fit_runs) == 1
    client = mlflow.MlflowClient()
    logged = {a.path for a in client.list_artifacts(fit_runs[0].info.run_id, "validation")}
    assert "validation/index.html" in logged and "validation/figures" in logged and "validation/tables" in logged
    report_runs = mlflow.search_runs(search_all_experiments=True, filter_string="tags.stage = 'report'", output_format="list")
    assert report_runs and report_runs[0].data.tags["report.fit_run_id"] == fit_runs[0].info.run_id


# --------------------------------------------------------------------------- failing gates, no truth, no predictive
@slow
def test_failing_gates_without_truth_or_predictive(in_project):
    """Default gates fail on 200 draws; the truth tables are gone; the trace lacks the predictive group."""
    from mmmlab.stages import report

    root = in_project
    trace = root / "models/mmm_fit.nc"
    tree = xr.load_datatree(root / "fit_original.nc")
    for group in ("posterior_predictive", "posterior_predictive_constant_data"):
        if group in tree.children:
            del tree[group]
    tree.to_netcdf(root / "no_predictive.nc")
    os.replace(root / "no_predictive.nc", trace)  # the old trace may still be open (lazy loading)
    tables = root / "reports/fit/tables"
    saved = root / "tables_backup"
    shutil.copytree(tables, saved, dirs_exist_ok=True)
    for path in tables.glob("*.csv"):
        if {"true", "true_total"} & set(pd.read_csv(path, nrows=1).columns):
            path.unlink()
    try:
        summary = report.run(params_with(*TINY_FIT))
    finally:
        shutil.copytree(saved, tables, dirs_exist_ok=True)

    text = html_of(root / OUT)
    assert "convergence FAILED" in summary
    assert "Convergence FAILED" in text and "Convergence PASSED" not in text
    titles = re.findall(r"<h2>\d+\. ([^<]+)</h2>", text)
    assert titles == [*SECTIONS, "Lift tests"]  # no truth section without truth tables
    assert not any((root / OUT / "figures").glob("truth_*.png"))
    limitations = text.split('id="limitations"')[1]
    assert "Failed convergence gates" in limitations and "bulk ESS" in limitations
    top = text.split("<nav>")[0]
    assert 'class="headline red"' in top and "Sampler did not converge" in top and "bulk ESS" in top
    assert "ESS (effective sample size)" in top  # the statistic it names is explained right under it
    assert json.loads((root / OUT / "metrics.json").read_text())["headline.level"] == 2.0
    assert "headline red" in summary
    assert "a ground truth" in limitations
    checks = pd.read_csv(root / OUT / "tables/convergence_checks.csv").set_index("metric")
    assert checks.loc["min_ess_bulk", "status"] == "FAILED"

    # the predictive was sampled once and saved with the trace; the posterior is untouched
    after = xr.open_datatree(trace)
    assert "posterior_predictive" in after.children
    before = xr.open_datatree(root / "fit_original.nc")
    assert np.array_equal(after["posterior"]["adstock_alpha"].values, before["posterior"]["adstock_alpha"].values)
    assert "sampled it once" in text


def test_failed_bars_are_red_and_passing_bars_are_not():
    from mmmlab.plots.report import FAIL_COLOR, PASS_COLOR

    summary = pd.DataFrame({"r_hat": [1.05, 1.001], "ess_bulk": [50.0, 900.0]}, index=["a", "b"])
    fig = convergence_bars(summary, r_hat_max=1.01, ess_bulk_min=400)
    ax_r, ax_e = fig.axes
    red, blue = matplotlib.colors.to_rgba(FAIL_COLOR), matplotlib.colors.to_rgba(PASS_COLOR)
    assert [p.get_facecolor() for p in ax_r.patches] == [red, blue]
    assert [p.get_facecolor() for p in ax_e.patches] == [red, blue]
    assert [line.get_ydata()[0] for line in ax_r.lines] == [1.01]


def test_a_failure_while_writing_keeps_the_previous_report(tmp_path):
    from mmmlab.diagnostics import Verdict
    from mmmlab.report.output import write_report

    folder = tmp_path / "validation"
    folder.mkdir()
    (folder / "index.html").write_text("old report")

    class Broken(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            raise OSError("disk full")

    report = Report("t", [], {}, {"ok": pd.DataFrame({"a": [1]}), "bad": Broken({"a": [1]})}, Verdict(()), {})
    with pytest.raises(OSError):
        write_report(folder, "<html>new</html>", {}, report)
    assert (folder / "index.html").read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validation"]  # no staging folder left behind


# --------------------------------------------------------------------------- Chromium
def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    try:
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=300, check=False)
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=600, check=False,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except subprocess.TimeoutExpired:
        return None
    return shutil.which("chromium")


@slow
def test_mean_response_hill_fit_reports_curves_in_the_simulator_units(tmp_path, monkeypatch):
    """hill_mean_response (normalised adstock, beta derived): the same report, its curves rebuilt independently.

    With normalised adstock, spend repeated every period settles at adstock = spend, so the steady-state
    response is beta * ts * h(spend / cs; slope, kappa): no kernel sum enters, unlike the report's route.
    """
    from mmmlab.stages import fit, generate, report

    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "DVC_ROOT"):
        monkeypatch.delenv(var, raising=False)
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    form = ["fit.model.saturation=hill_mean_response", "fit.model.adstock.normalize=true"]
    generate.run(params_with())
    fit.run(params_with(*TINY_FIT, *form))
    summary = report.run(params_with(*TINY_FIT, *form, *LENIENT))
    folder = tmp_path / OUT

    text = html_of(folder)
    assert [t for t in re.findall(r"<h2>\d+\. ([^<]+)</h2>", text)] == [*SECTIONS, "Lift tests", "Truth vs posterior"]
    assert "12 sections" in summary
    spec = pd.read_csv(folder / "tables/model_specification.csv").set_index("item")["value"]
    assert spec["saturation"] == "MeanResponseHill" and "normalize=True" in spec["adstock"]

    tree = xr.open_datatree(tmp_path / "models/mmm_fit.nc")
    post = tree["posterior"].to_dataset()
    ts = float(tree["constant_data"]["target_scale"])
    curves = pd.read_csv(folder / "tables/saturation_curves.csv")
    for channel in ["TV", "Radio"]:
        row = curves[curves["channel"] == channel].iloc[30]
        p = {k: post[v].sel(channel=channel).values.ravel() for k, v in
             [("beta", "saturation_beta"), ("slope", "saturation_slope"), ("kappa", "saturation_kappa")]}
        x = row["spend"] / float(tree["constant_data"]["channel_scale"].sel(channel=channel))
        expected = np.mean(p["beta"] * ts * x ** p["slope"] / (x ** p["slope"] + p["kappa"] ** p["slope"]))
        assert row["mean"] == pytest.approx(expected, rel=1e-6)
    priors = pd.read_csv(folder / "tables/priors.csv").set_index("pymc-marketing name")
    assert "saturation_value" in priors.index and priors.loc["saturation_value", "parameter"] == "response at mean spend"


@slow
def test_html_renders_in_headless_chromium_without_console_errors(passing_report, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium: not installed and it could not be installed with apt-get (needs root and network)")
    folder, _ = passing_report
    screenshot = tmp_path / "report.png"
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={screenshot}", "--window-size=1280,6000",
         "--enable-logging=stderr", "--v=0", (folder / "index.html").resolve().as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    )
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert result.returncode == 0, result.stderr[-2000:]
    assert console == [], console
    assert screenshot.exists()
    image = assert_real_image(screenshot)
    assert image.shape[1] == 1280
