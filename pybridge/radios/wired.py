"""Wired edge servers, shared by the radios that can have them: ``scenario.topology
.wired_servers`` (Wi-Fi, behind the access point) and ``scenario.edge_servers`` (LTE,
behind the EPC's PGW). A server is an expert like the radio ones, numbered after them
(experts N+1..N+M). Value rules (link names, rate syntax, ranges) are the programs'
(``--wiredServers``, ``--wiredLink``, ``--wiredRate``, ``--wiredDelay``).
"""

from __future__ import annotations

from pydantic import Field

from netmoe_runtime.config_base import StrictModel
from pybridge.flags import Flag, num
from pybridge.scenario_defaults import DEFAULTS


class WiredServersConfig(StrictModel):
    """Edge servers wired to the gateway, each serving subtasks like any expert."""

    count: int = Field(
        DEFAULTS["wiredServers"],
        description="how many (0: none); they are experts N+1..N+M after the radio ones",
    )
    link: str = Field(
        DEFAULTS["wiredLink"],
        description="csma (one shared Ethernet segment) or p2p (a point-to-point link each)",
    )
    rate: str = Field(
        DEFAULTS["wiredRate"], description="data rate of the wire, ns-3 DataRate text: 1Gbps"
    )
    delay_s: float = Field(DEFAULTS["wiredDelay"], description="one-way delay of the wire (s)")


def wired_flags(w: WiredServersConfig, field: str) -> list[Flag]:
    """The wired-server flags, passed only when there are servers (older configs keep
    their command line); ``field`` is the config path of ``w``."""
    used = w.count != 0 or w != WiredServersConfig()
    return [
        Flag("wiredServers", str(w.count), f"{field}.count", used),
        Flag("wiredLink", w.link, f"{field}.link", used),
        Flag("wiredRate", w.rate, f"{field}.rate", used),
        Flag("wiredDelay", num(w.delay_s), f"{field}.delay_s", used),
    ]
