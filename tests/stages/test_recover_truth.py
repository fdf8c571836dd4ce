"""`mmmlab recover` reads the truth by date: a truth of other dates is refused, never compared by position."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mmmlab.config import load_params
from mmmlab.errors import UserInputError
from mmmlab.stages import generate, recover


def test_truth_of_other_dates_is_refused(project):
    params = load_params(project / "params.yaml", ("recover.uncertainty=none",))
    generate.run(params)
    path = project / "data" / "truth.json"
    truth = json.loads(path.read_text())
    truth["dates"] = [str((pd.Timestamp(d) + pd.DateOffset(months=1)).date()) for d in truth["dates"]]  # same length
    path.write_text(json.dumps(truth))
    with pytest.raises(UserInputError, match=r"truth\.json: .*2017-01-01") as caught:
        recover.run(params)
    assert "\n" not in str(caught.value)
    assert not (project / "reports" / "recovery" / "metrics.json").exists()  # nothing compared by position
