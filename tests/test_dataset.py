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


def _write(folder, rows, header=HEADER, name="data.csv", sep=",", encoding="utf-8"):
    path = folder / name
    path.write_text("\n".join(sep.join(r) for r in [header, *rows]) + "\n", encoding=encoding)
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
    assert f"'{column}'" in message and "missing" in message and "separator" not in message


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


@pytest.mark.parametrize("value, shown", [("abc", "'abc'"), ("1e", "'1e'"), ('"12,0,0"', "'12,0,0'")])
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


def test_separate_windows_of_one_channel_get_a_column_each():
    from mmmlab.dataset import experiment_windows, window_channel

    labels = pd.Series(["None", "TV", "TV", "None", "TV+Digital", "Digital", "TV", "None"])
    windows = experiment_windows(labels, none="None")
    assert list(windows.columns) == ["Digital", "TV #1", "TV #2", "TV #3"]
    assert windows["TV #1"].tolist() == [0, 1, 1, 0, 0, 0, 0, 0]
    assert windows["TV #2"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]
    assert windows["TV #3"].tolist() == [0, 0, 0, 0, 0, 0, 1, 0]
    assert windows["Digital"].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]  # one window: the channel's own name
    assert [window_channel(w) for w in windows] == ["Digital", "TV", "TV", "TV"]
    assert window_channel("Radio #A") == "Radio #A"  # only a number after the mark is a window's


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


