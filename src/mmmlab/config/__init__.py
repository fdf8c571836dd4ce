"""params.yaml -> one validated, frozen spec per stage; project paths and ``--set`` overrides.

Every stage reads its own section through this package. Each spec builder (``check_spec``,
``recovery_spec``, ...) takes ``params``, the whole mapping (params.yaml with the ``--set``
overrides applied, :func:`load_params`), and raises :class:`~mmmlab.errors.UserInputError` naming
the dotted key of a bad or missing value. :func:`validate` checks every section at once and
rejects keys no spec reads.
"""

from mmmlab.config.calibrate import CalibrateSpec, StudySpec, calibrate_spec
from mmmlab.config.check import CheckSpec, check_spec
from mmmlab.config.data import GENERATED_COLUMNS, GENERATED_CSV, GENERATED_TRUTH, DataSpec, data_spec
from mmmlab.config.fit import FitSpec, ModelSpec, SamplerSpec, fit_spec
from mmmlab.config.loading import (
    PARAMS_FILE,
    flatten,
    load_params,
    output_path,
    outputs_under,
    project_root,
    relative,
    resolve,
    set_key,
)
from mmmlab.config.recover import RecoverySpec, recovery_spec
from mmmlab.config.report import ReportSettings, report_settings
from mmmlab.config.section import Section, check_number
from mmmlab.config.simulation import GENERATED_LIFT_TESTS, SimulationSpec, generate_section, simulation_spec
from mmmlab.config.tracking import TrackingSpec, experiment_name, tracking_spec
from mmmlab.config.validation import validate

__all__ = [
    "GENERATED_COLUMNS", "GENERATED_CSV", "GENERATED_LIFT_TESTS", "GENERATED_TRUTH", "PARAMS_FILE", "CalibrateSpec", "CheckSpec", "DataSpec", "FitSpec",
    "ModelSpec", "RecoverySpec", "ReportSettings", "SamplerSpec", "Section", "SimulationSpec", "StudySpec", "TrackingSpec",
    "calibrate_spec", "check_number", "check_spec", "data_spec", "experiment_name", "fit_spec", "flatten", "generate_section",
    "load_params", "output_path", "outputs_under", "project_root", "recovery_spec", "relative", "report_settings", "resolve", "set_key", "simulation_spec",
    "tracking_spec", "validate",
]
