"""What the reader reads: the simulator's parameter names, the gates in plain words, one-line explanations.

pymc-marketing names its parameters on its internal (scaled) model; the simulator, the truth file and
every original-unit table use ``decay``, ``alpha``, ``gamma`` and ``k`` (the map between them is
:mod:`mmmlab.bayes.units`). The report shows the simulator's names; the internal ones appear once,
in the priors table of section 2 (:func:`internal_units_note`).
"""

from __future__ import annotations

from mmmlab.diagnostics import GateCheck
from mmmlab.report.numbers import number

# pymc-marketing's trace name -> the simulator's name (same parameter; alpha, k and lam differ by a scale)
SIMULATOR_NAMES = {
    "adstock_alpha": "decay",
    "saturation_slope": "gamma",
    "saturation_beta": "alpha",
    "saturation_kappa": "k",
    "saturation_alpha": "alpha",  # Michaelis-Menten's maximum effect
    "saturation_lam": "lam",
}
# pymc-marketing names without a simulator counterpart -> plain words
OTHER_NAMES = {
    "intercept": "intercept",
    "intercept_contribution": "intercept",
    "gamma_control": "control coefficient",
    "gamma_fourier": "seasonality coefficient",
    "likelihood": "noise",
    "y_sigma": "noise sd",
    "saturation_value": "response at mean spend",
    "total_media_contribution_original_scale": "total media contribution",
}

GATE_NAMES = {
    "max_r_hat": "R-hat",
    "min_ess_bulk": "bulk ESS",
    "min_ess_tail": "tail ESS",
    "divergences": "divergent transitions",
    "min_bfmi": "BFMI",
}
GATE_SCOPE = {  # over what the gate takes its extreme value
    "max_r_hat": "largest over the structural parameters",
    "min_ess_bulk": "smallest over the structural parameters",
    "min_ess_tail": "smallest over the structural parameters",
    "divergences": "count over all chains",
    "min_bfmi": "lowest chain",
}
GATE_TERMS = {"max_r_hat": "R-hat", "min_ess_bulk": "ESS", "min_ess_tail": "ESS", "divergences": "divergences",
              "min_bfmi": "BFMI"}
RULE_WORDS = {"<": "below", ">": "above", "<=": "at most", ">=": "at least"}


# --------------------------------------------------------------------------- parameter names
def parameter_name(name: str) -> str:
    """The simulator's (or a plain) name of a parameter that pymc-marketing or the report names ``name``.

    Parameters
    ----------
    name : str
        A trace variable (``adstock_alpha``), a model_config key (``intercept``) or an
        original-unit parameter (``decay``, returned unchanged).

    Returns
    -------
    str
        ``"decay"``, ``"alpha"``, ``"gamma"``, ``"k"``, ``"control coefficient"`` ...; an unknown
        name unchanged.
    """
    return SIMULATOR_NAMES.get(name, OTHER_NAMES.get(name, name))


def label(name: str, coord: str | None = None) -> str:
    """``"decay (TV)"``: a parameter's shown name with its channel or other coordinate.

    Parameters
    ----------
    name : str
        As for :func:`parameter_name`.
    coord : str, optional
        The channel (or control, Fourier mode ...); None for a scalar.
    """
    shown = parameter_name(name)
    return f"{shown} ({coord})" if coord not in (None, "") else shown


def summary_label(index: str) -> str:
    """The shown name of an arviz summary row label: ``adstock_alpha[TV]`` -> ``decay (TV)``.

    Parameters
    ----------
    index : str
        ``variable`` or ``variable[coordinate]`` (the coordinate may itself hold brackets).
    """
    if "[" in index and index.endswith("]"):
        name, coord = index.split("[", 1)
        return label(name, coord[:-1])
    return label(index)


