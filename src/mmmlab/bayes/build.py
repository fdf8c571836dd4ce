"""The configured pymc-marketing MMM: adstock (the project's recursion), saturation, priors and sampler."""

from __future__ import annotations

import warnings

from mmmlab.bayes.design_matrix import DATE, TARGET, Design
from mmmlab.bayes.priors import l_max
from mmmlab.config.fit import JAX_SAMPLERS, FitSpec
from mmmlab.errors import UserInputError

warnings.filterwarnings("ignore", category=FutureWarning, module="pymc_marketing")










def build_mmm(spec: FitSpec, d: Design):
    """The configured (not yet built) pymc-marketing MMM."""
    from pymc_marketing.mmm import MMM, GeometricAdstock, HillSaturation, LogisticSaturation, MichaelisMentenSaturation

    from mmmlab.bayes.components.mean_response_hill import MeanResponseHill, mean_reference
    from mmmlab.bayes.components.recursive_adstock import RecursiveGeometricAdstock

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
    return MMM(
        date_column=DATE,
        channel_columns=list(d.channels),
        target_column=TARGET,
        control_columns=list(d.controls) or None,
        yearly_seasonality=spec.model.yearly_seasonality or None,
        adstock=adstock(l_max=l_max(spec, d.channels, len(d.X)), normalize=spec.model.normalize),
        saturation=saturation,
        model_config=spec.priors,
        sampler_config=spec.sampler.sampler_config(),
    )


