# --------------------------------------------------------------------------- how the file is written
def test_a_binary_file_is_named_with_the_offset(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00")  # an Excel workbook (a zip archive) renamed .csv
    assert _load_error(path) == f"{path}: not a text CSV file (binary content at byte 2)"


def test_nul_bytes_in_a_csv_are_binary_content(tmp_path):
    path = _write(tmp_path, _rows())
    text = path.read_bytes()
    path.write_bytes(text[:40] + b"\x00" + text[40:])
    assert _load_error(path) == f"{path}: not a text CSV file (binary content at byte 40)"


def _latin1(folder):
    """The valid dataset saved as Latin-1, with 'Récession' in data row 3 (line 4 of the file)."""
    return _write(folder, _set(_rows(), 3, "Economic_Condition", "Récession"), encoding="latin-1")


def test_a_latin1_file_names_the_line_the_byte_and_the_fix(tmp_path):
    path = _latin1(tmp_path)
    assert _load_error(path) == (f"{path}, line 4: byte 0xe9 is not utf-8; "
                                 "save the file as UTF-8 or set data.encoding (e.g. latin-1)")


def test_a_latin1_file_loads_with_its_encoding(tmp_path):
    ds = load_dataset(_spec(_latin1(tmp_path), encoding="latin-1"))
    assert ds.n_periods == N and ds.controls["Economic_Condition"].iloc[2] == "Récession"


def test_a_utf16_file_is_named_and_loads_with_its_encoding(tmp_path):
    path = _write(tmp_path, _rows(), encoding="utf-16")  # Excel's "Unicode text"
    assert _load_error(path) == f"{path}: the file is UTF-16 text; save it as UTF-8 or set data.encoding: utf-16"
    assert load_dataset(_spec(path, encoding="utf-16")).n_periods == N


def test_excels_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    ds = load_dataset(_spec(_write(tmp_path, _rows(), encoding="utf-8-sig")))
    assert ds.n_periods == N and ds.dates[0] == pd.Timestamp("2020-01-01")


@pytest.mark.parametrize("sep, written", [(";", "';'"), ("\t", '"\\t"')])
def test_another_separator_is_named_and_loads_when_set(tmp_path, sep, written):
    path = _write(tmp_path, _rows(), sep=sep)
    assert _load_error(path) == (f"{path}: the header has one column {sep.join(HEADER)!r}: the file looks "
                                 f"{written}-separated; set data.separator: {written} (or save it comma-separated)")
    ds = load_dataset(_spec(path, separator=sep))
    assert ds.n_periods == N and ds.channel_columns == ("TV_Spend", "Radio_Spend")


def test_decimal_commas_do_not_hide_the_separator_and_are_hinted(tmp_path):
    path = _write(tmp_path, _set(_rows(), 4, "TV_Spend", "1030,5"), sep=";")
    assert "the file looks ';'-separated; set data.separator: ';'" in _load_error(path)
    message = _load_error(path, separator=";")
    assert message == "column TV_Spend, row 4: '1030,5' is not a number (decimal comma? write 1030.5)"


def test_a_missing_column_found_with_another_separator_says_so(tmp_path):
    header = [";".join(HEADER[:4]), HEADER[4]]  # Date;TV_Spend;Radio_Spend;Total_Sales,Economic_Condition
    rows = [[";".join(r[:4]), r[4]] for r in _rows()]
    path = _write(tmp_path, rows, header)
    assert _load_error(path, channels=["TV_Spend"]) == (
        f"{path}: column 'Date' (data.date) is missing; the file looks ';'-separated; set data.separator: ';' "
        "(or save it comma-separated)")


@pytest.mark.parametrize("value, hint", [
    ('"1030,5"', "decimal comma? write 1030.5"),
    ('"1.030,5"', "decimal comma? write 1030.5"),
    ('"12,000"', "thousands separators? write 12000"),
    ('"1,234,567.5"', "thousands separators? write 1234567.5"),
])
def test_number_formats_get_a_hint(tmp_path, value, hint):
    message = _load_error(_write(tmp_path, _set(_rows(), 2, "TV_Spend", value)))
    assert message == f"column TV_Spend, row 2: {value.strip(chr(34))!r} is not a number ({hint})"


@pytest.mark.parametrize("key, value, expected", [
    ("encoding", "utf-9", "data.encoding: 'utf-9' is not a known text encoding (e.g. utf-8, latin-1, cp1252)"),
    ("encoding", "hex", "data.encoding: 'hex' is not a known text encoding"),
    ("separator", ";;", "data.separator: expected one character such as ',' ';' or \"\\t\" (a tab), got ';;'"),
    ("date_format", "dd/mm/yyyy", "data.date_format: expected null (infer) or a strftime format such as '%d/%m/%Y'"),
])
def test_bad_file_format_keys_are_named(tmp_path, key, value, expected):
    with pytest.raises(UserInputError) as info:
        _spec(tmp_path / "data.csv", **{key: value})
    assert str(info.value).startswith(expected)


# --------------------------------------------------------------------------- dates
def _dated(rows, fmt: str, freq: str = "W-MON"):
    """``rows`` with dates from 2024-01-01 (a Monday) at ``freq``, written with ``fmt``."""
    for row, date in zip(rows, pd.date_range("2024-01-01", periods=len(rows), freq=freq)):
        row[0] = date.strftime(fmt)
    return rows


def test_day_first_dates_are_named_not_guessed(tmp_path):
    path = _write(tmp_path, _dated(_rows(), "%d/%m/%Y"))
    assert _load_error(path) == ("column Date: dates look day-first (dd/mm/yyyy, e.g. '15/01/2024'); "
                                 "set data.date_format: '%d/%m/%Y' or write ISO dates (yyyy-mm-dd)")
    ds = load_dataset(_spec(path, date_format="%d/%m/%Y"))
    assert ds.freq == "W-MON" and ds.dates[1] == pd.Timestamp("2024-01-08")


def test_day_first_dates_read_month_first_but_irregular_are_named(tmp_path):
    rows = [list(_rows()[i % N]) for i in range(24)]  # two years of months on the 1st (01.02.24 month-first: Jan 2)
    path = _write(tmp_path, _dated(rows, "%d.%m.%y", freq="MS"))
    assert _load_error(path) == ("column Date: dates look day-first (dd.mm.yy, e.g. '01.02.24'); "
                                 "set data.date_format: '%d.%m.%y' or write ISO dates (yyyy-mm-dd)")


def test_dates_regular_both_ways_are_ambiguous(tmp_path):
    path = _write(tmp_path, _dated(_rows(), "%d/%m/%Y", freq="MS"))  # 12 months on the 1st: also 12 days in January
    assert _load_error(path) == ("column Date: dates such as '01/02/2024' are regular read either month-first or "
                                 "day-first; set data.date_format: '%m/%d/%Y' or '%d/%m/%Y', or write ISO dates "
                                 "(yyyy-mm-dd)")
    assert load_dataset(_spec(path, date_format="%d/%m/%Y")).freq == "MS"


def test_month_first_dates_load(tmp_path):
    ds = load_dataset(_spec(_write(tmp_path, _dated(_rows(), "%m/%d/%Y"))))
    assert ds.freq == "W-MON" and ds.dates[2] == pd.Timestamp("2024-01-15")


def test_a_date_not_in_the_format_names_the_row_and_the_format(tmp_path):
    message = _load_error(_write(tmp_path, _set(_rows(), 8, "Date", "2020/08/01")), date_format="%Y-%m-%d")
    assert message == "column Date, row 8: '2020/08/01' does not match data.date_format '%Y-%m-%d'"


def test_a_bad_directive_names_the_key(tmp_path):
    message = _load_error(_write(tmp_path, _rows()), date_format="%Y-%Q")
    assert message.startswith("data.date_format: '%Y-%Q' is not a date format (") and "'Q'" in message


# --------------------------------------------------------------------------- amounts
@pytest.mark.parametrize("column, row, value, shown", [
    ("Total_Sales", 5, "1e308", "1e+308"),
    ("TV_Spend", 2, "inf", "inf"),
    ("Total_Sales", 12, "-Infinity", "-inf"),
    ("Radio_Spend", 9, "1e400", "inf"),
    ("TV_Spend", 1, "1.5e15", "1.5e+15"),
])
def test_amounts_beyond_the_limit_name_column_and_row(tmp_path, column, row, value, shown):
    message = _load_error(_write(tmp_path, _set(_rows(), row, column, value)))
    assert message == f"column {column}, row {row}: {shown} is beyond the largest amount the lab accepts (1e15)"


def test_the_limit_itself_is_accepted_and_numeric_controls_are_checked(tmp_path):
    assert load_dataset(_spec(_write(tmp_path, _set(_rows(), 1, "TV_Spend", "1e15")))).spend[0, 0] == 1e15
    rows = [[*r[:4], str(i)] for i, r in enumerate(_rows())]
    message = _load_error(_write(tmp_path, _set(rows, 6, "Economic_Condition", "-2e20")))
    assert message == "column Economic_Condition, row 6: -2e+20 is beyond the largest amount the lab accepts (1e15)"


# --------------------------------------------------------------------------- repeated dates
def test_a_geo_panel_is_refused_with_what_to_do(tmp_path):
    rows = [[f"Geo{g}", *row] for g in range(3) for row in _rows()]  # one row per (geo, date), sorted by geo
    path = _write(tmp_path, rows, ["geo", *HEADER])
    assert _load_error(path) == (f"{path}: column 'geo' has 3 values for each date: this looks like a geo panel; the "
                                 "lab's model is national-level: sum the rows per date (e.g. df.groupby('Date').sum()) "
                                 "and drop 'geo'")


def test_rows_repeated_alike_are_duplicates_not_a_panel(tmp_path):
    rows = [list(row) for row in _rows() for _ in range(3)]  # Economic_Condition has 3 values, but one per date
    message = _load_error(_write(tmp_path, rows))
    assert message.startswith("column Date, row 2: duplicate date 2020-01-01 (also row 1)")


# --------------------------------------------------------------------------- the experiment column
TRIAL = ["None", "None", "TV", "TV"] + ["None"] * (N - 4)


def _with_trial(folder):
    return _write(folder, [[*r, t] for r, t in zip(_rows(), TRIAL)], [*HEADER, "Trial"])


def test_the_experiment_column_in_use_is_recorded(tmp_path):
    ds = load_dataset(_spec(_with_trial(tmp_path), experiments={"column": "Trial"}))
    assert ds.experiment_column == "Trial" and ds.notices == ()
    assert list(ds.controls.columns) == ["Economic_Condition", "Trial"] and ds.controls["Trial"].tolist() == TRIAL


def test_an_absent_experiment_column_is_a_notice_not_an_error(tmp_path):
    ds = load_dataset(_spec(_write(tmp_path, _rows()), experiments={"column": "Experiment_Channel"}))
    assert ds.experiment_column is None and list(ds.controls.columns) == ["Economic_Condition"]
    absent = "data.experiments.column: no column 'Experiment_Channel' in the file"
    assert ds.notices == (f"{absent}, so no experiment effects are modelled",)


def test_no_experiment_column_configured_gives_no_notice(tmp_path):
    ds = load_dataset(_spec(_with_trial(tmp_path)))
    assert ds.experiment_column is None and ds.notices == () and list(ds.controls.columns) == ["Economic_Condition"]


def test_an_experiment_column_listed_as_a_control_must_exist(tmp_path):
    message = _load_error(_write(tmp_path, _rows()), controls=["Economic_Condition", "Trial"],
                          experiments={"column": "Trial"})
    assert message == f"{tmp_path / 'data.csv'}: column 'Trial' (data.controls) is missing"