def original_units(key: str, unit: str, normalize: bool) -> str:
    """How a pymc-marketing parameter (a model_config key) maps onto the simulator's, in words.

    Parameters
    ----------
    key : str
        ``adstock_alpha``, ``saturation_kappa`` ...
    unit : str
        The target's label (sales).
    normalize : bool
        Whether the adstock is normalised (then spend-like parameters carry the kernel's sum).

    Returns
    -------
    str
        ``"k = saturation_kappa × max spend of the channel"``; empty when there is no simple map.
    """
    kernel = " × Σ_l decay^l" if normalize else ""
    return {
        "adstock_alpha": "decay = adstock_alpha (same scale)",
        "saturation_slope": "gamma = saturation_slope (same scale)",
        "saturation_beta": f"alpha = saturation_beta × max {unit}",
        "saturation_alpha": f"alpha = saturation_alpha × max {unit}",
        "saturation_kappa": f"k = saturation_kappa × max spend of the channel{kernel}",
        "saturation_lam": "lam: saturation_lam rescaled by the max spend of the channel" + kernel.replace("×", "and"),
        "saturation_value": f"× max {unit}; alpha is derived from it",
        "intercept": f"intercept × max {unit} gives {unit}",
        "likelihood": f"noise sd (y_sigma) × max {unit}",
    }.get(key, "")


# --------------------------------------------------------------------------- gates
def gate_name(check: GateCheck) -> str:
    """The gate's statistic in plain words (``bulk ESS``)."""
    return GATE_NAMES.get(check.name, check.name)


def gate_sentence(check: GateCheck) -> str:
    """One gate as a sentence: ``bulk ESS, smallest over the structural parameters: 1,114 (must be above 400): ok``.

    A value missing from the trace is said to be missing (such a gate never passes).
    """
    rule = f"must be {RULE_WORDS.get(check.rule, check.rule)} {number(check.threshold)}"
    scope = GATE_SCOPE.get(check.name)
    name = f"{gate_name(check)}, {scope}" if scope else gate_name(check)
    value = "missing from the trace" if check.missing else number(check.value)
    return f"{name}: {value} ({rule}): {'ok' if check.passed else 'FAILED'}"


def gate_failure(check: GateCheck) -> str:
    """A failed gate in a few words: ``bulk ESS 150 (must be above 400)``."""
    if check.missing:
        return f"{gate_name(check)} missing from the trace"
    return f"{gate_name(check)} {number(check.value)} (must be {RULE_WORDS.get(check.rule, check.rule)} {number(check.threshold)})"


# --------------------------------------------------------------------------- one-line explanations
def glossary(pct: str, prior_dominated_below: float) -> dict[str, str]:
    """One plain sentence per statistic the report uses, by term.

    Parameters
    ----------
    pct : str
        The HDI probability as a percentage label (``"94%"``).
    prior_dominated_below : float
        The contraction below which a parameter is prior-dominated.

    Returns
    -------
    dict of str to str
        ``R-hat``, ``ESS``, ``divergences``, ``BFMI``, ``HDI``, ``informed`` and ``contraction``.
    """
    kept = f"{1 - prior_dominated_below:.0%}"
    return {
        "R-hat": "R-hat compares the chains with each other: near 1 means they agree.",
        "ESS": "ESS (effective sample size): the number of independent draws the correlated chains are worth "
               "(bulk: for the centre of the posterior; tail: for its 5% and 95% quantiles).",
        "divergences": "Divergent transitions: steps where the sampler could not follow the posterior's curvature; "
                       "even a few can bias the results.",
        "BFMI": "BFMI (Bayesian fraction of missing information): whether the sampler explores the energy of the "
                "posterior; low values mean poorly explored tails.",
        "HDI": f"{pct} HDI (highest density interval): the narrowest interval holding {pct} of the posterior.",
        "informed": f"Informed: the data shrank the parameter's {pct} interval to at most {kept} of the prior's width "
                    f"(contraction at least {number(prior_dominated_below)}); otherwise it is prior-dominated and "
                    "its estimate mostly repeats the prior.",
        "contraction": f"Contraction: 1 - (posterior {pct} interval width / prior width): 0 means the data did not "
                       "narrow the prior at all, 1 that they pinned the parameter down.",
    }
