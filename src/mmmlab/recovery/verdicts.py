"""Identifiability verdicts: what an interval says a parameter is, in plain words."""

from __future__ import annotations

import numpy as np

from mmmlab.config.recover import RecoverySpec
from mmmlab.recovery.targets import Interval, Target


# --------------------------------------------------------------------------- verdicts
def format_value(parameter: str, value: float) -> str:
    """A value as the verdict sentences print it.

    Parameters
    ----------
    parameter : str
        The parameter's name: growth gets 4 decimals.
    value : float

    Returns
    -------
    str
        3 significant digits, growth to 4 decimals, large values with thousands separators.
    """
    if not np.isfinite(value):
        return "inf" if value > 0 else "-inf"
    if parameter in ("decay", "gamma", "growth") or abs(value) < 10:
        return f"{value:.3g}" if parameter != "growth" else f"{value:.4f}"
    return f"{value:,.0f}"


def verdict(target: Target, interval: Interval, spec: RecoverySpec, level: float) -> tuple[str, str]:
    """What an interval says about a parameter, in one word and one plain sentence.

    Alpha, gamma, k and the multipliers are judged by the ratio of their interval's ends
    (``spec.ratio``), decay and growth by the interval's width (``spec.decay_width``,
    ``spec.growth_width``). An interval over ``spec.unidentified_share`` of the search range, or
    reaching both search bounds, is "not identified"; in between, "weakly identified".

    Parameters
    ----------
    target : Target
        The parameter, its estimate and search bounds.
    interval : Interval
    spec : RecoverySpec
        The verdict thresholds.
    level : float
        The interval's level, for the sentence.

    Returns
    -------
    word : str
        ``"identified"``, ``"weakly identified"`` or ``"not identified"``.
    sentence : str
    """
    name = f"{target.parameter} of {target.channel}"
    lo, hi = interval.lower, interval.upper
    span = f"{100 * level:.0f}% interval {format_value(target.parameter, lo)}-{format_value(target.parameter, hi)}"
    if target.parameter == "alpha" and lo <= 0 <= hi:
        return "not identified", (f"{name}: not identified, the channel's effect is not distinguishable from zero "
                                  f"({span})")
    if target.log or target.parameter == "alpha":
        identified, share = _by_ratio(target, interval, spec)
    else:
        identified, share = _by_width(target, interval, spec)
    reach = _bounds_reached(interval)
    estimate = format_value(target.parameter, target.estimate)
    if identified:
        return "identified", f"{name}: identified, {estimate} ({span})"
    if (interval.lower_at_bound and interval.upper_at_bound) or share >= spec.unidentified_share:
        return "not identified", f"{name}: not identified, {span}{reach}"
    return "weakly identified", f"{name}: weakly identified, {estimate} ({span}{reach})"


def _bounds_reached(interval: Interval) -> str:
    ends = [end for end, hit in (("lower", interval.lower_at_bound), ("upper", interval.upper_at_bound)) if hit]
    return f", reaching the {' and '.join(ends)} search bound{'s' if len(ends) == 2 else ''}" if ends else ""


def _by_ratio(target: Target, interval: Interval, spec: RecoverySpec) -> tuple[bool, float]:
    """(identified, share of the log search range covered) for a parameter judged by upper / lower."""
    lo, hi = interval.lower, interval.upper
    if lo <= 0 or not np.isfinite(hi):
        share, ratio = 1.0, np.inf
    else:
        ratio = hi / lo
        full = (np.log(target.upper_bound / target.lower_bound)
                if np.isfinite(target.upper_bound) and target.lower_bound > 0 else np.inf)
        share = np.log(ratio) / full if np.isfinite(full) else 0.0
    identified = ratio < spec.ratio and not (interval.lower_at_bound or interval.upper_at_bound)
    return identified, share


def _by_width(target: Target, interval: Interval, spec: RecoverySpec) -> tuple[bool, float]:
    """(identified, share of the search range covered) for decay and growth, judged by width."""
    width = interval.upper - interval.lower
    share = width / (target.upper_bound - target.lower_bound)
    if target.parameter == "decay":
        # a decay interval may touch 0 (no carry-over is an answer) and still be identified
        return width < spec.decay_width and not interval.upper_at_bound, share
    if target.parameter == "growth":
        # a search bound on growth is no natural value: an interval cut by one says nothing about how far it goes
        reached = interval.lower_at_bound or interval.upper_at_bound
        return width < spec.growth_width and not reached, share
    raise ValueError(f"no width threshold for {target.parameter!r}")


def ratio_only(k_target: Target, k_interval: Interval, alpha_verdict: str, crit: float) -> str | None:
    """'only alpha/k^gamma is identified': k runs to its upper bound while alpha grows with it.

    In the power-law regime of the Hill curve (k far above the adstock) the response is
    ``alpha * (S / k)**gamma``, so only ``alpha / k**gamma`` is pinned down. The sign: along
    the k profile (points inside the interval) alpha rises with k and ``alpha / k**gamma``
    varies far less than alpha itself.

    Parameters
    ----------
    k_target : Target
        The channel's k, with its profile path.
    k_interval : Interval
        k's interval.
    alpha_verdict : str
        The verdict on the same channel's alpha.
    crit : float
        The profile's critical value: path points at or below it are inside the interval.

    Returns
    -------
    str or None
        The sentence, or None when the claim does not hold.
    """
    if not k_interval.upper_at_bound or alpha_verdict == "identified":
        return None
    inside = [(v, a, g) for v, dev, a, g in k_target.path if dev <= crit and a > 0]
    if len(inside) < 3:
        return None
    k, a, g = (np.array(x) for x in zip(*inside))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(np.log(k), np.log(a))[0, 1]
    if not correlation >= 0.9:  # NaN too: alpha constant along the path does not follow k
        return None
    combo = a / k**g
    spread_combo = np.log(combo.max() / combo.min())
    spread_alpha = np.log(a.max() / a.min())
    if spread_combo > 0.5 * spread_alpha:
        return None
    return (f"alpha and k of {k_target.channel}: only their ratio alpha/k^gamma is identified "
            f"(k's interval runs to the upper search bound {k_interval.upper:,.0f}; along it alpha moves "
            f"{a.min():,.0f}-{a.max():,.0f} while alpha/k^gamma stays within a factor {np.exp(spread_combo):.2f})")
