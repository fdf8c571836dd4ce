"""What gets an interval: one :class:`Target` per parameter, and the :class:`Interval` found for it.

Shared by the two interval methods, :mod:`.profile` (which walks each target's value) and
:mod:`.bootstrap` (which refits simulated sales and reads each target off every refit), and by
:mod:`.verdicts`. A target says where the search may take the parameter and how a profile holds
it fixed; the interval says which of its ends are the search's limits rather than the data's.

Nothing here reads the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmmlab.recovery.search import PointFit


@dataclass
class Target:
    """One parameter to profile: how to hold it fixed and where it may go.

    Parameters
    ----------
    channel : str
        Channel name, or ``"baseline"``.
    parameter : str
        ``decay``, ``alpha``, ``gamma``, ``k``, ``growth`` or a multiplier's name.
    kind : str
        ``"nl"`` (a coordinate of theta), ``"k"`` (Hill k in spend units) or ``"linear"`` (a linear coefficient).
    index : int
        Coordinate of theta (``nl``), channel index (``k``) or linear column (``linear``).
    estimate : float
        The value at the optimum, in the parameter's own units.
    lower_bound, upper_bound : float
        Where the search may take it.
    log : bool
        Walk on the log scale.
    step : float
        First step on the working scale.
    path : list
        ``(value, deviance, alpha, gamma)`` of every profiled point.
    """

    channel: str
    parameter: str
    kind: str
    index: int
    estimate: float
    lower_bound: float
    upper_bound: float
    log: bool
    step: float
    path: list = field(default_factory=list)


@dataclass
class Interval:
    """An interval and whether each end is a search bound rather than a finding of the data.

    Parameters
    ----------
    lower, upper : float
    lower_at_bound, upper_at_bound : bool
        The end is where the search stopped (a bound, or the walk's end), not where the data put it.
    """

    lower: float
    upper: float
    lower_at_bound: bool
    upper_at_bound: bool


# --------------------------------------------------------------------------- targets
def channel_targets(fit: PointFit) -> list[Target]:
    """Decay, alpha, gamma and k of every channel of ``fit``, at its optimum."""
    m, spec = fit.model, fit.model.spec
    params = fit.channel_params()
    se = dict(zip(fit.linear_table["name"], fit.linear_table["se_conditional"]))
    d_lo, d_hi = spec.decay_bounds
    g_lo, g_hi = spec.gamma_bounds
    out = []
    for j, ch in enumerate(m.channels):
        p = params.loc[ch]
        k_lo, k_hi = m.k_range(j)
        alpha_step = max(float(se[f"{ch}.alpha"]), 1e-3 * abs(float(p["alpha"])), 1e-9)
        out += [
            Target(ch, "decay", "nl", m.layout.channel_index(j, "decay"), float(p["decay"]), d_lo, d_hi, False,
                   0.02 * (d_hi - d_lo)),
            Target(ch, "alpha", "linear", m.alpha_columns[ch], float(p["alpha"]), 0.0 if spec.nonnegative else -np.inf,
                   np.inf, False, alpha_step),
            Target(ch, "gamma", "nl", m.layout.channel_index(j, "gamma"), float(p["gamma"]), g_lo, g_hi, True, 0.03),
            Target(ch, "k", "k", j, float(p["k"]), k_lo, k_hi, True, 0.05),
        ]
    return out


def baseline_targets(fit: PointFit) -> list[Target]:
    """The baseline's growth and multipliers in ``fit``, at its optimum."""
    m, spec = fit.model, fit.model.spec
    out = []
    if m.layout.growth_index is not None:
        lo, hi = spec.growth_bounds
        out.append(Target("baseline", "growth", "nl", m.layout.growth_index, float(fit.theta[m.layout.growth_index]),
                          lo, hi, False, 0.005 * (hi - lo)))
    for i, name in enumerate(m.baseline.multiplier_names):
        lo, hi = spec.multiplier_bounds
        idx = m.layout.multiplier_offset + i
        out.append(Target("baseline", name.removeprefix("baseline."), "nl", idx, float(np.exp(fit.theta[idx])), lo, hi,
                          True, 0.01))
    return out


def targets(fit: PointFit) -> list[Target]:
    """Every parameter of ``fit`` that gets an interval: the channels', then the baseline's."""
    return channel_targets(fit) + baseline_targets(fit)
