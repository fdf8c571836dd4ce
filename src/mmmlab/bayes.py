"""pymc-marketing MMM: design matrix, build, fit, save/load, and the exact map from its scaled parameters to original units.

pymc-marketing divides each channel's spend by its maximum (``channel_scale``) and sales by their
maximum (``target_scale``). With geometric adstock and Hill saturation (either form; ``hill_mean_response``
derives ``saturation_beta`` from its response at mean spend) its parameters map exactly onto the
simulator's::

    decay = adstock_alpha        gamma = saturation_slope
    alpha = saturation_beta * target_scale          (sales units)
    k     = saturation_kappa * channel_scale * W     (adstocked spend units)

with ``W = 1`` un-normalised and ``W = sum_{l<l_max} decay**l`` normalised. The estimating code here
never reads the truth; the truth is compared in the fit stage, after sampling.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from mmmlab.bayes_spec import JAX_SAMPLERS, SATURATIONS, FitSpec, ModelSpec  # noqa: F401  (SATURATIONS is public API)
from mmmlab.dataset import Dataset
from mmmlab.errors import UserInputError
from mmmlab.files import atomic_path
from mmmlab.transforms import hill, hill_derivative, logistic, michaelis_menten

warnings.filterwarnings("ignore", category=FutureWarning, module="pymc_marketing")
DATE, TARGET, TREND = "date", "y", "trend"
# original-unit parameters per saturation; the ones listed in LOG_SCALE are compared on a log scale
ORIGINAL_PARAMETERS = {"hill": ("decay", "alpha", "gamma", "k"), "logistic": ("decay", "alpha", "lam"),
                       "michaelis_menten": ("decay", "alpha", "lam")}
LOG_SCALE = {"alpha", "k", "lam", "y_sigma"}
TRUNCATION = 0.01  # adstock kernel weight allowed beyond l_max (null l_max; warned about after the fit)


@dataclass(frozen=True)
class Design:
    """The model's inputs: X (date, spend per channel, scaled controls) and y, in pymc-marketing's layout."""

    X: pd.DataFrame
    y: pd.Series
    channels: tuple[str, ...]
    controls: tuple[str, ...]
    control_scale: dict[str, float]  # each control column was divided by this (max |value|)


def design(dataset: Dataset, model: ModelSpec) -> Design:
    """Spend per channel, one-hot controls and a 0..1 trend, each control divided by its max |value|."""
    wanted = model.controls if model.controls is not None else tuple(dataset.controls.columns)
    unknown = [c for c in wanted if c not in dataset.controls.columns]
    if unknown:
        raise UserInputError(f"fit.model.controls: {unknown[0]!r} is not among data.controls ({', '.join(dataset.controls) or 'none'})")
    X = pd.DataFrame({DATE: dataset.dates})
    for j, name in enumerate(dataset.channels):
        X[name] = dataset.spend[:, j]
    matrix = dataset.control_matrix
    columns = [c for c in matrix.columns if any(c == w or c.startswith(f"{w}[") for w in wanted)]
    controls = matrix[columns].copy()
    if model.experiment_column in wanted and model.experiment_effect == "spend":
        for j, name in enumerate(dataset.channels):  # the window's effect grows with the channel's spend
            column = f"{model.experiment_column}[{name}]"
            if column in controls:
                controls[column] = controls[column].to_numpy() * dataset.spend[:, j]
    if model.trend:
        controls[TREND] = np.arange(dataset.n_periods) / max(dataset.n_periods - 1, 1)
    scale = {c: float(np.abs(controls[c]).max()) for c in controls.columns}
    kept = [c for c in controls.columns if scale[c] > 0]  # an all-zero column carries no information
    for c in kept:
        X[c] = controls[c].to_numpy() / scale[c]
    return Design(X=X, y=pd.Series(dataset.target, name=TARGET), channels=tuple(dataset.channels),
                  controls=tuple(kept), control_scale={c: scale[c] for c in kept})


def l_max(spec: FitSpec, channels: tuple[str, ...], n_periods: int) -> int:
    """Adstock lags: params' l_max, or (null) the fewest lags at which a decay at the decay prior's 99th
    percentile keeps at most ``TRUNCATION`` of its kernel weight beyond them, never more than the periods.

    The cost of a log-density evaluation grows with the lags; every period is exact but slow on long
    weekly series. The prior, not the truth, sets the length; the fit stage reports the posterior's
    truncation afterwards.
    """
    if spec.model.l_max is not None:
        return spec.model.l_max
    high = prior_quantile(spec.priors["adstock_alpha"], 0.99, channels)
    if high >= 1:
        return n_periods
    lags = int(np.ceil(np.log(TRUNCATION) / np.log(high))) if high > 0 else 1
    return max(1, min(n_periods, lags))


def prior_quantile(prior, q: float, channels: tuple[str, ...]) -> float:
    """The ``q`` quantile of a prior: exact (inverse CDF) when its parameters are numbers, else from draws."""
    import pymc as pm

    if all(isinstance(v, (int, float)) for v in prior.parameters.values()):
        try:
            return float(pm.icdf(getattr(pm, prior.distribution).dist(**prior.parameters), q).eval())
        except NotImplementedError:
            pass
    draws = prior.sample_prior(coords={"channel": list(channels)}, name="x", draws=50_000, random_seed=0)["x"]
    return float(np.quantile(draws.values, q))


def build_mmm(spec: FitSpec, d: Design):
    """The configured (not yet built) pymc-marketing MMM."""
    from pymc_marketing.mmm import MMM, GeometricAdstock, HillSaturation, LogisticSaturation, MichaelisMentenSaturation

    from mmmlab.mean_response_hill import MeanResponseHill, mean_reference
    from mmmlab.recursive_adstock import RecursiveGeometricAdstock

    # pytensor's JAX backend has no implementation of the recursion's Ops
    adstock = GeometricAdstock if spec.sampler.name in JAX_SAMPLERS else RecursiveGeometricAdstock

    if spec.model.saturation == "hill_mean_response":
        reference = mean_reference(d.X[list(d.channels)].to_numpy())
        idle = [c for c, r in zip(d.channels, reference) if not r > 0]
        if idle:
            raise UserInputError(f"data.channels: {idle[0]!r} never has positive spend; hill_mean_response needs some")
        saturation = MeanResponseHill(reference)
    else:
        saturation = {"hill": HillSaturation, "logistic": LogisticSaturation,
                      "michaelis_menten": MichaelisMentenSaturation}[spec.model.saturation]()
    return MMM(
        date_column=DATE,
        channel_columns=list(d.channels),
        target_column=TARGET,
        control_columns=list(d.controls) or None,
        yearly_seasonality=spec.model.yearly_seasonality or None,
        adstock=adstock(l_max=l_max(spec, d.channels, len(d.X)), normalize=spec.model.normalize),
        saturation=saturation,
        model_config=spec.priors,
        sampler_config=spec.sampler.sampler_config(),
    )


def fit(mmm, d: Design, spec: FitSpec) -> dict[str, float]:
    """Build, draw the prior, sample the posterior and the posterior predictive; returns timings (s)."""
    seed = spec.sampler.random_seed
    timings, t0 = {}, time.perf_counter()
    mmm.build_model(d.X, d.y)  # before fit, which would otherwise build on its own and skip the next line
    mmm.add_original_scale_contribution_variable(var=["channel_contribution", "y"])
    timings["build_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    mmm.sample_prior_predictive(d.X, d.y, samples=spec.sampler.prior_samples, random_seed=seed + 1)
    timings["prior_s"] = time.perf_counter() - t
    t = time.perf_counter()
    mmm.fit(d.X, d.y, progressbar=spec.sampler.progressbar, random_seed=seed)
    timings["sample_wall_s"] = time.perf_counter() - t  # compile + tune + draws
    sampling = mmm.idata.posterior.attrs.get("sampling_time", mmm.idata.sample_stats.attrs.get("sampling_time"))
    timings["sampling_s"] = float(sampling) if sampling is not None else timings["sample_wall_s"]
    t = time.perf_counter()
    mmm.sample_posterior_predictive(d.X, extend_idata=True, combined=False, random_seed=seed + 2,
                                    progressbar=spec.sampler.progressbar)
    timings["posterior_predictive_s"] = time.perf_counter() - t
    return timings


def save_fit(mmm, path: str | Path) -> Path:
    """Write the whole trace (prior, posterior, predictive, data, config) as NetCDF, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        mmm.save(str(tmp))
    return path


