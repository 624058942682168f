"""Comparing a bridge report with a scenario's standalone JSON line, and a try's report
with the step's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from pybridge.backends import NEXT_OBSERVATION_FIELDS


def assert_report_matches(report: dict[str, Any], standalone: dict[str, Any]) -> None:
    """Every field of the standalone JSON equals the report's (arrays cut to length; null=NaN)."""
    for name, value in standalone.items():
        got = report[name]
        if getattr(got, "ndim", 0):
            got = got[: len(value)]
            assert [None if math.isnan(x) else x for x in got.tolist()] == pytest.approx(value), (
                name
            )
        else:
            assert got == pytest.approx(value), name


def assert_try_measures_the_step(tried: dict[str, Any], stepped: dict[str, Any]) -> None:
    """A try's report equals the step's in every field but ``NEXT_OBSERVATION_FIELDS``
    (exactly; NaN equal to NaN): those the try takes at the round's end."""
    assert tried.keys() == stepped.keys()
    for name in stepped:
        if name not in NEXT_OBSERVATION_FIELDS:
            np.testing.assert_array_equal(tried[name], stepped[name], err_msg=name)
