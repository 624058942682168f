"""The radio interface and registry (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from pybridge.flags import Flag

if TYPE_CHECKING:
    from pybridge.config import ScenarioConfig, ShannonConfig
    from pybridge.nodes import NodeConfig
    from pybridge.radios.wired import WiredServersConfig


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
    ``shannon_link`` gives the Shannon backend its formula; ``wired`` the config's wired
    edge servers (experts after the radio ones), ``relay`` the position of an access
    point the radio traffic goes through (two hops), for the Shannon backend's paths.
    """

    name: str
    programs: tuple[str, ...]
    #: what this radio's per-expert ``snr_db`` (report, info, observation) measures
    snr_meaning: str
    #: ``scenario.area`` when the config leaves it out (the program's own default)
    default_area: tuple[float, ...]
    #: the program's nodes without ``--nodes``, user first; the config's default experts
    default_layout: list[tuple[float, float, float]]
    fields: dict[str, tuple[Any, Any]]
    flags: Callable[[ScenarioConfig], list[Flag]]
    shannon_link: Callable[[ScenarioConfig, ShannonConfig], ShannonLink]
    wired: Callable[[ScenarioConfig], WiredServersConfig | None] = lambda sc: None
    relay: Callable[[ScenarioConfig], tuple[float, float, float] | None] = lambda sc: None


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
