"""What every report section reads: the loaded fit, its tables and settings, and the helpers they share."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from mmmlab import bayes
from mmmlab.bayes import hdi  # noqa: F401  (the one HDI, shared with the fit stage; the sections import it from here)
from mmmlab.config.report import ReportSettings
from mmmlab.diagnostics import check_convergence, parameter_summary
from mmmlab.report.model import Part
from mmmlab.report.words import glossary, label

TRUTH_COLUMNS = ("true", "true_total")  # a fit table with one of these columns compares with the truth


# --------------------------------------------------------------------------- helpers
def stacked(array: xr.DataArray) -> xr.DataArray:
    """Chain and draw merged into a leading ``sample`` dim.

    Parameters
    ----------
    array : xarray.DataArray
        Has ``chain`` and ``draw`` dims.

    Returns
    -------
    xarray.DataArray
        Dims ``(sample, <the other dims in order>)``.
    """
    return array.stack(sample=("chain", "draw")).transpose("sample", ...)


def thin(n: int, most: int) -> np.ndarray:
    """At most ``most`` evenly spaced indices of ``n`` draws.

    Curves are computed per draw; thinning bounds that cost without favouring any chain.

    Parameters
    ----------
    n : int
        The number of draws.
    most : int
        The largest number of indices wanted.

    Returns
    -------
    numpy.ndarray of int
        Sorted, distinct indices from 0 to ``n - 1``, both ends included.
    """
    return np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))


def versions() -> dict[str, str]:
    """Installed versions of the packages the fit and the report depend on.

    Returns
    -------
    dict of str to str
        Package name to version, ``"not installed"`` when it is missing.
    """
    out = {}
    for package in ("arviz", "pymc", "pymc-marketing", "pytensor", "xarray", "numpy", "mmmlab"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def fit_frame(mmm) -> pd.DataFrame:
    """The data the model was fitted on (``fit_data``), with the date column first.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        A loaded fit whose ``idata`` has a ``fit_data`` group.

    Returns
    -------
    pandas.DataFrame
        One row per period: the date (named ``mmm.date_column``), spend per channel, controls
        and the target, all in original units.
    """
    frame = mmm.idata["fit_data"].to_dataset().to_dataframe().reset_index()
    return frame.rename(columns={"date": mmm.date_column}) if mmm.date_column not in frame else frame


# --------------------------------------------------------------------------- posterior predictive
def has_posterior_predictive(idata) -> bool:
    """Whether the trace holds a ``posterior_predictive`` group.

    Parameters
    ----------
    idata : xarray.DataTree
        The fit's trace.

    Returns
    -------
    bool
    """
    return "posterior_predictive" in idata.children


def sample_posterior_predictive(mmm, seed: int) -> None:
    """Sample the posterior predictive once on the fit data; the result extends ``mmm.idata``.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        A loaded fit; its ``idata`` gains a ``posterior_predictive`` group (in place).
    seed : int
        Random seed of the predictive draws (params ``report.seed``).
    """
    frame = fit_frame(mmm)
    X = frame.drop(columns=[mmm.target_column])
    mmm.sample_posterior_predictive(X, extend_idata=True, combined=True, random_seed=seed, progressbar=False)


def predictive_original_units(idata) -> xr.DataArray:
    """Posterior predictive draws of the target in original units: (sample, date).

    Parameters
    ----------
    idata : xarray.DataTree
        A trace with a ``posterior_predictive`` group (``y_original_scale``, or ``y`` on the
        scaled target with ``constant_data.target_scale``), either per chain and draw or
        already combined into ``sample``.

    Returns
    -------
    xarray.DataArray, dims (sample, date)
        The target (sales) per draw and period.
    """
    group = idata["posterior_predictive"]
    if "y_original_scale" in group.data_vars:
        values = group["y_original_scale"]
    else:  # the likelihood's variable lives on the scaled target
        values = group["y"] * idata["constant_data"]["target_scale"]
    dims = [d for d in ("chain", "draw") if d in values.dims]
    return stacked(values) if dims == ["chain", "draw"] else values.transpose("sample", ...)


# --------------------------------------------------------------------------- what every section reads
class Context:
    """Shared inputs and accumulated outputs while the sections are built.

    Everything every section needs is computed once here (the verdict, the parameter summary,
    original-unit parameters, the contraction); the sections then add figures, tables, metrics
    and notes to it.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        The loaded fit.
    idata : xarray.DataTree
        Its trace (``mmm.idata``).
    settings : ReportSettings
        HDI probability, curve settings, gates and the prior-dominated threshold.
    fit_tables : dict of str to pandas.DataFrame
        The fit stage's tables by name; those with a ``true`` or ``true_total`` column are the
        truth tables.

    Attributes
    ----------
    prob, pct : float, str
        The HDI probability, and the same as a percentage label (``"94%"``).
    channels : list of str
        The channel (spend) columns, in the model's order.
    frame : pandas.DataFrame
        :func:`fit_frame`: the fitted data in original units.
    dates : pandas.DatetimeIndex
        One per period.
    spend : numpy.ndarray, shape (periods, channels)
        Spend per period.
    verdict : Verdict
        The convergence gates applied to the trace.
    summary : pandas.DataFrame
        :func:`mmmlab.diagnostics.parameter_summary` of the structural parameters.
    posterior_params : xarray.Dataset
        Per-channel parameters in original units (dims chain, draw, channel).
    contraction : pandas.DataFrame or None
        Prior-to-posterior contraction per parameter; None when the trace has no prior.
    saturation : str
        The saturation's name in :mod:`mmmlab.bayes` (``"hill"``, ``"logistic"`` ...).
    unit : str
        The target's label (``report.target_label`` or the model's target column).
    free : list of str
        The model's sampled parameters (:func:`mmmlab.bayes.free_parameters`).
    truth_tables, truth_params : dict
        The fit tables that compare with the truth; channel -> {parameter: true value}.
    glossary : dict of str to str
        One plain sentence per statistic (:func:`mmmlab.report.words.glossary`).
    figures, tables, metrics, notes
        What the sections produced so far (they become the :class:`Report`'s).
    """

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
        self.free = bayes.free_parameters(idata)
        self.glossary = glossary(self.pct, settings.prior_dominated_below)

    def add_table(self, part: Part, name: str, table: pd.DataFrame, caption: str = "",
                  columns: list[str] | None = None) -> None:
        """Keep ``table`` as ``tables/<name>.csv`` and show it in ``part``.

        Parameters
        ----------
        part : Part
            The section that shows the table (at its current end).
        name : str
            The table's name, unique within the report.
        table : pandas.DataFrame
            The whole table (the page shows its first rows, the CSV all of them).
        caption : str, optional
            Shown above the table.
        columns : list of str, optional
            The columns the page shows (None: all); the CSV keeps every column.
        """
        self.tables[name] = table
        part.table(name, caption, None if columns is None else tuple(columns))

    def add_figure(self, part: Part, name: str, figure: Figure, caption: str = "") -> None:
        """Keep ``figure`` as ``figures/<name>.png`` and show it in ``part``.

        Parameters as in :meth:`add_table`, but ``figure`` (a matplotlib Figure) is rendered once, when
        the report is written, and ``caption`` is shown under it.
        """
        self.figures[name] = figure
        part.figure(name, caption)


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
    """The contraction rows of per-channel parameters.

    Parameters
    ----------
    contraction : pandas.DataFrame
        :func:`mmmlab.bayes.prior_posterior_contraction`'s table (``channel`` is empty for
        parameters that are not per channel).

    Returns
    -------
    pandas.DataFrame
        The rows with a channel (the original-unit channel parameters), index kept.
    """
    return contraction[contraction["channel"].notna()]


def dominated_names(contraction: pd.DataFrame) -> list[str]:
    """Prior-dominated parameters as ``name (channel)``.

    Parameters
    ----------
    contraction : pandas.DataFrame
        A contraction table (or some of its rows) with ``parameter``, ``channel``,
        ``prior_dominated`` and, optionally, ``coord`` columns.

    Returns
    -------
    list of str
        ``"parameter (channel)"``, ``"parameter (coord)"`` for a non-channel coordinate, or
        the bare parameter name, in table order; parameters by the simulator's or a plain name
        (:func:`mmmlab.report.words.label`: ``gamma_control`` -> ``control coefficient``).
    """
    rows = contraction[contraction["prior_dominated"].astype(bool)]
    names = []
    for r in rows.itertuples(index=False):
        where = r.channel if isinstance(r.channel, str) else (r.coord if isinstance(getattr(r, "coord", None), str) else None)
        names.append(label(str(r.parameter), where))
    return names


# --------------------------------------------------------------------------- truth comparisons
def as_bool(value) -> bool | None:
    """A fit table's ``covered`` cell as a bool; None when it is empty (no interval to compare).

    CSV round trips give ``True``/``False``, ``"True"``/``"False"`` (a column with empty cells is
    read as text) or NaN.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        word = value.strip().lower()
        return None if word in ("", "nan", "none") else word in ("true", "1", "1.0", "yes")
    return bool(value)


def parameter_truth_table(truth_tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The fit table comparing each channel parameter with its true value (``channel, parameter, true, covered``).

    Parameters
    ----------
    truth_tables : dict of str to pandas.DataFrame
        The fit tables that carry true values.

    Returns
    -------
    pandas.DataFrame or None
        ``parameters_vs_truth`` when present, else the first table with those columns; None
        when there is none.
    """
    wanted = {"channel", "parameter", "true", "covered"}
    candidates = sorted(truth_tables, key=lambda name: name != "parameters_vs_truth")
    return next((truth_tables[n] for n in candidates if wanted <= set(truth_tables[n].columns)), None)
