"""Lift-test files: a good one lines up with the data's periods and spend, every bad one gets one line naming
the row and the column, and ``fit.calibration.lift_tests`` picks the file it should."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mmmlab.config import data_spec
from mmmlab.dataset import load_dataset
from mmmlab.errors import UserInputError
from mmmlab.lift_data import chosen_lift_tests, load_lift_tests

KEY = "fit.calibration.lift_tests"
TV = [50, 100, 300, 200, 150, 250, 120, 80, 60, 90, 110, 130]  # Feb + Mar = 400, split 100 : 300
RADIO = [20, 30, 25, 40, 35, 45, 50, 10, 15, 60, 55, 5]  # Apr + May = 75, split 40 : 35
COLUMNS = ["channel", "start", "end", "measure_end", "spend_before", "extra_spend", "lift", "lift_se"]
ROWS = [  # data rows 1 and 2 of a valid file
    {"channel": "TV", "start": "2020-02-01", "end": "2020-03-01", "measure_end": "2020-05-01",
     "spend_before": "360", "extra_spend": "40", "lift": "12.5", "lift_se": "2.5"},
    {"channel": "Radio", "start": "2020-04-01", "end": "2020-05-01", "measure_end": "2020-05-01",
     "spend_before": "60", "extra_spend": "15", "lift": "3", "lift_se": "1"},
]


def _write_data(path):
    """12 months of TV and Radio spend and sales."""
    dates = pd.date_range("2020-01-01", periods=12, freq="MS").strftime("%Y-%m-%d")
    lines = ["Date,TV_Spend,Radio_Spend,Total_Sales"]
    lines += [f"{d},{t},{r},{1000 + 10 * i}" for i, (d, t, r) in enumerate(zip(dates, TV, RADIO))]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _dataset(path):
    return load_dataset(data_spec({"data": {"path": str(path), "truth": None, "date": "Date", "target": "Total_Sales",
                                            "channels": None, "controls": [], "experiments": {"column": None}}}))


@pytest.fixture
def dataset(tmp_path):
    return _dataset(_write_data(tmp_path / "data.csv"))


def _write(path, rows=ROWS, columns=COLUMNS):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(",".join(r) for r in [columns, *([r[c] for c in columns] for r in rows)]) + "\n")
    return path


def _error(path, dataset) -> str:
    with pytest.raises(UserInputError) as info:
        load_lift_tests(path, dataset, KEY)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def _row_error(tmp_path, dataset, row: int = 1, **changes) -> str:
    """The error for the valid file with data row ``row`` (from 1 after the header) changed."""
    rows = [dict(r) for r in ROWS]
    rows[row - 1].update(changes)
    return _error(_write(tmp_path / "lifts.csv", rows), dataset)


# --------------------------------------------------------------------------- good files
def test_valid_file_lines_up_with_the_data(tmp_path, dataset):
    tests = load_lift_tests(_write(tmp_path / "lifts.csv"), dataset, KEY)
    np.testing.assert_array_equal(tests.channel, [0, 1])
    expected = np.zeros((12, 2))
    expected[1:3, 0] = 10, 30  # 40 over TV's 100 and 300
    expected[3:5, 1] = 8, 7  # 15 over Radio's 40 and 35
    np.testing.assert_allclose(tests.extra, expected)
    measured = np.zeros((12, 2), dtype=bool)
    measured[1:5, 0] = True  # Feb to May: the window and its follow-up
    measured[3:5, 1] = True
    np.testing.assert_array_equal(tests.measured, measured)
    np.testing.assert_array_equal(tests.lift, [12.5, 3.0])
    np.testing.assert_array_equal(tests.se, [2.5, 1.0])
    assert tests.labels == ["TV 2020-02-01", "Radio 2020-04-01"]
    assert tests.table["measure_end"].tolist() == [pd.Timestamp("2020-05-01")] * 2


def test_measure_end_defaults_to_end(tmp_path, dataset):
    tests = load_lift_tests(_write(tmp_path / "lifts.csv", ROWS[:1], [c for c in COLUMNS if c != "measure_end"]),
                            dataset, KEY)
    assert tests.measured[:, 0].tolist() == [False, True, True] + [False] * 9
    assert tests.table["measure_end"].tolist() == [pd.Timestamp("2020-03-01")]


def test_extra_spend_may_equal_the_data_spend(tmp_path, dataset):
    tests = load_lift_tests(_write(tmp_path / "lifts.csv", [{**ROWS[0], "extra_spend": "400"}]), dataset, KEY)
    np.testing.assert_allclose(tests.extra[1:3, 0], [100, 300])


def test_a_cut_is_spread_over_the_window_in_proportion_to_the_spend_left(tmp_path, dataset):
    """TV's 400 over Feb and Mar is what was left after a cut of 1600 (spend times 0.2): 1600 was planned on
    top of it, 400 in Feb and 1200 in Mar."""
    cut = {**ROWS[0], "spend_before": "2000", "extra_spend": "-1600", "lift": "-80"}
    tests = load_lift_tests(_write(tmp_path / "lifts.csv", [cut]), dataset, KEY)
    expected = np.zeros(12)
    expected[1:3] = -400, -1200
    np.testing.assert_allclose(tests.extra[:, 0], expected)
    np.testing.assert_array_equal(tests.lift, [-80.0])


# --------------------------------------------------------------------------- bad files
def test_missing_file_names_the_key(tmp_path, dataset):
    path = tmp_path / "nowhere.csv"
    assert re.fullmatch(rf"{re.escape(KEY)}: no lift-test file at {re.escape(str(path))}", _error(path, dataset))


@pytest.mark.parametrize("column", ["channel", "start", "end", "spend_before", "extra_spend", "lift", "lift_se"])
def test_missing_column_is_named(tmp_path, dataset, column):
    message = _error(_write(tmp_path / "lifts.csv", columns=[c for c in COLUMNS if c != column]), dataset)
    assert re.fullmatch(rf"lifts\.csv: no column '{column}' \(a lift-test file has channel, start, end, spend_before, "
                        r"extra_spend, lift, lift_se and optionally measure_end\)", message)


def test_unknown_column_is_named(tmp_path, dataset):
    rows = [{**r, "notes": "x"} for r in ROWS]
    message = _error(_write(tmp_path / "lifts.csv", rows, [*COLUMNS, "notes"]), dataset)
    assert re.fullmatch(r"lifts\.csv: unknown column 'notes' \(a lift-test file has channel, start, end, spend_before, "
                        r"extra_spend, lift, lift_se, measure_end\)", message)


@pytest.mark.parametrize("content, reason", [
    (b"", r"No columns to parse from file"),
    (b"channel,start\nTV,2020-02-01\nRadio,2020-04-01,oops\n",
     r"Error tokenizing data\. C error: Expected 2 fields in line 3, saw 3"),
    (b"\xff\xfe\x00\x81channel\n", r".*codec can't decode byte.*"),
])
def test_unreadable_csv(tmp_path, dataset, content, reason):
    path = tmp_path / "lifts.csv"
    path.write_bytes(content)
    assert re.fullmatch(rf"lifts\.csv: not a readable CSV file \({reason}\)", _error(path, dataset))


# --------------------------------------------------------------------------- bad values, by row and column
def test_unknown_channel(tmp_path, dataset):
    message = _row_error(tmp_path, dataset, row=2, channel="Print")
    assert re.fullmatch(r"lifts\.csv row 2, column 'channel': 'Print' is not a channel of the data \(TV, Radio\)", message)


@pytest.mark.parametrize("column", ["start", "end", "measure_end"])
@pytest.mark.parametrize("value", ["2020-13-01", "soon"])
def test_bad_date(tmp_path, dataset, column, value):
    message = _row_error(tmp_path, dataset, row=2, **{column: value})
    assert re.fullmatch(rf"lifts\.csv row 2, column '{column}': '{value}' is not a date \(write YYYY-MM-DD\)", message)


def test_start_after_end(tmp_path, dataset):
    message = _row_error(tmp_path, dataset, start="2020-04-01")  # end 2020-03-01
    assert re.fullmatch(r"lifts\.csv row 1, column '(start|end)': .*2020-04-01.*", message), message
    assert "2020-03-01" in message


def test_end_after_measure_end(tmp_path, dataset):
    message = _row_error(tmp_path, dataset, measure_end="2020-02-01")  # end 2020-03-01
    assert re.fullmatch(r"lifts\.csv row 1, column '(end|measure_end)': .*2020-02-01.*", message), message
    assert "2020-03-01" in message


@pytest.mark.parametrize("start, end, column, words", [
    ("2021-02-01", "2021-03-01", "end", "2021-03-01 is after the data"),
    ("2019-01-01", "2019-06-01", "start", "2019-01-01 is before the data"),
])
def test_window_outside_the_data(tmp_path, dataset, start, end, column, words):
    message = _row_error(tmp_path, dataset, start=start, end=end, measure_end=end)
    assert re.fullmatch(rf"lifts\.csv row 1, column '{column}': {words} \(the data run from 2020-01-01 to 2020-12-01\); "
                        r"the test's spend and its readout must lie inside them", message), message


def test_window_between_two_periods(tmp_path, dataset):
    message = _row_error(tmp_path, dataset, start="2020-03-10", end="2020-03-20", measure_end="2020-03-20")
    assert re.fullmatch(r"lifts\.csv row 1, column 'start': the window 2020-03-10 to 2020-03-20 holds no period of the "
                        r"data \(the data run from 2020-01-01 to 2020-12-01\)", message), message


@pytest.mark.parametrize("column, changes", [
    ("start", {"start": "2019-12-01", "end": "2020-01-01", "measure_end": "2020-01-01"}),  # a month before the data
    ("measure_end", {"end": "2020-12-01", "measure_end": "2021-02-01"}),  # a readout past the data's end
])
def test_window_partly_outside_the_data(tmp_path, dataset, column, changes):
    """The model can neither place extra spend before the data nor predict lift after it."""
    message = _row_error(tmp_path, dataset, extra_spend="10", **changes)
    assert re.fullmatch(rf"lifts\.csv row 1, column '{column}': .*{changes[column]}.*", message), message


def test_negative_spend_before(tmp_path, dataset):
    message = _row_error(tmp_path, dataset, row=2, spend_before="-5")
    assert re.fullmatch(r"lifts\.csv row 2, column 'spend_before': -5 is negative", message)


def test_no_change_of_spend(tmp_path, dataset):
    message = _row_error(tmp_path, dataset, extra_spend="0")
    assert re.fullmatch(r"lifts\.csv row 1, column 'extra_spend': 0 is no change of spend \(positive: the test added "
                        r"spend; negative: it cut it\)", message), message


def test_a_cut_beyond_the_planned_spend(tmp_path, dataset):
    message = _row_error(tmp_path, dataset, extra_spend="-361")  # spend_before is 360
    assert re.fullmatch(r"lifts\.csv row 1, column 'extra_spend': a cut of 361 exceeds spend_before \(360\)", message)


def test_a_cut_to_zero_spend(tmp_path, dataset):
    """Radio spends 10 in August: a cut there that left nothing would be in a month of zero spend."""
    data = _write_data(tmp_path / "zero" / "data.csv")
    data.write_text(data.read_text().replace("2020-08-01,80,10,", "2020-08-01,80,0,"))
    rows = [{**ROWS[1], "start": "2020-08-01", "end": "2020-08-01", "measure_end": "2020-08-01",
             "spend_before": "10", "extra_spend": "-10"}]
    message = _error(_write(tmp_path / "lifts.csv", rows), _dataset(data))
    assert re.fullmatch(r"lifts\.csv row 1, column 'extra_spend': a cut with no spend left in the data over the window "
                        r"cannot be placed in its periods; cut Radio's spend to a fraction, not to zero", message), message


def test_extra_spend_beyond_the_data(tmp_path, dataset):
    message = _row_error(tmp_path, dataset, extra_spend="401")  # TV spends 400 over Feb and Mar
    assert re.fullmatch(r"lifts\.csv row 1, column 'extra_spend': 401 exceeds TV's spend in the data over the window "
                        r"\(400\); the data's spend must include the test's", message)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_lift_se_not_positive(tmp_path, dataset, value):
    message = _row_error(tmp_path, dataset, row=2, lift_se=value)
    assert re.fullmatch(rf"lifts\.csv row 2, column 'lift_se': {value} is not positive", message)


@pytest.mark.parametrize("column", ["spend_before", "extra_spend", "lift", "lift_se"])
def test_non_numeric_value(tmp_path, dataset, column):
    message = _row_error(tmp_path, dataset, row=2, **{column: "big"})
    assert re.fullmatch(rf"lifts\.csv row 2, column '{column}': 'big' is not a number", message)


@pytest.mark.parametrize("column", ["lift", "lift_se"])
def test_infinite_value(tmp_path, dataset, column):
    message = _row_error(tmp_path, dataset, **{column: "inf"})
    assert re.fullmatch(rf"lifts\.csv row 1, column '{column}': inf is not a finite number", message)


# --------------------------------------------------------------------------- fit.calibration.lift_tests
def test_no_setting_means_no_tests(dataset):
    assert chosen_lift_tests(None, dataset, KEY) is None


def test_auto_skips_data_that_are_not_generated(project):
    _write(project / "data" / "lift_tests.csv")
    _write_data(project / "data" / "mmm_data.csv")
    assert chosen_lift_tests("auto", _dataset(_write_data(project / "mine.csv")), KEY) is None


def test_auto_without_readouts(project):
    assert chosen_lift_tests("auto", _dataset(_write_data(project / "data" / "mmm_data.csv")), KEY) is None


def test_auto_loads_the_generated_readouts(project):
    path = _write(project / "data" / "lift_tests.csv")
    tests = chosen_lift_tests("auto", _dataset(_write_data(project / "data" / "mmm_data.csv")), KEY)
    assert tests.path == path and tests.labels == ["TV 2020-02-01", "Radio 2020-04-01"]


def test_auto_under_an_output_root(project, monkeypatch):
    """With ``--out`` the generated data and their readouts are both taken from the output root."""
    _write(project / "data" / "lift_tests.csv", ROWS[1:])
    out = project / "out"
    _write_data(out / "data" / "mmm_data.csv")
    path = _write(out / "data" / "lift_tests.csv", ROWS[:1])
    monkeypatch.setenv("MMMLAB_OUT", str(out))
    tests = chosen_lift_tests("auto", _dataset("data/mmm_data.csv"), KEY)
    assert tests.path == path and tests.labels == ["TV 2020-02-01"]


def test_explicit_path_is_loaded(project):
    path = _write(project / "my_lifts.csv", ROWS[1:])
    tests = chosen_lift_tests("my_lifts.csv", _dataset(_write_data(project / "mine.csv")), KEY)
    assert tests.path == path and tests.labels == ["Radio 2020-04-01"]
    np.testing.assert_allclose(tests.extra[3:5, 0], [8, 7])


def test_explicit_path_missing_names_the_key(project):
    with pytest.raises(UserInputError, match=rf"^{re.escape(KEY)}: no lift-test file at .*gone\.csv$"):
        chosen_lift_tests("gone.csv", _dataset(_write_data(project / "mine.csv")), KEY)


def test_an_empty_measure_end_is_the_window_end(tmp_path, dataset):
    tests = load_lift_tests(_write(tmp_path / "lifts.csv", [ROWS[0] | {"measure_end": ""}, ROWS[1]]), dataset, KEY)
    np.testing.assert_array_equal(np.flatnonzero(tests.measured[:, 0]), [1, 2])  # February and March only


def test_a_file_without_rows_calibrates_nothing(tmp_path, dataset):
    assert chosen_lift_tests(str(_write(tmp_path / "lifts.csv", rows=[])), dataset, KEY) is None
