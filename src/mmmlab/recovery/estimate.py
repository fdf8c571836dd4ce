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
from mmmlab.recovery.profile import profile_fit
from mmmlab.recovery.search import PointFit, fit_point
from mmmlab.recovery.targets import Interval, Target, targets
from mmmlab.recovery.verdicts import format_value, ratio_only, verdict


def intervals(fit: PointFit, spec: RecoverySpec):
    """Intervals by ``spec.uncertainty`` (none: NaN intervals) around the optimum ``fit``.

    Returns
    -------
    fit : PointFit
        The optimum the intervals are around (profiling may find a better one).
    found : list of (Target, Interval)
    info : dict
        What the method reports about itself.
    """
    if spec.uncertainty == "profile":
        return profile_fit(fit, spec)
    if spec.uncertainty == "bootstrap":
        return bootstrap_fit(fit, spec)
    return fit, [(t, Interval(np.nan, np.nan, False, False)) for t in targets(fit)], {}


def estimate_row(target: Target, interval: Interval, spec: RecoverySpec) -> dict:
    """One row of the estimates table: ``target``'s estimate, ``interval``, search range and verdict."""
    if spec.uncertainty == "none":
        word = "not assessed"
        value = format_value(target.parameter, target.estimate)
        text = f"{target.parameter} of {target.channel}: {value} (no interval)"
    else:
        word, text = verdict(target, interval, spec, spec.level)
    return {"channel": target.channel, "parameter": target.parameter, "estimate": target.estimate,
            "lower": interval.lower, "upper": interval.upper, "lower_at_bound": interval.lower_at_bound,
            "upper_at_bound": interval.upper_at_bound, "search_lower": target.lower_bound,
            "search_upper": target.upper_bound, "verdict": word, "message": text}


def ratio_notes(found, rows: list[dict], critical_value: float) -> list[str]:
    """Where only ``alpha / k**gamma`` is identified: the notes, and the verdicts of alpha and k set to say so.

    Parameters
    ----------
    found : list of (Target, Interval)
        Profile intervals (their targets carry the profile paths).
    rows : list of dict
        The estimate rows, changed in place.
    critical_value : float
        The profile's critical value.

    Returns
    -------
    list of str
    """
    by_channel = {}
    for (t, iv), row in zip(found, rows):
        by_channel.setdefault(t.channel, {})[t.parameter] = (t, iv, row["verdict"])
    notes = []
    for ch, items in by_channel.items():
        if "k" in items and "alpha" in items:
            note = ratio_only(items["k"][0], items["k"][1], items["alpha"][2], critical_value)
            if note:
                notes.append(note)
                for row in rows:
                    if row["channel"] == ch and row["parameter"] in ("alpha", "k") and row["verdict"] != "identified":
                        row["verdict"] = "only alpha/k^gamma identified"
    return notes


def uncertainty(fit: PointFit, spec: RecoverySpec):
    """Intervals by ``spec.uncertainty`` around the optimum ``fit``, and a verdict on each parameter.

    Returns
    -------
    fit : PointFit
        As :func:`intervals` returns it.
    estimates : pandas.DataFrame
        One row per parameter (see :func:`estimate_row`).
    notes : list of str
        Every verdict's sentence, then the ratio-only notes.
    info : dict
        The method's report, plus ``seconds``.
    """
    t0 = time.perf_counter()
    fit, found, info = intervals(fit, spec)
    rows = [estimate_row(t, iv, spec) for t, iv in found]
    notes = [row["message"] for row in rows]
    if spec.uncertainty == "profile":
        notes += ratio_notes(found, rows, info["critical_value"])
    info["seconds"] = time.perf_counter() - t0
    return fit, pd.DataFrame(rows), notes, info


@dataclass
class Recovery:
    """Everything the joint recovery produced (no truth involved).

    Parameters
    ----------
    fit : PointFit
        The least-squares optimum.
    estimates : pandas.DataFrame
        channel, parameter, estimate, lower, upper, ..., verdict, message.
    notes : list of str
        The verdicts in plain words.
    info : dict
        What the interval method reports about itself.
    seconds : float
        Wall time of the whole recovery.
    """

    fit: PointFit
    estimates: pd.DataFrame
    notes: list[str]
    info: dict
    seconds: float

    def channel_estimates(self) -> pd.DataFrame:
        """The estimates of the channels' parameters.

        Returns
        -------
        pandas.DataFrame
            The rows of :attr:`estimates` whose channel is a channel (the baseline's left out).
        """
        return self.estimates[self.estimates["channel"].isin(self.fit.model.channels)].reset_index(drop=True)


def recover(dataset, spec: RecoverySpec) -> Recovery:
    """Fit the joint model to ``dataset`` as ``spec`` says, and attach intervals and verdicts."""
    t0 = time.perf_counter()
    fit = fit_point(JointModel(dataset, spec), spec)
    fit, estimates, notes, info = uncertainty(fit, spec)
    return Recovery(fit, estimates, notes, info, time.perf_counter() - t0)
