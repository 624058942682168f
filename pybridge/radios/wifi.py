"""IEEE 802.11 (program ``edge-moe``): the user device is the access point, experts are
its stations (``topology.mode: direct``); or a separate access point has them all as
stations, with wired edge servers behind it (``infrastructure``). Owns ``scenario.wifi``,
``topology``, ``propagation``, ``building``, ``background``, ``heartbeat_interval_s``,
``pcap_prefix``, ``flowmon_xml`` and ``netanim``.

Value rules (which standard allows which band and width, ranges) belong to the scenario
program and are checked by its ``--check`` run; defaults come from
``include/netmoe/scenario-defaults.h``, which the program compiles in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from netmoe_runtime.config_base import StrictModel
from pybridge.flags import Flag, num, nums
from pybridge.radios.base import Radio, register
from pybridge.radios.wired import WiredServersConfig, wired_flags
from pybridge.scenario_defaults import DEFAULTS, numbers, wifi_default_band_ghz

if TYPE_CHECKING:
    from pybridge.config import ScenarioConfig, ShannonConfig
    from pybridge.nodes import NodeConfig


class WifiConfig(StrictModel):
    """The IEEE 802.11 network between the user device (access point) and the experts."""

    standard: str = Field(
        DEFAULTS["standard"],
        description="IEEE 802.11 standard: 80211ax, 80211ac, 80211n, 80211g or 80211a",
    )
    band_ghz: float | None = Field(
        None,
        description="frequency band: 2.4, 5 or 6 GHz (default: the standard's own, "
        "5 GHz, or 2.4 for 80211g)",
    )
    channel_width_mhz: int = Field(
        DEFAULTS["channelWidth"],
        description="channel width: 20, 40, 80 or 160 MHz (what the standard and band allow)",
    )
    rate_manager: str = Field(
        DEFAULTS["rateManager"],
        description="rate control: ideal, minstrel, constant, thompson, aarf or an ns-3 "
        "WifiRemoteStationManager TypeId",
    )
    tx_power_dbm: float = Field(DEFAULTS["txPowerDbm"], description="transmit power of every node")
    low_ack_threshold: int = Field(
        DEFAULTS["lowAckThreshold"],
        description="unanswered transmissions after which the user device (access point) "
        "disassociates an expert (hostapd disassoc_low_ack); an expert it dropped that still "
        "sends data is deauthenticated; 0: ns-3's own behaviour (docs/scenario.md, edge of "
        "range)",
    )
    keep_static_arp: bool = Field(
        bool(DEFAULTS["keepStaticArp"]),
        description="refill the static ARP entries after a link change (ns-3 flushes them "
        "when an expert loses its association, and one failed ARP exchange then blocks the "
        "peer for 100 s); false: ns-3's default",
    )


class TopologyConfig(StrictModel):
    """Who is the access point, and what hangs off it by wire (docs/scenario.md)."""

    mode: str = Field(
        DEFAULTS["topology"],
        description="direct (the user device is the access point, as a Wi-Fi Direct group "
        "owner) or infrastructure (a separate access point, e.g. a home gateway or campus AP: "
        "the user device and the experts are its stations, so their frames cross the air "
        "twice)",
    )
    ap_position: tuple[float, float, float] = Field(
        numbers("apPosition"), description="infrastructure: the access point's position (m)"
    )
    wired_servers: WiredServersConfig = Field(
        default_factory=WiredServersConfig,
        description="infrastructure: edge servers wired to the access point's gateway",
    )


class PropagationConfig(StrictModel):
    """Path loss and fading."""

    model: str = Field(
        DEFAULTS["propagation"],
        description="propagation loss model: logdistance, friis, 3gpp-indoor or buildings "
        "(ITU-R P.1238 indoors + a loss per internal wall, ns-3 "
        "HybridBuildingsPropagationLossModel, walls from scenario.building)",
    )
    exponent: float = Field(DEFAULTS["exponent"], description="log-distance path-loss exponent")
    reference_loss_db: float = Field(
        DEFAULTS["referenceLoss"], description="log-distance loss at 1 m (dB)"
    )
    nakagami: bool = Field(bool(DEFAULTS["nakagami"]), description="add Nakagami-m fast fading")
    nakagami_m: float = Field(DEFAULTS["nakagamiM"], description="Nakagami m (1 = Rayleigh)")
    wall_loss_db: float = Field(
        DEFAULTS["wallLossDb"],
        description="buildings: loss per internal wall between two rooms (dB)",
    )
    shadow_sigma_db: float = Field(
        DEFAULTS["shadowSigmaDb"],
        description="buildings: indoor log-normal shadowing, per link (dB)",
    )


class BuildingConfig(StrictModel):
    """One building (ns-3 buildings module): a box split into rooms on floors."""

    bounds: tuple[float, float, float, float, float, float] = Field(
        description="xmin, xmax, ymin, ymax, zmin, zmax in metres"
    )
    type: str = Field(
        DEFAULTS["buildingType"],
        description="ITU-R P.1238 building class: residential, office or commercial",
    )
    rooms: tuple[int, int] = Field(
        tuple(int(v) for v in numbers("rooms")),
        description="rooms along x and y (walls between them)",
    )
    floors: int = Field(DEFAULTS["floors"], description="number of floors")


class BackgroundConfig(StrictModel):
    """A neighbouring Wi-Fi network on the same channel: interference and load."""

    stations: int = Field(
        DEFAULTS["bgStations"], description="its stations (0: no neighbouring network)"
    )
    load_mbps: float = Field(
        DEFAULTS["bgLoadMbps"],
        description="their total offered UDP load to its access point (Poisson)",
    )
    ap_position: tuple[float, float, float] = Field(
        numbers("bgAp"), description="position of its access point (m)"
    )
    radius: float = Field(
        DEFAULTS["bgRadius"], description="its stations on a circle of this radius (m)"
    )
    packet_bytes: int = Field(DEFAULTS["bgPacketBytes"], description="UDP payload per datagram")


FIELDS = {
    "wifi": (WifiConfig, Field(default_factory=WifiConfig)),
    "topology": (TopologyConfig, Field(default_factory=TopologyConfig)),
    "propagation": (PropagationConfig, Field(default_factory=PropagationConfig)),
    "heartbeat_interval_s": (
        float,
        Field(
            DEFAULTS["heartbeatInterval"],
            description="observe: heartbeat: experts' discovery beacon period (keeps SNR "
            "observations fresh)",
        ),
    ),
    "building": (
        BuildingConfig | None,
        Field(None, description="a building with rooms (needs propagation.model: buildings)"),
    ),
    "background": (BackgroundConfig, Field(default_factory=BackgroundConfig)),
    "pcap_prefix": (
        str | None,
        Field(None, description="write a pcap per Wi-Fi device: <prefix>-<node>-<device>.pcap"),
    ),
    "flowmon_xml": (
        str | None,
        Field(
            None,
            description="write ns-3 FlowMonitor statistics to this XML file when the run ends",
        ),
    ),
    "netanim": (
        str | None,
        Field(
            None,
            description="write a NetAnim XML trace (users, experts, their moves) to this file; "
            "each episode rewrites it, closed when the episode ends",
        ),
    ),
    "netanim_packets": (
        bool,
        Field(False, description="netanim: trace every packet too (large files)"),
    ),
}


def flags(sc: ScenarioConfig) -> list[Flag]:
    """edge-moe's radio flags. Optional features are passed only when used (so runs of
    older configs keep their exact command line); the others are listed as not given,
    so a complaint about them still names their field."""
    w, p, b, bg, t = sc.wifi, sc.propagation, sc.building, sc.background, sc.topology
    buildings, background = p.model == "buildings", bg.stations != 0 or bg.load_mbps != 0
    topology = t != TopologyConfig()
    return [
        Flag("standard", w.standard, "scenario.wifi.standard"),
        Flag("band", num(w.band_ghz or 0), "scenario.wifi.band_ghz", w.band_ghz is not None),
        Flag("channelWidth", str(w.channel_width_mhz), "scenario.wifi.channel_width_mhz"),
        Flag("rateManager", w.rate_manager, "scenario.wifi.rate_manager"),
        Flag("txPowerDbm", num(w.tx_power_dbm), "scenario.wifi.tx_power_dbm"),
        Flag("lowAckThreshold", str(w.low_ack_threshold), "scenario.wifi.low_ack_threshold"),
        Flag("keepStaticArp", str(int(w.keep_static_arp)), "scenario.wifi.keep_static_arp"),
        Flag("propagation", p.model, "scenario.propagation.model"),
        Flag("exponent", num(p.exponent), "scenario.propagation.exponent"),
        Flag("referenceLoss", num(p.reference_loss_db), "scenario.propagation.reference_loss_db"),
        Flag("nakagami", str(int(p.nakagami)), "scenario.propagation.nakagami"),
        Flag("nakagamiM", num(p.nakagami_m), "scenario.propagation.nakagami_m"),
        Flag("heartbeatInterval", num(sc.heartbeat_interval_s), "scenario.heartbeat_interval_s"),
        Flag("wallLossDb", num(p.wall_loss_db), "scenario.propagation.wall_loss_db", buildings),
        Flag(
            "shadowSigmaDb",
            num(p.shadow_sigma_db),
            "scenario.propagation.shadow_sigma_db",
            buildings,
        ),  # fmt: skip
        Flag("building", nums(b.bounds) if b else "", "scenario.building.bounds", b is not None),
        Flag("buildingType", b.type if b else "", "scenario.building.type", b is not None),
        Flag(
            "rooms",
            f"{b.rooms[0]},{b.rooms[1]}" if b else "",
            "scenario.building.rooms",
            b is not None,
        ),  # fmt: skip
        Flag("floors", str(b.floors) if b else "", "scenario.building.floors", b is not None),
        # the program refuses a neighbouring network with stations but no load, or load
        # but no stations: pass both as soon as one is set
        Flag("bgStations", str(bg.stations), "scenario.background.stations", background),
        Flag("bgLoadMbps", num(bg.load_mbps), "scenario.background.load_mbps", background),
        Flag("bgAp", nums(bg.ap_position), "scenario.background.ap_position", background),
        Flag("bgRadius", num(bg.radius), "scenario.background.radius", background),
        Flag("bgPacketBytes", str(bg.packet_bytes), "scenario.background.packet_bytes", background),
        Flag("topology", t.mode, "scenario.topology.mode", topology),
        Flag("apPosition", nums(t.ap_position), "scenario.topology.ap_position", topology),
        *wired_flags(t.wired_servers, "scenario.topology.wired_servers"),
        Flag("pcap", sc.pcap_prefix or "", "scenario.pcap_prefix", bool(sc.pcap_prefix)),
        Flag("flowmonXml", sc.flowmon_xml or "", "scenario.flowmon_xml", bool(sc.flowmon_xml)),
        Flag("netanim", sc.netanim or "", "scenario.netanim", bool(sc.netanim)),
        Flag(
            "netanimPackets",
            str(int(sc.netanim_packets)),
            "scenario.netanim_packets",
            sc.netanim_packets,
        ),  # fmt: skip
    ]


# ITU-R P.1238 distance power loss coefficient N per building class (2.4-5 GHz, as ns-3's
# ItuR1238PropagationLossModel codes it), for the Shannon twin of propagation: buildings.
P1238_N = {"residential": 28.0, "office": 30.0, "commercial": 22.0}


@dataclass(frozen=True)
class WifiShannonLink:
    """SNR at the user device from the scenario's path loss; no walls, fading or MAC."""

    origin: NodeConfig
    bandwidth_hz: float
    tx_power_dbm: float
    noise_dbm: float
    model: str
    band_ghz: float
    exponent: float
    reference_loss_db: float
    building_type: str

    def path_loss_db(self, d: np.ndarray) -> np.ndarray:
        d = np.maximum(d, 1.0)
        f_ghz = self.band_ghz
        if self.model == "friis":
            return 20 * np.log10(d) + 20 * np.log10(f_ghz * 1e9) - 147.55
        if self.model == "3gpp-indoor":  # TR 38.901 InH-Office LOS
            return 32.4 + 17.3 * np.log10(d) + 20 * np.log10(f_ghz)
        if self.model == "buildings":  # ITU-R P.1238 on one floor, as ns-3 codes it; no walls
            return 20 * np.log10(f_ghz * 1e3) + P1238_N[self.building_type] * np.log10(d) - 28.0
        return self.reference_loss_db + 10 * self.exponent * np.log10(d)

    def snr_db(self, distance_m: np.ndarray) -> np.ndarray:
        return self.tx_power_dbm - self.path_loss_db(distance_m) - self.noise_dbm