def load_fit(path: str | Path):
    """The fitted MMM from its NetCDF trace, without re-sampling (``MMM.load``)."""
    from pymc_marketing.mmm import MMM

    import mmmlab.mean_response_hill  # noqa: F401  (these register their classes for deserialisation)
    import mmmlab.recursive_adstock  # noqa: F401

    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: no fitted trace; run `mmmlab fit` first")
    return MMM.load(str(path))


# --------------------------------------------------------------------------- original units
def saturation_of(idata, group: str = "posterior") -> str:
    """Which saturation produced the trace, from its variable names."""
    names = set(idata[group].data_vars)
    if "saturation_kappa" in names:
        return "hill"
    if "saturation_beta" in names and "saturation_lam" in names:
        return "logistic"
    if "saturation_alpha" in names:
        return "michaelis_menten"
    raise ValueError("the trace holds none of the saturations " + ", ".join(SATURATIONS))


def adstock_of(idata) -> tuple[int, bool]:
    """(l_max, normalize) as pymc-marketing stored them in the trace's attributes."""
    raw = idata.attrs["adstock"]
    adstock = json.loads(raw) if isinstance(raw, str) else raw
    return int(adstock["l_max"]), bool(adstock.get("normalize", True))


def kernel_sum(decay, lags: int):
    """``sum_{l<lags} decay**l``: the un-normalised kernel's total weight."""
    return xr.where(decay == 1, lags, (1 - decay**lags) / (1 - decay))


