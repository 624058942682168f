"""A scenario program's command-line flag, tagged with the config field behind it, and
how numbers are written on that command line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    """A number as the scenario programs receive it: ``%g`` when that is exact (``5``,
    ``46.67``), else the shortest text that reads back as the same double, so the
    program simulates exactly the value the Shannon twin computes with."""
    short = f"{v:g}"
    return short if float(short) == float(v) else repr(float(v))


def nums(values: Any) -> str:
    return ",".join(num(v) for v in values)
