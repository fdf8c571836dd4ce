"""The recovery as data for its stage to write: the model record, the estimate tables and the metrics.

Plain numbers only (numpy scalars become Python ones) so that the record and the metrics go to
JSON and MLflow as they are. Nothing here reads the truth: its comparison is
:func:`mmmlab.evaluation.recovery_comparison`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab.config.loading import relative
from mmmlab.config.recover import RecoverySpec
from mmmlab.dataset import Dataset
from mmmlab.recovery.estimate import Recovery

# wall times: they go to the metrics only, so that the same inputs give the same models/recovery.json
TIMINGS = ("seconds",)


def plain(value):
    """``value`` as a Python float, int or bool when it is a numpy (or Python) number; else unchanged."""
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as dicts of plain values (see :func:`plain`)."""
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def model_record(result: Recovery, dataset: Dataset, spec: RecoverySpec) -> dict:
    """Everything the recovery found, for ``models/recovery.json``.

    Parameters
    ----------
    result : Recovery
    dataset : Dataset
        The data it was fitted on (path, content hash, sizes, channels).
    spec : RecoverySpec
        The interval method and level and the search bounds, recorded with the estimates.

    Returns
    -------
    dict
        Method, level, data, estimates, verdicts, baseline, linear coefficients, fit statistics,
        the interval method's report, contribution totals and shares (with their intervals when the
        method gives them) and the search bounds; no wall times (:func:`metric_values` has them).
    """
    fit = result.fit
    comps = fit.components()
    totals = {ch: float(comps[ch].sum()) for ch in fit.model.channels}
    info = {k: plain(v) for k, v in result.info.items() if not isinstance(v, dict)}
    record = {
        "method": spec.uncertainty,
        "level": spec.level,
        "data": {"path": relative(dataset.path), "content_hash": dataset.content_hash, "n_periods": dataset.n_periods,
                 "freq": dataset.freq, "channels": list(dataset.channels)},
        "estimates": records(result.estimates),
        "verdicts": result.notes,
        "baseline": fit.baseline_params(),
        "linear_coefficients": records(fit.linear_table),
        "fit": {k: v for k, v in fit.fit_statistics().items() if k not in TIMINGS},
        "uncertainty": {k: v for k, v in info.items() if k not in TIMINGS},
        "contributions": {"total": totals, "share_of_sales": {ch: v / float(fit.model.y.sum()) for ch, v in totals.items()}},
        "search_bounds": {"decay": list(spec.decay_bounds), "gamma": list(spec.gamma_bounds),
                          "k_relative_to_median_adstock": list(spec.k_bounds)},
    }
    if "contribution_intervals" in result.info:
        record["contributions"]["total_interval"] = {k: list(v) for k, v in result.info["contribution_intervals"].items()}
    return record


def estimate_tables(result: Recovery) -> dict[str, pd.DataFrame]:
    """The recovery's tables by name, each to be written without its index.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``estimates`` (every parameter), ``linear_coefficients`` and ``contributions`` (fitted
        sales per period split into baseline, experiments and channels; a ``date`` column first).
    """
    return {
        "estimates": result.estimates,
        "linear_coefficients": result.fit.linear_table,
        "contributions": result.fit.components().rename_axis("date").reset_index(),
    }


def metric_values(result: Recovery) -> dict[str, float]:
    """Fit statistics, wall times (total, search, intervals), the number identified, each estimate and interval width.

    Returns
    -------
    dict of str to float
        Finite values only (an interval of ``none`` has no width).
    """
    stats = result.fit.fit_statistics()
    est = result.channel_estimates()
    metrics = {
        "r2": stats["r2"], "mape": stats["mape"], "rmse": stats["rmse"], "sigma": stats["sigma"],
        "seconds": result.seconds, "search_seconds": stats["seconds"],
        "uncertainty_seconds": result.info.get("seconds", np.nan),
        "n_identified": int((est["verdict"] == "identified").sum()),
    }
    for rec in est.itertuples(index=False):
        metrics[f"{rec.channel}.{rec.parameter}.estimate"] = rec.estimate
        if np.isfinite(rec.lower) and np.isfinite(rec.upper):
            metrics[f"{rec.channel}.{rec.parameter}.interval_width"] = rec.upper - rec.lower
    return {k: plain(v) for k, v in metrics.items() if v is not None and np.isfinite(float(v))}
