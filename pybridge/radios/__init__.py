"""Radios: what differs between a Wi-Fi scenario and an LTE one, behind one interface.

A radio owns (1) its sections of the scenario config (``scenario.wifi``,
``scenario.lte``, ...), (2) the command-line flags those sections become for its
scenario programs, each tagged with the config field it comes from (so the program's
one-line complaint about a flag can name the field), and (3) its closed-form link for
the Shannon backend. Nothing outside this package branches on the radio.

Adding a radio: write ``pybridge/radios/<name>.py`` with a :class:`Radio` and call
:func:`register` in it, add its import at the bottom of this file, and build its
scenario program (ns3_scenarios/). See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from pybridge.config import NodeConfig, ScenarioConfig, ShannonConfig


@dataclass(frozen=True)
class Flag:
    """One ``--name=value`` argument of a scenario program and the config field behind it."""

    name: str  # without the dashes: "referenceLoss"
    value: str  # already formatted
    field: str  # dotted config path: "scenario.propagation.reference_loss_db"
    given: bool = True  # False: an optional feature not in use; not passed to the program

    @property
    def arg(self) -> str:
        return f"--{self.name}={self.value}"


def num(v: float) -> str:
    """A number as the scenario programs receive it (shortest round trip of ``%g``)."""
    return f"{v:g}"


def nums(values: Any) -> str:
    return ",".join(num(v) for v in values)


class ShannonLink(Protocol):
    """A radio's closed-form link for the Shannon backend."""

    #: the node distances are measured from: the user device, or e.g. the eNB
    origin: NodeConfig
    bandwidth_hz: float

    def snr_db(self, distance_m: np.ndarray) -> np.ndarray:
        """Per-expert SNR (dB) at these distances from ``origin``."""
        ...


@dataclass(frozen=True)
class Radio:
    """One radio technology and the scenario programs that simulate it.

    ``fields`` are the scenario config fields this radio owns, as pydantic
    ``(annotation, FieldInfo)`` pairs; ``flags`` turns them into program flags;
    ``shannon_link`` gives the Shannon backend its formula.
    """

    name: str
    programs: tuple[str, ...]
    #: what this radio's per-expert ``snr_db`` (report, info, observation) measures
    snr_meaning: str
    fields: dict[str, tuple[Any, Any]]
    flags: Callable[[ScenarioConfig], list[Flag]]
    shannon_link: Callable[[ScenarioConfig, ShannonConfig], ShannonLink]


RADIOS: dict[str, Radio] = {}


def register(radio: Radio) -> Radio:
    for other in RADIOS.values():
        clash = set(other.programs) & set(radio.programs) or set(other.fields) & set(radio.fields)
        if clash:
            raise ValueError(f"radio {radio.name} clashes with {other.name} on {sorted(clash)}")
    RADIOS[radio.name] = radio
    return radio


def programs() -> list[str]:
    return [p for r in RADIOS.values() for p in r.programs]


def radio_of(program: str) -> Radio:
    """The radio of a scenario program (by file name, so a path to a build works too)."""
    name = Path(program).name
    for radio in RADIOS.values():
        if name in radio.programs:
            return radio
    raise ValueError(f"unknown scenario program {program!r}; known: {', '.join(programs())}")


# The built-in radios register themselves on import.
from pybridge.radios import lte, wifi  # noqa: E402,F401
