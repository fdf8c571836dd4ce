"""The technical validation report, built from the saved trace only (never re-samples the posterior).

:func:`build_report` turns a loaded fit (a pymc-marketing ``MMM`` with its ``idata``) into a
:class:`Report`: sections made of text, tables and figures, every number computed from the
trace. It writes nothing; :mod:`mmmlab.stages.report` writes and logs, and
:mod:`mmmlab.report_html` renders the HTML page.

Parameters in original units, channel contributions and the prior-to-posterior contraction
come from :mod:`mmmlab.bayes`; media transforms from :mod:`mmmlab.transforms`.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from mmmlab import bayes
from mmmlab.diagnostics import Gates, Verdict, check_convergence, parameter_summary
from mmmlab.plots import report as plots
from mmmlab.transforms import adstock_weights, equilibrium_adstock

TRUTH_COLUMNS = ("true", "true_total")  # a fit table with one of these columns compares with the truth
MAX_LAGS_SHOWN = 52  # longer adstock kernels are drawn only until the HDI's upper bound falls below 0.5%


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


@dataclass(frozen=True)
class ReportSettings:
    """The ``report`` section of params.yaml plus the gates of ``fit.gates``."""

    hdi_prob: float = 0.94
    key_parameters: tuple[str, ...] | None = None  # None: intercept, adstock and saturation variables
    curve_points: int = 120
    max_curve_draws: int = 1000
    spend_range: float = 1.5  # saturation curves run to this multiple of the highest observed spend
    prior_dominated_below: float = 0.5  # contraction below this: prior-dominated (params fit.prior_dominated_below)
    target_label: str = ""  # the target's name in the data (the trace calls it y)
    gates: Gates = Gates()


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


# --------------------------------------------------------------------------- the report
def build_report(mmm, settings: ReportSettings, fit_tables: dict[str, pd.DataFrame], *,
                 trace_name: str = "", sampled_predictive: bool = False) -> Report:
    """Every section of the technical validation report from a loaded fit."""
    idata = mmm.idata
    context = _Context(mmm, idata, settings, fit_tables)
    builders = [
        _setup, _specification, _convergence, _traces, _predictive, _prior_posterior,
        _decomposition, _adstock, _saturation, _limitations,
    ]
    parts = []
    for number, builder in enumerate(builders, start=1):
        part = builder(context)
        part.title = f"{number}. {part.title}"
        parts.append(part)
    if context.truth_tables:
        part = _truth(context)
        part.title = f"{len(parts) + 1}. {part.title}"
        parts.append(part)
    if sampled_predictive:
        context.notes.append("The trace had no posterior predictive group: the report sampled it once and saved it with the trace.")
    if trace_name:
        context.notes.insert(0, f"Trace: {trace_name}")
    return Report(
        title="MMM technical validation",
        parts=parts,
        figures=context.figures,
        tables=context.tables,
        verdict=context.verdict,
        metrics=context.metrics,
        notes=context.notes,
    )


class _Context:
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


# --------------------------------------------------------------------------- 1. setup
def _setup(c: _Context) -> Part:
    part = Part("setup", "Setup")
    posterior_attrs = c.idata["posterior"].attrs
    part.text("The report loads the saved trace and computes every number and figure from it; it never re-runs MCMC.")
    rows = [{"item": f"{k} version", "value": v} for k, v in versions().items()]
    rows += [
        {"item": "inference library", "value": f"{posterior_attrs.get('inference_library', 'unknown')} "
                                               f"{posterior_attrs.get('inference_library_version', '')}".strip()},
        {"item": "trace created", "value": str(posterior_attrs.get("created_at", "unknown"))},
    ]
    c.add_table(part, "setup_versions", pd.DataFrame(rows), "Software versions")
    g = c.settings.gates
    thresholds = pd.DataFrame([
        {"metric": "R-hat (max over structural parameters)", "rule": "<", "threshold": g.r_hat_max},
        {"metric": "bulk ESS (min)", "rule": ">", "threshold": g.ess_bulk_min},
        {"metric": "tail ESS (min)", "rule": ">", "threshold": g.ess_tail_min},
        {"metric": "divergent transitions", "rule": "<=", "threshold": g.divergences_max},
        {"metric": "BFMI (min over chains)", "rule": ">", "threshold": g.bfmi_min},
        {"metric": "credible interval (HDI) probability", "rule": "=", "threshold": c.prob},
    ])
    c.add_table(part, "setup_thresholds", thresholds, "Thresholds in force (params fit.gates and report.hdi_prob)")
    return part


# --------------------------------------------------------------------------- 2. specification
ADSTOCK_FORMULAS = {
    "GeometricAdstock": "x*_t = Σ_{l=0}^{L-1} w_l · x_{t-l},  w_l = α^l{norm}  (α: decay per period, L = l_max)",
    "DelayedAdstock": "x*_t = Σ_{l=0}^{L-1} w_l · x_{t-l},  w_l = α^((l-θ)^2){norm}  (α: decay, θ: delay of the peak)",
    "WeibullPDFAdstock": "x*_t = Σ_{l=0}^{L-1} w_l · x_{t-l},  w_l = Weibull pdf(l; λ, k){norm}",
    "WeibullCDFAdstock": "x*_t = Σ_{l=0}^{L-1} w_l · x_{t-l},  w_l = 1 - Weibull cdf(l; λ, k){norm}",
}
SATURATION_FORMULAS = {
    "HillSaturation": "f(x) = β · x^s / (x^s + κ^s)  (β: maximum effect, κ: half-saturation point, s: slope)",
    "LogisticSaturation": "f(x) = β · (1 - e^(-λx)) / (1 + e^(-λx))  (β: maximum effect, λ: steepness)",
    "MichaelisMentenSaturation": "f(x) = α · x / (λ + x)  (α: maximum effect, λ: half-saturation point)",
    "TanhSaturation": "f(x) = b · tanh(x / (b · c))  (b: maximum effect, c: initial cost per unit)",
}


def _specification(c: _Context) -> Part:
    part = Part("specification", "Model specification")
    mmm = c.mmm
    adstock, saturation = mmm.adstock, mmm.saturation
    posterior = c.idata["posterior"]
    chains, draws = posterior.sizes.get("chain", 0), posterior.sizes.get("draw", 0)
    controls = list(mmm.control_columns or [])
    spec = [
        ("model class", f"{type(mmm).__module__}.{type(mmm).__name__}"),
        ("adstock", f"{type(adstock).__name__} (l_max={adstock.l_max}, normalize={getattr(adstock, 'normalize', 'n/a')}, "
                    f"mode={getattr(getattr(adstock, 'mode', None), 'name', getattr(adstock, 'mode', 'n/a'))})"),
        ("saturation", type(saturation).__name__),
        ("order", "adstock, then saturation" if getattr(mmm, "adstock_first", True) else "saturation, then adstock"),
        ("channels", ", ".join(c.channels)),
        ("controls", ", ".join(controls) if controls else "none"),
        ("yearly seasonality (Fourier modes)", str(mmm.yearly_seasonality or "none")),
        ("time-varying intercept / media", f"{mmm.time_varying_intercept} / {mmm.time_varying_media}"),
        ("target", f"{c.unit} (column {mmm.target_column} in the trace)"),
        ("observations", f"{len(c.dates)} periods, {c.dates[0].date()} to {c.dates[-1].date()}"),
        ("posterior draws", f"{chains} chains x {draws} draws (tuning steps: {posterior.attrs.get('tuning_steps', 'unknown')})"),
    ]
    for key, value in (mmm.sampler_config or {}).items():
        spec.append((f"sampler: {key}", str(value)))
    c.add_table(part, "model_specification", pd.DataFrame(spec, columns=["item", "value"]), "Model and sampler")

    variables = set(posterior.data_vars)
    aliases = {"intercept": "intercept_contribution", "likelihood": "y_sigma"}
    priors = []
    for key, prior in (mmm.model_config or {}).items():
        used = aliases.get(key, key) in variables
        priors.append({"parameter": key, "prior": str(prior), "in this model": "yes" if used else "no (unused)"})
    c.add_table(part, "priors", pd.DataFrame(priors),
                "Prior of every parameter (on the model's internal scale: spend / channel max, target / target max)")

    norm = " / Σ_j α^j" if getattr(adstock, "normalize", False) else ""
    formulas = [
        ("adstock", ADSTOCK_FORMULAS.get(type(adstock).__name__, f"{type(adstock).__name__}: see pymc-marketing").replace("{norm}", norm)),
        ("saturation", SATURATION_FORMULAS.get(type(saturation).__name__, f"{type(saturation).__name__}: see pymc-marketing")),
        ("scaling", "x = spend / max(spend of the channel);  y = sales / max(sales); the likelihood is on the scaled y"),
        ("mean", "μ_t = intercept + Σ_channels f(x*_t) + Σ_controls γ · control_t (+ seasonality)"),
    ]
    part.blocks.append(Block("formula", formulas, "Transforms in use"))
    names = ", ".join(c.posterior_params.data_vars)
    part.text(f"Parameters in original units (spend and sales) come from mmmlab.bayes: {names}. "
              "Sections 6, 8 and 9 use them.")
    return part


# --------------------------------------------------------------------------- 3. convergence
def _convergence(c: _Context) -> Part:
    part = Part("convergence", "Convergence diagnostics")
    part.blocks.append(Block("verdict", c.verdict))
    checks = pd.DataFrame([
        {"metric": k.name, "value": k.value, "rule": k.rule, "threshold": k.threshold, "status": "ok" if k.passed else "FAILED"}
        for k in c.verdict.checks
    ])
    c.add_table(part, "convergence_checks", checks, "Each gate against its threshold")
    summary = c.summary
    g = c.settings.gates
    bad_r = int((~(summary["r_hat"] < g.r_hat_max)).sum())
    bad_e = int((~(summary["ess_bulk"] > g.ess_bulk_min)).sum())
    part.text(f"{len(summary)} structural parameters (per-period deterministics excluded); "
              f"{bad_r} with R-hat ≥ {g.r_hat_max:g}, {bad_e} with bulk ESS ≤ {g.ess_bulk_min:g}.")
    table = summary.reset_index().rename(columns={"index": "parameter"})
    c.add_table(part, "parameter_summary", table, f"Structural parameters sorted by R-hat, worst first ({c.pct} HDI)")
    c.add_figure(part, "convergence_bars", plots.convergence_bars(summary, g.r_hat_max, g.ess_bulk_min),
                 "R-hat and bulk ESS per structural parameter; dashed lines are the thresholds")
    c.metrics.update({f"convergence.{k}": v for k, v in c.verdict.metrics().items()})
    c.metrics["convergence.passed"] = float(c.verdict.passed)
    return part


# --------------------------------------------------------------------------- 4. traces
def key_parameters(c: _Context) -> list[str]:
    posterior = c.idata["posterior"]
    if c.settings.key_parameters:
        names = list(c.settings.key_parameters)
    else:
        names = ["intercept_contribution",
                 *c.mmm.adstock.variable_mapping.values(), *c.mmm.saturation.variable_mapping.values()]
    return [n for n in names if n in posterior.data_vars]


def _traces(c: _Context) -> Part:
    part = Part("traces", "Trace plots")
    names = key_parameters(c)
    draws = {}
    for name in names:
        array = c.idata["posterior"][name]
        extra = [d for d in array.dims if d not in ("chain", "draw")]
        coords = {}
        stacked_extra = array.stack(item=extra) if extra else array.expand_dims(item=[0])
        for i in range(stacked_extra.sizes["item"]):
            one = stacked_extra.isel(item=i)
            label = ", ".join(str(one[d].values) for d in extra) if extra else name
            coords[label] = one.transpose("chain", "draw").values
        draws[name] = coords
    part.text("Left: the density of each chain (one line style per chain, one colour per channel); overlapping densities "
              "mean the chains agree. Right: the draws in order; a converged chain looks like stationary noise, "
              "without trends or stuck stretches.")
    c.add_figure(part, "trace_plots", plots.trace_plots(draws), f"Key parameters: {', '.join(names)}")
    return part


# --------------------------------------------------------------------------- 5. posterior predictive
def _predictive(c: _Context) -> Part:
    part = Part("predictive", "Posterior predictive check")
    if not has_posterior_predictive(c.idata):
        part.text("The trace has no posterior predictive group.")
        return part
    draws = predictive_original_units(c.idata).values  # (sample, date)
    observed = c.frame[c.mmm.target_column].to_numpy(dtype=float)
    mean = draws.mean(axis=0)
    bands = {p: hdi(draws, p) for p in sorted({0.5, c.prob})}
    lo, hi = bands[c.prob]
    inside = (observed >= lo) & (observed <= hi)
    residual = observed - mean
    r2 = 1 - float(np.sum(residual**2) / np.sum((observed - observed.mean()) ** 2))
    mape = float(np.mean(np.abs(residual) / np.abs(observed)))
    c.metrics.update({"ppc.coverage": float(inside.mean()), "ppc.r2": r2, "ppc.mape": mape})
    part.text(f"Drawn from p(y_rep | y) and shown in original units ({c.unit}). "
              f"{inside.sum()} of {len(observed)} observed values ({inside.mean():.0%}) fall inside the {c.pct} HDI "
              f"(expected about {c.prob:.0%}); R² of the predictive mean {r2:.3f}; MAPE {mape:.1%}.")
    c.add_figure(part, "posterior_predictive", plots.posterior_predictive(c.dates, observed, mean, bands, c.unit),
                 f"Observed target over the posterior predictive mean, 50% and {c.pct} HDI")
    table = pd.DataFrame({"date": c.dates, "observed": observed, "mean": mean, "lower": lo, "upper": hi, "inside": inside})
    c.tables["posterior_predictive"] = table
    return part


# --------------------------------------------------------------------------- 6. prior vs posterior
def _channel_rows(contraction: pd.DataFrame) -> pd.DataFrame:
    return contraction[contraction["channel"].notna()]


def _dominated_names(contraction: pd.DataFrame) -> list[str]:
    rows = contraction[contraction["prior_dominated"].astype(bool)]
    names = []
    for r in rows.itertuples(index=False):
        where = r.channel if isinstance(r.channel, str) else (r.coord if isinstance(getattr(r, "coord", None), str) else None)
        names.append(f"{r.parameter} ({where})" if where else str(r.parameter))
    return names


def _prior_posterior(c: _Context) -> Part:
    part = Part("prior-posterior", "Prior vs posterior")
    if c.contraction is None:
        part.text("The trace has no prior group, so prior and posterior cannot be compared.")
        return part
    prior = bayes.original_scale_parameters(c.idata, "prior")
    contraction = c.contraction
    lookup = {(str(r.parameter), str(r.channel)): r for r in _channel_rows(contraction).itertuples(index=False)}
    panels = []
    for name in c.posterior_params.data_vars:
        for channel in c.channels:
            rec = lookup.get((name, channel))
            panels.append({
                "label": f"{name} · {channel}",
                "prior": prior[name].sel(channel=channel).values,
                "posterior": c.posterior_params[name].sel(channel=channel).values,
                "contraction": None if rec is None else float(rec.contraction),
                "prior_dominated": None if rec is None else bool(rec.prior_dominated),
            })
    names = _dominated_names(contraction)
    channel_names = _dominated_names(_channel_rows(contraction))
    c.metrics["prior_dominated.count"] = float(len(names))
    threshold = c.settings.prior_dominated_below
    part.text("Grey: the prior; blue: the posterior, both in original units (decay; saturation and magnitude "
              f"parameters: {', '.join(v for v in c.posterior_params.data_vars if v != 'decay')}). The contraction is "
              f"1 - (posterior {c.pct} interval width / prior width), on a log scale for scale parameters: 0 means "
              "the data did not narrow the prior at all, 1 that they pinned the parameter down. Below "
              f"{threshold:g} a parameter is called prior-dominated: its estimate reflects the prior more than the data.")
    part.text(f"Prior-dominated channel parameters ({len(channel_names)} of {len(_channel_rows(contraction))}): "
              + (", ".join(channel_names) if channel_names else "none") + ".")
    others = [n for n in names if n not in channel_names]
    if others:
        part.text(f"Other prior-dominated parameters (internal scale): {', '.join(others)}.")
    figure = plots.prior_vs_posterior(panels, "Prior vs posterior: decay, saturation and magnitude parameters (original units)",
                                      columns=len(c.channels))
    c.add_figure(part, "prior_vs_posterior", figure, "One row per parameter, one column per channel; red titles: prior-dominated")
    c.add_table(part, "contraction", contraction, "Prior-to-posterior contraction of every parameter")
    return part


# --------------------------------------------------------------------------- 7. decomposition
def _decomposition(c: _Context) -> Part:
    part = Part("decomposition", "Channel decomposition")
    unit = c.unit
    channel_draws = bayes.channel_contributions(c.idata).transpose("chain", "draw", "date", "channel")
    samples = stacked(channel_draws).transpose("sample", "date", "channel").values  # (sample, date, channel)
    components = {}
    try:
        parts = c.mmm.data.get_contributions(original_scale=True, include_baseline=True, include_controls=True,
                                              include_seasonality=True)
    except Exception as exc:  # a model without some component; channels alone still decompose
        parts = xr.Dataset()
        c.notes.append(f"Baseline and control contributions unavailable ({type(exc).__name__}: {exc}); waterfall shows channels only.")
    n_dates = len(c.dates)
    for name, array in parts.data_vars.items():
        if name == "channels":
            continue
        per_draw = array.mean(("chain", "draw"))
        extra = [d for d in per_draw.dims if d != "date"]
        total = per_draw.sum("date") if "date" in per_draw.dims else per_draw * n_dates
        if extra:  # one bar per control column: one-hot levels ("Event[Easter]") are summed into their column
            for coord in per_draw[extra[0]].values:
                key = f"{name}: {str(coord).split('[')[0]}"
                components[key] = components.get(key, 0.0) + float(total.sel({extra[0]: coord}))
        else:
            components[name] = float(total)
    totals = samples.sum(axis=1)  # (sample, channel)
    for j, channel in enumerate(c.channels):
        components[channel] = float(totals[:, j].mean())
    waterfall = pd.Series(components)
    c.add_figure(part, "waterfall", plots.waterfall(waterfall, unit),
                 "Mean contribution of each component summed over all periods; the last bar is their sum")
    c.tables["waterfall"] = waterfall.rename_axis("component").reset_index(name="mean_total")

    mean = pd.DataFrame(samples.mean(axis=0), index=c.dates, columns=c.channels)
    lo, hi = hdi(samples, c.prob)
    lower = pd.DataFrame(lo, index=c.dates, columns=c.channels)
    upper = pd.DataFrame(hi, index=c.dates, columns=c.channels)
    c.add_figure(part, "contributions_over_time",
                 plots.contributions_over_time(c.dates, mean, lower, upper, c.prob, unit),
                 f"Per-period contribution of each channel, posterior mean and {c.pct} HDI")
    over_time = pd.concat({"mean": mean, "lower": lower, "upper": upper}, axis=1).stack(level=1, future_stack=True)
    c.tables["contributions_over_time"] = over_time.rename_axis(["date", "channel"]).reset_index()

    shares = totals / totals.sum(axis=1, keepdims=True)
    s_lo, s_hi = hdi(shares, c.prob)
    t_lo, t_hi = hdi(totals, c.prob)
    share = pd.DataFrame({"mean": shares.mean(axis=0), "lower": s_lo, "upper": s_hi}, index=pd.Index(c.channels, name="channel"))
    c.add_figure(part, "contribution_share", plots.contribution_share(share, c.prob),
                 f"Each channel's share of the total media contribution with its {c.pct} HDI")
    summary = pd.DataFrame({
        "total_mean": totals.mean(axis=0), "total_lower": t_lo, "total_upper": t_hi,
        "share_mean": share["mean"], "share_lower": s_lo, "share_upper": s_hi,
        "spend_total": c.spend.sum(axis=0),
    }, index=share.index)
    summary["roi_mean"] = summary["total_mean"] / summary["spend_total"]
    c.add_table(part, "contributions", summary.reset_index(), f"Contribution over the whole period per channel ({unit}), {c.pct} HDI")
    widest = (summary["share_upper"] - summary["share_lower"]).idxmax()
    part.text(f"The widest share interval is {widest}'s ({summary.loc[widest, 'share_lower']:.0%} to "
              f"{summary.loc[widest, 'share_upper']:.0%}): wide intervals are honest uncertainty, not noise to ignore.")
    for name, table in c.fit_tables.items():
        if "roas" in name.lower() and name not in c.truth_tables:
            c.add_table(part, f"fit_{name}", table, f"From the fit stage: {name}")
    for j, channel in enumerate(c.channels):
        c.metrics[f"share.{channel}"] = float(share["mean"].iloc[j])
    return part


# --------------------------------------------------------------------------- 8. adstock
def _draws(c: _Context, name: str, channel: str) -> np.ndarray:
    values = stacked(c.posterior_params[name].sel(channel=channel)).values
    return values[thin(len(values), c.settings.max_curve_draws)]


def adstock_curves(c: _Context, truth: bool = False) -> dict[str, dict] | None:
    """Per channel, the weight decay**l of spend l periods ago: mean and HDI over draws (and the truth)."""
    if "decay" not in c.posterior_params or type(c.mmm.adstock).__name__ != "GeometricAdstock":
        return None
    l_max = int(c.mmm.adstock.l_max)
    curves = {}
    for channel in c.channels:
        weights = adstock_weights(_draws(c, "decay", channel), l_max)  # (draws, l_max)
        lo, hi = hdi(weights, c.prob)
        true_decay = c.truth_params.get(channel, {}).get("decay") if truth else None
        curves[channel] = {"mean": weights.mean(axis=0), "lower": lo, "upper": hi,
                           "truth": None if true_decay is None else adstock_weights(true_decay, l_max)}
    shown = l_max
    if l_max > MAX_LAGS_SHOWN:
        worst = np.max([v["upper"] for v in curves.values()], axis=0)
        small = np.flatnonzero(worst < 0.005)
        shown = int(max(12, small[0] + 1)) if small.size else l_max
    return {ch: {k: (v[:shown] if isinstance(v, np.ndarray) else v) for k, v in curve.items()} for ch, curve in curves.items()}


def _adstock(c: _Context) -> Part:
    part = Part("adstock", "Adstock decay curves")
    curves = adstock_curves(c)
    if curves is None:
        part.text(f"{type(c.mmm.adstock).__name__}: decay curves are drawn for geometric adstock only.")
        return part
    l_max = int(c.mmm.adstock.l_max)
    shown = len(next(iter(curves.values()))["mean"])
    cut = "" if shown == l_max else f" The figure stops at lag {shown - 1}, where every band's upper bound is below 0.5%."
    part.text(f"The share of a period's spend effect still active l periods later, decay^l for l = 0..{l_max - 1} "
              f"(l_max = {l_max}), computed per posterior draw; the band is the {c.pct} HDI over draws.{cut}")
    c.add_figure(part, "adstock_curves", plots.adstock_curves(np.arange(shown), curves, c.prob,
                                                              f"Adstock decay: posterior mean and {c.pct} HDI",
                                                              "share of the effect remaining"),
                 "Carry-over per channel")
    rows = []
    for channel in c.channels:
        d = _draws(c, "decay", channel)
        lo, hi = hdi(d, c.prob)
        half_life = np.log(0.5) / np.log(np.clip(d, 1e-9, 1 - 1e-9))
        rows.append({"channel": channel, "decay_mean": d.mean(), "decay_lower": float(lo), "decay_upper": float(hi),
                     "half_life_median_periods": float(np.median(half_life)),
                     "remaining_after_1": float(np.mean(d)), "remaining_after_2": float(np.mean(d**2))})
    c.add_table(part, "adstock", pd.DataFrame(rows), f"Decay per channel ({c.pct} HDI) and the effect remaining 1 and 2 periods later")
    return part


# --------------------------------------------------------------------------- 9. saturation
def steady_state_response(c: _Context, spend: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """Sales per period when ``spend`` is repeated every period, per draw: (draws, points).

    The un-normalised adstock settles at ``spend * sum_{l<l_max} decay**l``; the original-unit
    parameters of :func:`mmmlab.bayes.original_scale_parameters` apply to that adstock.
    """
    carry = adstock_weights(params["decay"], int(c.mmm.adstock.l_max)).sum(axis=-1)
    adstocked = carry[:, None] * spend[None, :]
    others = {k: v[:, None] for k, v in params.items() if k != "decay"}
    return np.asarray(bayes.response(c.saturation, adstocked, others), dtype=float)


def saturation_curves(c: _Context, truth: bool = False) -> dict[str, dict] | None:
    names = list(c.posterior_params.data_vars)
    if "decay" not in names or type(c.mmm.adstock).__name__ != "GeometricAdstock":
        return None
    curves = {}
    for j, channel in enumerate(c.channels):
        observed = c.spend[:, j]
        grid = np.linspace(0.0, c.settings.spend_range * observed.max(), c.settings.curve_points)
        response = steady_state_response(c, grid, {name: _draws(c, name, channel) for name in names})
        lo, hi = hdi(response, c.prob)
        true = c.truth_params.get(channel) if truth else None
        true_curve = None
        if true and set(names) <= set(true):  # the simulator's adstock has no l_max: it settles at spend / (1 - decay)
            true_curve = np.asarray(bayes.response(c.saturation, equilibrium_adstock(grid, true["decay"]),
                                                   {k: true[k] for k in names if k != "decay"}), dtype=float)
        curves[channel] = {"x": grid, "mean": response.mean(axis=0), "lower": lo, "upper": hi,
                           "observed": (observed.min(), observed.max()), "truth": true_curve}
    return curves


def _saturation(c: _Context) -> Part:
    part = Part("saturation", "Saturation response curves")
    curves = saturation_curves(c)
    unit = c.unit
    if curves is None:
        part.text(f"{type(c.mmm.adstock).__name__}: response curves in original units are drawn for geometric adstock only.")
        return part
    part.text(f"In original units ({c.saturation} saturation): the sales contribution per period when a spend level is "
              "kept up period after period (the adstock has then settled at spend · Σ_l decay^l), per posterior draw; "
              f"the band is the {c.pct} HDI over draws. The yellow span is the range of spend the data contain: outside "
              "it the curve is extrapolated from the functional form and the priors.")
    c.add_figure(part, "saturation_curves",
                 plots.saturation_curves(curves, c.prob, "spend per period (sustained)", f"{unit} per period",
                                         f"Saturation response in original units: posterior mean and {c.pct} HDI"),
                 "Response per channel; yellow: observed spend range")
    rows = []
    for channel, curve in curves.items():
        for x, m, lo, hi in zip(curve["x"], curve["mean"], curve["lower"], curve["upper"]):
            rows.append({"channel": channel, "spend": x, "mean": m, "lower": lo, "upper": hi})
    c.tables["saturation_curves"] = pd.DataFrame(rows)
    summary = []
    for channel in c.channels:
        for name in c.posterior_params.data_vars:
            if name == "decay":
                continue
            d = _draws(c, name, channel)
            lo, hi = hdi(d, c.prob)
            summary.append({"channel": channel, "parameter": name, "mean": d.mean(), "lower": float(lo), "upper": float(hi)})
    c.add_table(part, "saturation_parameters", pd.DataFrame(summary),
                f"Saturation parameters in original units ({c.pct} HDI; alpha in {unit}, spend-like parameters in adstocked spend)")
    return part


# --------------------------------------------------------------------------- 10. limitations
def _limitations(c: _Context) -> Part:
    part = Part("limitations", "Model limitations")
    items = []
    n = len(c.dates)
    distinct = len(np.unique(np.round(c.spend, 6), axis=0))
    items.append(f"Distinct spend patterns: {distinct} different combinations of channel spend in {n} rows"
                 + (" - every row is a new pattern, but the patterns are what identifies the media effects, not the row count."
                    if distinct == n else f": the model sees only {distinct} independent media settings, not {n}."))
    sizes = {name: int(np.prod([s for d, s in c.idata['posterior'][name].sizes.items() if d not in ('chain', 'draw')]))
             for name in c.free if name in c.idata["posterior"].data_vars}
    n_params = sum(sizes.values())
    items.append(f"Parameters vs observations: {n_params} free parameters for {n} observations "
                 f"({n / max(n_params, 1):.1f} observations per parameter)"
                 + ("; fewer than 5 per parameter leaves most of them to the priors." if n < 5 * n_params else "."))
    if c.contraction is not None:
        dominated = _dominated_names(c.contraction)
        if dominated:
            names = ", ".join(dominated)
            items.append(f"Prior-dominated parameters ({len(dominated)} of {len(c.contraction)}): {names}. "
                         "Their estimates and the curves built on them reflect the priors as much as the data.")
        else:
            items.append("No parameter is prior-dominated: the data moved every prior.")
    else:
        items.append("The trace has no prior draws, so how much the data informed each parameter is unknown.")
    failed = [k for k in c.verdict.checks if not k.passed]
    if failed:
        items.append("Failed convergence gates: " + "; ".join(k.sentence() for k in failed)
                     + ". Until they pass, every posterior summary in this report is provisional.")
    else:
        items.append("All convergence gates passed.")
    coverage = c.metrics.get("ppc.coverage")
    if coverage is not None and coverage < c.prob - 0.1:
        items.append(f"Only {coverage:.0%} of observations fall inside the {c.pct} predictive interval: the model misses "
                     "structure in the target (misspecification) or the intervals are too narrow.")
    lacking = []
    cv = c.spend.std(axis=0, ddof=1) / c.spend.mean(axis=0)
    flat = [f"{ch} (CV {v:.2f})" for ch, v in zip(c.channels, cv) if v < 0.2]
    if flat:
        lacking.append("spend variation for " + ", ".join(flat) + " - little movement to learn saturation from")
    if len(c.channels) > 1:
        corr = np.corrcoef(c.spend.T)
        pairs = [f"{c.channels[i]}/{c.channels[j]} (r={corr[i, j]:.2f})"
                 for i in range(len(c.channels)) for j in range(i + 1, len(c.channels)) if abs(corr[i, j]) > 0.7]
        if pairs:
            lacking.append("independent movement between channels: " + ", ".join(pairs))
    for j, ch in enumerate(c.channels):
        beyond = c.spend[:, j].max() / max(np.median(c.spend[:, j]), 1e-12)
        if beyond < 1.5:
            lacking.append(f"high-spend periods for {ch} (max only {beyond:.2f}x the median): the saturation beyond is extrapolated")
    lift = c.idata.attrs.get("lift_test_calibrations")
    if not lift or str(lift) in ("[]", "{}", "None", "null"):
        lacking.append("experiments or lift tests to calibrate against (none in the model)")
    years = (c.dates[-1] - c.dates[0]).days / 365.25
    if years < 2:
        lacking.append(f"history: {years:.1f} years cannot separate seasonality from media")
    if not c.mmm.control_columns:
        lacking.append("control variables: anything else that moves the target is absorbed by the baseline or the channels")
    if not c.truth_tables:
        lacking.append("a ground truth: there is no way to check the estimates against known values")
    items.append("What the data lack: " + ("; ".join(lacking) + "." if lacking else "nothing obvious from these checks."))
    part.items(items)
    c.metrics.update({"limitations.distinct_spend_patterns": float(distinct), "limitations.free_parameters": float(n_params)})
    return part


# --------------------------------------------------------------------------- 11. truth
def _truth(c: _Context) -> Part:
    part = Part("truth", "Truth vs posterior")
    part.text("The data come from a simulator with known parameters. The tables are the fit stage's comparisons; the "
              "figures draw the true curves (dashed) over the posterior HDI bands.")
    for name, table in c.truth_tables.items():
        c.add_table(part, f"fit_{name}", table, f"From the fit stage: {name}")
    over_time = next((t for t in c.truth_tables.values()
                      if {"date", "channel", "mean", "lower", "upper", "true"} <= set(t.columns)), None)
    if over_time is not None:
        wide = {k: over_time.pivot(index="date", columns="channel", values=k).reindex(columns=c.channels)
                for k in ("mean", "lower", "upper", "true")}
        dates = pd.DatetimeIndex(pd.to_datetime(wide["mean"].index))
        if len(dates) == len(c.dates):
            c.add_figure(part, "truth_contributions_over_time",
                         plots.contributions_over_time(dates, wide["mean"], wide["lower"], wide["upper"], c.prob,
                                                       c.unit, truth=wide["true"]),
                         "Dashed: the true contribution of each channel over the fit's HDI band")
    adstock = adstock_curves(c, truth=True)
    if adstock is not None and any(v["truth"] is not None for v in adstock.values()):
        lags = np.arange(len(next(iter(adstock.values()))["mean"]))
        c.add_figure(part, "truth_adstock_curves",
                     plots.adstock_curves(lags, adstock, c.prob, f"Adstock: true curve over the {c.pct} HDI",
                                          "share of the effect remaining"), "Dashed: the true decay curve")
    saturation = saturation_curves(c, truth=True)
    if saturation is not None and any(v["truth"] is not None for v in saturation.values()):
        c.add_figure(part, "truth_saturation_curves",
                     plots.saturation_curves(saturation, c.prob, "spend per period (sustained)", f"{c.unit} per period",
                                             f"Saturation: true steady-state response over the {c.pct} HDI"),
                     "Dashed: the true response (the simulator's adstock has no l_max)")
    if not c.truth_params:
        part.text("No fit table lists true parameters per channel, so no true curves are drawn.")
    return part


def read_fit_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The fit stage's CSV tables by file stem (empty when the folder does not exist)."""
    folder = Path(folder)
    return {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))} if folder.is_dir() else {}
