"""The data check's content: the figures a dataset allows, its summary statistics and a markdown summary.

Nothing here writes: :mod:`mmmlab.stages.check` writes and logs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmmlab.dataset import Dataset
from mmmlab.plots import data_check as plots
from mmmlab.transforms import geometric_adstock

ECONOMY = "Economic_Condition"  # the generated data's controls, drawn when present


EVENTS = "Seasonal_Event"


TITLES = {
    "sales_over_time": "Sales over time",
    "spend_by_channel": "Spend by channel",
    "sales_by_economic_condition": "Sales by economic condition",
    "sales_by_seasonal_event": "Average sales by seasonal event",
    "correlation_heatmap": "Correlation heatmap",
    "spend_vs_sales": "Spend vs sales per channel",
    "adstock_pulse": "Adstock response to a one-period pulse",
    "hill_curves": "Hill saturation curves",
}


CONTROL_DESCRIPTIONS = {
    ECONOMY: "Macroeconomic condition in the period (e.g. Declining, Stable, Growth)",
    EVENTS: "Seasonal event falling in the period (e.g. Black Friday, Christmas; None)",
}


PARAMETER_LABELS = {"decay": "Decay (λ)", "alpha": "Max impact (α)", "gamma": "Steepness (γ)", "k": "Half-saturation (k)"}


def figures(dataset: Dataset, true_params: dict, references: list[float], periods: int):
    """The figures the data allow, by name, and a note per figure skipped.

    Parameters
    ----------
    dataset : Dataset
        The loaded dataset; the economy and event figures need those columns among its controls,
        the experiment markers its experiment column (skipped without one).
    true_params : dict
        Channel -> its true ``decay``, ``alpha``, ``gamma``, ``k`` (empty without a truth: the
        Hill figure is skipped and the pulse figure shows the references only).
    references : list of float
        Reference decays for the adstock pulse figure.
    periods : int
        Length of the adstock pulse figure, in periods.

    Returns
    -------
    figures : dict of str to matplotlib.figure.Figure
        By name (the keys of ``TITLES``), in page order.
    skipped : list of str
        One sentence per figure or feature left out, saying which column or truth is missing.
    """
    spend = pd.DataFrame(dataset.spend, columns=list(dataset.channels))
    sales, target, controls = dataset.target, dataset.target_column, dataset.controls
    experiments = controls[dataset.experiment_column] if dataset.experiment_column in controls else None
    channels = list(dataset.channels)
    decays = {c: p["decay"] for c, p in true_params.items()}
    figures = {
        "sales_over_time": plots.sales_over_time(dataset.dates, sales, target),
        "spend_by_channel": plots.spend_by_channel(dataset.dates, spend, experiments),
    }
    skipped = []
    for name, column, draw in [
        ("sales_by_economic_condition", ECONOMY, plots.sales_by_category),
        ("sales_by_seasonal_event", EVENTS, plots.mean_sales_by_category),
    ]:
        if column in controls:
            figures[name] = draw(sales, controls[column].astype(str), target)
        else:
            skipped.append(f"{TITLES[name]}: no `{column}` column among data.controls.")
    figures["correlation_heatmap"] = plots.correlation_heatmap(spend.assign(**{target: sales}))
    figures["spend_vs_sales"] = plots.spend_vs_sales(spend, sales, target, experiments, decays)
    figures["adstock_pulse"] = plots.adstock_pulse(decays, references, periods, channels)
    if true_params:
        adstocked = max(geometric_adstock(spend[c].to_numpy(), d).max() for c, d in decays.items())
        x_max = max(adstocked, 2 * max(p["k"] for p in true_params.values()))
        figures["hill_curves"] = plots.hill_curves(true_params, x_max, channels)
    else:
        skipped.append(f"{TITLES['hill_curves']}: no true parameters for these channels (data.truth is null, missing or names other channels).")
    if experiments is None:
        skipped.append("Experiment windows and points: the data have no experiment column (data.experiments.column).")
    return figures, skipped


def summary_metrics(dataset: Dataset) -> dict:
    """Size, sales level and spread, and per channel the spend mean, CV and correlation with sales.

    Parameters
    ----------
    dataset : Dataset
        The loaded dataset.

    Returns
    -------
    dict
        ``n_periods``, ``sales_mean``, ``sales_sd``, and ``spend_mean.<channel>``,
        ``spend_cv.<channel>``, ``corr_sales.<channel>`` per channel (sample sd, ddof 1).
    """
    sales = dataset.target
    metrics = {"n_periods": dataset.n_periods, "sales_mean": float(sales.mean()), "sales_sd": float(sales.std(ddof=1))}
    for j, channel in enumerate(dataset.channels):
        x = dataset.spend[:, j]
        metrics[f"spend_mean.{channel}"] = float(x.mean())
        metrics[f"spend_cv.{channel}"] = float(x.std(ddof=1) / x.mean())
        metrics[f"corr_sales.{channel}"] = float(np.corrcoef(x, sales)[0, 1])
    return metrics


def summary_markdown(dataset: Dataset, date_column: str, true_params: dict, figures: list[str], skipped: list[str]) -> str:
    """The data-check report: dataset, columns, statistics, true parameters, figures, skipped items.

    Parameters
    ----------
    dataset : Dataset
        The loaded dataset.
    date_column : str
        The date column's name in the CSV (``data.date``).
    true_params : dict
        Channel -> true ``decay``, ``alpha``, ``gamma``, ``k``; empty without a truth.
    figures : list of str
        Names of the figures written (keys of ``TITLES``), linked as ``figures/<name>.png``.
    skipped : list of str
        Notes on what was left out.

    Returns
    -------
    str
        The markdown of ``summary.md``.
    """
    lines = [
        "# Data check",
        "",
        "A quick look at whether the data are reasonable; not the analysis.",
        "",
        f"- File: `{dataset.path.name}` (sha256 {dataset.content_hash})",
        f"- Periods: {dataset.n_periods} ({dataset.freq}), {dataset.dates[0].date()} to {dataset.dates[-1].date()}",
        f"- Channels: {', '.join(dataset.channels)}",
        "",
        "## Columns in use",
        "",
        *markdown_table(["Column", "Role", "Description"], column_rows(dataset, date_column)),
        "",
        "## Summary statistics",
        "",
    ]
    columns = list(dataset.channel_columns) + [dataset.target_column]
    stats = pd.DataFrame(np.column_stack([dataset.spend, dataset.target]), columns=columns).describe().T
    lines += markdown_table(["Column", *stats.columns], [[c, *map(_number, row)] for c, row in stats.iterrows()])
    lines += ["", "## True parameters", ""]
    if true_params:
        rows = [[c, *(f"{p[key]:g}" for key in PARAMETER_LABELS)] for c, p in true_params.items()]
        lines += markdown_table(["Channel", *PARAMETER_LABELS.values()], rows)
    else:
        lines.append("No truth for these channels: the true-parameter table and the Hill figure are skipped.")
    lines += ["", "## Figures", ""]
    for name in figures:
        lines += [f"### {TITLES[name]}", "", f"[![{TITLES[name]}](figures/{name}.png)](figures/{name}.png)", ""]
    if skipped:
        lines += ["## Skipped", "", *(f"- {note}" for note in skipped), ""]
    return "\n".join(lines)


def column_rows(dataset: Dataset, date_column: str) -> list[list[str]]:
    """Column, role and description for every column the stages use.

    Parameters
    ----------
    dataset : Dataset
        The loaded dataset.
    date_column : str
        The date column's name in the CSV.

    Returns
    -------
    list of list of str
        ``[column, role, description]`` rows: the date, each channel, the target, each control
        (known controls have a fixed description, others their kind).
    """
    rows = [[date_column, "date", f"Start of the period ({dataset.freq})"]]
    rows += [[col, "channel", f"Spend on {name} in the period"] for col, name in zip(dataset.channel_columns, dataset.channels)]
    rows.append([dataset.target_column, "target", "Sales in the period: the quantity the model explains"])
    for column, values in dataset.controls.items():
        kind = "numeric" if pd.api.types.is_numeric_dtype(values) else f"text, {values.nunique()} levels"
        rows.append([column, "control", CONTROL_DESCRIPTIONS.get(column, f"Control variable ({kind})")])
    return rows


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """A GitHub-flavoured markdown table as lines.

    Parameters
    ----------
    header : list of str
        Column titles.
    rows : list of list
        Cells, written with ``str`` (not escaped).

    Returns
    -------
    list of str
        The header line, the separator line and one line per row.
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
