"""A user's own CSV on the first try: pymc-marketing's example layout, following only the README's "Your own data".

The README's YAML block is read from the README itself and merged over params.yaml, so the test fails when
the README's recipe stops working. The data have a yearly season and no seasonal control, a channel that is
dark in 80% of weeks and no experiment column.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from mmmlab.cli import main
from mmmlab.config.loading import deep_merge
from mmmlab.transforms import geometric_adstock, hill

REPO = Path(__file__).resolve().parents[2]
ENV_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "DVC_ROOT",
            "MMMLAB_OUT")
SMALL_FIT = ("fit.sampler.chains=2", "fit.sampler.draws=100", "fit.sampler.tune=100", "fit.sampler.prior_samples=50",
             "fit.sampler.progressbar=false", "fit.sampler.reruns=0")  # a short run misses the gates: sample once


def readme_recipe() -> dict:
    """The first YAML block of the README's "Your own data" section."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("### Your own data"):]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1))


def pymc_marketing_layout(path: Path, weeks: int = 156, seed: int = 1) -> None:
    """Weekly sales with a yearly season, two events, x1 always on and x2 dark in 80% of weeks."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2019-01-07", periods=weeks, freq="W-MON")
    x1 = rng.uniform(20, 100, weeks)
    x2 = np.where(rng.uniform(size=weeks) > 0.8, rng.uniform(50, 100, weeks), 0.0)
    t = np.arange(weeks)
    event_1, event_2 = (dates == dates[40]).astype(float), (dates == dates[100]).astype(float)
    sales = (2000 + 400 * np.sin(2 * np.pi * t / 52.18) + 300 * event_1 + 500 * event_2
             + hill(geometric_adstock(x1, 0.4), 1500, 1.5, 60) + hill(geometric_adstock(x2, 0.2), 1000, 1.2, 50)
             + rng.normal(0, 40, weeks))
    pd.DataFrame({"date_week": dates.strftime("%Y-%m-%d"), "y": sales.round(1), "x1": x1.round(2), "x2": x2.round(2),
                  "event_1": event_1, "event_2": event_2}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def own_project(tmp_path_factory):
    """A project folder with params.yaml, the user's CSV and mine.yaml made from the README's recipe."""
    root = tmp_path_factory.mktemp("own")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    pymc_marketing_layout(root / "my_sales.csv")
    params = deep_merge(yaml.safe_load((root / "params.yaml").read_text()), readme_recipe())
    (root / "mine.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        for var in ENV_VARS:
            mp.delenv(var, raising=False)
        mp.chdir(root)
        yield root


def _run(*args: str):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a divide by zero on a dark channel fails the command
        return CliRunner().invoke(main, list(args))


def test_the_readme_recipe_runs_recover_and_fit_under_the_users_folder(own_project):
    recovered = _run("recover", "--params", "mine.yaml", "--out", "runs/mine")
    assert recovered.exit_code == 0, recovered.output
    lines = recovered.stdout.splitlines()
    assert any("no column 'Experiment_Channel'" in line for line in lines)  # the notice, not an error
    assert "baseline: 2 yearly Fourier modes (auto: no control carries the season)" in lines
    assert lines[-1].startswith("recovered 2 channels from 156 periods")
    assert not any("yearly seasonality" in line for line in lines)  # the Fourier terms took the season

    fitted = _run("fit", "--params", "mine.yaml", "--out", "runs/mine", *[a for s in SMALL_FIT for a in ("--set", s)])
    assert fitted.exit_code == 0, fitted.output
    assert "seasonality: 2 yearly Fourier modes (auto: no control carries the season)" in fitted.stdout
    assert any(line.startswith("residuals") for line in fitted.stdout.splitlines())

    out = own_project / "runs" / "mine"
    for path in ("models/recovery.json", "reports/recovery/metrics.json", "models/mmm_fit.nc",
                 "reports/fit/convergence.json"):
        assert (out / path).is_file(), path
    assert not (own_project / "models").exists() and not (own_project / "reports").exists()  # the lab's untouched

    reported = _run("report", "--params", "mine.yaml", "--out", "runs/mine")
    assert reported.exit_code == 0, reported.output
    assert (out / "reports" / "validation" / "index.html").is_file()


def test_without_fourier_terms_the_residuals_name_the_season(own_project):
    result = _run("recover", "--params", "mine.yaml", "--out", "runs/no_fourier", "--set", "recover.baseline.fourier=0")
    assert result.exit_code == 0, result.output
    assert any(line.startswith("residuals still carry yearly seasonality") and "recover.baseline.fourier" in line
               for line in result.stdout.splitlines())


def test_a_file_too_short_for_the_fit_is_refused_and_keeps_the_previous_trace(own_project):
    trace = own_project / "runs" / "mine" / "models" / "mmm_fit.nc"
    before = trace.read_bytes() if trace.exists() else None
    short = pd.read_csv(own_project / "my_sales.csv").head(8)
    short.to_csv(own_project / "short.csv", index=False)
    result = _run("fit", "--params", "mine.yaml", "--out", "runs/mine", "--set", "data.path=short.csv",
                  *[a for s in SMALL_FIT for a in ("--set", s)])
    assert result.exit_code == 2
    assert re.search(r"^error: data\.path: 8 periods are too few for the fit's \d+ parameters", result.stderr, re.MULTILINE)
    assert (trace.read_bytes() if trace.exists() else None) == before
