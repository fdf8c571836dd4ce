"""The `mmmlab` command: one subcommand per pipeline stage; parse, call one function, exit code.

Every stage module has ``run(params) -> str`` (a one-line summary). Options only override
params.yaml keys; a user error prints one line and exits with code 2, a failed gate under
``fit.strict`` with code 1. SIGINT and SIGTERM, at any moment, print one line (whether the
previous outputs were kept) and exit with 128 + the signal's number: 130 and 143.
"""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import contextmanager

import click

from mmmlab import interrupts
from mmmlab.errors import GateFailure, Interrupted, UserInputError

# mmmlab.config (and through it arviz) is imported only once the signal handlers are in place:
# the import alone takes seconds, and a Ctrl-C then would print a traceback


class OptionalValue(click.ParamType):
    """An option value where '' means "not given" (MLproject parameters default to '')."""

    def __init__(self, kind: type):
        self.kind, self.name = kind, kind.__name__

    def convert(self, value, param, ctx):
        if value is None or value == "":
            return None
        try:
            return self.kind(value)
        except ValueError:
            self.fail(f"{value!r} is not a valid {self.name}", param, ctx)


def run_stage(stage: str, params_path, overrides, options: dict[str, object], out=None,
              arguments: dict[str, object] | None = None) -> None:
    """Load params with overrides, validate every section, run the stage and print its summary.

    Parameters
    ----------
    stage : str
        The module under :mod:`mmmlab.stages`.
    params_path : str or None
        The parameter file (None: params.yaml at the project root).
    overrides : tuple of str
        ``--set key=value`` items.
    options : dict
        params key -> an option's value (None: not given).
    out : str or None
        The output root (``--out``); None: the project root.
    arguments : dict, optional
        Keyword arguments of the stage's ``run`` beyond params (``fresh``).
    """
    from mmmlab.config import load_params, outputs_under, validate

    extra = [f"{key}={value}" for key, value in options.items() if value is not None]
    try:
        params = load_params(params_path, tuple(overrides) + tuple(extra))
        validate(params)  # every section, whichever stage runs: a typo anywhere stops it before any work
        with outputs_under(out):
            summary = importlib.import_module(f"mmmlab.stages.{stage}").run(params, **(arguments or {}))
    except UserInputError as exc:
        interrupts.stopping()  # the outcome is decided: a signal from now on is only noted
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except GateFailure as exc:
        interrupts.stopping()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(summary)


def stage_command(name: str, help_text: str, options: dict[str, tuple[str, type, str]]):
    """A click command for stage ``name``.

    Parameters
    ----------
    name : str
        The command (and stage module) name.
    help_text : str
        The command's help.
    options : dict
        Option name -> (params key, type, help); each option overrides that key.

    Returns
    -------
    click.Command
    """

    dest_to_key = {opt.replace("-", "_"): key for opt, (key, _, _) in options.items()}

    def callback(params_path, overrides, out, **values):
        keyed = {dest_to_key[dest]: value for dest, value in values.items()}
        run_stage(name.replace("-", "_"), params_path, overrides, keyed, out)

    command = click.Command(name, callback=callback, help=help_text)
    command.params = [
        click.Option(["--params", "params_path"], type=click.Path(dir_okay=False), default=None,
                     help="Parameter file (default: params.yaml at the project root)."),
        click.Option(["--set", "overrides"], multiple=True, metavar="KEY=VALUE",
                     help="Override any params.yaml key, e.g. --set generate.freq=W-MON (repeatable)."),
        click.Option(["--out", "out"], type=OptionalValue(str), default=None,
                     help="Write outputs (data/, models/, reports/) under this folder instead of the project root, "
                          "and read earlier stages' outputs from there: your analysis leaves the lab's intact."),
        *[
            click.Option([f"--{opt}", opt.replace("-", "_")], type=OptionalValue(kind), default=None, help=text)
            for opt, (key, kind, text) in options.items()
        ],
    ]
    return command


@contextmanager
def _exit_on_interrupt():
    """Turn an interrupt into its one line and exit code, before click would print "Aborted!" and exit 1.

    An error after a signal arrived counts as the signal's doing: a library that caught the
    interrupt may fail on what it was left with (a sampler's empty draws).
    """
    try:
        yield
    except Interrupted as exc:
        _stop(exc.signum)
    except Exception:
        signum = interrupts.since()
        if signum is None:
            raise
        _stop(signum)


