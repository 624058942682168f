"""Process facts the fault tests check: open bridge segments, exited processes."""

from __future__ import annotations

import os


def bridge_segments(pid: int | str = "self") -> int:
    """How many bridge segments (memfd 'netmoe-bridge') a process has open."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += "netmoe-bridge" in os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed while we looked
            pass
    return n


def exited(pid: int) -> bool:
    """True once a process is gone or a zombie (exited, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line for line in f)
    except FileNotFoundError:
        return True
