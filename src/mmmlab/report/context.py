"""What every report section reads: the loaded fit, its tables and settings, and the helpers they share."""

from __future__ import annotations

import importlib.metadata

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from mmmlab import bayes
from mmmlab.config.report import ReportSettings
from mmmlab.diagnostics import check_convergence, parameter_summary
from mmmlab.report.model import Part

TRUTH_COLUMNS = ("true", "true_total")  # a fit table with one of these columns compares with the truth










# --------------------------------------------------------------------------- helpers
def hdi(samples: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval over axis 0 (the draws) of ``samples``: (lower, upper)."""
    samples = np.asarray(samples, dtype=float)
    flat = samples.reshape(samples.shape[0], -1)
    array = xr.DataArray(flat[None], dims=("chain", "draw", "item"))
    bounds = az.hdi(array, prob=prob).transpose("item", "ci_bound").values
    shape = samples.shape[1:]
    return bounds[:, 0].reshape(shape), bounds[:, 1].reshape(shape)


def stacked(array: xr.DataArray) -> xr.DataArray:
    """Chain and draw merged into a leading ``sample`` dim."""
    return array.stack(sample=("chain", "draw")).transpose("sample", ...)


def thin(n: int, most: int) -> np.ndarray:
    """At most ``most`` evenly spaced indices of ``n`` draws."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))


def versions() -> dict[str, str]:
    out = {}
    for package in ("arviz", "pymc", "pymc-marketing", "pytensor", "xarray", "numpy", "mmmlab"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def fit_frame(mmm) -> pd.DataFrame:
    """The data the model was fitted on (``fit_data``), with the date column first."""
    frame = mmm.idata["fit_data"].to_dataset().to_dataframe().reset_index()
    return frame.rename(columns={"date": mmm.date_column}) if mmm.date_column not in frame else frame


# --------------------------------------------------------------------------- posterior predictive
def has_posterior_predictive(idata) -> bool:
    return "posterior_predictive" in idata.children


def sample_posterior_predictive(mmm, seed: int) -> None:
    """Sample the posterior predictive once on the fit data; the result extends ``mmm.idata``."""
    frame = fit_frame(mmm)
    X = frame.drop(columns=[mmm.target_column])
    mmm.sample_posterior_predictive(X, extend_idata=True, combined=True, random_seed=seed, progressbar=False)


def predictive_original_units(idata) -> xr.DataArray:
    """Posterior predictive draws of the target in original units: (sample, date)."""
    group = idata["posterior_predictive"]
    if "y_original_scale" in group.data_vars:
        values = group["y_original_scale"]
    else:  # the likelihood's variable lives on the scaled target
        values = group["y"] * idata["constant_data"]["target_scale"]
    dims = [d for d in ("chain", "draw") if d in values.dims]
    return stacked(values) if dims == ["chain", "draw"] else values.transpose("sample", ...)


# --------------------------------------------------------------------------- what every section reads
class Context:
    """Shared inputs and accumulated outputs while the sections are built."""

    def __init__(self, mmm, idata, settings: ReportSettings, fit_tables: dict[str, pd.DataFrame]):
        self.mmm, self.idata, self.settings = mmm, idata, settings
        self.prob = settings.hdi_prob
        self.pct = f"{settings.hdi_prob:.0%}"
        self.figures: dict[str, Figure] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.metrics: dict[str, float] = {}
        self.notes: list[str] = []
        self.fit_tables = fit_tables
        self.truth_tables = {k: v for k, v in fit_tables.items() if any(m in v.columns for m in TRUTH_COLUMNS)}
        self.truth_params = _true_parameters(self.truth_tables)
        self.channels = [str(c) for c in mmm.channel_columns]
        self.frame = fit_frame(mmm)
        self.dates = pd.DatetimeIndex(self.frame[mmm.date_column])
        self.spend = self.frame[self.channels].to_numpy(dtype=float)
        self.verdict = check_convergence(idata, settings.gates)
        self.summary = parameter_summary(idata, settings.hdi_prob)
        self.posterior_params = bayes.original_scale_parameters(idata)
        self.contraction = (bayes.prior_posterior_contraction(idata, settings.hdi_prob, settings.prior_dominated_below)
                            if "prior" in idata.children else None)
        self.saturation = self.posterior_params.attrs.get("saturation", "hill")
        self.unit = settings.target_label or mmm.target_column
        self.free = _free_variables(mmm)

    def add_table(self, part: Part, name: str, table: pd.DataFrame, caption: str = "") -> None:
        self.tables[name] = table
        part.table(name, caption)

    def add_figure(self, part: Part, name: str, figure: Figure, caption: str = "") -> None:
        self.figures[name] = figure
        part.figure(name, caption)


def _free_variables(mmm) -> list[str]:
    model = getattr(mmm, "model", None)
    if model is not None:
        return [v.name for v in model.free_RVs]
    prior = mmm.idata["posterior"].to_dataset()
    return [n for n, v in prior.data_vars.items() if "date" not in v.dims]


def _true_parameters(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, float]]:
    """Channel -> {parameter: true value} from a fit table with ``channel, parameter, true`` columns."""
    for table in tables.values():
        if {"channel", "parameter", "true"} <= set(table.columns):
            out: dict[str, dict[str, float]] = {}
            for rec in table.itertuples(index=False):
                out.setdefault(str(rec.channel), {})[str(rec.parameter)] = float(rec.true)
            return out
    return {}


# --------------------------------------------------------------------------- prior-to-posterior contraction
def channel_rows(contraction: pd.DataFrame) -> pd.DataFrame:
    """The contraction rows of per-channel parameters."""
    return contraction[contraction["channel"].notna()]


def dominated_names(contraction: pd.DataFrame) -> list[str]:
    """Prior-dominated parameters as ``name (channel)``."""
    rows = contraction[contraction["prior_dominated"].astype(bool)]
    names = []
    for r in rows.itertuples(index=False):
        where = r.channel if isinstance(r.channel, str) else (r.coord if isinstance(getattr(r, "coord", None), str) else None)
        names.append(f"{r.parameter} ({where})" if where else str(r.parameter))
    return names
