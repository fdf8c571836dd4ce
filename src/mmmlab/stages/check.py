"""`mmmlab check`: a quick look at the dataset before any model sees it.

Writes ``reports/data_check/``: the figures named in :data:`mmmlab.data_check.TITLES` (fewer when the data lack the
columns or the truth a figure needs), ``summary.md`` (columns, statistics, true parameters, figures) and
``metrics.json``, as one :class:`~mmmlab.files.OutputSet` (they replace the previous ones together,
at the end, or not at all).
"""

from __future__ import annotations

from mmmlab import data_check, tracking
from mmmlab.config import check_spec, data_spec, flatten, output_path, relative
from mmmlab.dataset import load_dataset
from mmmlab.evaluation import load_truth
from mmmlab.files import OutputSet, write_figures, write_json, write_text

FOLDER = "reports/data_check"


def run(params: dict) -> str:
    """Compute the figures, summary and metrics, write them, log the run; returns a one-line summary.

    The figures folder is replaced whole: a figure of an earlier check that this dataset does not
    allow is gone.

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
    logged = flatten(params.get("check") or {}, "check") | flatten(params["data"], "data.mapping")
    folder = output_path(FOLDER)
    figures_dir, summary_file, metrics_file = folder / "figures", folder / "summary.md", folder / "metrics.json"
    with tracking.stage_run("check", params, logged, dataset), \
            OutputSet([figures_dir, summary_file, metrics_file]) as out:
        truth = load_truth(spec.truth)
        true_params = {c: truth.channels[c] for c in dataset.channels if c in truth.channels} if truth else {}
        figures, skipped = data_check.figures(dataset, true_params, list(check.reference_decays),
                                              check.pulse_periods)
        metrics = data_check.summary_metrics(dataset)
        summary = data_check.summary_markdown(dataset, spec.date, true_params, list(figures), skipped)

        write_figures(out.path(figures_dir), figures)
        write_text(out.path(summary_file), summary)
        write_json(out.path(metrics_file), metrics)
        tracking.log_metrics({f"check.{k}": v for k, v in metrics.items()})
        tracking.log_artifacts(out.path(figures_dir), "figures")
        tracking.log_artifact(out.path(summary_file))
        out.commit()
    note = f" ({len(skipped)} skipped)" if skipped else ""
    summary = (f"checked {dataset.n_periods} periods x {len(dataset.channels)} channels: "
               f"{len(figures)} figures{note} in {relative(folder)}")
    return "\n".join([*dataset.notices, summary])
