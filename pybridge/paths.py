"""Where the compiled scenario programs live.

`netmoe build` (CMake) writes them to ``<repo>/build`` by default; set
``NETMOE_BUILD_DIR`` to use another build tree (e.g. one made against your own ns-3).
"""

from __future__ import annotations

import os
from pathlib import Path

from netmoe_table import REPO_ROOT  # the one definition of where the repository is

__all__ = ["REPO_ROOT", "ScenarioNotBuiltError", "build_dir", "program_path"]


class ScenarioNotBuiltError(FileNotFoundError):
    """A scenario program is missing: the CMake build has not been run."""


def build_dir() -> Path:
    """The CMake build tree that holds the scenario programs."""
    return Path(os.environ.get("NETMOE_BUILD_DIR", REPO_ROOT / "build"))


def program_path(name: str) -> Path:
    """Path of a compiled program (``edge-moe``, ``bridge-echo``), or a clear error."""
    root = build_dir()
    for candidate in (root / "ns3_scenarios" / name, root / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ScenarioNotBuiltError(
        f"{name} not found under {root}; build it with `netmoe build` "
        "(or set NETMOE_BUILD_DIR to your build tree)"
    )
