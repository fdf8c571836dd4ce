"""The Bayesian MMM with pymc-marketing.

:mod:`.design_matrix` builds the model's inputs, :mod:`.priors` sizes the adstock from the decay
prior, :mod:`.build` configures the MMM (with the project's :mod:`.components`), :mod:`.sampling`
draws prior, posterior and predictive, :mod:`.io` saves and loads the trace, :mod:`.units` maps
the trace onto the simulator's units, :mod:`.contraction` says what the data inform and
:mod:`.summaries` tabulates the posterior. The estimating code never reads the truth.
"""

from mmmlab.bayes.build import build_mmm, missing_sampler_packages
from mmmlab.bayes.contraction import (
    free_parameters,
    identifiability_words,
    prior_dominated,
    prior_posterior_contraction,
)
from mmmlab.bayes.design_matrix import DATE, TARGET, Design, design
from mmmlab.bayes.io import load_fit, save_fit
from mmmlab.bayes.priors import TRUNCATION, l_max
from mmmlab.bayes.sampling import Attempt, sample, until_gates_pass
from mmmlab.bayes.summaries import (
    adstock_truncation,
    estimate_tables,
    hdi,
    interval,
    residuals,
    sampler_metrics,
    truncation_warning,
)
from mmmlab.bayes.units import (
    adstock_of,
    channel_contributions,
    marginal_roas,
    original_scale_parameters,
    response,
    saturation_of,
)

__all__ = [
    "DATE", "TARGET", "TRUNCATION", "Design", "adstock_of", "adstock_truncation", "build_mmm", "missing_sampler_packages", "channel_contributions",
    "design", "estimate_tables", "free_parameters", "hdi", "identifiability_words", "interval", "l_max", "load_fit",
    "marginal_roas", "original_scale_parameters", "prior_dominated", "prior_posterior_contraction", "residuals", "response",
    "Attempt", "sample", "sampler_metrics", "until_gates_pass", "saturation_of", "save_fit", "truncation_warning",
]
