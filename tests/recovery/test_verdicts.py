"""Identifiability verdicts: each parameter is judged by its own threshold."""

from __future__ import annotations

import copy

import pytest

from mmmlab.config import load_params, set_key
from mmmlab.config.recover import RecoverySpec, recovery_spec
from mmmlab.recovery.targets import Interval, Target
from mmmlab.recovery.verdicts import verdict

GROWTH = Target("baseline", "growth", "nl", 6, 0.0005, -0.05, 0.05, False, 0.0005)


def test_growth_has_its_own_width_threshold():
    # width 0.009 - (-0.011) = 0.020 per period: wider than growth_width 0.01, and 0.020 / 0.1 = 20% of the search
    # range, below unidentified_share 0.8 -> weakly identified
    wide = Interval(-0.011, 0.009, False, False)
    assert verdict(GROWTH, wide, RecoverySpec(), 0.95)[0] == "weakly identified"
    # decay's threshold does not move growth's verdict
    assert verdict(GROWTH, wide, RecoverySpec(decay_width=0.9), 0.95)[0] == "weakly identified"
    # width 0.006 < 0.01 -> identified
    assert verdict(GROWTH, Interval(-0.002, 0.004, False, False), RecoverySpec(), 0.95)[0] == "identified"
    # a wider threshold, set by its own key
    assert verdict(GROWTH, wide, RecoverySpec(growth_width=0.05), 0.95)[0] == "identified"


def test_growth_cut_by_a_search_bound_is_not_identified():
    # width 0.005 < 0.01, but the interval stops at the lower bound -0.05: growth may go further down
    at_bound = Interval(-0.05, -0.045, True, False)
    assert verdict(GROWTH, at_bound, RecoverySpec(), 0.95)[0] == "weakly identified"


def test_growth_width_is_read_from_params(request):
    params = load_params(request.config.rootpath / "params.yaml")
    assert recovery_spec(params).growth_width == 0.01
    params = copy.deepcopy(params)
    set_key(params, "recover.verdicts.growth_width=0.02")
    assert recovery_spec(params).growth_width == 0.02
    set_key(params, "recover.verdicts.growth_width=0")
    with pytest.raises(Exception, match=r"recover\.verdicts\.growth_width"):
        recovery_spec(params)
