"""Shared by the two Ray paths (table builds and sweeps): a fast check that a cluster
address answers, because ``ray.init`` would retry an unreachable one for minutes."""

from __future__ import annotations

import socket


def unreachable(address: str, timeout: float = 5.0) -> str | None:
    """Why a ``HOST:PORT`` address accepts no TCP connection, or None when it does.
    Other forms (``auto``, ``ray://...``) are left to Ray (None)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host or "/" in host:
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return str(exc)
