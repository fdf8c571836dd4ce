"""pymc-marketing's own budget optimiser on the lab's plan, so its allocation can be judged beside the lab's.

pymc-marketing's :class:`~pymc_marketing.mmm.budget_optimizer.BudgetOptimizer` gets the same budget
per period, bounds, horizon and objectives (``average_response`` for ``mean``,
``conditional_value_at_risk`` at ``1 - risk_quantile`` for ``cvar``) on the same posterior. Its
response is its own: the plan starts from no carried-in spend and its carry-over after the horizon
counts; the lab's adds the plan to what past spend still brings, over the horizon. So its allocation
is assessed on the lab's posterior curves and judged by the lab's truth, like the lab's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from mmmlab.bayes.build import quiet_pymc_marketing
from mmmlab.bayes.sampling import compiles_kept

PREFIX = "pymc_marketing_"


def allocations(mmm, plan, spec, failed: Callable[[str, str], None]) -> dict[str, np.ndarray]:
    """Per objective (named ``pymc_marketing_<objective>``): pymc-marketing's spend per period and channel.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        The fitted model (:func:`mmmlab.bayes.io.load_fit`); its posterior is thinned in place to
        at most ``spec.max_draws`` draws.
    plan : mmmlab.budget.recommend.Plan
    spec : mmmlab.config.optimize.OptimizeSpec
    failed : callable
        Called with the name and pymc-marketing's message when its optimiser fails; that objective is left out.
    """
    with quiet_pymc_marketing():
        from pymc_marketing.mmm.budget_optimizer import MinimizeException
        from pymc_marketing.mmm.utility import average_response, conditional_value_at_risk

    _thin(mmm, spec.max_draws)
    start, ends = _window(pd.DatetimeIndex(mmm.idata["fit_data"]["date"].values), spec.horizon)
    bounds = xr.DataArray(np.stack([plan.lower, plan.upper], axis=1), dims=("channel", "bound"),
                          coords={"channel": list(plan.channels), "bound": ["lower", "upper"]})
    current = xr.DataArray(plan.current, dims="channel", coords={"channel": list(plan.channels)})
    utilities = {"mean": average_response, "cvar": conditional_value_at_risk(1 - spec.risk_quantile)}
    out = {}
    for name, utility in utilities.items():
        with quiet_pymc_marketing(), compiles_kept():
            optimizer = _optimizer(mmm, start, ends, spec.horizon, utility)
            try:
                result = optimizer.allocate_budget(total_budget=plan.budget, budget_bounds=bounds, x0=current)
            except MinimizeException as error:
                failed(PREFIX + name, str(error))
                continue
        out[PREFIX + name] = result.budgets.sel(channel=list(plan.channels)).to_numpy().astype(float)
    return out


def _optimizer(mmm, start, ends, horizon: int, utility):
    """pymc-marketing's optimiser over ``horizon`` planned periods from ``start`` (the first of ``ends`` that gives them)."""
    planned = []
    for end in ends:
        optimizer = mmm.budget_optimizer(start, end, utility_function=utility)
        if optimizer.num_periods == horizon:
            return optimizer
        planned.append(optimizer.num_periods)
    raise RuntimeError(f"pymc-marketing's optimiser planned {planned} periods, not {horizon}")


def _window(dates: pd.DatetimeIndex, horizon: int) -> tuple[pd.Timestamp, tuple[pd.Timestamp, pd.Timestamp]]:
    """The first planned date and the window's possible ends: the last planned date, or one period past it.

    pymc-marketing's window ends on its end date, but it adds the adstock's carry-over as a time span,
    which at a monthly frequency can come out one period short.
    """
    future = pd.date_range(dates[-1], periods=horizon + 2, freq=pd.infer_freq(dates))[1:]
    return future[0], (future[-2], future[-1])


def _thin(mmm, max_draws: int) -> None:
    """Keep every n-th draw of each chain so that at most ``max_draws`` draws remain."""
    posterior = mmm.idata["posterior"].to_dataset()
    stride = math.ceil(posterior.sizes["chain"] * posterior.sizes["draw"] / max_draws)
    mmm.idata["posterior"] = posterior.isel(draw=slice(None, None, stride))
