"""The model's inputs by hand: overlapping experiment windows follow the dataset's one rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mmmlab import bayes
from mmmlab.dataset import Dataset

LABELS = ["None", "TV", "TV+Digital", "Digital", "None", "None"]  # "None" is the most frequent: the reference
TV = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
DIGITAL = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def _dataset() -> Dataset:
    return Dataset(path=Path("by_hand.csv"), dates=pd.date_range("2020-01-01", periods=6, freq="MS"), freq="MS",
                   target_column="Sales", target=np.full(6, 100.0), channels=("TV", "Digital"),
                   channel_columns=("TV_Spend", "Digital_Spend"), spend=np.column_stack([TV, DIGITAL]),
                   controls=pd.DataFrame({"Experiment_Channel": LABELS}), content_hash="0",
                   experiment_column="Experiment_Channel")


def _model(effect: str, controls=("Experiment_Channel",)):
    """The fields of fit.model that the design reads."""
    return SimpleNamespace(controls=controls, trend=False, experiment_none="None", experiment_effect=effect,
                           yearly_seasonality=0)


def test_overlapping_windows_count_for_each_channel_scaled_by_its_own_spend():
    d = bayes.design(_dataset(), _model("spend"))
    assert d.controls == ("Experiment_Channel[Digital]", "Experiment_Channel[TV]")  # no "TV+Digital" level
    # TV windows: periods 2 and 3 (TV and TV+Digital), spend 20 and 30, divided by the largest, 30
    np.testing.assert_allclose(d.X["Experiment_Channel[TV]"], [0, 20 / 30, 1, 0, 0, 0])
    # Digital windows: periods 3 and 4 (TV+Digital and Digital), spend 3 and 4, divided by 4
    np.testing.assert_allclose(d.X["Experiment_Channel[Digital]"], [0, 0, 3 / 4, 1, 0, 0])
    assert d.control_scale == pytest.approx({"Experiment_Channel[Digital]": 4.0, "Experiment_Channel[TV]": 30.0})


def test_a_channels_separate_windows_get_a_column_each_scaled_by_its_spend():
    labels = ["TV", "None", "TV", "TV", "None", "None"]
    dataset = dataclasses.replace(_dataset(), controls=pd.DataFrame({"Experiment_Channel": labels}))
    d = bayes.design(dataset, _model("spend"))
    assert d.controls == ("Experiment_Channel[TV #1]", "Experiment_Channel[TV #2]")
    # TV spend in periods 1, 3 and 4 is TV[0], TV[2], TV[3]; each column is divided by its own largest value
    np.testing.assert_allclose(d.X["Experiment_Channel[TV #1]"], [1, 0, 0, 0, 0, 0])
    second = np.array([0, 0, TV[2], TV[3], 0, 0])
    np.testing.assert_allclose(d.X["Experiment_Channel[TV #2]"], second / second.max())


def test_overlapping_windows_as_plain_levels():
    d = bayes.design(_dataset(), _model("level"))
    assert d.controls == ("Experiment_Channel[Digital]", "Experiment_Channel[TV]")
    np.testing.assert_array_equal(d.X["Experiment_Channel[TV]"], [0, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(d.X["Experiment_Channel[Digital]"], [0, 0, 1, 1, 0, 0])


def test_other_text_controls_stay_one_hot():
    dataset = dataclasses.replace(_dataset(), controls=pd.DataFrame({
        "Experiment_Channel": LABELS, "Event": ["x", "x", "Easter", "x", "x", "x"]}))
    d = bayes.design(dataset, _model("spend", controls=None))
    assert d.controls == ("Experiment_Channel[Digital]", "Experiment_Channel[TV]", "Event[Easter]")
    np.testing.assert_array_equal(d.X["Event[Easter]"], [0, 0, 1, 0, 0, 0])


def test_the_no_experiment_label_comes_from_the_data_section_not_from_frequency():
    # experiments in most periods: "TV" is the most frequent level, yet it is a window, and "off" is not
    labels = ["off", "TV", "TV", "TV", "Digital", "off"]
    dataset = dataclasses.replace(_dataset(), controls=pd.DataFrame({"Experiment_Channel": labels}))
    model = _model("level")
    model.experiment_none = "off"
    d = bayes.design(dataset, model)
    assert d.controls == ("Experiment_Channel[Digital]", "Experiment_Channel[TV]")
    np.testing.assert_array_equal(d.X["Experiment_Channel[TV]"], [0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(d.X["Experiment_Channel[Digital]"], [0, 0, 0, 0, 1, 0])
