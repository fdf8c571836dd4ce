"""Identifiability verdicts: what an interval says a parameter is, in plain words."""

from __future__ import annotations

import numpy as np

from mmmlab.config.recover import RecoverySpec
from mmmlab.recovery.profile import Interval, Target


# --------------------------------------------------------------------------- verdicts
def _fmt(parameter: str, value: float) -> str:
    if not np.isfinite(value):
        return "inf" if value > 0 else "-inf"
    if parameter in ("decay", "gamma", "growth") or abs(value) < 10:
        return f"{value:.3g}" if parameter != "growth" else f"{value:.4f}"
    return f"{value:,.0f}"


def verdict(target: Target, interval: Interval, spec: RecoverySpec, level: float) -> tuple[str, str]:
    """('identified' | 'weakly identified' | 'not identified', a sentence in plain words)."""
    name = f"{target.parameter} of {target.channel}"
    pct = f"{100 * level:.0f}%"
    lo, hi = interval.lower, interval.upper
    span = f"{pct} interval {_fmt(target.parameter, lo)}-{_fmt(target.parameter, hi)}"
    ends = []
    if interval.lower_at_bound:
        ends.append("lower")
    if interval.upper_at_bound:
        ends.append("upper")
    reach = f", reaching the {' and '.join(ends)} search bound{'s' if len(ends) == 2 else ''}" if ends else ""
    if target.parameter == "alpha" and lo <= 0 <= hi:
        return "not identified", f"{name}: not identified, the channel's effect is not distinguishable from zero ({span})"
    if target.log or target.parameter == "alpha":
        if lo <= 0 or not np.isfinite(hi):
            share = 1.0
            ratio = np.inf
        else:
            ratio = hi / lo
            full = (np.log(target.upper_bound / target.lower_bound)
                    if np.isfinite(target.upper_bound) and target.lower_bound > 0 else np.inf)
            share = np.log(ratio) / full if np.isfinite(full) else 0.0
        identified = ratio < spec.ratio and not (interval.lower_at_bound or interval.upper_at_bound)
    else:
        width = hi - lo
        share = width / (target.upper_bound - target.lower_bound)
        limit = spec.decay_width if target.parameter == "decay" else spec.decay_width * (target.upper_bound - target.lower_bound)
        # a decay interval may touch 0 (no carry-over) and still be identified
        identified = width < limit and not interval.upper_at_bound
    both = interval.lower_at_bound and interval.upper_at_bound
    if identified:
        return "identified", f"{name}: identified, {_fmt(target.parameter, target.estimate)} ({span})"
    if both or share >= spec.unidentified_share:
        return "not identified", f"{name}: not identified, {span}{reach}"
    return "weakly identified", f"{name}: weakly identified, {_fmt(target.parameter, target.estimate)} ({span}{reach})"


def ratio_only(k_target: Target, k_interval: Interval, alpha_verdict: str, crit: float) -> str | None:
    """'only alpha/k^gamma is identified': k runs to its upper bound while alpha grows with it.

    In the power-law regime of the Hill curve (k far above the adstock) the response is
    ``alpha * (S / k)**gamma``, so only ``alpha / k**gamma`` is pinned down. The sign: along
    the k profile (points inside the interval) alpha rises with k and ``alpha / k**gamma``
    varies far less than alpha itself.
    """
    if not k_interval.upper_at_bound or alpha_verdict == "identified":
        return None
    inside = [(v, a, g) for v, dev, a, g in k_target.path if dev <= crit and a > 0]
    if len(inside) < 3:
        return None
    k, a, g = (np.array(x) for x in zip(*inside))
    if np.corrcoef(np.log(k), np.log(a))[0, 1] < 0.9:
        return None
    combo = a / k**g
    spread_combo = np.log(combo.max() / combo.min())
    spread_alpha = np.log(a.max() / a.min())
    if spread_combo > 0.5 * spread_alpha:
        return None
    return (f"alpha and k of {k_target.channel}: only their ratio alpha/k^gamma is identified "
            f"(k's interval runs to the upper search bound {k_interval.upper:,.0f}; along it alpha moves "
            f"{a.min():,.0f}-{a.max():,.0f} while alpha/k^gamma stays within a factor {np.exp(spread_combo):.2f})")
