"""The data-check stage: figures, summary and metrics for generated and user data."""

from __future__ import annotations

import json

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from mmmlab.config import load_params, set_key
from mmmlab.plots import data_check as plots
from mmmlab.stages import check, generate

ALL_FIGURES = {
    "sales_over_time", "spend_by_channel", "sales_by_economic_condition", "sales_by_seasonal_event",
    "correlation_heatmap", "spend_vs_sales", "adstock_pulse", "hill_curves",
}
OUT = "reports/data_check"


def generated(project):
    params = load_params()
    generate.run(params)
    return params


def figure_names(project) -> set[str]:
    return {p.stem for p in (project / OUT / "figures").glob("*.png")}


def assert_real_image(path):
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 200
    colours = np.unique(image[::3, ::3].reshape(-1, image.shape[-1]), axis=0)  # subsampled: fast enough
    assert len(colours) > 20, f"{path.name} is nearly blank"


def test_generated_data_gives_eight_figures_truth_table_and_metrics(project):
    summary = check.run(generated(project))
    assert "60 periods" in summary

    assert figure_names(project) == ALL_FIGURES
    for name in ALL_FIGURES:
        assert_real_image(project / OUT / "figures" / f"{name}.png")

    text = (project / OUT / "summary.md").read_text()
    truth = json.loads((project / "data/truth.json").read_text())["channels"]
    for channel, p in truth.items():
        assert f"| {channel} | {p['decay']:g} | {p['alpha']:g} | {p['gamma']:g} | {p['k']:g} |" in text
    for name in ALL_FIGURES:
        assert f"(figures/{name}.png)" in text
    assert "Skipped" not in text

    metrics = json.loads((project / OUT / "metrics.json").read_text())
    data = pd.read_csv(project / "data/mmm_data.csv")
    sales = data["Total_Sales"]
    assert metrics["n_periods"] == len(data)
    assert metrics["sales_mean"] == pytest.approx(sales.mean())
    assert metrics["sales_sd"] == pytest.approx(sales.std())
    for column in [c for c in data.columns if c.endswith("_Spend")]:
        channel = column.removesuffix("_Spend")
        assert metrics[f"spend_mean.{channel}"] == pytest.approx(data[column].mean())
        assert metrics[f"spend_cv.{channel}"] == pytest.approx(data[column].std() / data[column].mean())
        assert metrics[f"corr_sales.{channel}"] == pytest.approx(data[column].corr(sales))


def test_user_csv_without_truth_or_controls_skips_what_it_cannot_draw(project):
    rng = np.random.default_rng(0)
    n = 52
    frame = pd.DataFrame({
        "week": pd.date_range("2023-01-02", periods=n, freq="W-MON").strftime("%Y-%m-%d"),
        "Search_Spend": rng.uniform(1000, 2000, n).round(),
        "Social_Spend": rng.uniform(500, 900, n).round(),
        "Video_Spend": rng.uniform(3000, 6000, n).round(),
        "Revenue": rng.uniform(50000, 60000, n).round(),
    })
    frame.to_csv(project / "mine.csv", index=False)
    params = load_params()
    for item in ("data.path=mine.csv", "data.truth=", "data.date=week", "data.target=Revenue", "data.controls=[]",
                 "data.experiments.column="):
        set_key(params, item)
    stale = project / OUT / "figures" / "hill_curves.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over from a run with truth")

    summary = check.run(params)

    assert "52 periods x 3 channels" in summary
    assert figure_names(project) == ALL_FIGURES - {"hill_curves", "sales_by_economic_condition", "sales_by_seasonal_event"}
    assert_real_image(project / OUT / "figures" / "adstock_pulse.png")
    text = (project / OUT / "summary.md").read_text()
    assert "## Skipped" in text and "Hill saturation curves: no true parameters" in text
    assert "Economic_Condition" in text and "Seasonal_Event" in text
    assert json.loads((project / OUT / "metrics.json").read_text())["spend_mean.Video"] == pytest.approx(
        frame["Video_Spend"].mean()
    )


def test_failure_while_computing_leaves_previous_outputs_untouched(project, monkeypatch):
    params = generated(project)
    check.run(params)
    before = {p: p.read_bytes() for p in (project / OUT).rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(plots, "hill_curves", broken)
    set_key(params, "check.pulse_periods=12")
    with pytest.raises(RuntimeError):
        check.run(params)
    assert {p: p.read_bytes() for p in (project / OUT).rglob("*") if p.is_file()} == before


def test_check_logs_an_mlflow_run_with_figures(project):
    from mlflow import MlflowClient

    check.run(generated(project))
    client = MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("mmm-lab")
    (run,) = client.search_runs([experiment.experiment_id], filter_string="tags.stage = 'check'")
    assert run.data.params["check.pulse_periods"] == "24"
    assert run.data.params["data.mapping.target"] == "Total_Sales"
    assert run.data.metrics["check.n_periods"] == 60
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert logged == {f"figures/{name}.png" for name in ALL_FIGURES}
    assert "summary.md" in {a.path for a in client.list_artifacts(run.info.run_id)}


def test_adstock_pulse_curves_follow_the_decays():
    figure = plots.adstock_pulse({"TV": 0.8, "Radio": 0.5}, [0.1], periods=6, channels=["TV", "Radio"])
    curves = {line.get_label(): line.get_ydata() for line in figure.axes[0].lines}
    assert np.allclose(curves["TV ($\\lambda$ = 0.8)"], 0.8 ** np.arange(6))
    assert np.allclose(curves["reference $\\lambda$ = 0.1"], 0.1 ** np.arange(6))


def test_experiment_mask_reads_overlapping_labels():
    labels = pd.Series(["None", "TV", "TV+Radio", "Radio"])
    assert plots.experiment_mask(labels, "TV").tolist() == [False, True, True, False]
    assert plots.experiment_mask(labels, "Radio").tolist() == [False, False, True, True]


def test_invalid_reference_decay_is_a_user_error(project):
    from mmmlab.errors import UserInputError

    params = load_params()
    set_key(params, "check.reference_decays=[0.5, 1.2]")
    with pytest.raises(UserInputError, match=r"check.reference_decays.1: 1.2"):
        check.run(params)
