"""The data-generating process (:mod:`.process`), its calendar: events, Easter, the economy (:mod:`.calendar`), and
the lift-test readouts of its experiment windows (:mod:`.lift_tests`)."""

from mmmlab.simulate.lift_tests import LiftTest, readout_frame
from mmmlab.simulate.process import Simulation, simulate

__all__ = ["LiftTest", "Simulation", "readout_frame", "simulate"]
