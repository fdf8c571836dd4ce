"""A small hand-made dataset for the recovery's unit tests (no simulator: fast and fully known)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmmlab.config.recover import RecoverySpec
from mmmlab.dataset import Dataset
from mmmlab.transforms import geometric_adstock, hill

N = 48
# an experiment on A in periods 10-13, on B in 20-23, on both at once in 30-33
EXPERIMENTS = ["None"] * N
for first, label in ((10, "A"), (20, "B"), (30, "A+B")):
    EXPERIMENTS[first:first + 4] = [label] * 4
# Stable most frequent (30), then Growth (10), Decline (8)
ECONOMY = ["Stable"] * 20 + ["Growth"] * 10 + ["Stable"] * 10 + ["Decline"] * 8
EVENT = ["Normal", "Normal", "Holiday"] * 16


def small_dataset(experiments=None, economy=None) -> Dataset:
    """Two channels, 48 months, sales from a known multiplicative baseline plus Hill media and 2% noise."""
    rng = np.random.default_rng(7)
    spend = rng.uniform(50.0, 150.0, size=(N, 2))
    economy = ECONOMY if economy is None else economy
    factor = {"Stable": 1.0, "Growth": 1.1, "Decline": 0.9, "Boom": 1.2}
    base = 1000.0 * 1.003 ** np.arange(N) * np.array([factor[e] for e in economy])
    base = base * np.where(np.array(EVENT) == "Holiday", 1.2, 1.0)
    media = sum(hill(geometric_adstock(spend[:, j], d), a, g, k)
                for j, (d, a, g, k) in enumerate([(0.5, 300.0, 1.0, 150.0), (0.2, 200.0, 1.5, 100.0)]))
    sales = (base + media) * (1.0 + 0.02 * rng.standard_normal(N))
    controls = pd.DataFrame({"Economy": economy, "Event": EVENT,
                             "Experiment": EXPERIMENTS if experiments is None else experiments})
    return Dataset(path=Path("small.csv"), dates=pd.date_range("2020-01-01", periods=N, freq="MS"), freq="MS",
                   target_column="Sales", target=sales, channels=("A", "B"), channel_columns=("A_Spend", "B_Spend"),
                   spend=spend, controls=controls, content_hash="small", experiment_column="Experiment")


SMALL_SPEC = RecoverySpec(levels="Event", multipliers=("Economy",), starts=2,
                          screen=32, uncertainty="bootstrap", bootstrap_draws=10, bootstrap_starts=0, workers=1)


@pytest.fixture(scope="module")
def small() -> Dataset:
    return small_dataset()


@pytest.fixture(scope="module")
def make_small():
    return small_dataset


@pytest.fixture(scope="module")
def small_spec() -> RecoverySpec:
    return SMALL_SPEC
