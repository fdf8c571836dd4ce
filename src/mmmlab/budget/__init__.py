"""Budget allocation: response over a planning horizon, the allocation that maximises it, and its regret."""

from mmmlab.budget.allocation import Allocation, best_allocation, regret
from mmmlab.budget.response import ResponseCurves

__all__ = ["Allocation", "ResponseCurves", "best_allocation", "regret"]
