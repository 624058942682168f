"""LTE (program ``edge-moe-lte``): the user device and the experts are UEs of one cell,
every exchange crosses the eNB and the EPC. Owns ``scenario.lte`` and ``scenario
.edge_servers`` (wired servers behind the PGW: multi-access edge computing).

Per-expert link quality here is the expert's uplink SINR at the eNB (the report's
``snr_db``), and distances are measured from the eNB. Value rules and defaults: as for
Wi-Fi, the program's (``--check``, ``include/netmoe/scenario-defaults.h``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from netmoe_runtime.config_base import StrictModel
from pybridge.flags import Flag, num, nums
from pybridge.nodes import NodeConfig
from pybridge.radios.base import Radio, register
from pybridge.radios.wired import WiredServersConfig, wired_flags
from pybridge.scenario_defaults import DEFAULTS, default_layout, numbers

if TYPE_CHECKING:
    from pybridge.config import ScenarioConfig, ShannonConfig

ENB_NOISE_FIGURE_DB = 5.0  # ns-3 LteEnbPhy NoiseFigure default


class LteConfig(StrictModel):
    """The LTE cell of edge-moe-lte: eNB, EPC, scheduler, load."""

    enb_position: tuple[float, float, float] = Field(
        numbers("enb"), description="eNB antenna position x, y, z in metres"
    )
    bandwidth_rbs: int = Field(
        DEFAULTS["bandwidthRbs"],
        description="UL and DL bandwidth in resource blocks: 6, 15, 25, 50, 75 or 100 (25 = 5 MHz)",
    )
    earfcn: int = Field(
        DEFAULTS["earfcn"], description="downlink EARFCN in band 1 (100 = 2120 MHz; UL +18000)"
    )
    enb_tx_power_dbm: float = Field(DEFAULTS["enbTxPowerDbm"], description="eNB transmit power")
    ue_tx_power_dbm: float = Field(
        DEFAULTS["ueTxPowerDbm"],
        description="UE maximum transmit power (closed-loop power control)",
    )
    scheduler: str = Field(
        DEFAULTS["scheduler"],
        description="MAC scheduler: pf, rr, fdmt, tdmt, tta, fdbet, tdbet, fdtbfq, tdtbfq, pss, "
        "cqa, or an ns3::...FfMacScheduler TypeId",
    )
    path_loss: str = Field(
        DEFAULTS["ltePropagation"], description="path-loss model of the cell: logdistance or friis"
    )
    exponent: float = Field(
        DEFAULTS["lteExponent"], description="log-distance exponent (3GPP TR 36.814 macro: 3.76)"
    )
    reference_loss_db: float = Field(
        DEFAULTS["lteReferenceLoss"],
        description="log-distance loss at 1 m (dB); 15.3 = 128.1 + 37.6 log10(d/km)",
    )
    rlc_mode: str = Field(DEFAULTS["rlcMode"], description="RLC mode of the data bearers: am or um")
    rlc_buffer_bytes: int = Field(
        DEFAULTS["rlcBufferBytes"], description="RLC transmission buffer per bearer (bytes)"
    )
    cell_load_ues: int = Field(DEFAULTS["cellLoadUes"], description="other UEs loading the cell")
    cell_load_mbps: float = Field(
        DEFAULTS["cellLoadMbps"],
        description="their total offered Poisson UDP load, half DL half UL (Mbit/s)",
    )
    cell_load_radius_m: float = Field(
        DEFAULTS["cellLoadRadius"],
        description="they stand evenly on a circle of this radius around the eNB",
    )
    cell_load_packet_bytes: int = Field(DEFAULTS["cellLoadPacketBytes"], description="UDP payload")
    ue_base_w: float = Field(
        DEFAULTS["ueBaseW"], description="energy estimate: user radio power while RRC-connected (W)"
    )
    ue_tx_w: float = Field(
        DEFAULTS["ueTxW"], description="energy estimate: added per subframe with an uplink TB (W)"
    )
    ue_rx_w: float = Field(
        DEFAULTS["ueRxW"], description="energy estimate: added per subframe with a downlink TB (W)"
    )


FIELDS = {
    "lte": (LteConfig, Field(default_factory=LteConfig)),
    "edge_servers": (
        WiredServersConfig,
        Field(
            default_factory=WiredServersConfig,
            description="edge servers wired to the EPC's PGW (multi-access edge computing), "
            "experts after the UE ones",
        ),
    ),
}


def flags(sc: ScenarioConfig) -> list[Flag]:
    """edge-moe-lte's cell flags."""
    c, f = sc.lte, "scenario.lte."
    return [
        Flag("enb", nums(c.enb_position), f + "enb_position"),
        Flag("bandwidthRbs", str(c.bandwidth_rbs), f + "bandwidth_rbs"),
        Flag("earfcn", str(c.earfcn), f + "earfcn"),
        Flag("enbTxPowerDbm", num(c.enb_tx_power_dbm), f + "enb_tx_power_dbm"),
        Flag("ueTxPowerDbm", num(c.ue_tx_power_dbm), f + "ue_tx_power_dbm"),
        Flag("scheduler", c.scheduler, f + "scheduler"),
        Flag("propagation", c.path_loss, f + "path_loss"),
        Flag("exponent", num(c.exponent), f + "exponent"),
        Flag("referenceLoss", num(c.reference_loss_db), f + "reference_loss_db"),
        Flag("rlcMode", c.rlc_mode, f + "rlc_mode"),
        Flag("rlcBufferBytes", str(c.rlc_buffer_bytes), f + "rlc_buffer_bytes"),
        Flag("cellLoadUes", str(c.cell_load_ues), f + "cell_load_ues"),
        Flag("cellLoadMbps", num(c.cell_load_mbps), f + "cell_load_mbps"),
        Flag("cellLoadRadius", num(c.cell_load_radius_m), f + "cell_load_radius_m"),
        Flag("cellLoadPacketBytes", str(c.cell_load_packet_bytes), f + "cell_load_packet_bytes"),
        Flag("ueBaseW", num(c.ue_base_w), f + "ue_base_w"),
        Flag("ueTxW", num(c.ue_tx_w), f + "ue_tx_w"),
        Flag("ueRxW", num(c.ue_rx_w), f + "ue_rx_w"),
        *wired_flags(sc.edge_servers, "scenario.edge_servers"),  # type: ignore[attr-defined]
    ]


