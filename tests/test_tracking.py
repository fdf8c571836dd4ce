"""MLflow runs that stand alone: names, store and artifact location, status on every outcome, stale
runs, the DVC parent run and `mlflow run`'s run in Default; each against a real SQLite store in tmp_path."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

import mlflow
import psutil
import pytest
from click.testing import CliRunner

from mmmlab import interrupts, tracking
from mmmlab.cli import main
from mmmlab.config import load_params
from mmmlab.errors import Interrupted
from mmmlab.tracking import store as stores


@pytest.fixture
def store(project, monkeypatch) -> mlflow.MlflowClient:
    """The project's own new store, nothing of DVC or `mlflow run` in the environment."""
    for var in ("DVC_STAGE", "DVC_EXP_NAME"):
        monkeypatch.delenv(var, raising=False)
    return stores._client()


def params(*overrides: str) -> dict:
    return load_params(None, overrides)


def all_runs(client: mlflow.MlflowClient):
    return client.search_runs([e.experiment_id for e in client.search_experiments()])


# --------------------------------------------------------------------------- names
def test_run_names_say_stage_seed_preset_or_file(project):
    assert tracking.run_name("generate", params("generate.seed=12", "generate.preset=identifiable")) == (
        "generate · seed 12 · identifiable")
    assert tracking.run_name("generate", params("generate.seed=7")) == "generate · seed 7"
    # the other stages name the data they read: the generated data's seed from its truth file ...
    (project / "data").mkdir()
    (project / "data/truth.json").write_text(json.dumps({"freq": "MS", "seed": 369, "preset": None}))
    assert tracking.run_name("fit", params("generate.seed=5")) == "fit · seed 369"  # the data's, not params'
    assert tracking.run_name("main", params("generate.seed=5")) == "pipeline · seed 5"  # it generates its data
    # ... or the user's file
    assert tracking.run_name("fit", params("data.path=data/mine.csv", "data.truth=null")) == "fit · mine.csv"
    assert tracking.run_name("check", params("data.truth=null")) == "check · mmm_data.csv"


# --------------------------------------------------------------------------- store
def test_tracking_uri_env_then_dvc_root_then_project_root(project, monkeypatch, tmp_path_factory):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.tracking_uri() == f"sqlite:///{project / 'mlflow.db'}"
    main_repo = tmp_path_factory.mktemp("main-repo")
    monkeypatch.setenv("DVC_ROOT", str(main_repo))
    assert tracking.tracking_uri() == f"sqlite:///{main_repo / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/x.db")
    assert tracking.tracking_uri() == "sqlite:////elsewhere/x.db"


def test_a_copy_run_by_dvc_logs_to_the_main_store_and_its_artifacts_land_beside_it(project, monkeypatch,
                                                                                   tmp_path_factory):
    """DVC's queue runs a stage in a temporary copy with DVC_ROOT naming the main repository."""
    main_repo = tmp_path_factory.mktemp("main-repo")
    monkeypatch.setenv("DVC_ROOT", str(main_repo))
    (project / "trace.nc").write_bytes(b"trace")
    with tracking.stage_run("fit", params(), {"fit.x": 1}) as run_id:
        tracking.log_trace(project / "trace.nc")
    client = mlflow.MlflowClient(f"sqlite:///{main_repo / 'mlflow.db'}")
    run = client.get_run(run_id)
    assert run.info.artifact_uri.startswith((main_repo / "mlartifacts").as_uri())
    assert (Path(run.info.artifact_uri.removeprefix("file://")) / "model/trace.nc").read_bytes() == b"trace"
    assert not (project / "mlflow.db").exists() and not (project / "mlartifacts").exists()
    assert not (project / "mlruns").exists()
    for experiment in client.search_experiments():  # Default too: the store was new
        assert experiment.artifact_location.startswith((main_repo / "mlartifacts").as_uri())


# --------------------------------------------------------------------------- status
@pytest.mark.parametrize(("error", "status"), [
    (None, "FINISHED"),
    (ValueError("bad"), "FAILED"),
    (KeyboardInterrupt(), "KILLED"),
    (Interrupted(signal.SIGTERM), "KILLED"),
])
def test_a_run_ends_with_the_stage_outcome(store, error, status):
    with pytest.raises(type(error)) if error else nullcontext(), tracking.stage_run("check", params(), {}) as run_id:
        if error:
            raise error
    run = store.get_run(run_id)
    assert run.info.status == status and run.info.end_time >= run.info.start_time
    assert mlflow.active_run() is None