def _stop(signum: int) -> None:
    interrupts.stopping()  # a second Ctrl-C must not cut the line or change the exit code
    click.echo(interrupts.message(), err=True)
    sys.exit(128 + signum)


class Main(click.Group):
    """The command group, with SIGINT and SIGTERM handled from the start to the end of the command."""

    def main(self, args=None, *rest, **kwargs):
        # without args (the console script) the command is the whole process: the handlers stay to its end
        with interrupts.handled(keep=args is None):
            return super().main(args, *rest, **kwargs)

    def make_context(self, *args, **kwargs):
        with _exit_on_interrupt():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _exit_on_interrupt():
            result = super().invoke(ctx)
            # the command is done: a signal during the rest (click's exit, the interpreter's shutdown) is only noted
            interrupts.stopping()
            return result


@click.group(cls=Main)
@click.version_option(package_name="mmmlab")
def main():
    """mmm-lab: check whether a Media Mix Model tells the truth."""
    # the command's own process, before any stage imports mlflow: no usage reports leave the machine
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


main.add_command(stage_command("generate", "Simulate data/mmm_data.csv and data/truth.json.", {
    "seed": ("generate.seed", int, "Override generate.seed."),
    "preset": ("generate.preset", str, "Override generate.preset (e.g. identifiable)."),
}))
main.add_command(stage_command("check", "Summaries and figures of the dataset under reports/data_check/.", {}))
main.add_command(stage_command("recover", "Classical joint recovery: models/recovery.json and reports/recovery/.", {
    "method": ("recover.uncertainty", str, "Override recover.uncertainty (profile or bootstrap)."),
}))
main.add_command(stage_command("fit", "Bayesian MMM with pymc-marketing: models/mmm_fit.nc and reports/fit/.", {
    "sampler": ("fit.sampler.name", str, "Override fit.sampler.name (nutpie, pymc, numpyro, blackjax)."),
    "draws": ("fit.sampler.draws", int, "Override fit.sampler.draws."),
    "tune": ("fit.sampler.tune", int, "Override fit.sampler.tune."),
    "chains": ("fit.sampler.chains", int, "Override fit.sampler.chains."),
}))


def _report_command() -> click.Command:
    """``mmmlab report`` with ``--run-id``: which logged trace to report on (a run, not a params key)."""
    command = stage_command("report", "Technical validation report from the saved trace: reports/validation/.", {})
    plain = command.callback

    def callback(params_path, overrides, out, run_id):
        from mmmlab.stages.report import from_run

        with from_run(run_id):
            plain(params_path, overrides, out)

    command.callback = callback
    command.params.append(click.Option(
        ["--run-id", "run_id"], type=OptionalValue(str), default=None,
        help="Build the report from the trace logged to this MLflow fit run instead of models/mmm_fit.nc."))
    return command


main.add_command(_report_command())


def _calibrate_command() -> click.Command:
    """``mmmlab calibrate`` with ``--fresh``: redo the study's finished fits (an action, not a params key)."""
    command = stage_command("calibrate", "A calibration study's fits on Dask: models/calibration/<study>/ and "
                            "reports/calibration/<study>/.", {
                                "study": ("calibrate.study", str, "Override calibrate.study (a name under "
                                                                  "calibrate.studies)."),
                            })

    def callback(params_path, overrides, out, study, fresh):
        keyed = {} if study is None else {"calibrate.study": study}
        run_stage("calibrate", params_path, overrides, keyed, out, {"fresh": fresh})

    command.callback = callback
    command.params.append(click.Option(["--fresh"], is_flag=True, default=False,
                                       help="Redo every fit of the study instead of resuming where it stopped."))
    return command


main.add_command(_calibrate_command())
main.add_command(stage_command("optimize", "Budget allocation on the fit's posterior (judged against the truth "
                               "when known): reports/optimize/.", {}))
main.add_command(stage_command("pipeline", "Every stage in order, each a nested MLflow run (no DVC caching).", {}))

if __name__ == "__main__":
    main()
