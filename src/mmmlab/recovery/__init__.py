"""Classical joint recovery: one nonlinear least-squares fit of the simulator's functional form.

:mod:`.layout` places the nonlinear parameters and their bounds, :mod:`.design` builds the fixed
columns (experiments, baseline), :mod:`.model` joins them with the sales into one model,
:mod:`.projection` solves the linear coefficients for one trial of the nonlinear ones (variable
projection), :mod:`.search` finds the optimum, :mod:`.targets` names what gets an interval,
:mod:`.profile` and :mod:`.bootstrap` give the intervals, :mod:`.verdicts` says what the data
identify, :mod:`.estimate` runs them in order and :mod:`.tables` turns the result into the
stage's record, tables and metrics. Nothing here reads the truth.
"""

from mmmlab.recovery.estimate import Recovery, recover

__all__ = ["Recovery", "recover"]
