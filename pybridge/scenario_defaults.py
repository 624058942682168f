"""The scenario programs' defaults, read from the header they are compiled with.

``include/netmoe/scenario-defaults.h`` lists every default once, one ``X(name, value)``
per line; the C++ programs take their flag defaults from it and the Python config its
field defaults, so the two cannot disagree.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

HEADER = Path(__file__).resolve().parent / "include" / "netmoe" / "scenario-defaults.h"
_ENTRY = re.compile(r'^\s*X\(\s*(\w+)\s*,\s*("(?:[^"\\]|\\.)*"|[-+0-9.eE]+)\s*\)', re.M)


def _parse(text: str) -> dict[str, float | int | str]:
    out: dict[str, float | int | str] = {}
    for name, raw in _ENTRY.findall(text):
        if raw.startswith('"'):
            out[name] = raw[1:-1]
        elif re.fullmatch(r"[-+]?\d+", raw):
            out[name] = int(raw)
        else:
            out[name] = float(raw)
    if not out:
        raise RuntimeError(f"{HEADER}: no X(name, value) entries")
    return out


DEFAULTS: dict[str, float | int | str] = _parse(HEADER.read_text())


def wifi_default_band_ghz(standard: str) -> float:
    """The band a Wi-Fi standard runs in when ``--band`` is not given."""
    return float(DEFAULTS[f"band{standard}"])


def numbers(name: str) -> tuple[float, ...]:
    """A default written as a comma list (a position, an area)."""
    return tuple(float(v) for v in str(DEFAULTS[name]).split(","))


def mobility_default(model: str, key: str) -> float:
    """The default of a mobility model's parameter (``random-waypoint``, ``speed``)."""
    first, *rest = model.split("-")
    return float(DEFAULTS[first + "".join(w.title() for w in rest) + "_" + key])


def default_layout(prefix: str = "") -> list[tuple[float, float, float]]:
    """The program's layout without ``--nodes``: the user at (0, 0, height), then
    ``numExperts`` experts evenly on a circle of ``radius`` around it (``DefaultNodeSpecs``
    in ns3_scenarios/node-mobility.cc); ``prefix`` "lte" for edge-moe-lte's radius and
    height. Positions to the nanometre, as the config writes them on the command line."""
    n = int(DEFAULTS["numExperts"])
    radius = float(DEFAULTS[f"{prefix}{'R' if prefix else 'r'}adius"])
    height = float(DEFAULTS[f"{prefix}{'H' if prefix else 'h'}eight"])
    experts = [
        (
            round(radius * math.cos(2 * math.pi * i / n), 9),
            round(radius * math.sin(2 * math.pi * i / n), 9),
            height,
        )
        for i in range(n)
    ]
    return [(0.0, 0.0, height), *experts]
