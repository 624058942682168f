"""Comparing a bridge report with a scenario's standalone JSON line."""

from __future__ import annotations

import math
from typing import Any

import pytest


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