def test_an_error_after_a_swallowed_signal_counts_as_killed(store):
    """A library that catches the interrupt may fail on what it was left with: the signal is the cause."""
    with interrupts.handled(), pytest.raises(RuntimeError), tracking.stage_run("fit", params(), {}) as run_id:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except Interrupted:
            pass  # swallowed, as nutpie does
        raise RuntimeError("no draws")
    assert store.get_run(run_id).info.status == "KILLED"


def test_pipeline_stages_nest_and_an_interrupt_kills_both(store):
    with pytest.raises(KeyboardInterrupt), tracking.pipeline_run(params()) as parent:
        with tracking.stage_run("generate", params(), {}) as first:
            pass
        with tracking.stage_run("check", params(), {}) as second:
            raise KeyboardInterrupt
    runs = {r.info.run_id: r for r in all_runs(store)}
    assert runs[first].data.tags["mlflow.parentRunId"] == parent == runs[second].data.tags["mlflow.parentRunId"]
    assert [runs[i].info.status for i in (first, second, parent)] == ["FINISHED", "KILLED", "KILLED"]
    assert runs[parent].info.run_name.startswith("pipeline")


# --------------------------------------------------------------------------- stale runs
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_runs_whose_process_is_gone_are_marked_killed_at_the_next_stage_start(store):
    experiment = tracking.experiment_id(store, "mmm-lab")
    me = psutil.Process()
    started = round(me.create_time() * 1000)
    host = socket.gethostname()
    mine, other = tracking.ProcessId.of(me).since_boot, f"{uuid.uuid4()}:1"
    assert mine is not None  # Linux
    cases = {  # (host, pid, process start, start since boot) -> expected status after the next stage starts
        "dead": ((host, _dead_pid(), started, None), "KILLED"),
        "reused pid": ((host, me.pid, started - 60_000, None), "KILLED"),
        "alive": ((host, me.pid, started, None), "RUNNING"),
        "other host": (("elsewhere.invalid", _dead_pid(), started, None), "RUNNING"),
        # the start since boot decides where it is recorded: a clock step moves the start time, not it
        "alive, the clock stepped since": ((host, me.pid, started - 60_000, mine), "RUNNING"),
        "reused pid, same start time": ((host, me.pid, started, other), "KILLED"),
    }
    ids = {}
    for name, ((h, pid, start, boot), _) in cases.items():
        tags = {tracking.HOST: h, tracking.PID: str(pid), tracking.PROCESS_START: str(start)}
        tags |= {tracking.PROCESS_SINCE_BOOT: boot} if boot else {}
        ids[name] = store.create_run(experiment, tags=tags, run_name=name).info.run_id
    untagged = store.create_run(experiment, run_name="not ours").info.run_id

    with tracking.stage_run("check", params(), {}):
        pass
    for name, (_, expected) in cases.items():
        assert store.get_run(ids[name]).info.status == expected, name
    assert store.get_run(untagged).info.status == "RUNNING"
    assert "gone" in store.get_run(ids["dead"]).data.tags[tracking.MARKED_KILLED]