def shannon_link(sc: ScenarioConfig, sh: ShannonConfig) -> WifiShannonLink:
    w, p = sc.wifi, sc.propagation
    return WifiShannonLink(
        origin=sc.user,
        bandwidth_hz=w.channel_width_mhz * 1e6,
        tx_power_dbm=w.tx_power_dbm,
        noise_dbm=sh.noise_dbm,
        model=p.model,
        band_ghz=w.band_ghz if w.band_ghz is not None else wifi_default_band_ghz(w.standard),
        exponent=p.exponent,
        reference_loss_db=p.reference_loss_db,
        building_type=sc.building.type if sc.building is not None else "residential",
    )


RADIO = register(
    Radio(
        name="wifi",
        programs=("edge-moe",),
        snr_meaning="SNR of the expert's frames at the user device (its access point); "
        "with topology infrastructure the path's weakest radio hop (docs/scenario.md)",
        default_area=numbers("area"),
        fields=FIELDS,
        flags=flags,
        shannon_link=shannon_link,
        wired=lambda sc: sc.topology.wired_servers,  # type: ignore[attr-defined]
        relay=lambda sc: (
            sc.topology.ap_position  # type: ignore[attr-defined]
            if sc.topology.mode == "infrastructure"  # type: ignore[attr-defined]
            else None
        ),
    )
)
