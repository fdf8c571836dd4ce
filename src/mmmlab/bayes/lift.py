"""Lift tests as a likelihood term: each readout against the lift the model predicts for that experiment.

The predicted lift is computed as the simulator defines the true one: the channel's contribution
with the observed spend minus its contribution with the test's extra spend taken out, both through
the model's own adstock and saturation (the very functions and variables of its
``channel_contribution``), summed over the periods the readout covers, in sales. pymc-marketing's
``add_lift_test_measurements`` compares ``saturation(x + delta) - saturation(x)`` on the saturation
curve alone, which equals this only at a steady state with normalised adstock and a readout of
one period's response; an experiment of a few periods with carryover is neither, so it is not used.
"""

from __future__ import annotations

from mmmlab.lift_data import LiftTests

LIFT_DIM = "lift_test"
PREDICTED = "lift_predicted"  # deterministic: each test's predicted lift, in sales
OBSERVED = "lift_measured"  # the likelihood term's name (its observed values are the readouts)


def add_lift_likelihood(mmm, tests: LiftTests) -> None:
    """Add the lift tests' likelihood to a built pymc-marketing MMM (``mmm.model``): each readout
    ``lift ~ Normal(predicted lift, lift_se)``, with the predicted lift of :func:`add_predicted_lift`.

    Parameters
    ----------
    mmm : pymc_marketing.mmm.MMM
        Built (``build_model``) with the geometric adstock applied before the saturation.
    tests : LiftTests
        Aligned with the periods the model was built on.
    """
    import pymc.dims as pmd

    predicted = add_predicted_lift(mmm, tests)
    with mmm.model:
        observed = pmd.Data("lift_observed", tests.lift, dims=(LIFT_DIM,))
        se = pmd.Data("lift_se", tests.se, dims=(LIFT_DIM,))
        pmd.Normal(OBSERVED, mu=predicted, sigma=se, observed=observed)


def add_predicted_lift(mmm, tests: LiftTests):
    """Add the deterministic ``lift_predicted``: the lift the model predicts for each test, in sales.

    Data containers ``lift_channel``, ``lift_extra_spend`` and ``lift_window`` hold the tests, so a
    compiled model can swap them with the rest of its data.

    Returns
    -------
    pytensor.xtensor.type.XTensorVariable
        The predicted lifts, dim ``lift_test``.
    """
    import pymc.dims as pmd
    import pytensor.xtensor as ptx
    from pymc_marketing.mmm.transformers import hill_function

    from mmmlab.bayes.components.mean_response_hill import MeanResponseHill

    model = mmm.model
    model.add_coord(LIFT_DIM, tests.labels)
    with model:
        channel = pmd.Data("lift_channel", tests.channel, dims=(LIFT_DIM,))
        extra = pmd.Data("lift_extra_spend", tests.extra, dims=("date", LIFT_DIM))
        window = pmd.Data("lift_window", tests.measured.astype(float), dims=("date", LIFT_DIM))

        def of_tests(name: str):
            return ptx.as_xtensor(model[name], dims=model.named_vars_to_dims[name]).isel(channel=channel)

        def parameters(transformation):
            return {p: of_tests(v) for p, v in transformation.variable_mapping.items()}

        without = (of_tests("channel_data") - extra) / of_tests("channel_scale")
        adstocked = mmm.adstock.function(without, dim="date", **parameters(mmm.adstock))
        if isinstance(mmm.saturation, MeanResponseHill):  # its function would register its derived beta again
            beta = of_tests(f"{mmm.saturation.prefix}_beta")
            counterfactual = beta * hill_function(adstocked, of_tests(mmm.saturation.variable_mapping["slope"]),
                                                  of_tests(mmm.saturation.variable_mapping["kappa"]))
        else:
            counterfactual = mmm.saturation.function(adstocked, dim="date", **parameters(mmm.saturation))
        target_scale = ptx.as_xtensor(model["target_scale"], dims=())
        caused = (of_tests("channel_contribution") - counterfactual) * window
        return pmd.Deterministic(PREDICTED, caused.sum("date") * target_scale)
