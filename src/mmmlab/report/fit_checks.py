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
from mmmlab.report.numbers import number, percent
from mmmlab.report.words import GATE_NAMES, label, original_units, parameter_name, summary_label


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
    words = c.glossary
    thresholds = pd.DataFrame([
        {"metric": "R-hat (max over structural parameters)", "rule": "<", "threshold": g.r_hat_max, "meaning": words["R-hat"]},
        {"metric": "bulk ESS (min)", "rule": ">", "threshold": g.ess_bulk_min, "meaning": words["ESS"]},
        {"metric": "tail ESS (min)", "rule": ">", "threshold": g.ess_tail_min, "meaning": "As bulk ESS, for the tails."},
        {"metric": "divergent transitions", "rule": "<=", "threshold": g.divergences_max, "meaning": words["divergences"]},
        {"metric": "BFMI (min over chains)", "rule": ">", "threshold": g.bfmi_min, "meaning": words["BFMI"]},
        {"metric": "credible interval (HDI) probability", "rule": "=", "threshold": c.prob, "meaning": words["HDI"]},
    ])
    c.add_table(part, "setup_thresholds", thresholds,
                "Thresholds in force (params fit.gates and fit.hdi_prob), and what each statistic measures")
    return part


# --------------------------------------------------------------------------- 2. specification
# in the simulator's names and units: a is the adstocked spend (spend units), f(a) the sales per period
ADSTOCK_FORMULAS = {
    "GeometricAdstock": ("a_t = Σ_{l=0}^{L-1} w_l · spend_{t-l},  w_l = decay^l{norm}  (decay: share of the effect "
                         "carried to the next period, L = l_max)"),
    "DelayedAdstock": "a_t = Σ_{l=0}^{L-1} w_l · spend_{t-l},  w_l = decay^((l-θ)^2){norm}  (θ: delay of the peak)",
    "WeibullPDFAdstock": "a_t = Σ_{l=0}^{L-1} w_l · spend_{t-l},  w_l = Weibull pdf(l; λ, k){norm}",
    "WeibullCDFAdstock": "a_t = Σ_{l=0}^{L-1} w_l · spend_{t-l},  w_l = 1 - Weibull cdf(l; λ, k){norm}",
}
SATURATION_FORMULAS = {
    "HillSaturation": ("f(a) = alpha · a^gamma / (a^gamma + k^gamma)  (alpha: maximum sales per period, "
                       "k: adstocked spend at half saturation, gamma: slope)"),
    "LogisticSaturation": "f(a) = alpha · (1 - e^(-lam·a)) / (1 + e^(-lam·a))  (alpha: maximum effect, lam: steepness)",
    "MichaelisMentenSaturation": "f(a) = alpha · a / (lam + a)  (alpha: maximum effect, lam: half-saturation point)",
    "MeanResponseHill": ("f(a) = alpha · a^gamma / (a^gamma + k^gamma),  alpha = v · (ā^gamma + k^gamma) / ā^gamma  "
                         "(v: response at the mean adstocked spend ā)"),
    "TanhSaturation": "f(x) = b · tanh(x / (b · c))  (b: maximum effect, c: initial cost per unit; pymc-marketing's names)",
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
        ("adstock", (f"{type(adstock).__name__} (l_max={adstock.l_max}, normalize={getattr(adstock, 'normalize', 'n/a')}, "
                     f"mode={getattr(getattr(adstock, 'mode', None), 'name', getattr(adstock, 'mode', 'n/a'))})")),
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
    normalize = bool(getattr(adstock, "normalize", False))
    priors = []
    for key, prior in (mmm.model_config or {}).items():
        used = aliases.get(key, key) in variables
        priors.append({"parameter": parameter_name(key), "pymc-marketing name": key, "prior": str(prior),
                       "in original units": original_units(key, c.unit, normalize),
                       "in this model": "yes" if used else "no (unused)"})
    c.add_table(part, "priors", pd.DataFrame(priors),
                "Prior of every parameter, on pymc-marketing's internal scale (spend / channel max, sales / max sales). "
                "The report names parameters as the simulator does; this table maps them to pymc-marketing's names once")

    norm = " / Σ_j decay^j" if normalize else ""
    formulas = [
        ("adstock", _formula(ADSTOCK_FORMULAS, adstock).replace("{norm}", norm)),
        ("saturation", _formula(SATURATION_FORMULAS, saturation)
         + ("; a here is the un-normalised adstock, which k absorbs" if normalize else "")),
        ("scaling", ("pymc-marketing fits x = spend / max(spend of the channel) and y = sales / max(sales), with the "
                     "likelihood on the scaled y; the formulas above are in the simulator's units (table above)")),
        ("mean", "μ_t = intercept + Σ_channels f(a_t) + Σ_controls coefficient · control_t (+ seasonality)"),
    ]
    part.blocks.append(Block("formula", formulas, "Transforms in use (the simulator's names and units)"))
    names = ", ".join(c.posterior_params.data_vars)
    part.text(f"Parameters in original units (spend and sales) come from mmmlab.bayes: {names}. "
              "Sections 6, 8 and 9 use them.")
    return part


# --------------------------------------------------------------------------- 3. convergence
def convergence_section(c: Context) -> Part:
    """Section 3: the gates' verdict, R-hat and ESS per structural parameter, with a bar chart."""
    part = Part("convergence", "Convergence diagnostics")
    part.text("Whether the sampler converged, and nothing else: a converged fit can still be mostly prior "
              "(section 6) or miss the truth (section 11).")
    part.blocks.append(Block("verdict", c.verdict))
    checks = pd.DataFrame([
        {"check": GATE_NAMES.get(k.name, k.name), "metric": k.name, "value": k.value, "rule": k.rule,
         "threshold": k.threshold, "status": "ok" if k.passed else "FAILED"}
        for k in c.verdict.checks
    ])
    c.add_table(part, "convergence_checks", checks, "Each gate against its threshold",
                columns=["check", "value", "rule", "threshold", "status"])
    summary = c.summary
    g = c.settings.gates
    bad_r = int((~(summary["r_hat"] < g.r_hat_max)).sum())
    bad_e = int((~(summary["ess_bulk"] > g.ess_bulk_min)).sum())
    part.text(f"{len(summary)} structural parameters (per-period deterministics excluded); "
              f"{bad_r} with R-hat ≥ {number(g.r_hat_max)}, {bad_e} with bulk ESS ≤ {number(g.ess_bulk_min)}.")
    table = summary.reset_index().rename(columns={"index": "parameter"})
    table.insert(0, "name", [summary_label(str(p)) for p in table["parameter"]])
    c.add_table(part, "parameter_summary", table,
                "Structural parameters sorted by R-hat, worst first, each under the simulator's name (section 2 maps "
                "the names); R-hat and ESS are those of the sampled variable. Means and intervals on pymc-marketing's "
                "internal scale are in tables/parameter_summary.csv",
                columns=["name", "r_hat", "ess_bulk", "ess_tail"])
    shown = summary.set_axis([summary_label(str(p)).replace("control coefficient (", "control (") for p in summary.index])
    c.add_figure(part, "convergence_bars", plots.convergence_bars(shown, g.r_hat_max, g.ess_bulk_min),
                 "R-hat and bulk ESS per structural parameter; dashed lines are the thresholds")
    c.metrics.update({f"convergence.{k}": v for k, v in c.verdict.metrics().items()})
    c.metrics["convergence.passed"] = float(c.verdict.passed)
    return part


# --------------------------------------------------------------------------- 4. traces
def key_parameters(c: Context) -> list[str]:
    """The trace variables ``report.key_parameters`` names, else the intercept, adstock and saturation
    variables; names absent from the posterior are dropped. Section 4 plots them only when
    ``report.key_parameters`` is set (by default it plots the simulator's parameters, :func:`trace_panels`)."""
    posterior = c.idata["posterior"]
    if c.settings.key_parameters:
        names = list(c.settings.key_parameters)
    else:
        names = ["intercept_contribution",
                 *c.mmm.adstock.variable_mapping.values(), *c.mmm.saturation.variable_mapping.values()]
    return [n for n in names if n in posterior.data_vars]


def trace_panels(c: Context) -> dict[str, np.ndarray]:
    """The draws section 4 plots, one panel each: label -> array (chain, draw).

    By default every channel parameter in the simulator's units (decay, alpha, gamma, k per
    channel, parameter by parameter) and the intercept; with ``report.key_parameters``, those
    trace variables, one panel per coordinate, under the simulator's names.
    """
    posterior = c.idata["posterior"]
    panels: dict[str, np.ndarray] = {}
    if c.settings.key_parameters:
        for name in key_parameters(c):
            array = posterior[name]
            extra = [d for d in array.dims if d not in ("chain", "draw")]
            flat = array.stack(item=extra) if extra else array.expand_dims(item=[0])
            for i in range(flat.sizes["item"]):
                one = flat.isel(item=i)
                coord = ", ".join(str(one[d].values) for d in extra) if extra else None
                panels[label(name, coord)] = one.transpose("chain", "draw").values
        return panels
    for name in c.posterior_params.data_vars:
        for channel in c.channels:
            panels[label(str(name), channel)] = c.posterior_params[name].sel(channel=channel).transpose("chain", "draw").values
    if "intercept_contribution" in posterior.data_vars and not set(posterior["intercept_contribution"].dims) - {"chain", "draw"}:
        panels["intercept (share of max sales)"] = posterior["intercept_contribution"].transpose("chain", "draw").values
    return panels


def traces_section(c: Context) -> Part:
    """Section 4: rank plots and traces, one panel per parameter and channel, one colour per chain."""
    part = Part("traces", "Trace plots")
    panels = trace_panels(c)
    columns = len(c.channels) if not c.settings.key_parameters else 4
    chains = c.idata["posterior"].sizes.get("chain", 0)
    part.text(f"One panel per parameter and channel, in the simulator's units; one colour per chain ({chains} chains, "
              "legend under the panels). Rank plots: the draws of all chains are ranked together and each chain's ranks are "
              "counted in bins; when the chains agree, every chain's line stays near 1, inside the grey band that "
              "chance allows. Traces: each chain's draws in order; converged chains overlap as stationary noise, "
              "without trends or stuck stretches.")
    c.add_figure(part, "rank_plots", plots.rank_plots(panels, columns=columns),
                 "Rank plots: flat lines inside the grey band mean the chains agree")
    c.add_figure(part, "trace_plots", plots.trace_plots(panels, columns=columns),
                 "Traces of the same parameters, one colour per chain")
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
              f"{inside.sum()} of {len(observed)} observed values ({percent(inside.mean())}) fall inside the {c.pct} HDI "
              f"(expected about {percent(c.prob)}); R² of the predictive mean {number(r2)}; MAPE {percent(mape, 1)}.")
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
                "label": label(str(name), channel),
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
              f"{number(threshold)} a parameter is called prior-dominated: its estimate reflects the prior more than the data.")
    part.text(f"Prior-dominated channel parameters ({len(channel_names)} of {len(channel_rows(contraction))}): "
              + (", ".join(channel_names) if channel_names else "none") + ".")
    others = [n for n in names if n not in channel_names]
    if others:
        part.text(f"Other prior-dominated parameters (internal scale): {', '.join(others)}.")
    figure = plots.prior_vs_posterior(panels, "Prior vs posterior: decay, saturation and magnitude parameters (original units)",
                                      columns=len(c.channels))
    c.add_figure(part, "prior_vs_posterior", figure, "One row per parameter, one column per channel; red titles: prior-dominated")
    table = contraction.copy()
    table.insert(0, "name", [parameter_name(str(p)) for p in table["parameter"]])
    c.add_table(part, "contraction", table, "Prior-to-posterior contraction of every parameter (widths on the log scale "
                "for scale parameters; non-channel parameters on pymc-marketing's internal scale)",
                columns=["name", "channel", "coord", "scale", "prior_width", "posterior_width", "contraction",
                         "prior_dominated"])
    return part
