"""The recovery entry point: the multi-start optimum, then intervals (profile or bootstrap) and verdicts.

Nothing here reads the truth.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.config.recover import RecoverySpec
from mmmlab.recovery.bootstrap import bootstrap_fit
from mmmlab.recovery.model import JointModel
from mmmlab.recovery.profile import Interval, profile_fit, targets
from mmmlab.recovery.search import PointFit, fit_point
from mmmlab.recovery.verdicts import _fmt, ratio_only, verdict


def uncertainty(fit: PointFit, spec: RecoverySpec):
    """Intervals by ``spec.uncertainty``; returns (fit, estimates frame, notes, info)."""
    t0 = time.perf_counter()
    if spec.uncertainty == "profile":
        fit, found, info = profile_fit(fit, spec)
    elif spec.uncertainty == "bootstrap":
        fit, found, info = bootstrap_fit(fit, spec)
    else:
        found, info = [(t, Interval(np.nan, np.nan, False, False)) for t in targets(fit)], {}
    rows, notes = [], []
    by_channel = {}
    for t, iv in found:
        if spec.uncertainty == "none":
            word, text = "not assessed", f"{t.parameter} of {t.channel}: {_fmt(t.parameter, t.estimate)} (no interval)"
        else:
            word, text = verdict(t, iv, spec, spec.level)
        rows.append({"channel": t.channel, "parameter": t.parameter, "estimate": t.estimate, "lower": iv.lower,
                     "upper": iv.upper, "lower_at_bound": iv.lower_at_bound, "upper_at_bound": iv.upper_at_bound,
                     "search_lower": t.lower_bound, "search_upper": t.upper_bound, "verdict": word, "message": text})
        notes.append(text)
        by_channel.setdefault(t.channel, {})[t.parameter] = (t, iv, word)
    if spec.uncertainty == "profile":
        for ch, items in by_channel.items():
            if "k" in items and "alpha" in items:
                note = ratio_only(items["k"][0], items["k"][1], items["alpha"][2], info["critical_value"])
                if note:
                    notes.append(note)
                    for row in rows:
                        if row["channel"] == ch and row["parameter"] in ("alpha", "k") and row["verdict"] != "identified":
                            row["verdict"] = "only alpha/k^gamma identified"
    info["seconds"] = time.perf_counter() - t0
    return fit, pd.DataFrame(rows), notes, info


@dataclass
class Recovery:
    """Everything the joint recovery produced (no truth involved)."""

    fit: PointFit
    estimates: pd.DataFrame  # channel, parameter, estimate, lower, upper, ..., verdict, message
    notes: list[str]
    info: dict
    seconds: float

    def channel_estimates(self) -> pd.DataFrame:
        return self.estimates[self.estimates["channel"].isin(self.fit.model.channels)].reset_index(drop=True)


def recover(dataset, spec: RecoverySpec) -> Recovery:
    """Fit the joint model to ``dataset`` and attach intervals and verdicts."""
    t0 = time.perf_counter()
    fit = fit_point(JointModel(dataset, spec), spec)
    fit, estimates, notes, info = uncertainty(fit, spec)
    return Recovery(fit, estimates, notes, info, time.perf_counter() - t0)
