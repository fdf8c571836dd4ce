"""Every key in params must mean something: :func:`validate` builds every stage's spec and names the
first key none of them read (a typo, or a key that moved), with the nearest valid key.

Without it a misspelt key (``fit.sampler.drawz``) would be ignored and its default used silently.
"""

from __future__ import annotations

from typing import Any

from mmmlab.config.calibrate import calibrate_spec, design_params
from mmmlab.config.check import check_spec
from mmmlab.config.data import data_spec
from mmmlab.config.fit import SATURATIONS, fit_spec, saturation_priors
from mmmlab.config.optimize import optimize_spec
from mmmlab.config.recover import recovery_spec
from mmmlab.config.report import report_settings
from mmmlab.config.section import Reads, Section, join, recording, unknown_key
from mmmlab.config.simulation import simulation_spec
from mmmlab.config.tracking import tracking_spec
from mmmlab.errors import UserInputError

# keys that moved: old key -> its new place (named in the error instead of the nearest sibling)
MOVED = {
    "report.hdi_prob": "fit.hdi_prob",
    "recover.experiments.column": "data.experiments.column",
    "recover.experiments.none": "data.experiments.none",
    "fit.model.experiments.column": "data.experiments.column",
}


def validate(params: dict) -> None:
    """Check every section of ``params``, whichever stage is about to run.

    Builds the specs of every stage (the simulator's with each preset merged, the fit's with the
    priors of every saturation given), so a bad value anywhere is found before any work starts; then
    every key must have been read by one of them.

    Parameters
    ----------
    params : dict
        All params, overrides applied (:func:`~mmmlab.config.load_params`).

    Raises
    ------
    UserInputError
        The first bad value, or the first unknown key:
        ``<key>: unknown key (did you mean <nearest valid key>?)``.
    """
    with recording() as reads:
        Section(params, "")  # the top level: its keys are the sections read below
        tracking_spec(params)
        _simulation(params)
        data_spec(params)
        check_spec(params)
        recovery_spec(params)
        fit = fit_spec(params)
        priors = Section(params["fit"], "fit").section("priors")
        for saturation in SATURATIONS:  # a saturation not chosen still may not hold a typo
            if saturation != fit.model.saturation and saturation in priors.mapping:
                saturation_priors(priors, saturation)
        report_settings(params)
        optimize_spec(params)
        calibrate = calibrate_spec(params)
    reads.keys.add("presets")  # read by generate_section; each preset is checked below as generate keys
    _check_tree(params, "", reads)
    presets = params.get("presets") or {}
    if not isinstance(presets, dict):
        raise UserInputError(f"presets: expected a mapping of named presets, got {presets!r}")
    for name, preset in presets.items():
        _check_preset(params, str(name), preset)
    for study in calibrate.studies.values():  # each study's design is a simulator design: check it too
        _study_design(params, study)


def _simulation(params: dict) -> None:
    """The simulator's spec; an error under a preset says so (the bad value may be the preset's)."""
    try:
        simulation_spec(params)
    except UserInputError as exc:
        generate = params.get("generate")
        preset = generate.get("preset") if isinstance(generate, dict) else None
        if preset is None or str(exc).startswith("generate.preset:"):
            raise
        raise UserInputError(f"{exc} (with generate.preset: {preset})") from None


def _study_design(params: dict, study) -> None:
    """The simulator's spec of a study's design; an error names the study, and each key of its
    ``design.generate`` must be a generate key."""
    path = f"calibrate.studies.{study.name}.design"
    try:
        with recording() as reads:
            simulation_spec(design_params(params, study))
    except UserInputError as exc:
        raise UserInputError(f"{path}: {exc}") from None
    _check_tree(study.design.generate, f"{path}.generate", reads, alias=("generate", f"{path}.generate"))
    for arm in study.arms:
        where = f"calibrate.studies.{study.name}.arms.{arm.name}"
        try:
            with recording() as reads:
                simulation_spec(design_params(params, study, arm=arm))
        except UserInputError as exc:
            raise UserInputError(f"{where}: {exc}") from None
        _check_tree(arm.generate, f"{where}.generate", reads, alias=("generate", f"{where}.generate"))


def _check_preset(params: dict, name: str, preset: Any) -> None:
    """The simulator's spec with preset ``name`` merged; each key of the preset must be a generate key."""
    generate = params.get("generate")
    selected = {**params, "generate": {**generate, "preset": name} if isinstance(generate, dict) else generate}
    with recording() as reads:
        _simulation(selected)
    _check_tree(preset, f"presets.{name}", reads, alias=("generate", f"presets.{name}"))


def _check_tree(tree: Any, path: str, reads: Reads, alias: tuple[str, str] | None = None) -> None:
    """Walk ``tree`` (at ``path``); in every mapping read as a section, every key must have been read.

    ``alias`` (read path, written path): the keys were read under another name (a preset as ``generate``).
    Mappings not read as sections (a prior's parameters) were consumed whole and are not walked.
    """

    def read_as(key: str) -> str:
        return key if alias is None else alias[0] + key.removeprefix(alias[1])

    if isinstance(tree, list):
        for i, item in enumerate(tree):
            _check_tree(item, join(path, i), reads, alias)
        return
    if not isinstance(tree, dict) or read_as(path) not in reads.sections:
        return
    for name, value in tree.items():
        key = join(path, name)
        if read_as(key) not in reads.keys:
            raise unknown_key(key, _siblings(reads, read_as(path)), MOVED.get(key))
        _check_tree(value, key, reads, alias)


def _siblings(reads: Reads, parent: str) -> list[str]:
    """The names read directly under ``parent``: the valid keys there."""
    names = set()
    for key in reads.keys:
        head, _, name = key.rpartition(".")
        if head == parent and name:
            names.add(name)
    return sorted(names)
