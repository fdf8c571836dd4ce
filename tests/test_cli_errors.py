"""User errors through the CLI: one line on stderr naming the key (or column and row), exit code 2,
and the outputs of the previous successful run left byte for byte as they were."""

from __future__ import annotations

import datetime
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmmlab.cli import main

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("data/mmm_data.csv", "data/truth.json", "reports/generate/metrics.json")
ENV_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "DVC_ROOT")


def _files(root: Path) -> dict[str, bytes]:
    """Every file under data/ and reports/ with its bytes (temporary leftovers included)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in ("data", "reports")
        if (root / folder).exists()
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def _runs(root: Path) -> int:
    with sqlite3.connect(root / "mlflow.db") as db:
        return db.execute("select count(*) from runs").fetchone()[0]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A project where `mmmlab generate` has run once successfully (real MLflow store)."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    with pytest.MonkeyPatch.context() as mp:
        for var in ENV_VARS:
            mp.delenv(var, raising=False)
        mp.chdir(root)
        result = CliRunner().invoke(main, ["generate"])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("generated 60 periods into data/mmm_data.csv")
        files = _files(root)
        assert set(OUTPUTS) <= set(files)
        yield root, files


def _fails_cleanly(root: Path, before: dict[str, bytes], args: list[str]) -> str:
    runs = _runs(root)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert _files(root) == before  # nothing new, nothing changed, no temporary files
    assert _runs(root) == runs  # no MLflow run for a failed stage
    return lines[0].removeprefix("error: ")


BAD_PARAMS = {
    "decay above 1": (["--set", "generate.channels.TV.decay=1.2"], "generate.channels.TV.decay"),
    "decay equal to 1": (["--set", "generate.channels.Print.decay=1"], "generate.channels.Print.decay"),
    "negative decay": (["--set", "generate.channels.Radio.decay=-0.5"], "generate.channels.Radio.decay"),
    "unknown frequency": (["--set", "generate.freq=D"], "generate.freq"),
    "end before start": (["--set", "generate.end=2016-12-31"], "generate.end"),
    "fewer than two periods": (["--set", "generate.end=2017-01-15"], "generate.end"),
    "negative spend base": (["--set", "generate.channels.TV.base_spend=-100"], "generate.channels.TV.base_spend"),
    "unknown channel in experiment": (
        ["--set", ("generate.experiments.windows=[{channel: Cinema, start: 2018-03-01, end: 2018-04-30, "
                   "response_rate: 1}]")],
        "generate.experiments.windows.0.channel",
    ),
    "realism above 1": (["--set", "generate.experiments.realism=2"], "generate.experiments.realism"),
    "unknown preset": (["--preset", "nosuch"], "generate.preset"),
    "negative seed": (["--seed", "-1"], "generate.seed"),
    "not a date": (["--set", "generate.start=soon"], "generate.start"),
}


@pytest.mark.parametrize("case", BAD_PARAMS)
def test_bad_params_fail_cleanly_naming_the_key(generated, case):
    root, before = generated
    args, key = BAD_PARAMS[case]
    message = _fails_cleanly(root, before, ["generate", *args])
    assert message.startswith(f"{key}: "), message


def test_malformed_override_fails_cleanly(generated):
    root, before = generated
    assert "expected key=value" in _fails_cleanly(root, before, ["generate", "--set", "generate.seed"])


def test_missing_params_file_fails_cleanly(generated):
    root, before = generated
    message = _fails_cleanly(root, before, ["generate", "--params", str(root / "nope.yaml")])
    assert "nope.yaml" in message and "not found" in message


def test_generate_ignores_the_users_own_column_mapping(generated):
    """Pointing `data` at one's own CSV (other target and controls) must not break `generate`.

    Found by this test: generate validated its output against the user's mapping, exited 2
    and still left the new CSV and truth behind.
    """
    root, before = generated
    own = root / "own.csv"
    own.write_text("Week,Sales,TV_Spend,Promo\n")
    try:
        result = CliRunner().invoke(main, [
            "generate", "--set", f"data.path={own}", "--set", "data.date=Week", "--set", "data.target=Sales",
            "--set", "data.controls=[Promo]", "--set", "data.truth=null",
        ])
        assert result.exit_code == 0, result.output
        # same seed and generate section: the same bytes as before
        assert {k: v for k, v in _files(root).items() if k in OUTPUTS} == {k: before[k] for k in OUTPUTS}
    finally:
        own.unlink()


@pytest.mark.parametrize(("change", "expected"), [
    (lambda text: text.replace("TV,", "Cinema,", 1), r"bad_lifts\.csv row 1, column 'channel': 'Cinema' is not a channel"),
    (lambda text: text.replace(",lift_se", ",se"), r"bad_lifts\.csv: no column 'lift_se'"),
], ids=["unknown channel", "missing column"])
def test_a_bad_lift_test_file_stops_the_fit_before_it_starts(generated, change, expected):
    """The fit reads the lift tests before any sampling or MLflow run: one line naming row and column."""
    root, before = generated
    bad = root / "bad_lifts.csv"
    bad.write_text(change((root / "data" / "lift_tests.csv").read_text()))
    try:
        message = _fails_cleanly(root, before, ["fit", "--set", f"fit.calibration.lift_tests={bad}"])
    finally:
        bad.unlink()
    assert re.match(expected, message), message


# --------------------------------------------------------------------------- bad CSVs through `mmmlab check`
GOOD_CSV = "Date,TV_Spend,Total_Sales\n" + "".join(f"2020-{m:02d}-01,{100 + m},{1000 + m}\n" for m in range(1, 13))


BAD_CSVS = {
    "missing column": (
        "".join(line.rsplit(",", 1)[0] + "\n" for line in GOOD_CSV.splitlines()), ["'Total_Sales'", "missing"],
    ),
    "missing value": (GOOD_CSV.replace("2020-05-01,105", "2020-05-01,"), ["column TV_Spend, row 5"]),
    "NaN": (GOOD_CSV.replace("2020-05-01,105", "2020-05-01,NaN"), ["column TV_Spend, row 5"]),
    "negative spend": (GOOD_CSV.replace("2020-03-01,103", "2020-03-01,-3"), ["column TV_Spend, row 3", "negative"]),
    "duplicate date": (GOOD_CSV.replace("2020-04-01", "2020-03-01"), ["column Date, row 4", "duplicate"]),
    "unsorted dates": (
        GOOD_CSV.replace("2020-04-01", "2020-XX").replace("2020-05-01", "2020-04-01").replace("2020-XX", "2020-05-01"),
        ["column Date, row 5"],
    ),
    "non-numeric spend": (GOOD_CSV.replace("2020-02-01,102", "2020-02-01,lots"), ["column TV_Spend, row 2", "'lots'"]),
    "empty file": ("", ["empty"]),
    "zero variance": (
        "Date,TV_Spend,Total_Sales\n" + "".join(f"2020-{m:02d}-01,100,{1000 + m}\n" for m in range(1, 13)),
        ["column TV_Spend", "zero variance"],
    ),
}


@pytest.mark.parametrize("case", BAD_CSVS)
def test_check_with_a_bad_csv_fails_cleanly(generated, case):
    pytest.importorskip("mmmlab.stages.check")
    root, before = generated
    text, fragments = BAD_CSVS[case]
    bad = root / "bad.csv"
    bad.write_text(text)
    try:
        message = _fails_cleanly(root, before, [
            "check", "--set", f"data.path={bad}", "--set", "data.controls=[]", "--set", "data.truth=null",
            "--set", "data.experiments.column=null",
        ])
    finally:
        bad.unlink()
    for fragment in fragments:
        assert fragment in message, message
    assert not (root / "reports" / "data_check").exists()


# --------------------------------------------------------------------------- a user's broken file, in the model stages
WEEKLY = "date,y,x1,x2\n" + "".join(f"{date.isoformat()},{1000 + 7 * w},{10 + w % 5},{w % 3}\n" for w, date in
                                    enumerate(datetime.date(2020, 1, 6) + datetime.timedelta(weeks=i) for i in range(48)))
BROKEN_FILES = {  # the cases: each one line saying what to do, exit 2, nothing written
    "binary": (bytes(range(256)) * 8, "not a text CSV file"),
    "latin-1": (WEEKLY.replace("x1", "x\xe9", 1).encode("latin-1"), "set data.encoding"),
    "1e308": (WEEKLY.replace(",1007,", ",1e308,").encode(), "beyond the largest amount"),
    "semicolons": (WEEKLY.replace(",", ";").encode(), "set data.separator"),
}


@pytest.mark.parametrize("stage", ["recover", "fit"])
@pytest.mark.parametrize("case", BROKEN_FILES)
def test_a_broken_file_stops_recover_and_fit_with_one_line(generated, stage, case):
    root, before = generated
    content, fragment = BROKEN_FILES[case]
    bad = root / "bad.csv"
    bad.write_bytes(content)
    try:
        message = _fails_cleanly(root, before, [
            stage, "--set", f"data.path={bad}", "--set", "data.date=date", "--set", "data.target=y",
            "--set", "data.channels=[x1, x2]", "--set", "data.controls=[]", "--set", "data.truth=null",
            "--set", "recover.baseline.form=additive"])
    finally:
        bad.unlink()
    assert fragment in message, message


# --------------------------------------------------------------------------- the installed command
def test_installed_command_exits_2_with_one_line(generated):
    root, before = generated
    exe = Path(sys.executable).with_name("mmmlab")
    if not exe.exists():
        pytest.skip("the mmmlab console script is not installed next to this interpreter")
    proc = subprocess.run(
        [str(exe), "generate", "--set", "generate.channels.TV.decay=1.2"],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "error: generate.channels.TV.decay: 1.2 is outside [0, 1)\n"
    assert _files(root) == before


def test_a_failed_gate_under_strict_is_one_line_and_exit_code_1(monkeypatch):
    from mmmlab.errors import GateFailure
    from mmmlab.stages import check

    def failing(params):
        raise GateFailure("fit.strict is true and convergence gates failed (max_r_hat)")

    monkeypatch.setattr(check, "run", failing)
    result = CliRunner().invoke(main, ["check", "--params", str(REPO / "params.yaml")])
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.stderr == "error: fit.strict is true and convergence gates failed (max_r_hat)\n"


# --------------------------------------------------------------------------- unknown keys, whichever stage runs
UNKNOWN_KEYS = {
    "fit, typo in check": (["fit", "--set", "check.pulse_periodz=3"],
                           "check.pulse_periodz: unknown key (did you mean check.pulse_periods?)"),
    "generate, typo in fit": (["generate", "--set", "fit.sampler.drawz=2000"],
                              "fit.sampler.drawz: unknown key (did you mean fit.sampler.draws?)"),
    "check, unknown section": (["check", "--set", "foo.bar=1"],
                               "foo: unknown key (known: calibrate, check, data, fit, generate, optimize, presets, recover, report, tracking)"),
    "pipeline, typo in a preset": (["pipeline", "--set", "presets.identifiable.noise.sdd=0"],
                                   "presets.identifiable.noise.sdd: unknown key (did you mean presets.identifiable.noise.sd?)"),
    "report, the old HDI key": (["report", "--set", "report.hdi_prob=0.9"],
                                "report.hdi_prob: unknown key (did you mean fit.hdi_prob?)"),
}


@pytest.mark.parametrize("case", UNKNOWN_KEYS)
def test_unknown_key_fails_before_the_stage_runs(generated, monkeypatch, case):
    import importlib

    root, before = generated
    args, expected = UNKNOWN_KEYS[case]

    def ran(params):
        raise AssertionError("the stage ran despite an unknown key")

    monkeypatch.setattr(importlib.import_module(f"mmmlab.stages.{args[0]}"), "run", ran)
    assert _fails_cleanly(root, before, args) == expected


def test_unknown_key_in_the_params_file_fails_cleanly(generated):
    import yaml

    root, before = generated
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["fit"]["sampler"]["drawz"] = 2000
    path = root / "typo.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        message = _fails_cleanly(root, before, ["generate", "--params", str(path)])
    finally:
        path.unlink()
    assert message == "fit.sampler.drawz: unknown key (did you mean fit.sampler.draws?)"
