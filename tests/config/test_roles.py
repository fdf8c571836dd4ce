"""Choices are enums, the HDI level has one key (fit.hdi_prob), the experiment column one place (data.experiments)."""

from __future__ import annotations

import enum

import pytest

from mmmlab import bayes
from mmmlab.config import (
    data_spec,
    fit_spec,
    generate_section,
    load_params,
    recovery_spec,
    report_settings,
    simulation_spec,
)
from mmmlab.dataset import load_dataset
from mmmlab.errors import UserInputError
from mmmlab.recovery.design import experiment_columns


def _params(repo_root, *overrides: str) -> dict:
    return load_params(repo_root / "params.yaml", overrides)


# --------------------------------------------------------------------------- choices
def _choices(params: dict) -> dict:
    fit, recover = fit_spec(params), recovery_spec(params)
    return {
        "fit.model.saturation": fit.model.saturation,
        "fit.sampler.name": fit.sampler.name,
        "fit.model.experiments.effect": fit.model.experiment_effect,
        "recover.baseline.form": recover.baseline,
        "recover.uncertainty": recover.uncertainty,
        "recover.residuals": recover.residuals,
        "recover.experiments.effect": recover.experiment_effect,
        "generate.freq": simulation_spec(params).freq,
    }


def test_choices_are_string_enums_equal_to_their_text(repo_root):
    params = _params(repo_root)
    written = {key: _value(params, key) for key in _choices(params)}  # whatever the workspace's params.yaml says
    for key, value in _choices(params).items():
        assert isinstance(value, enum.StrEnum), key
        assert value == written[key] and f"{value}" == written[key], key


def _value(params: dict, key: str):
    """The value of a dotted key as written (generate's with its preset merged, as the simulator reads it)."""
    section, *path = key.split(".")
    node = generate_section(params) if section == "generate" else params[section]
    for part in path:
        node = node[part]
    return node


@pytest.mark.parametrize("override, message", [
    ("fit.model.saturation=tanh",
     "fit.model.saturation: 'tanh' is not one of hill, hill_mean_response, logistic, michaelis_menten"),
    ("fit.sampler.name=stan", "fit.sampler.name: 'stan' is not one of nutpie, pymc, numpyro, blackjax"),
    ("fit.model.experiments.effect=both", "fit.model.experiments.effect: 'both' is not one of spend, level"),
    ("recover.baseline.form=log", "recover.baseline.form: 'log' is not one of multiplicative, additive"),
    ("recover.uncertainty=jackknife", "recover.uncertainty: 'jackknife' is not one of profile, bootstrap, none"),
    ("recover.residuals=squared", "recover.residuals: 'squared' is not one of relative, absolute"),
    ("recover.experiments.effect=both", "recover.experiments.effect: 'both' is not one of spend, level"),
    ("generate.freq=D", "generate.freq: 'D' is not one of MS, W-MON"),
])
def test_a_bad_choice_lists_the_allowed_values(repo_root, override, message):
    with pytest.raises(UserInputError) as info:
        _choices(_params(repo_root, override))
    assert str(info.value) == message


# --------------------------------------------------------------------------- one HDI level
def test_the_report_takes_the_fits_hdi_level(repo_root):
    settings, _ = report_settings(_params(repo_root, "fit.hdi_prob=0.8"))
    assert settings.hdi_prob == 0.8


def test_params_yaml_has_one_hdi_key(repo_root):
    params = _params(repo_root)
    assert "hdi_prob" not in params["report"] and "hdi_prob" in params["fit"]


def test_dvc_report_stage_depends_on_the_hdi_level(repo_root):
    import yaml

    stages = yaml.safe_load((repo_root / "dvc.yaml").read_text())["stages"]
    assert "fit.hdi_prob" in stages["report"]["params"]


# --------------------------------------------------------------------------- one experiment column
def test_the_experiment_column_is_a_data_role(repo_root):
    params = _params(repo_root)
    data = params["data"]
    assert data["experiments"]["column"] not in (data["controls"] or [])
    assert "column" not in params["recover"]["experiments"] and "none" not in params["recover"]["experiments"]
    assert "column" not in params["fit"]["model"]["experiments"]
    spec = data_spec(params)
    assert (spec.experiment_column, spec.experiment_none) == (data["experiments"]["column"], data["experiments"]["none"])
    assert spec.controls == tuple(data["controls"] or ())


CSV = "Date,TV_Spend,Total_Sales,Econ,Trial\n" + "".join(
    f"2020-{m:02d}-01,{100 + m},{1000 + 7 * m},{'Up' if m % 2 else 'Down'},{'TV' if m in (3, 4) else 'None'}\n"
    for m in range(1, 13)
)


@pytest.mark.parametrize("controls, expected", [
    (["Econ"], ["Econ", "Trial"]),  # the experiment column joins the controls
    (["Trial", "Econ"], ["Trial", "Econ"]),  # already listed: kept once, where it is
    ([], ["Trial"]),
])
def test_the_dataset_carries_the_experiment_column_among_its_controls(tmp_path, controls, expected):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    spec = data_spec({"data": {"path": str(path), "truth": None, "date": "Date", "target": "Total_Sales",
                               "channels": None, "controls": controls, "experiments": {"column": "Trial"}}})
    dataset = load_dataset(spec)
    assert list(dataset.controls.columns) == expected
    assert dataset.controls["Trial"].tolist()[1:5] == ["None", "TV", "TV", "None"]


def test_no_experiment_column_adds_no_control(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    spec = data_spec({"data": {"path": str(path), "truth": None, "date": "Date", "target": "Total_Sales",
                               "channels": None, "controls": ["Econ"], "experiments": {"column": None}}})
    assert list(load_dataset(spec).controls.columns) == ["Econ"]


def _both_stages(repo_root, path, column):
    """The experiment columns that the recovery and the Bayesian design build from one file."""
    params = _params(repo_root)
    params["data"] = {"path": str(path), "truth": None, "date": "Date", "target": "Total_Sales", "channels": None,
                      "controls": ["Econ"], "experiments": {"column": column, "none": "None"}}
    dataset = load_dataset(data_spec(params))
    recovered = experiment_columns(dataset, recovery_spec(params)).names
    fitted = [c for c in bayes.design(dataset, fit_spec(params).model).controls if c.startswith(f"{column}[")]
    return dataset, recovered, fitted


def test_recovery_and_fit_take_the_experiment_column_from_the_dataset(repo_root, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    dataset, recovered, fitted = _both_stages(repo_root, path, "Trial")
    assert dataset.experiment_column == "Trial"
    assert recovered == ("experiment.TV",) and fitted == ["Trial[TV]"]


@pytest.mark.parametrize("column", [None, "Experiment_Channel"])
def test_data_without_the_experiment_column_model_no_experiments_in_both_stages(repo_root, tmp_path, column):
    """params.yaml names the simulator's column; a user's file without it gets no experiment effects, and a notice."""
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    dataset, recovered, fitted = _both_stages(repo_root, path, column)
    assert dataset.experiment_column is None and recovered == () and fitted == []
    assert list(dataset.controls.columns) == ["Econ"]
    assert bool(dataset.notices) == (column is not None)
    assert all("Experiment_Channel" in notice for notice in dataset.notices)