def original_scale_parameters(idata, group: str = "posterior") -> xr.Dataset:
    """Each channel's parameters in the simulator's units (dims chain, draw, channel).

    hill: decay, alpha (sales), gamma, k (adstocked spend); logistic: decay, alpha (sales, the
    asymptote), lam (per unit of adstocked spend); michaelis_menten: decay, alpha (sales), lam
    (adstocked spend at half saturation).
    """
    post = idata[group]
    cs = idata["constant_data"]["channel_scale"]
    ts = idata["constant_data"]["target_scale"]
    decay = post["adstock_alpha"]
    lags, normalize = adstock_of(idata)
    spend_unit = cs * (kernel_sum(decay, lags) if normalize else 1.0)  # one scaled adstock unit, in spend
    saturation = saturation_of(idata, group)
    if saturation == "hill":
        out = {"decay": decay, "alpha": post["saturation_beta"] * ts, "gamma": post["saturation_slope"],
               "k": post["saturation_kappa"] * spend_unit}
    elif saturation == "logistic":
        out = {"decay": decay, "alpha": post["saturation_beta"] * ts, "lam": post["saturation_lam"] / spend_unit}
    else:
        out = {"decay": decay, "alpha": post["saturation_alpha"] * ts, "lam": post["saturation_lam"] * spend_unit}
    ds = xr.Dataset({k: v.reset_coords(drop=True) if hasattr(v, "reset_coords") else v for k, v in out.items()})
    ds.attrs.update(saturation=saturation, l_max=lags, normalize=int(normalize))
    return ds.transpose("chain", "draw", "channel")


def response(saturation: str, adstock, p: dict):
    """A channel's contribution at un-normalised adstock ``adstock`` (spend units), original-unit parameters."""
    if saturation == "hill":
        return hill(adstock, p["alpha"], p["gamma"], p["k"])
    if saturation == "logistic":
        return p["alpha"] * logistic(adstock, p["lam"])
    return michaelis_menten(adstock, p["alpha"], p["lam"])


def response_derivative(saturation: str, adstock, p: dict):
    """d response / d adstock."""
    if saturation == "hill":
        return hill_derivative(adstock, p["alpha"], p["gamma"], p["k"])
    if saturation == "logistic":
        z = np.exp(-p["lam"] * adstock)
        return p["alpha"] * 2 * p["lam"] * z / (1 + z) ** 2
    return p["alpha"] * p["lam"] / (p["lam"] + adstock) ** 2


