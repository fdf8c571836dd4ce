"""SIGINT and SIGTERM: the handlers and their record, sampling that a library's swallowed Ctrl-C cannot fool,
and real `mmmlab generate` processes stopped at different moments (one line, exit 130 or 143, outputs intact)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from mmmlab import interrupts
from mmmlab.bayes import sampling
from mmmlab.cli import main
from mmmlab.config import fit_spec, load_params
from mmmlab.errors import Interrupted

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KEPT = "interrupted: previous outputs kept"
OUTPUTS = ("data/mmm_data.csv", "data/truth.json", "reports/generate/metrics.json")


# --------------------------------------------------------------------------- the handlers
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_handlers_raise_interrupted_note_the_signal_and_go_away_after(signum):
    before = signal.getsignal(signum)
    with interrupts.handled():
        with pytest.raises(Interrupted) as caught:
            signal.raise_signal(signum)
        assert caught.value.signum == signum and caught.value.exit_code == 128 + signum
        assert interrupts.since(0) == signum and interrupts.since(interrupts.mark()) is None
        with pytest.raises(Interrupted):
            interrupts.check(0)
    assert signal.getsignal(signum) is before


def test_deferred_holds_the_signal_until_its_block_is_done():
    done = []
    with interrupts.handled(), pytest.raises(Interrupted) as caught, interrupts.deferred():
        signal.raise_signal(signal.SIGTERM)
        done.append("the rest of the block")
    assert done and caught.value.signum == signal.SIGTERM


class _Delivered(Exception):
    pass


def test_deferred_blocks_the_signal_in_this_thread_whatever_the_handler():
    """Outside `mmmlab` (a notebook calling a stage) Python's own handler runs: the mask alone holds the signal."""

    def handler(signum, frame):
        raise _Delivered(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    done = []
    try:
        with pytest.raises(_Delivered), interrupts.deferred():
            signal.raise_signal(signal.SIGTERM)
            done.append("the rest of the block")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert done


class _Finalized:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)  # the handler runs inside a finalizer: Python would drop its exception


def test_a_signal_landing_in_a_finalizer_is_not_lost(capfd):
    with interrupts.handled(), pytest.raises(Interrupted):
        _Finalized()  # collected at once
        time.sleep(3)  # the signal is sent again and lands here
    assert "Exception ignored" not in capfd.readouterr().err


def test_the_command_turns_an_interrupt_into_one_line_and_its_exit_code(project, monkeypatch):
    from mmmlab.stages import generate

    def interrupted(params):
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(generate, "run", interrupted)
    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(main, ["generate"])
    assert (result.exit_code, result.stdout, result.stderr) == (143, "", KEPT + "\n")  # not click's "Aborted!"
    assert signal.getsignal(signal.SIGTERM) is before  # given args (not the process's own), the handlers go back


def test_an_error_after_a_swallowed_signal_counts_as_the_signal(project, monkeypatch):
    """What nutpie did at 12 s: it caught Ctrl-C, and the conversion of no draws failed with an IndexError."""
    from mmmlab.stages import generate

    def swallowed_then_failed(params):
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass
        raise IndexError("list index out of range")

    monkeypatch.setattr(generate, "run", swallowed_then_failed)
    result = CliRunner().invoke(main, ["generate"])
    assert (result.exit_code, result.stderr) == (130, KEPT + "\n")


# --------------------------------------------------------------------------- sampling
class _Sampler:
    """Stands in for a pymc-marketing MMM whose sampler, like nutpie, catches Ctrl-C and returns the draws so far."""

    def __init__(self, draws: int, interrupt: bool = False, fail: bool = False):
        self.draws, self.interrupt, self.fail = draws, interrupt, fail
        self.predicted = False
        self.model = SimpleNamespace(initial_point=lambda: {"x": np.zeros(3)})  # 3 parameters, fewer than the periods

    def build_model(self, X, y):
        pass

    def add_original_scale_contribution_variable(self, var):
        pass

    def sample_prior_predictive(self, *args, **kwargs):
        pass

    def fit(self, X, y, **kwargs):
        if self.interrupt:
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass  # nutpie: abort, return what there is
        warnings.warn("Found chain dimension to be longer than draw dimension", UserWarning, stacklevel=1)
        if self.fail:
            raise IndexError("list index out of range")
        posterior = xr.Dataset({"x": (("chain", "draw"), np.zeros((2, self.draws)))})
        self.idata = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": xr.Dataset()})

    def sample_posterior_predictive(self, *args, **kwargs):
        self.predicted = True


@pytest.fixture
def spec():
    return fit_spec(load_params(REPO / "params.yaml", ("fit.sampler.chains=2", "fit.sampler.draws=100",
                                                                "fit.sampler.reruns=0")))


DESIGN = SimpleNamespace(X=[None] * 50, y=None, lift=None)  # 50 periods, no lift tests