@dataclass(frozen=True)
class LteShannonLink:
    """Each expert's uplink to the eNB at full UE power (no power control), the cell's
    path loss and bandwidth; noise = -174 dBm/Hz + 10 log10(B) + the eNB's noise figure.
    The user's own link, the core network, the scheduler and the cell load are left out."""

    origin: NodeConfig
    bandwidth_hz: float
    ue_tx_power_dbm: float
    path_loss: str
    ul_frequency_hz: float
    exponent: float
    reference_loss_db: float

    def path_loss_db(self, d: np.ndarray) -> np.ndarray:
        d = np.maximum(d, 1.0)
        if self.path_loss == "friis":
            return 20 * np.log10(d) + 20 * np.log10(self.ul_frequency_hz) - 147.55
        return self.reference_loss_db + 10 * self.exponent * np.log10(d)

    def snr_db(self, distance_m: np.ndarray) -> np.ndarray:
        noise_dbm = -174.0 + 10 * math.log10(self.bandwidth_hz) + ENB_NOISE_FIGURE_DB
        return self.ue_tx_power_dbm - self.path_loss_db(distance_m) - noise_dbm


def shannon_link(sc: ScenarioConfig, sh: ShannonConfig) -> LteShannonLink:
    c = sc.lte
    return LteShannonLink(
        origin=NodeConfig(position=c.enb_position),  # distances are from the eNB
        bandwidth_hz=c.bandwidth_rbs * 180e3,
        ue_tx_power_dbm=c.ue_tx_power_dbm,
        path_loss=c.path_loss,
        ul_frequency_hz=(1920.0 + 0.1 * c.earfcn) * 1e6,  # band 1 uplink carrier
        exponent=c.exponent,
        reference_loss_db=c.reference_loss_db,
    )


RADIO = register(
    Radio(
        name="lte",
        programs=("edge-moe-lte",),
        snr_meaning="the expert's uplink SINR at the eNB (interference and cell load included); "
        "for an edge server behind the PGW the user's own",
        default_area=numbers("lteArea"),
        default_layout=default_layout("lte"),
        fields=FIELDS,
        flags=flags,
        shannon_link=shannon_link,
        wired=lambda sc: sc.edge_servers,  # type: ignore[attr-defined]
    )
)
