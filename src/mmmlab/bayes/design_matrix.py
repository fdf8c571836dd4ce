"""The model's inputs: spend per channel, scaled controls and a trend, in pymc-marketing's layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmmlab.config.fit import ModelSpec
from mmmlab.dataset import Dataset
from mmmlab.errors import UserInputError

DATE = "date"


TARGET = "y"


TREND = "trend"


@dataclass(frozen=True)
class Design:
    """The model's inputs: X (date, spend per channel, scaled controls) and y, in pymc-marketing's layout."""

    X: pd.DataFrame
    y: pd.Series
    channels: tuple[str, ...]
    controls: tuple[str, ...]
    control_scale: dict[str, float]  # each control column was divided by this (max |value|)


def design(dataset: Dataset, model: ModelSpec) -> Design:
    """Spend per channel, one-hot controls and a 0..1 trend, each control divided by its max |value|."""
    wanted = model.controls if model.controls is not None else tuple(dataset.controls.columns)
    unknown = [c for c in wanted if c not in dataset.controls.columns]
    if unknown:
        raise UserInputError(f"fit.model.controls: {unknown[0]!r} is not among data.controls ({', '.join(dataset.controls) or 'none'})")
    X = pd.DataFrame({DATE: dataset.dates})
    for j, name in enumerate(dataset.channels):
        X[name] = dataset.spend[:, j]
    matrix = dataset.control_matrix
    columns = [c for c in matrix.columns if any(c == w or c.startswith(f"{w}[") for w in wanted)]
    controls = matrix[columns].copy()
    if model.experiment_column in wanted and model.experiment_effect == "spend":
        for j, name in enumerate(dataset.channels):  # the window's effect grows with the channel's spend
            column = f"{model.experiment_column}[{name}]"
            if column in controls:
                controls[column] = controls[column].to_numpy() * dataset.spend[:, j]
    if model.trend:
        controls[TREND] = np.arange(dataset.n_periods) / max(dataset.n_periods - 1, 1)
    scale = {c: float(np.abs(controls[c]).max()) for c in controls.columns}
    kept = [c for c in controls.columns if scale[c] > 0]  # an all-zero column carries no information
    for c in kept:
        X[c] = controls[c].to_numpy() / scale[c]
    return Design(X=X, y=pd.Series(dataset.target, name=TARGET), channels=tuple(dataset.channels),
                  controls=tuple(kept), control_scale={c: scale[c] for c in kept})
