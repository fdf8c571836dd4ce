"""Simulator speed: the vectorised simulator against a plain per-row loop of the same equations.

The loop reference exists only here, as the yardstick; it draws the same random numbers in
the same order, so the benchmark also records how far the two outputs differ.
"""

from __future__ import annotations

import copy
import os
import platform
import time
from pathlib import Path

import numpy as np

from mmmlab.config import load_params, project_root, simulation_spec
from mmmlab.files import write_json
from mmmlab.simulate import simulate
from mmmlab.simulate.calendar import months_per_period, period_events

OUTPUT = "reports/benchmarks/simulate.json"


def wide_weekly_params(base: dict, n_channels: int = 50, years: int = 10) -> dict:
    """Weekly data over ``years`` years with ``n_channels`` channels cycling through the default ones.

    Far longer and wider than the default data, so that the per-period and per-channel work, not
    the fixed cost of a call, sets both times and the speedup says how the simulator scales.
    """
    params = copy.deepcopy(base)
    g = params["generate"]
    defaults = list(g["channels"].values())
    g["channels"] = {f"C{i:02d}": copy.deepcopy(defaults[i % len(defaults)]) for i in range(n_channels)}
    g["freq"], g["start"], g["end"] = "W-MON", "2017-01-02", f"{2017 + years - 1}-12-31"
    for w in g["experiments"]["windows"]:
        w["channel"] = "C00"
    return params


def loop_simulation(spec) -> np.ndarray:
    """Total sales by explicit loops over periods and channels (the seed's style)."""
    import pandas as pd

    rng = np.random.default_rng(spec.seed)
    dates = pd.date_range(spec.start, spec.end, freq=spec.freq)
    n, chans = len(dates), spec.channels
    months = months_per_period(spec.freq)
    s = spec.spend
    shocks = rng.normal(0.0, s.volatility, (n, len(chans)))
    spend = [[0.0] * len(chans) for _ in range(n)]
    keep = s.smoothing**months
    for j, c in enumerate(chans):
        spend[0][j] = c.base_spend
        for t in range(1, n):
            factor = min(max(1.0 + shocks[t, j], s.clip[0]), s.clip[1])
            target = c.base_spend * c.growth ** (dates[t].year - dates[0].year) * c.seasonality[dates[t].month - 1] * factor
            value = max(keep * spend[t - 1][j] + (1 - keep) * target, s.floor * c.base_spend)
            spend[t][j] = round(value / s.round_to) * s.round_to if s.round_to else value
    boost = [0.0] * n
    index = {c.name: j for j, c in enumerate(chans)}
    for w in spec.experiments.windows:
        for t in range(n):
            if w.start <= dates[t] <= w.end:
                planned = spend[t][index[w.channel]]
                spend[t][index[w.channel]] = planned * spec.experiments.spend_multiplier
                extra = spend[t][index[w.channel]] - planned
                boost[t] += spec.experiments.realism * (w.response_rate * extra + spec.experiments.base_lift * planned)
    media = [0.0] * n
    for j, c in enumerate(chans):
        stock = 0.0
        for t in range(n):
            stock = spend[t][j] + c.decay * stock
            media[t] += c.alpha * stock**c.gamma / (stock**c.gamma + c.k**c.gamma)
    econ = spec.economy
    month_of = [(d.year - dates[0].year) * 12 + d.month - dates[0].month for d in dates]
    uniforms = rng.random(month_of[-1] + 1)
    states = []
    for m, u in enumerate(uniforms):
        probs = econ.initial if m == 0 else econ.transition[states[-1]]
        cumulative, state = 0.0, len(probs) - 1
        for i, p in enumerate(probs):
            cumulative += p
            if u < cumulative:
                state = i
                break
        states.append(state)
    _, event_mult = period_events(spec, dates)  # the event calendar is a lookup, not an equation
    noise = rng.normal(1.0, spec.noise_sd, n)
    growth = (1 + spec.monthly_growth) ** months - 1
    sales = np.empty(n)
    for t in range(n):
        base = spec.baseline_level * (1 + growth) ** t * event_mult[t] * econ.index[states[month_of[t]]]
        value = (base + media[t] + boost[t]) * noise[t]
        sales[t] = round(value / spec.sales_round_to) * spec.sales_round_to if spec.sales_round_to else value
    return sales


def _best_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(params: dict, repeats: int) -> dict:
    spec = simulation_spec(params)
    vectorised = simulate(spec).frame["Total_Sales"].to_numpy()
    looped = loop_simulation(spec)
    t_vec = _best_time(lambda: simulate(spec), repeats)
    t_loop = _best_time(lambda: loop_simulation(spec), max(1, repeats // 3))
    return {
        "periods": len(vectorised),
        "channels": len(spec.channels),
        "vectorised_seconds": t_vec,
        "loop_seconds": t_loop,
        "speedup": t_loop / t_vec,
        "max_abs_sales_difference": float(np.max(np.abs(vectorised - looped))),
    }


def run() -> Path:
    base = load_params()
    result = {
        "what": "best-of-N wall time of simulate() vs a per-row loop of the same equations",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "default": measure(base, repeats=9),
        "weekly_10y_50_channels": measure(wide_weekly_params(base), repeats=5),
    }
    path = project_root() / OUTPUT
    write_json(path, result)
    return path
