"""The configured pymc-marketing MMM: adstock (the project's recursion), saturation, priors and sampler."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from mmmlab.bayes.design_matrix import DATE, TARGET, Design
from mmmlab.bayes.priors import l_max
from mmmlab.config.fit import JAX_SAMPLERS, LEVEL_GEOMETRIES, FitSpec
from mmmlab.errors import UserInputError


@contextmanager
def quiet_pymc_marketing() -> Iterator[None]:
    """Silence pymc-marketing's own FutureWarnings (announcements about its internals) inside the block only.

    Scoped rather than set at import, so that no other code in the process loses its warnings.

    Yields
    ------
    None
        Inside the block, FutureWarnings raised from pymc-marketing's modules are ignored.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="pymc_marketing")
        yield


# packages a sampler needs beyond the base install (pip install -e '.[samplers]')
SAMPLER_PACKAGES = {"numpyro": ("jax", "numpyro"), "blackjax": ("jax", "blackjax")}


def missing_sampler_packages(sampler: str) -> list[str]:
    """The packages ``sampler`` needs that are not installed (empty when it can run)."""
    return [p for p in SAMPLER_PACKAGES.get(sampler, ()) if importlib.util.find_spec(p) is None]


def build_mmm(spec: FitSpec, d: Design):
    """The configured (not yet built) pymc-marketing MMM.

    Parameters
    ----------
    spec : FitSpec
        The validated ``fit`` section: structure, priors and sampler.
    d : Design
        The model's inputs (:func:`mmmlab.bayes.design`).

    Returns
    -------
    pymc_marketing.mmm.MMM
        Geometric adstock (the project's recursion, or pymc-marketing's own for the JAX samplers),
        the configured saturation, ``spec.priors`` and the sampler settings; built and sampled by
        :func:`mmmlab.bayes.sample`. With ``fit.sampler.geometry`` level or means a
        :class:`mmmlab.bayes.geometry.LevelGeometryMMM` in those coordinates: the same model, sampled in
        other coordinates.

    Raises
    ------
    UserInputError
        ``hill_mean_response`` with a channel that never has positive spend, or a sampler whose
        packages are not installed.
    """
    missing = missing_sampler_packages(spec.sampler.name)
    if missing:
        raise UserInputError(f"fit.sampler.name: {spec.sampler.name} needs {' and '.join(missing)}, which are not "
                             "installed (pip install -e '.[samplers]', or use nutpie or pymc)")
    with quiet_pymc_marketing():
        from pymc_marketing.mmm import (
            MMM,
            GeometricAdstock,
            HillSaturation,
            LogisticSaturation,
            MichaelisMentenSaturation,
        )

        from mmmlab.bayes.components.mean_response_hill import MeanResponseHill, mean_reference
        from mmmlab.bayes.components.recursive_adstock import RecursiveGeometricAdstock
        from mmmlab.bayes.geometry import LevelGeometryMMM

    # pytensor's JAX backend has no implementation of the recursion's Ops
    adstock = GeometricAdstock if spec.sampler.name in JAX_SAMPLERS else RecursiveGeometricAdstock

    if spec.model.saturation == "hill_mean_response":
        reference = mean_reference(d.X[list(d.channels)].to_numpy())
        idle = [c for c, r in zip(d.channels, reference) if not r > 0]
        if idle:
            raise UserInputError(f"data.channels: {idle[0]!r} never has positive spend; hill_mean_response needs some")
        saturation = MeanResponseHill(reference)
    else:
        saturation = {"hill": HillSaturation, "logistic": LogisticSaturation,
                      "michaelis_menten": MichaelisMentenSaturation}[spec.model.saturation]()
    model_class = LevelGeometryMMM if spec.sampler.geometry in LEVEL_GEOMETRIES else MMM
    with quiet_pymc_marketing():
        mmm = model_class(
            date_column=DATE,
            channel_columns=list(d.channels),
            target_column=TARGET,
            control_columns=list(d.controls) or None,
            yearly_seasonality=d.seasonality.modes or None,
            adstock=adstock(l_max=l_max(spec, d.channels, len(d.X)), normalize=spec.model.normalize),
            saturation=saturation,
            model_config=spec.priors,
            sampler_config=spec.sampler.sampler_config(),
        )
    if model_class is LevelGeometryMMM:
        mmm.coordinates = spec.sampler.geometry.value
    return mmm