@pytest.mark.parametrize("fail", [False, True], ids=["partial draws", "then an error"])
def test_sampling_stops_on_a_signal_the_sampler_swallowed(spec, fail):
    mmm = _Sampler(draws=37, interrupt=True, fail=fail)
    with interrupts.handled(), warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with pytest.raises(Interrupted) as caught:
            sampling.sample(mmm, DESIGN, spec)
    assert caught.value.signum == signal.SIGINT and not mmm.predicted
    assert not shown  # the sampler's complaint about the draws it was left with is not shown


def test_fewer_draws_than_asked_count_as_an_interrupt(spec):
    """Without the command's handlers (a stage called from Python) the sampler's catch leaves no note: count."""
    mmm = _Sampler(draws=37)
    with pytest.raises(Interrupted), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampling.sample(mmm, DESIGN, spec)
    assert not mmm.predicted


def test_all_draws_go_on_to_the_predictive_and_warnings_are_shown(spec):
    mmm = _Sampler(draws=100)
    with interrupts.handled(), pytest.warns(UserWarning, match="chain dimension"):
        timings, _ = sampling.sample(mmm, DESIGN, spec)
    assert mmm.predicted and set(timings) >= {"sample_wall_s", "posterior_predictive_s"}


def test_generated_source_goes_under_the_compile_folder_only_inside_the_block():
    import pytensor

    before = pytensor.config.generated_src_dir  # the tests' own folder (conftest)
    with sampling.generated_source_kept() as folder:
        assert pytensor.config.generated_src_dir == str(folder) != before
        assert folder.parent == Path(pytensor.config.compiledir)
    assert pytensor.config.generated_src_dir == before


# --------------------------------------------------------------------------- real processes
def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    return env | {"PATH": f"{BIN}{os.pathsep}{env['PATH']}", "MLFLOW_DISABLE_TELEMETRY": "true",
                  "PYTHONUNBUFFERED": "1"}


def _digests(root: Path) -> dict[str, str]:
    """Every file under data/ and reports/ (hidden leftovers included) by content."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("data", "reports") for p in sorted((root / folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A project after one successful `mmmlab generate` (its own MLflow store)."""
    root = tmp_path_factory.mktemp("generated")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    done = subprocess.run(["mmmlab", "generate"], cwd=root, env=_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert set(OUTPUTS) <= set(_digests(root))
    return root


@pytest.fixture
def copy(generated, tmp_path) -> Path:
    shutil.copytree(generated, tmp_path / "project")
    return tmp_path / "project"


def _staging_opened(root: Path) -> bool:
    return any((root / "data").glob(".mmm_data.csv.*.staging"))


def _stop(root: Path, signum: int, when, ignore_sigint: bool = False) -> subprocess.CompletedProcess:
    """`mmmlab generate --seed 7` (new data), sent ``signum`` once ``when(root)`` holds."""
    command = ["mmmlab", "generate", "--seed", "7"]
    if ignore_sigint:  # as a background job of a script starts: an ignored signal stays ignored across exec
        command = ["sh", "-c", "trap '' INT; exec " + " ".join(command)]
    process = subprocess.Popen(command, cwd=root, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not when(root) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the stage ended before the moment to stop it"
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize(("signum", "moment"), [
    (signal.SIGINT, "writing"),  # inside the stage, its staging folders open
    (signal.SIGTERM, "writing"),
    (signal.SIGINT, "starting"),  # still importing the libraries
    (signal.SIGTERM, "starting"),
])
def test_a_stopped_generate_prints_one_line_exits_128_plus_signal_and_keeps_the_outputs(copy, signum, moment):
    before = _digests(copy)
    started = time.monotonic()
    when = _staging_opened if moment == "writing" else (lambda root: time.monotonic() - started > 0.5)
    done = _stop(copy, signum, when)
    assert (done.returncode, done.stderr.splitlines()) == (128 + signum, [KEPT]), done.stderr[-2000:]
    assert _digests(copy) == before  # byte for byte, and no staging folder left


def test_a_process_started_with_sigint_ignored_still_stops_on_it(copy):
    before = _digests(copy)
    done = _stop(copy, signal.SIGINT, _staging_opened, ignore_sigint=True)
    assert (done.returncode, done.stderr.splitlines()) == (130, [KEPT]), done.stderr[-2000:]
    assert _digests(copy) == before


def test_a_signal_after_the_stage_is_done_does_not_undo_its_success(copy):
    """The interpreter's shutdown takes a second after the summary: a signal then leaves exit code 0."""
    before = _digests(copy)
    process = subprocess.Popen(["mmmlab", "generate", "--seed", "7"], cwd=copy, env=_env(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    summary = process.stdout.readline()
    assert summary.startswith("generated"), summary
    time.sleep(0.2)  # the command returns at once; the shutdown takes a second
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (0, ""), stderr
    after = _digests(copy)
    assert set(after) == set(before) and all(after[name] != before[name] for name in OUTPUTS)
