"""The report's opening verdict: did the sampler converge, what do the data inform, and (with a truth) is it inside.

:func:`headline` is a pure function of numbers the report already has: the convergence gates
(:func:`mmmlab.diagnostics.check_convergence`), how many channel parameters the data inform (the
prior-to-posterior contraction, :func:`mmmlab.bayes.prior_dominated`) and, with a truth file, how
many true channel parameters fall inside their HDI (the fit stage's ``parameters_vs_truth``).

Colour: red when a gate failed, whatever the rest; amber when the sampler converged but the data
inform fewer than half of the channel parameters (or it is unknown what they inform), or the truth
falls inside the HDI less often than chance allows; green only when converged and informative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy.stats import binom

from mmmlab.diagnostics import GateCheck
from mmmlab.report.words import GATE_TERMS, gate_failure

LEVELS = ("green", "amber", "red")  # metrics.json: headline.level is the position (0 green, 1 amber, 2 red)
CHANCE = 0.05  # truth coverage falls short when so few covered values happen by chance less often than this


@dataclass(frozen=True)
class TruthCoverage:
    """How many true channel parameters lie inside their HDI.

    Attributes
    ----------
    covered : int
        True values inside the interval.
    compared : int
        True values compared (those with an interval).
    outside : tuple of str
        The ones outside, as the reader sees them (``"decay (TV)"``).
    """

    covered: int
    compared: int
    outside: tuple[str, ...] = ()


@dataclass(frozen=True)
class Headline:
    """The opening verdict.

    Attributes
    ----------
    level : str
        ``"green"``, ``"amber"`` or ``"red"``.
    sentences : tuple of str
        The verdict in words, in order.
    terms : tuple of str
        Statistics the sentences name, to be explained right under them (keys of
        :func:`mmmlab.report.words.glossary`).
    metrics : dict of str to float
        The verdict's parts for ``metrics.json`` (``headline.*``).
    """

    level: str
    sentences: tuple[str, ...]
    terms: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The sentences as one paragraph."""
        return " ".join(self.sentences)


def coverage_falls_short(covered: int, compared: int, prob: float, chance: float = CHANCE) -> bool:
    """Whether ``covered`` of ``compared`` true values inside a ``prob`` interval is fewer than chance allows.

    A calibrated ``prob`` interval holds each true value with probability ``prob``; the number held
    is then Binomial(``compared``, ``prob``). Coverage falls short when that many or fewer would
    happen less than ``chance`` of the time: 12 of 16 inside a 94% interval does (P = 1.3%),
    13 of 16 does not (P = 6.7%).

    Parameters
    ----------
    covered, compared : int
        True values inside their interval, and compared.
    prob : float
        The interval's probability.
    chance : float, optional
        The lower-tail probability below which the shortfall is more than chance.

    Returns
    -------
    bool
        False when nothing was compared.
    """
    if compared <= 0:
        return False
    return bool(binom.cdf(covered, compared, prob) < chance)


def headline(gates: Sequence[GateCheck], informed: int | None, channel_parameters: int,
             truth: TruthCoverage | None, prob: float) -> Headline:
    """The verdict that opens the report, from the gates, what the data inform and the truth.

    Parameters
    ----------
    gates : sequence of GateCheck
        The convergence gates; any failed one makes the verdict red.
    informed : int or None
        Channel parameters the data inform (not prior-dominated); None when the trace has no
        prior, so it is unknown.
    channel_parameters : int
        Channel parameters in all (parameters x channels, in original units).
    truth : TruthCoverage or None
        The truth comparison; None without a truth file.
    prob : float
        The HDI probability.

    Returns
    -------
    Headline
        Red when a gate failed; else amber when ``informed`` is unknown, fewer than half of
        ``channel_parameters`` (``2 * informed < channel_parameters``) or the truth coverage
        falls short (:func:`coverage_falls_short`); else green.
    """
    pct = f"{prob:.0%}"
    failed = [g for g in gates if not g.passed]
    metrics: dict[str, float] = {"headline.converged": float(not failed),
                                 "headline.channel_parameters": float(channel_parameters)}
    if informed is not None:
        metrics["headline.informed_channel_parameters"] = float(informed)
    short = False
    if truth is not None:
        short = coverage_falls_short(truth.covered, truth.compared, prob)
        metrics.update({"headline.truth_covered": float(truth.covered), "headline.truth_compared": float(truth.compared),
                        "headline.truth_short": float(short)})

    if failed:
        sentences = (f"Sampler did not converge: {'; '.join(gate_failure(g) for g in failed)}.",
                     "Until every gate passes, nothing below can be trusted, including what the data seem to inform.")
        terms = tuple(dict.fromkeys(GATE_TERMS.get(g.name, g.name) for g in failed))
        metrics["headline.level"] = float(LEVELS.index("red"))
        return Headline("red", sentences, terms, metrics)

    sentences = ["Sampler converged."]
    terms: list[str] = []
    if informed is None or channel_parameters <= 0:
        sentences.append("The trace holds no prior draws, so what the data inform is unknown: "
                         "read the channel effects below with care.")
        weak = True
    else:
        terms.append("informed")
        weak = 2 * informed < channel_parameters
        if weak:
            sentences.append(f"The data inform {informed} of {channel_parameters} channel parameters: "
                             "the channel effects below are mostly the prior.")
        elif informed == channel_parameters:
            sentences.append(f"The data inform all {channel_parameters} channel parameters.")
        else:
            sentences.append(f"The data inform {informed} of {channel_parameters} channel parameters; "
                             f"the other {channel_parameters - informed} are mostly the prior.")
    if truth is not None and truth.compared > 0:
        terms.append("HDI")
        head = f"The true value lies inside the {pct} HDI for {truth.covered} of {truth.compared} channel parameters"
        if not truth.outside:
            sentences.append(head + ".")
        else:
            judged = "fewer than chance allows" if short else "within what chance allows"
            sentences.append(f"{head}, {judged}; outside: {', '.join(truth.outside)}.")
    level = "amber" if weak or short else "green"
    metrics["headline.level"] = float(LEVELS.index(level))
    return Headline(level, tuple(sentences), tuple(terms), metrics)
