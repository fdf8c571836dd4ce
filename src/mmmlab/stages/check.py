"""`mmmlab check`: a quick look at the dataset before any model sees it.

Writes ``reports/data_check/``: the figures named in :data:`mmmlab.data_check.TITLES` (fewer when the data lack the
columns or the truth a figure needs), ``summary.md`` (columns, statistics, true parameters, figures) and
``metrics.json``. Everything is computed before the first file is written.
"""

from __future__ import annotations

from mmmlab import data_check, tracking
from mmmlab.config import check_spec, data_spec, flatten, resolve
from mmmlab.dataset import load_dataset
from mmmlab.evaluation import load_truth
from mmmlab.files import write_figures, write_json, write_text

FOLDER = "reports/data_check"


def run(params: dict) -> str:
    """Compute the figures, summary and metrics, write them, log the run; returns a one-line summary.

    Figures left over from an earlier check (a figure now skipped) are removed, so the folder
    shows only what this dataset allows.

    Parameters
    ----------
    params : dict
        The raw params (sections ``check``, ``data`` and ``tracking``).

    Returns
    -------
    str
        Periods, channels and figures written (and how many were skipped).

    Raises
    ------
    UserInputError
        When the ``check`` or ``data`` section or the dataset is invalid; nothing is written then.
    """
    check = check_spec(params)
    spec = data_spec(params)
    dataset = load_dataset(spec)
    truth = load_truth(spec.truth)
    true_params = {c: truth.channels[c] for c in dataset.channels if c in truth.channels} if truth else {}

    figures, skipped = data_check.figures(dataset, true_params, list(check.reference_decays), check.pulse_periods,
                                          spec.experiment_column)
    metrics = data_check.summary_metrics(dataset)
    summary = data_check.summary_markdown(dataset, spec.date, true_params, list(figures), skipped)

    folder = resolve(FOLDER)
    write_figures(folder / "figures", figures)
    write_text(folder / "summary.md", summary)
    write_json(folder / "metrics.json", metrics)

    logged = flatten(params.get("check") or {}, "check") | flatten(params["data"], "data.mapping")
    with tracking.stage_run("check", params, logged, dataset):
        tracking.log_metrics({f"check.{k}": v for k, v in metrics.items()})
        tracking.log_artifacts(folder / "figures", "figures")
        tracking.log_artifact(folder / "summary.md")
    note = f" ({len(skipped)} skipped)" if skipped else ""
    return f"checked {dataset.n_periods} periods x {len(dataset.channels)} channels: {len(figures)} figures{note} in {FOLDER}"