def test_a_sigkilled_stage_is_marked_killed_by_the_next(store, project):
    script = textwrap.dedent("""
        import os, signal, sys
        from mmmlab import interrupts, tracking
        from mmmlab.config import load_params
        with tracking.stage_run("fit", load_params(), {}) as run_id:
            print(run_id, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False, cwd=project, capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL
    run_id = done.stdout.split()[0]
    assert store.get_run(run_id).info.status == "RUNNING"
    with tracking.stage_run("report", params(), {}):
        pass
    assert store.get_run(run_id).info.status == "KILLED"


# --------------------------------------------------------------------------- tags
def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


def test_runs_carry_commit_dirty_flag_dvc_experiment_and_no_absolute_paths(store, project, monkeypatch):
    _git(project, "init", "-q")
    (project / ".gitignore").write_text("mlflow.db\nmlartifacts/\n")
    (project / "dvc.lock").write_text("schema: '2.0'\n")
    (project / "dvc.yaml").write_text("stages:\n  generate:\n    cmd: mmmlab generate\n    metrics:\n"
                                      "      - reports/metrics.json:\n          cache: false\n")
    (project / "reports").mkdir()
    (project / "reports/metrics.json").write_text("{}")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "one")
    head = _git(project, "rev-parse", "HEAD").strip()
    monkeypatch.setenv("DVC_EXP_NAME", "lobed-sash")

    # DVC rewrites its lock file and the stages their outputs (metrics tracked by git) during a run: not dirty
    (project / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    (project / "reports/metrics.json").write_text('{"a": 1}')
    with tracking.stage_run("generate", params(), {"data.seed": 1}) as clean:
        pass
    (project / "params.yaml").write_text((project / "params.yaml").read_text() + "\n# changed\n")
    with tracking.stage_run("generate", params(), {}) as dirty:
        pass

    tags = store.get_run(clean).data.tags
    assert tags[tracking.GIT_COMMIT] == head and tags[tracking.GIT_DIRTY] == "false"
    assert tags[tracking.DVC_EXP] == "lobed-sash"
    assert tags[tracking.PID] == str(os.getpid()) and tags[tracking.HOST] == socket.gethostname()
    assert store.get_run(dirty).data.tags[tracking.GIT_DIRTY] == "true"
    for run in all_runs(store):
        for key, value in run.data.tags.items():
            assert not value.startswith("/") and str(project) not in value, (key, value)


def test_relative_paths_for_files_in_the_project(project):
    assert tracking.relative(project / "models/mmm_fit.nc") == "models/mmm_fit.nc"
    assert tracking.relative("/somewhere/else/data.csv") == "data.csv"


# --------------------------------------------------------------------------- mlflow run
def test_mlflow_runs_run_in_default_points_to_the_stage_run_in_the_project_experiment(store, monkeypatch):
    wrapper = store.create_run("0", tags={"mlflow.project.entryPoint": "check"}).info.run_id  # Default
    monkeypatch.setenv("MLFLOW_RUN_ID", wrapper)
    with tracking.stage_run("check", params(), {}) as run_id:
        pass
    assert run_id != wrapper and "MLFLOW_RUN_ID" not in os.environ
    run = store.get_run(run_id)
    assert store.get_experiment(run.info.experiment_id).name == "mmm-lab"
    assert run.data.tags[tracking.WRAPPER_POINTER] == wrapper
    assert run.data.tags["mlflow.project.entryPoint"] == "check"
    outer = store.get_run(wrapper)
    assert outer.data.tags[tracking.RUN_POINTER] == run_id and run_id in outer.data.tags["mlflow.note.content"]


def test_mlflow_runs_run_in_a_chosen_experiment_is_the_stage_run(store, monkeypatch):
    chosen = store.create_experiment("chosen")
    wrapper = store.create_run(chosen).info.run_id
    monkeypatch.setenv("MLFLOW_RUN_ID", wrapper)
    with tracking.stage_run("check", params(), {}) as run_id:
        pass
    assert run_id == wrapper
    run = store.get_run(wrapper)
    assert run.info.status == "FINISHED" and run.info.run_name.startswith("check") and run.data.tags["stage"] == "check"


# --------------------------------------------------------------------------- DVC: one parent per invocation
FAKE_DVC = """#!{python}
# stands in for dvc: runs each stage command through the shell, as dvc does, with DVC's variables
import os, subprocess, sys, time
for stage in sys.argv[2:]:
    env = dict(os.environ, DVC_ROOT=os.getcwd(), DVC_STAGE=stage)
    subprocess.run([os.environ.get("SHELL", "/bin/sh"), "-c", f"{{sys.executable}} stage.py {{stage}}"],
                   env=env, check=True)
"""
STAGE = """
import sys, time
from mmmlab import interrupts, tracking
from mmmlab.config import load_params
with tracking.stage_run(sys.argv[1], load_params(), {}):
    time.sleep(0.3)
"""


def test_the_stages_of_one_dvc_invocation_share_a_parent_and_parallel_ones_do_not(store, project, tmp_path_factory):
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "dvc").write_text(FAKE_DVC.format(python=sys.executable))
    (bin_dir / "dvc").chmod(0o755)
    (project / "stage.py").write_text(STAGE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "MLFLOW_RUN"))}
    repro = subprocess.Popen([str(bin_dir / "dvc"), "repro", "generate", "check"], cwd=project, env=env)
    queued = subprocess.Popen([str(bin_dir / "dvc"), "exp", "generate", "fit"], cwd=project,
                              env={**env, "DVC_EXP_NAME": "lobed-sash"})
    assert repro.wait() == 0 and queued.wait() == 0

    runs = all_runs(store)
    parents = {r.info.run_id: r for r in runs if r.data.tags["stage"] == "dvc"}
    assert len(parents) == 2
    children = {p: sorted((r for r in runs if r.data.tags.get("mlflow.parentRunId") == p),
                          key=lambda r: r.info.start_time) for p in parents}
    by_stages = {tuple(c.data.tags["stage"] for c in kids): parents[p] for p, kids in children.items()}
    assert set(by_stages) == {("generate", "check"), ("generate", "fit")}
    assert by_stages[("generate", "check")].info.run_name.startswith("dvc repro · ")
    assert by_stages[("generate", "fit")].info.run_name == "dvc exp · lobed-sash"
    assert by_stages[("generate", "fit")].data.tags[tracking.DVC_EXP] == "lobed-sash"
    for parent_id, kids in children.items():
        parent = parents[parent_id]
        assert parent.info.status == "FINISHED"
        # the parent spans its stages: from the first one's start to the last one's end
        assert parent.info.start_time <= kids[0].info.start_time
        assert parent.info.end_time >= kids[-1].info.end_time > kids[0].info.end_time
        assert all(k.info.status == "FINISHED" for k in kids)


def test_a_stage_reading_the_dvc_process_start_a_second_later_joins_its_parent(store, project):
    """psutil's start time is the boot time plus ticks; the boot time moves when the clock is stepped."""
    from mmmlab.tracking.runs import _dvc_parent

    exp_id = store.create_experiment("e")
    host, pid, started = socket.gethostname(), 4242, 1_800_000_000_000

    def parent(start_ms: int, pid: int = pid) -> str:
        return _dvc_parent(store, exp_id, tracking.DvcInvocation(tracking.ProcessId(host, pid, start_ms), "repro", None),
                           start_ms)[0]

    first = parent(started)
    assert parent(started + 1000) == first and parent(started - 1990) == first
    assert len({first, parent(started + 2000), parent(started, pid=4243)}) == 3  # a reused pid, another process


def test_stages_of_one_dvc_invocation_join_its_parent_across_a_step_of_the_clock(store):
    """A virtual machine or laptop resumed from a pause steps the wall clock, and with it psutil's start time of a
    process already running (a whole CI run once split its stages between two parents, 13 s apart): the start since
    boot decides."""
    from mmmlab.tracking.runs import _dvc_parent

    exp_id = store.create_experiment("e")
    host, pid, started = socket.gethostname(), 4242, 1_800_000_000_000

    def parent(start_ms: int, boot: str) -> str:
        invocation = tracking.DvcInvocation(tracking.ProcessId(host, pid, start_ms, boot), "repro", None)
        return _dvc_parent(store, exp_id, invocation, start_ms)[0]

    first = parent(started, "boot:100")
    assert parent(started + 13_000, "boot:100") == first and parent(started - 3_600_000, "boot:100") == first
    assert parent(started, "boot:200") != first  # a reused pid read at the same start time: another process


def test_the_start_since_boot_is_the_processs_own():
    """It is the start psutil reports, less psutil's boot time, in clock ticks; a child process has another."""
    me = psutil.Process()
    boot, ticks = tracking.ProcessId.of(me).since_boot.rsplit(":", 1)
    assert boot == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    seconds = int(ticks) / os.sysconf("SC_CLK_TCK")
    assert abs(psutil.boot_time() + seconds - me.create_time()) < 1
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert tracking.ProcessId.of(psutil.Process(child.pid)).since_boot != tracking.ProcessId.of(me).since_boot
    finally:
        child.kill()
        child.wait()


def test_no_dvc_no_parent(store, monkeypatch):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert tracking.dvc_invocation() is None
    monkeypatch.setenv("DVC_STAGE", "fit")  # DVC's variables but no dvc process above this one
    assert tracking.dvc_invocation() is None


# --------------------------------------------------------------------------- report --run-id errors
def test_report_run_id_errors_are_one_line(store):
    with tracking.stage_run("check", params(), {}) as no_trace:
        pass
    for run_id, words in [("0123456789abcdef", "no such MLflow run"), (no_trace, "holds no fitted trace")]:
        result = CliRunner().invoke(main, ["report", "--run-id", run_id])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: --run-id {run_id}: ") and words in lines[0]


def test_importing_mmmlab_does_not_import_pymc_marketing():
    code = "import sys, mmmlab; assert callable(mmmlab.load_fit); print('pymc_marketing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _rows(path: Path) -> dict[str, list]:
    """Every table's columns and rows of a SQLite file."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: [db.execute(f'PRAGMA table_info("{t}")').fetchall(), db.execute(f'SELECT * FROM "{t}"').fetchall()]
                for t in tables}


def test_a_new_store_is_the_store_mlflow_makes(project, tmp_path, monkeypatch):
    """A new store is a copy of an empty one kept per MLflow version, with the Default experiment MLflow would
    give it: its artifacts beside the store, created now."""
    monkeypatch.setattr(stores, "TEMPLATES", tmp_path / "templates")
    reference = tmp_path / "mlflows" / "mlflow.db"
    reference.parent.mkdir()
    stores._sqlite_store(f"sqlite:///{reference}", (reference.parent / "mlartifacts").as_uri()).engine.dispose()
    before = int(time.time() * 1000)
    stores._client()
    made, expected = _rows(project / "mlflow.db"), _rows(reference)
    (default,), (mlflows,) = made.pop("experiments")[1], expected.pop("experiments")[1]
    assert made == expected  # every table's columns and rows, the schema version among them
    assert default[:2] == mlflows[:2] == (0, "Default") and default[3:4] + default[6:] == mlflows[3:4] + mlflows[6:]
    assert default[2] == f"{(project / 'mlartifacts').as_uri()}/0" and mlflows[2].endswith("/mlflows/mlartifacts/0")
    assert before <= default[4] == default[5] <= int(time.time() * 1000)
    assert [p.name for p in (tmp_path / "templates").iterdir()] == [f"empty-mlflow-{mlflow.__version__}.db"]


def test_a_second_new_store_runs_no_migration_and_one_without_a_template_still_opens(project, tmp_path, monkeypatch):
    monkeypatch.setattr(stores, "TEMPLATES", tmp_path / "templates")
    stores._client()
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    (other / "params.yaml").write_text("{}\n")

    def migrating(*_):
        raise AssertionError("a migration ran")

    with monkeypatch.context() as patched:
        patched.setattr("mlflow.store.db.utils._initialize_tables", migrating)
        stores._client().search_experiments()  # copied: no table made
    (tmp_path / "blocked").write_text("a file, not a folder")
    monkeypatch.setattr(stores, "TEMPLATES", tmp_path / "blocked" / "templates")
    third = tmp_path / "third"
    third.mkdir()
    monkeypatch.chdir(third)
    (third / "params.yaml").write_text("{}\n")
    assert [e.name for e in stores._client().search_experiments()] == ["Default"]  # made by MLflow
    assert not list(third.glob(".*partial"))


def _open_at_once(folders: list[Path], cache: Path) -> None:
    """A process per folder opening the store there (no MLflow variable set, the given cache folder), all at once;
    each must succeed and see the one experiment of a new store."""
    code = "from mmmlab.tracking.store import _client; print(len(_client().search_experiments()))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")} | {"XDG_CACHE_HOME": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=folder, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for folder in folders]
    results = [(p.wait(timeout=120), p.stdout.read().strip(), p.stderr.read()) for p in procs]
    assert all(code == 0 and out == "1" for code, out, _ in results), [err[-500:] for _, _, err in results]


def test_stages_opening_a_new_store_at_once_all_succeed(project, tmp_path):
    """Two queued experiments starting on a project without a store: opening it (creating and migrating its tables)
    is serialised, so none fails on a migration another one is running (without the lock all four failed). With
    no empty store to copy yet, the first one makes that too."""
    _open_at_once([project] * 4, tmp_path / "cache")


def test_new_stores_of_several_projects_at_once_make_one_empty_store_to_copy(tmp_path):
    """Projects without a store opened at once on a machine without the empty store to copy: each process makes it
    beside the others (each writes its own file, then puts it in place whole) and each project gets its store."""
    folders = [tmp_path / f"project{i}" for i in range(3)]
    for folder in folders:
        folder.mkdir()
        (folder / "params.yaml").write_text("{}\n")
    _open_at_once(folders, tmp_path / "cache")
    templates = tmp_path / "cache" / "mmmlab" / "mlflow-stores"
    assert [p.name for p in templates.iterdir()] == [f"empty-mlflow-{mlflow.__version__}.db"]
    assert all((folder / "mlflow.db").exists() for folder in folders)
