"""Validation report sections 1-6: how the fit was made and whether it can be trusted.

Setup, model specification, convergence diagnostics, trace plots, posterior predictive check and
prior vs posterior, each computed from the saved trace.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab import bayes
from mmmlab.plots import report as plots
from mmmlab.report.context import (
    Context,
    channel_rows,
    dominated_names,
    has_posterior_predictive,
    hdi,
    predictive_original_units,
    versions,
)
from mmmlab.report.model import Block, Part


# --------------------------------------------------------------------------- 1. setup
def setup_section(c: Context) -> Part:
    """Section 1: software versions, where the trace came from, and the gate thresholds in force."""
    part = Part("setup", "Setup")
    posterior_attrs = c.idata["posterior"].attrs
    part.text("The report loads the saved trace and computes every number and figure from it; it never re-runs MCMC.")
    rows = [{"item": f"{k} version", "value": v} for k, v in versions().items()]
    # no creation time: the trace holds none, so that a re-run with the same inputs writes the same bytes
    rows += [
        {"item": "inference library", "value": f"{posterior_attrs.get('inference_library', 'unknown')} "
                                               f"{posterior_attrs.get('inference_library_version', '')}".strip()},
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
    c.add_table(part, "setup_thresholds", thresholds, "Thresholds in force (params fit.gates and fit.hdi_prob)")
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
    "MeanResponseHill": "f(x) = β · x^s / (x^s + κ^s),  β = v · (x̄^s + κ^s) / x̄^s  (v: response at the mean spend x̄)",
    "TanhSaturation": "f(x) = b · tanh(x / (b · c))  (b: maximum effect, c: initial cost per unit)",
}


def _formula(formulas: dict[str, str], component) -> str:
    """The formula of ``component``'s class or of the nearest base class that has one."""
    known = (formulas[k.__name__] for k in type(component).__mro__ if k.__name__ in formulas)
    return next(known, f"{type(component).__name__}: see pymc-marketing")


def specification_section(c: Context) -> Part:
    """Section 2: the model and sampler settings, every prior, and the transforms' formulas."""
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
        ("adstock", _formula(ADSTOCK_FORMULAS, adstock).replace("{norm}", norm)),
        ("saturation", _formula(SATURATION_FORMULAS, saturation)),
        ("scaling", "x = spend / max(spend of the channel);  y = sales / max(sales); the likelihood is on the scaled y"),
        ("mean", "μ_t = intercept + Σ_channels f(x*_t) + Σ_controls γ · control_t (+ seasonality)"),
    ]
    part.blocks.append(Block("formula", formulas, "Transforms in use"))
    names = ", ".join(c.posterior_params.data_vars)
    part.text(f"Parameters in original units (spend and sales) come from mmmlab.bayes: {names}. "
              "Sections 6, 8 and 9 use them.")
    return part


# --------------------------------------------------------------------------- 3. convergence
def convergence_section(c: Context) -> Part:
    """Section 3: the gates' verdict, R-hat and ESS per structural parameter, with a bar chart."""
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
def key_parameters(c: Context) -> list[str]:
    """The trace variables section 4 plots: ``report.key_parameters``, else the intercept, adstock
    and saturation variables; names absent from the posterior are dropped."""
    posterior = c.idata["posterior"]
    if c.settings.key_parameters:
        names = list(c.settings.key_parameters)
    else:
        names = ["intercept_contribution",
                 *c.mmm.adstock.variable_mapping.values(), *c.mmm.saturation.variable_mapping.values()]
    return [n for n in names if n in posterior.data_vars]


def traces_section(c: Context) -> Part:
    """Section 4: per-chain densities and draw traces of the key parameters."""
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
def predictive_section(c: Context) -> Part:
    """Section 5: observed target over the posterior predictive bands, with coverage, R² and MAPE."""
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
def prior_posterior_section(c: Context) -> Part:
    """Section 6: prior vs posterior densities in original units and which parameters the prior dominates."""
    part = Part("prior-posterior", "Prior vs posterior")
    if c.contraction is None:
        part.text("The trace has no prior group, so prior and posterior cannot be compared.")
        return part
    prior = bayes.original_scale_parameters(c.idata, "prior")
    contraction = c.contraction
    lookup = {(str(r.parameter), str(r.channel)): r for r in channel_rows(contraction).itertuples(index=False)}
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
    names = dominated_names(contraction)
    channel_names = dominated_names(channel_rows(contraction))
    c.metrics["prior_dominated.count"] = float(len(names))
    threshold = c.settings.prior_dominated_below
    part.text("Grey: the prior; blue: the posterior, both in original units (decay; saturation and magnitude "
              f"parameters: {', '.join(v for v in c.posterior_params.data_vars if v != 'decay')}). The contraction is "
              f"1 - (posterior {c.pct} interval width / prior width), on a log scale for scale parameters: 0 means "
              "the data did not narrow the prior at all, 1 that they pinned the parameter down. Below "
              f"{threshold:g} a parameter is called prior-dominated: its estimate reflects the prior more than the data.")
    part.text(f"Prior-dominated channel parameters ({len(channel_names)} of {len(channel_rows(contraction))}): "
              + (", ".join(channel_names) if channel_names else "none") + ".")
    others = [n for n in names if n not in channel_names]
    if others:
        part.text(f"Other prior-dominated parameters (internal scale): {', '.join(others)}.")
    figure = plots.prior_vs_posterior(panels, "Prior vs posterior: decay, saturation and magnitude parameters (original units)",
                                      columns=len(c.channels))
    c.add_figure(part, "prior_vs_posterior", figure, "One row per parameter, one column per channel; red titles: prior-dominated")
    c.add_table(part, "contraction", contraction, "Prior-to-posterior contraction of every parameter")
    return part
