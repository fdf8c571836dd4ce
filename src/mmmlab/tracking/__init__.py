"""MLflow tracking: the only package that imports mlflow.

Where runs go
    The store is ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<root>/mlflow.db`` where the
    root is ``DVC_ROOT`` when DVC runs the stage (DVC's queue runs stages in a temporary copy and
    points ``DVC_ROOT`` at the main repository) and the project root otherwise. A new experiment
    keeps its artifacts next to a SQLite store (``<store folder>/mlartifacts/<experiment id>``),
    never in the working directory of whoever created it.

How runs nest
    Inside an active run (``mmmlab pipeline``, the ``main`` entry point) each stage is a nested
    run. Under ``dvc repro`` / ``dvc exp run`` every stage is its own process: the stages of one
    DVC invocation (the nearest ancestor process that is ``dvc``) share one parent run, found by
    that process's host, pid and start time; each stage ends the parent with its own
    end time, so the parent spans the stages. Under ``mlflow run`` the run it created
    (``MLFLOW_RUN_ID``) is resumed, unless it sits in MLflow's ``Default`` experiment (no
    ``--experiment-name`` given): then the stage's run is created in the project's experiment and
    the two runs point at each other (``mmmlab.run_id`` / ``mmmlab.mlflow_run_id`` tags).

What every run carries
    A readable name (``fit · seed 369``, ``fit · mine.csv``, ``generate · seed 12 · identifiable``),
    the git commit and whether the tree was dirty, the DVC experiment name, the process id, host
    and process start (so a run whose process was SIGKILLed is marked KILLED at the next stage
    start), and the stage's outcome as its status: FINISHED, FAILED (an exception) or KILLED
    (Ctrl-C, SIGTERM).
"""

from mmmlab.tracking.identity import (  # noqa: F401
    DVC_EXP,
    GIT_COMMIT,
    GIT_DIRTY,
    HOST,
    MARKED_KILLED,
    PID,
    PROCESS_SINCE_BOOT,
    PROCESS_START,
    RUN_POINTER,
    SEP,
    WRAPPER_POINTER,
    data_label,
    dvc_outputs,
    git_state,
    relative,
    run_name,
)
from mmmlab.tracking.log import (  # noqa: F401
    TRACE_FOLDER,
    FitRun,
    download,
    fit_run,
    log_artifact,
    log_artifacts,
    log_artifacts_to_run,
    log_child_run,
    log_dataset,
    log_metrics,
    log_posterior_summary,
    log_step,
    log_trace,
    run_exists,
    set_tags,
)
from mmmlab.tracking.processes import (  # noqa: F401
    DvcInvocation,
    ProcessId,
    dvc_invocation,
    mark_stale_runs,
    process_alive,
)
from mmmlab.tracking.runs import (  # noqa: F401
    BAD,
    pipeline_run,
    stage_run,
)
from mmmlab.tracking.store import (  # noqa: F401
    ARTIFACTS,
    BATCH,
    DEFAULT_EXPERIMENT,
    EXPERIMENT_KIND,
    STORE,
    artifact_root,
    experiment_id,
    store_root,
    tracking_uri,
)
