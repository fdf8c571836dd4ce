"""The dataset loader: good CSVs load, every bad one gets one line naming the column and the row."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mmmlab.config import data_spec, load_params, simulation_spec
from mmmlab.dataset import load_dataset
from mmmlab.errors import UserInputError
from mmmlab.simulate import simulate

N = 12
HEADER = ["Date", "TV_Spend", "Radio_Spend", "Total_Sales", "Economic_Condition"]


def _rows() -> list[list[str]]:
    """A small valid monthly dataset as text cells (row i is data row i + 1)."""
    dates = pd.date_range("2020-01-01", periods=N, freq="MS").strftime("%Y-%m-%d")
    econ = ["Stable"] * 7 + ["Growth"] * 3 + ["Declining"] * 2
    return [
        [dates[i], str(1000 + 10 * i), str(500 + (i % 3) * 50), str(20000 + 100 * i), econ[i]]
        for i in range(N)
    ]


def _write(folder, rows, header=HEADER, name="data.csv"):
    path = folder / name
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return path


def _spec(path, **data):
    mapping = {"path": str(path), "truth": None, "date": "Date", "target": "Total_Sales", "channels": None,
               "controls": ["Economic_Condition"], "experiments": {"column": None}, **data}
    return data_spec({"data": mapping})


def _load_error(path, **data) -> str:
    before = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(UserInputError) as info:
        load_dataset(_spec(path, **data))
    message = str(info.value)
    assert "\n" not in message, message
    assert sorted(p.name for p in path.parent.iterdir()) == before  # nothing written
    return message


def _set(rows, row: int, column: str, value: str):
    """Set data row ``row`` (counting from 1 after the header) of ``column``."""
    rows[row - 1][HEADER.index(column)] = value
    return rows


# --------------------------------------------------------------------------- good data
def test_valid_csv_loads(tmp_path):
    ds = load_dataset(_spec(_write(tmp_path, _rows())))
    assert ds.n_periods == N and ds.freq == "MS"
    assert ds.channels == ("TV", "Radio") and ds.channel_columns == ("TV_Spend", "Radio_Spend")
    np.testing.assert_array_equal(ds.spend[:, 0], 1000 + 10 * np.arange(N))
    np.testing.assert_array_equal(ds.target, 20000 + 100 * np.arange(N))
    assert ds.dates[0] == pd.Timestamp("2020-01-01") and ds.dates[-1] == pd.Timestamp("2020-12-01")
    assert len(ds.content_hash) == 16
    # text controls are one-hot encoded against the most frequent level (Stable)
    matrix = ds.control_matrix
    assert list(matrix.columns) == ["Economic_Condition[Declining]", "Economic_Condition[Growth]"]
    assert matrix["Economic_Condition[Growth]"].tolist() == [0.0] * 7 + [1.0] * 3 + [0.0] * 2


def test_explicit_channel_list_and_weekly_dates(tmp_path):
    rows = _rows()
    for i, row in enumerate(rows):
        row[0] = (pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=i)).strftime("%Y-%m-%d")
    ds = load_dataset(_spec(_write(tmp_path, rows), channels=["Radio_Spend"], controls=[]))
    assert ds.freq == "W-MON" and ds.channel_columns == ("Radio_Spend",) and ds.spend.shape == (N, 1)


def test_generated_csv_loads(tmp_path, repo_root):
    sim = simulate(simulation_spec(load_params(repo_root / "params.yaml")))
    path = tmp_path / "mmm_data.csv"
    sim.frame.to_csv(path, index=False)
    params = load_params(repo_root / "params.yaml", [f"data.path={path}"])
    ds = load_dataset(data_spec(params))
    assert ds.channels == ("TV", "Digital", "Radio", "Print") and ds.n_periods == 60 and ds.freq == "MS"
    np.testing.assert_array_equal(ds.target, sim.frame["Total_Sales"])
    assert "Experiment_Channel[TV]" in ds.control_matrix.columns


# --------------------------------------------------------------------------- the bad inputs
@pytest.mark.parametrize(
    "column, data",
    [
        ("Radio_Spend", {"channels": ["TV_Spend", "Radio_Spend"]}),
        ("Total_Sales", {}),
        ("Date", {}),
        ("Economic_Condition", {}),
    ],
)
def test_missing_column_is_named(tmp_path, column, data):
    keep = [i for i, c in enumerate(HEADER) if c != column]
    rows = [[r[i] for i in keep] for r in _rows()]
    message = _load_error(_write(tmp_path, rows, [HEADER[i] for i in keep]), **data)
    assert f"'{column}'" in message and "missing" in message


def test_no_spend_columns_is_explained(tmp_path):
    header = ["Date", "TV", "Radio", "Total_Sales", "Economic_Condition"]
    message = _load_error(_write(tmp_path, _rows(), header))
    assert "no spend columns" in message and "data.channels" in message


@pytest.mark.parametrize("value", ["", "NaN", "nan", "NA", "null", "  "])
@pytest.mark.parametrize("column, row", [("TV_Spend", 5), ("Total_Sales", 1), ("Date", 12), ("Economic_Condition", 3)])
def test_missing_value_names_column_and_row(tmp_path, column, row, value):
    message = _load_error(_write(tmp_path, _set(_rows(), row, column, value)))
    assert message == f"column {column}, row {row}: missing value"


@pytest.mark.parametrize("row", [1, 7, 12])
def test_negative_spend_names_column_and_row(tmp_path, row):
    message = _load_error(_write(tmp_path, _set(_rows(), row, "Radio_Spend", "-10")))
    assert message.startswith(f"column Radio_Spend, row {row}:")
    assert "negative spend -10" in message


def test_duplicate_date_names_column_and_row(tmp_path):
    rows = _rows()
    rows[3][0] = rows[2][0]  # data row 4 repeats row 3's date
    message = _load_error(_write(tmp_path, rows))
    assert message.startswith("column Date, row 4: duplicate date 2020-03-01")
    assert "row 3" in message


def test_unsorted_dates_name_column_and_row(tmp_path):
    rows = _rows()
    rows[5], rows[6] = rows[6], rows[5]  # data rows 6 and 7 swapped
    message = _load_error(_write(tmp_path, rows))
    assert message.startswith("column Date, row 7: 2020-06-01 comes before row 6's 2020-07-01")
    assert "sort" in message


@pytest.mark.parametrize("value, shown", [("abc", "'abc'"), ('"12,000"', "'12,000'"), ("1e", "'1e'"), ("inf", "'inf'")])
def test_non_numeric_spend_names_column_and_row(tmp_path, value, shown):
    message = _load_error(_write(tmp_path, _set(_rows(), 2, "TV_Spend", value)))
    assert message == f"column TV_Spend, row 2: {shown} is not a number"


def test_non_numeric_target_names_column_and_row(tmp_path):
    message = _load_error(_write(tmp_path, _set(_rows(), 9, "Total_Sales", "lots")))
    assert message == "column Total_Sales, row 9: 'lots' is not a number"


def test_bad_date_names_column_and_row(tmp_path):
    message = _load_error(_write(tmp_path, _set(_rows(), 8, "Date", "2020-13-45")))
    assert message == "column Date, row 8: '2020-13-45' is not a date"


@pytest.mark.parametrize("content", ["", "\n", "   \n\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    message = _load_error(path)
    assert str(path) in message and "empty" in message


def test_header_without_rows(tmp_path):
    message = _load_error(_write(tmp_path, []))
    assert "no data rows" in message


def test_zero_variance_channel_is_named(tmp_path):
    rows = _rows()
    for r in rows:
        r[HEADER.index("Radio_Spend")] = "500"
    message = _load_error(_write(tmp_path, rows))
    assert message.startswith("column Radio_Spend:") and "zero variance" in message


def test_zero_spend_everywhere_is_zero_variance_too(tmp_path):
    rows = _rows()
    for r in rows:
        r[HEADER.index("TV_Spend")] = "0"
    assert _load_error(_write(tmp_path, rows)).startswith("column TV_Spend:")


def test_missing_file_names_the_key(tmp_path):
    message = _load_error(tmp_path / "nowhere.csv")
    assert message.startswith("data.path:") and "nowhere.csv" in message


def test_ragged_csv_names_the_line(tmp_path):
    rows = _rows()
    rows[3].append("extra")
    message = _load_error(_write(tmp_path, rows))
    assert "not a readable CSV" in message and re.search(r"line 5\b", message)


def test_irregular_dates_name_the_row(tmp_path):
    rows = _rows()
    rows[6][0] = "2020-07-20"  # data row 7 is 49 days after row 6 in a monthly series
    message = _load_error(_write(tmp_path, rows))
    assert message.startswith("column Date, row 7:") and "regularly spaced" in message


def test_too_few_periods(tmp_path):
    message = _load_error(_write(tmp_path, _rows()[:2]))
    assert message.startswith("column Date:") and "at least 3" in message


def test_overlapping_experiment_windows_count_for_each_channel():
    from mmmlab.dataset import experiment_indicators

    labels = pd.Series(["None", "TV", "TV+Digital", "Digital", "None"])
    indicators = experiment_indicators(labels, none="None")
    assert list(indicators.columns) == ["Digital", "TV"]
    assert indicators["TV"].tolist() == [0, 1, 1, 0, 0]
    assert indicators["Digital"].tolist() == [0, 0, 1, 1, 0]
    assert experiment_indicators(pd.Series(["None", "None"]), none="None").shape == (2, 0)


def test_the_simulators_truth_columns_are_refused_as_channels_or_controls(tmp_path):
    frame = simulate(simulation_spec(load_params())).frame
    path = tmp_path / "generated.csv"
    frame.to_csv(path, index=False)
    inputs = {"Date", "Year", "Month", "Time_Period", "Total_Sales", "Economic_Condition", "Seasonal_Event",
              "Is_Experiment", "Experiment_Channel"}
    truth_columns = [c for c in frame.columns if c not in inputs and not c.endswith("_Spend")]
    assert len(truth_columns) == 6 * 4  # decay, alpha, gamma, k, adstock and impact of each channel
    for column in truth_columns:
        message = _load_error(path, controls=[column])
        assert message.startswith(f"data.controls: {column!r} is the simulator's true"), message
    message = _load_error(path, channels=["TV_Spend", "TV_Impact"])
    assert message.startswith("data.channels: 'TV_Impact'"), message
    # a user's own column that only looks alike (no "Price_Spend" beside "Price_k") is a control like any other
    frame.assign(Price_k=np.arange(len(frame)) % 3).to_csv(path, index=False)
    assert "Price_k" in load_dataset(_spec(path, controls=["Price_k"])).controls
