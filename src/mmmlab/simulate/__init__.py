"""The data-generating process (:mod:`.process`) and its calendar: events, Easter, the economy (:mod:`.calendar`)."""

from mmmlab.simulate.process import Simulation, simulate

__all__ = ["Simulation", "simulate"]