def channel_contributions(idata, group: str = "posterior") -> xr.DataArray:
    """Per-period channel contributions in sales units (dims chain, draw, date, channel)."""
    post = idata[group]
    if "channel_contribution_original_scale" in post.data_vars:
        out = post["channel_contribution_original_scale"]
    else:
        out = post["channel_contribution"] * idata["constant_data"]["target_scale"]
    return out.reset_coords(drop=True).transpose("chain", "draw", "date", "channel")


def marginal_roas(idata, mean_spend: pd.Series, group: str = "posterior") -> xr.DataArray:
    """Extra sales per extra unit of spend at each channel's mean spend, held forever (dims chain, draw, channel).

    At steady state the adstock is ``mean_spend * W`` (``W = sum_{l<l_max} decay**l``); one more
    unit of spend in one period adds ``f'(S) * W`` sales over the following periods.
    """
    p = original_scale_parameters(idata, group)
    weight = kernel_sum(p["decay"], p.attrs["l_max"])
    spend = xr.DataArray(mean_spend.to_numpy(dtype=float), dims="channel", coords={"channel": list(mean_spend.index)})
    level, weight = xr.broadcast(spend * weight, weight)
    level, weight = level.transpose("chain", "draw", "channel"), weight.transpose("chain", "draw", "channel")
    values = {k: p[k].transpose("chain", "draw", "channel").values for k in p.data_vars}
    slope = response_derivative(p.attrs["saturation"], level.values, values) * weight.values
    return level.copy(data=slope)


# --------------------------------------------------------------------------- what the data inform
def _free_variables(idata) -> list[str]:
    prior = set(idata["prior"].data_vars) if "prior" in idata.children else set()
    post = idata["posterior"]
    return [v for v in post.data_vars if v in prior and "date" not in post[v].dims
            and not v.startswith(("adstock_", "saturation_")) and ("contribution" not in v or v == "intercept_contribution")]


def prior_posterior_contraction(idata, hdi_prob: float = 0.94, threshold: float = 0.5) -> pd.DataFrame:
    """How much the data narrowed each parameter: 1 - (posterior interval width / prior interval width).

    One row per parameter and channel (original units) and per other structural parameter (internal
    scale). Widths are central ``hdi_prob`` intervals, on a log scale for scale parameters (alpha, k,
    lam, y_sigma). ``prior_dominated`` marks contraction below ``threshold``: the data said little.
    """
    lo, hi = (1 - hdi_prob) / 2, (1 + hdi_prob) / 2
    prior_p, post_p = original_scale_parameters(idata, "prior"), original_scale_parameters(idata, "posterior")
    pairs = [(name, post_p[name], prior_p[name]) for name in post_p.data_vars]
    pairs += [(name, idata["posterior"][name], idata["prior"][name]) for name in _free_variables(idata)]
    rows = []
    for name, post, prior in pairs:
        dims = [d for d in post.dims if d not in ("chain", "draw")]
        stacked_post = post.stack(_s=("chain", "draw")).transpose(*dims, "_s") if dims else post.stack(_s=("chain", "draw"))
        stacked_prior = prior.stack(_s=("chain", "draw")).transpose(*dims, "_s") if dims else prior.stack(_s=("chain", "draw"))
        labels = [(d, str(v)) for d in dims for v in post[d].values] if dims else [(None, None)]
        for dim, label in labels:
            a = (stacked_post.sel({dim: label}) if dim else stacked_post).values.astype(float)
            b = (stacked_prior.sel({dim: label}) if dim else stacked_prior).values.astype(float)
            log = name in LOG_SCALE and a.min() > 0 and b.min() > 0
            a, b = (np.log(a), np.log(b)) if log else (a, b)
            w_post, w_prior = np.subtract(*np.quantile(a, [hi, lo])), np.subtract(*np.quantile(b, [hi, lo]))
            contraction = 1 - w_post / w_prior if w_prior > 0 else np.nan
            rows.append({"parameter": name, "channel": label if dim == "channel" else None,
                         "coord": label if dim != "channel" else None, "scale": "log" if log else "linear",
                         "prior_sd": float(b.std()), "posterior_sd": float(a.std()),
                         "prior_width": float(w_prior), "posterior_width": float(w_post),
                         "contraction": float(contraction), "prior_dominated": bool(contraction < threshold)})
    return pd.DataFrame(rows)
