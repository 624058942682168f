"""Typed, validated configuration of one environment: scenario, tasks, reward, backend.

A YAML file (or dict) maps onto :class:`EnvConfig`. Every field has a help string;
a bad value raises :class:`ConfigError` with one line naming the file, the field and
the problem. The scenario part also produces the scenario program's command line, and
the seed becomes ns-3's ``RngRun``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pybridge.paths import REPO_ROOT

MOBILITY_PARAMS: dict[str, set[str]] = {
    "constant": set(),
    "random-walk": {"speed", "distance"},
    "random-waypoint": {"speed", "minSpeed", "pause"},
    "constant-velocity": {"vx", "vy"},
    "gauss-markov": {"speed", "alpha"},
    "ns2": set(),
}


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeConfig(_Strict):
    """Where a device starts and how it moves."""

    position: tuple[float, float, float] = Field(
        (0.0, 0.0, 1.0), description="start position x, y, z in metres"
    )
    mobility: Literal[
        "constant", "random-walk", "random-waypoint", "constant-velocity", "gauss-markov", "ns2"
    ] = Field(
        "constant",
        description="ns-3 mobility model; ns2: follow scenario.ns2_trace ($node_(0) = user, "
        "$node_(i) = expert i; position is then taken from the trace)",
    )
    params: dict[str, float] = Field(
        default_factory=dict,
        description="model parameters: random-walk speed, distance; random-waypoint speed, "
        "minSpeed, pause; constant-velocity vx, vy; gauss-markov speed, alpha",
    )

    @model_validator(mode="after")
    def _known_params(self) -> NodeConfig:
        unknown = set(self.params) - MOBILITY_PARAMS[self.mobility]
        if unknown:
            allowed = ", ".join(sorted(MOBILITY_PARAMS[self.mobility])) or "none"
            raise ValueError(
                f"unknown {self.mobility} parameter(s) {sorted(unknown)}; allowed: {allowed}"
            )
        if any(v < 0 for k, v in self.params.items() if k not in ("vx", "vy")):
            raise ValueError("mobility parameters must be >= 0")
        return self

    def spec(self) -> str:
        """This node in the scenario's ``--nodes`` format: ``x,y,z|model|k=v,...``."""
        pos = ",".join(f"{v:g}" for v in self.position)
        params = ",".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))
        return f"{pos}|{self.mobility}" + (f"|{params}" if params else "")


class WifiConfig(_Strict):
    """The IEEE 802.11 network between the user device (access point) and the experts."""

    standard: Literal["80211ax", "80211ac", "80211n", "80211g", "80211a"] = Field(
        "80211ax", description="IEEE 802.11 standard"
    )
    band_ghz: float = Field(5.0, description="frequency band: 2.4, 5 or 6 GHz")
    channel_width_mhz: Literal[20, 40, 80, 160] = Field(20, description="channel width")
    rate_manager: str = Field(
        "ns3::IdealWifiManager", description="ns-3 WifiRemoteStationManager TypeId"
    )
    tx_power_dbm: float = Field(20.0, ge=-10, le=40, description="transmit power of every node")
    low_ack_threshold: int = Field(
        50,
        ge=0,
        le=1_000_000,
        description="unanswered transmissions after which the user device (access point) "
        "disassociates an expert (hostapd disassoc_low_ack); an expert it dropped that still "
        "sends data is deauthenticated; 0: ns-3's own behaviour (docs/scenario.md, edge of "
        "range)",
    )
    keep_static_arp: bool = Field(
        True,
        description="refill the static ARP entries after a link change (ns-3 flushes them "
        "when an expert loses its association, and one failed ARP exchange then blocks the "
        "peer for 100 s); false: ns-3's default",
    )

    @field_validator("band_ghz")
    @classmethod
    def _band(cls, v: float) -> float:
        if v not in (2.4, 5.0, 6.0):
            raise ValueError("band_ghz must be 2.4, 5 or 6")
        return v


class PropagationConfig(_Strict):
    """Path loss and fading."""

    model: Literal["logdistance", "friis", "3gpp-indoor", "buildings"] = Field(
        "logdistance",
        description="propagation loss model; buildings: ITU-R P.1238 indoors + a loss per "
        "internal wall (ns-3 HybridBuildingsPropagationLossModel, walls from scenario.building)",
    )
    exponent: float = Field(3.0, gt=0, le=8, description="log-distance path-loss exponent")
    reference_loss_db: float = Field(
        46.67, description="log-distance loss at 1 m (dB); 46.67 = Friis at 5.15 GHz"
    )
    nakagami: bool = Field(False, description="add Nakagami-m fast fading")
    nakagami_m: float = Field(1.0, gt=0, description="Nakagami m (1 = Rayleigh)")
    wall_loss_db: float = Field(
        5.0, ge=0, description="buildings: loss per internal wall between two rooms (dB)"
    )
    shadow_sigma_db: float = Field(
        8.0, ge=0, description="buildings: indoor log-normal shadowing, per link (dB)"
    )


class BuildingConfig(_Strict):
    """One building (ns-3 buildings module): a box split into rooms on floors."""

    bounds: tuple[float, float, float, float, float, float] = Field(
        description="xmin, xmax, ymin, ymax, zmin, zmax in metres"
    )
    type: Literal["residential", "office", "commercial"] = Field(
        "residential", description="ITU-R P.1238 building class"
    )
    rooms: tuple[int, int] = Field((1, 1), description="rooms along x and y (walls between them)")
    floors: int = Field(1, ge=1, le=100, description="number of floors")

    @model_validator(mode="after")
    def _box(self) -> BuildingConfig:
        x0, x1, y0, y1, z0, z1 = self.bounds
        if x0 >= x1 or y0 >= y1 or z0 >= z1:
            raise ValueError("bounds must be xmin < xmax, ymin < ymax, zmin < zmax")
        if not all(1 <= r <= 100 for r in self.rooms):
            raise ValueError("rooms must be 1..100 along each axis")
        return self


class BackgroundConfig(_Strict):
    """A neighbouring Wi-Fi network on the same channel: interference and load."""

    stations: int = Field(0, ge=0, le=64, description="its stations (0: no neighbouring network)")
    load_mbps: float = Field(
        0.0, ge=0, description="their total offered UDP load to its access point (Poisson)"
    )
    ap_position: tuple[float, float, float] = Field(
        (0.0, 0.0, 1.0), description="position of its access point (m)"
    )
    radius: float = Field(5.0, ge=0, description="its stations on a circle of this radius (m)")
    packet_bytes: int = Field(1200, ge=1, le=65000, description="UDP payload per datagram")

    @model_validator(mode="after")
    def _load(self) -> BackgroundConfig:
        if (self.stations > 0) != (self.load_mbps > 0):
            raise ValueError("stations and load_mbps must both be > 0 (or both 0)")
        return self


LTE_SCHEDULERS = (
    "pf", "rr", "fdmt", "tdmt", "tta", "fdbet", "tdbet", "fdtbfq", "tdtbfq", "pss", "cqa",
)  # fmt: skip


class LteConfig(_Strict):
    """The LTE cell of edge-moe-lte (ignored by edge-moe): eNB, EPC, scheduler, load."""

    enb_position: tuple[float, float, float] = Field(
        (0.0, 0.0, 30.0), description="eNB antenna position x, y, z in metres"
    )
    bandwidth_rbs: Literal[6, 15, 25, 50, 75, 100] = Field(
        25, description="UL and DL bandwidth in resource blocks (25 = 5 MHz)"
    )
    earfcn: int = Field(
        100, ge=0, le=599, description="downlink EARFCN in band 1 (100 = 2120 MHz; UL +18000)"
    )
    enb_tx_power_dbm: float = Field(43.0, gt=-10, le=60, description="eNB transmit power")
    ue_tx_power_dbm: float = Field(
        23.0, gt=-40, le=30, description="UE maximum transmit power (closed-loop power control)"
    )
    scheduler: str = Field(
        "pf",
        description="MAC scheduler: pf, rr, fdmt, tdmt, tta, fdbet, tdbet, fdtbfq, tdtbfq, pss, "
        "cqa, or an ns3::...FfMacScheduler TypeId",
    )
    path_loss: Literal["logdistance", "friis"] = Field(
        "logdistance", description="path-loss model of the cell"
    )
    exponent: float = Field(
        3.76, gt=0, le=8, description="log-distance exponent (3GPP TR 36.814 macro: 3.76)"
    )
    reference_loss_db: float = Field(
        15.3, description="log-distance loss at 1 m (dB); 15.3 = 128.1 + 37.6 log10(d/km)"
    )
    rlc_mode: Literal["am", "um"] = Field("am", description="RLC mode of the data bearers")
    rlc_buffer_bytes: int = Field(
        131072, ge=1500, description="RLC transmission buffer per bearer (bytes)"
    )
    cell_load_ues: int = Field(0, ge=0, le=64, description="other UEs loading the cell")
    cell_load_mbps: float = Field(
        0.0, ge=0, description="their total offered Poisson UDP load, half DL half UL (Mbit/s)"
    )
    cell_load_radius_m: float = Field(
        150.0, ge=0, description="they stand evenly on a circle of this radius around the eNB"
    )
    cell_load_packet_bytes: int = Field(1200, ge=1, le=65000, description="UDP payload")
    ue_base_w: float = Field(
        1.0, ge=0, description="energy estimate: user radio power while RRC-connected (W)"
    )
    ue_tx_w: float = Field(
        1.5, ge=0, description="energy estimate: added per subframe with an uplink TB (W)"
    )
    ue_rx_w: float = Field(
        0.5, ge=0, description="energy estimate: added per subframe with a downlink TB (W)"
    )

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, v: str) -> str:
        if v not in LTE_SCHEDULERS and not (v.startswith("ns3::") and v.endswith("FfMacScheduler")):
            raise ValueError(
                f"unknown scheduler {v!r}: {', '.join(LTE_SCHEDULERS)} or ns3::...FfMacScheduler"
            )
        return v

    @model_validator(mode="after")
    def _load(self) -> LteConfig:
        if (self.cell_load_ues > 0) != (self.cell_load_mbps > 0):
            raise ValueError("cell_load_ues and cell_load_mbps must both be > 0 (or both 0)")
        return self

    @property
    def bandwidth_hz(self) -> float:
        return self.bandwidth_rbs * 180e3

    @property
    def ul_frequency_hz(self) -> float:
        """Uplink carrier of band 1: 1920 MHz + 0.1 MHz x (EARFCN)."""
        return (1920.0 + 0.1 * self.earfcn) * 1e6

    def argv(self) -> list[str]:
        """The cell's flags of edge-moe-lte."""
        return [
            f"--enb={','.join(f'{v:g}' for v in self.enb_position)}",
            f"--bandwidthRbs={self.bandwidth_rbs}",
            f"--earfcn={self.earfcn}",
            f"--enbTxPowerDbm={self.enb_tx_power_dbm:g}",
            f"--ueTxPowerDbm={self.ue_tx_power_dbm:g}",
            f"--scheduler={self.scheduler}",
            f"--propagation={self.path_loss}",
            f"--exponent={self.exponent:g}",
            f"--referenceLoss={self.reference_loss_db:g}",
            f"--rlcMode={self.rlc_mode}",
            f"--rlcBufferBytes={self.rlc_buffer_bytes}",
            f"--cellLoadUes={self.cell_load_ues}",
            f"--cellLoadMbps={self.cell_load_mbps:g}",
            f"--cellLoadRadius={self.cell_load_radius_m:g}",
            f"--cellLoadPacketBytes={self.cell_load_packet_bytes}",
            f"--ueBaseW={self.ue_base_w:g}",
            f"--ueTxW={self.ue_tx_w:g}",
            f"--ueRxW={self.ue_rx_w:g}",
        ]


LTE_PROGRAMS = ("edge-moe-lte",)


class ScenarioConfig(_Strict):
    """The ns-3 scenario: devices, radio, mobility. Experts are numbered 1..N in order."""

    program: str = Field(
        "edge-moe",
        description="scenario program in the build tree: edge-moe (Wi-Fi) or edge-moe-lte "
        "(LTE cell; takes scenario.lte, ignores wifi, propagation and heartbeat_interval_s)",
    )
    user: NodeConfig = Field(default_factory=NodeConfig, description="the user device")
    experts: list[NodeConfig] = Field(
        default_factory=lambda: [
            NodeConfig(position=(5.0, 0.0, 1.0)),
            NodeConfig(position=(-10.0, 5.0, 1.0)),
            NodeConfig(position=(0.0, -20.0, 1.0)),
        ],
        description="edge expert devices (1..32)",
    )
    area: tuple[float, float, float, float] = Field(
        (-50.0, 50.0, -50.0, 50.0), description="xmin, xmax, ymin, ymax bounding random mobility"
    )
    wifi: WifiConfig = Field(default_factory=WifiConfig)
    propagation: PropagationConfig = Field(default_factory=PropagationConfig)
    heartbeat_interval_s: float = Field(
        0.1, gt=0, description="experts' discovery beacon period (keeps SNR observations fresh)"
    )
    warmup_s: float = Field(1.0, ge=0, description="simulated time before the first task")
    tcp_syn_timeout_s: float = Field(
        1.0,
        gt=0,
        allow_inf_nan=False,
        description="TCP's first SYN retransmission timeout, doubled on each retry (RFC 6298 "
        "and Linux: 1 s; ns-3's TcpSocket::ConnTimeout default is RFC 1122's 3 s)",
    )
    building: BuildingConfig | None = Field(
        None, description="a building with rooms (needs propagation.model: buildings)"
    )
    ns2_trace: Path | None = Field(
        None,
        description="ns-2 movement trace (SUMO, BonnMotion) for nodes of mobility ns2; "
        "relative paths are from the repository",
    )
    background: BackgroundConfig = Field(default_factory=BackgroundConfig)
    lte: LteConfig = Field(default_factory=LteConfig)
    pcap_prefix: str | None = Field(
        None, description="write a pcap per Wi-Fi device: <prefix>-<node>-<device>.pcap"
    )
    flowmon_xml: str | None = Field(
        None, description="write ns-3 FlowMonitor statistics to this XML file when the run ends"
    )
    extra_args: list[str] = Field(
        default_factory=list, description="further --flags passed verbatim to the program"
    )

    @field_validator("experts")
    @classmethod
    def _expert_count(cls, v: list[NodeConfig]) -> list[NodeConfig]:
        if not 1 <= len(v) <= 32:
            raise ValueError(f"need 1..32 experts, got {len(v)}")
        return v

    @model_validator(mode="after")
    def _area(self) -> ScenarioConfig:
        xmin, xmax, ymin, ymax = self.area
        if xmin >= xmax or ymin >= ymax:
            raise ValueError("area must be xmin < xmax, ymin < ymax")
        if self.building is not None and self.propagation.model != "buildings":
            raise ValueError(
                "building needs propagation.model: buildings (walls are in that model)"
            )
        if self.is_lte:
            unsupported = [
                name
                for name, on in (
                    ("building", self.building is not None),
                    ("background", self.background.stations > 0),
                    ("pcap_prefix", bool(self.pcap_prefix)),
                    ("flowmon_xml", bool(self.flowmon_xml)),
                )
                if on
            ]
            if unsupported:
                raise ValueError(
                    f"{', '.join(unsupported)}: not supported by {self.program} (Wi-Fi only)"
                )
        uses_ns2 = any(n.mobility == "ns2" for n in [self.user, *self.experts])
        if uses_ns2 and self.ns2_trace is None:
            raise ValueError("a node has mobility ns2 but ns2_trace is not set")
        if self.ns2_trace is not None:
            if not uses_ns2:
                raise ValueError("ns2_trace is set but no node has mobility ns2")
            if not self.ns2_trace_path().is_file():
                raise ValueError(f"ns2_trace: no such file {self.ns2_trace_path()}")
        return self

    def ns2_trace_path(self) -> Path | None:
        """The ns-2 trace as an absolute path (relative ones are from the repository)."""
        if self.ns2_trace is None:
            return None
        return self.ns2_trace if self.ns2_trace.is_absolute() else REPO_ROOT / self.ns2_trace

    @property
    def num_experts(self) -> int:
        return len(self.experts)

    @property
    def is_lte(self) -> bool:
        """The program is the LTE scenario (edge-moe-lte), which takes the lte flags."""
        return Path(self.program).name in LTE_PROGRAMS

    def argv(self, rng_run: int) -> list[str]:
        """Command-line flags for the scenario program (without the program itself)."""
        nodes = ";".join(n.spec() for n in [self.user, *self.experts])
        if self.is_lte:
            ns2 = [f"--ns2Trace={self.ns2_trace_path()}"] if self.ns2_trace is not None else []
            return [
                f"--numExperts={self.num_experts}",
                f"--nodes={nodes}",
                f"--area={','.join(f'{v:g}' for v in self.area)}",
                *self.lte.argv(),
                f"--warmup={self.warmup_s:g}",
                f"--RngRun={rng_run}",
                f"--synTimeout={self.tcp_syn_timeout_s:g}",
                *ns2,
                *self.extra_args,
            ]
        p, w = self.propagation, self.wifi
        return [
            f"--numExperts={self.num_experts}",
            f"--nodes={nodes}",
            f"--area={','.join(f'{v:g}' for v in self.area)}",
            f"--standard={w.standard}",
            f"--band={w.band_ghz:g}",
            f"--channelWidth={w.channel_width_mhz}",
            f"--rateManager={w.rate_manager}",
            f"--txPowerDbm={w.tx_power_dbm:g}",
            f"--lowAckThreshold={w.low_ack_threshold}",
            f"--keepStaticArp={int(w.keep_static_arp)}",
            f"--propagation={p.model}",
            f"--exponent={p.exponent:g}",
            f"--referenceLoss={p.reference_loss_db:g}",
            f"--nakagami={int(p.nakagami)}",
            f"--nakagamiM={p.nakagami_m:g}",
            f"--heartbeatInterval={self.heartbeat_interval_s:g}",
            f"--warmup={self.warmup_s:g}",
            f"--RngRun={rng_run}",
            f"--synTimeout={self.tcp_syn_timeout_s:g}",
            *self._optional_args(),
            *self.extra_args,
        ]

    def _optional_args(self) -> list[str]:
        """Flags of the optional features, only when they are used (older flags unchanged)."""
        p, out = self.propagation, []
        if p.model == "buildings":
            out += [f"--wallLossDb={p.wall_loss_db:g}", f"--shadowSigmaDb={p.shadow_sigma_db:g}"]
        if self.building is not None:
            b = self.building
            out += [
                f"--building={','.join(f'{v:g}' for v in b.bounds)}",
                f"--buildingType={b.type}",
                f"--rooms={b.rooms[0]},{b.rooms[1]}",
                f"--floors={b.floors}",
            ]
        if self.ns2_trace is not None:
            out.append(f"--ns2Trace={self.ns2_trace_path()}")
        bg = self.background
        if bg.stations > 0:
            out += [
                f"--bgStations={bg.stations}",
                f"--bgLoadMbps={bg.load_mbps:g}",
                f"--bgAp={','.join(f'{v:g}' for v in bg.ap_position)}",
                f"--bgRadius={bg.radius:g}",
                f"--bgPacketBytes={bg.packet_bytes}",
            ]
        if self.pcap_prefix:
            out.append(f"--pcap={self.pcap_prefix}")
        if self.flowmon_xml:
            out.append(f"--flowmonXml={self.flowmon_xml}")
        return out


class TaskConfig(_Strict):
    """Where tasks come from and how they load the network."""

    table: Path = Field(
        Path("data/quality_table.parquet"),
        description="quality table (Parquet/CSV); relative paths are from the repository",
    )
    episode_tasks: int = Field(20, ge=1, description="tasks (steps) per episode")
    deadline_s: float = Field(
        10.0, gt=0, description="a reply later than this (compute time included) is lost"
    )
    gap_s: float = Field(
        1.0, ge=0, description="mean simulated idle time between tasks (exponential)"
    )
    request_overhead_bytes: int = Field(
        200, ge=0, description="bytes added to each request (protocol, context)"
    )
    edge_words_per_s: float = Field(
        50.0, gt=0, description="an edge expert's generation speed, sets the reply's compute time"
    )

    def table_path(self) -> Path:
        return self.table if self.table.is_absolute() else REPO_ROOT / self.table


class RewardConfig(_Strict):
    """reward = w_quality*quality - compute_cost - tx_cost (see docs/environment.md)."""

    w_quality: float = Field(1.0, ge=0, description="weight of the fused answer's judge score")
    local_word_cost: float = Field(
        0.02, ge=0, description="compute cost per word generated on the user device"
    )
    edge_word_cost: float = Field(
        0.005, ge=0, description="compute cost per word generated on an edge expert"
    )
    w_time: float = Field(1.0, ge=0, description="cost per second of reply delay, summed")
    w_energy: float = Field(
        100.0, ge=0, description="cost per joule of user-device radio energy on the exchanges"
    )
    lost_penalty: float = Field(2.0, ge=0, description="cost per reply lost past the deadline")


class ShannonConfig(_Strict):
    """The paper's closed-form model: SNR -> Shannon rate -> time and energy."""

    snr: Literal["distance", "random"] = Field(
        "distance", description="SNR from the path-loss model at the current distance, or random"
    )
    random_snr_db: tuple[float, float] = Field(
        (0.0, 30.0), description="uniform SNR range for snr: random"
    )
    noise_dbm: float = Field(-94.0, description="noise power over the channel (20 MHz, NF 7)")
    efficiency: float = Field(1.0, gt=0, le=1, description="fraction of Shannon capacity achieved")
    min_snr_db: float = Field(
        -2.0, description="below this SNR the link is down and the reply is lost"
    )
    tx_power_w: float = Field(1.0, gt=0, description="user-device radio draw while sending")
    rx_power_w: float = Field(0.9, gt=0, description="user-device radio draw while receiving")
    # Protocol overhead the formula leaves out (0: the paper's model). Measured on ns-3 by
    # bench/fit_shannon_overhead.py: per expert used, its exchange costs the user device
    # airtime energy beyond the payload's, roughly independent of the SNR.
    link_energy_j: float = Field(
        0.0, ge=0, description="extra radio energy per expert used in a task (link set-up)"
    )
    exchange_energy_j: float = Field(
        0.0, ge=0, description="extra radio energy per offloaded subtask (handshake, ACKs)"
    )
    link_power_w: float = Field(
        0.0, ge=0, description="extra radio draw per expert used while its exchange is open"
    )
    # ns-3's rate control can lose a connection's SYN on a good link (docs/results.md,
    # "Where the gap is"): TCP then waits its retransmission timeout.
    stall_prob: float = Field(
        0.0, ge=0, le=1, description="chance per expert used in a task that its exchanges stall"
    )
    stall_s: float = Field(
        1.0, ge=0, description="how much longer a stalled exchange takes (the SYN timeout)"
    )
    # ns-3 loses replies of associated experts heard at 12-15 dB (bench/loss_vs_snr.py);
    # the formula loses none above min_snr_db.
    loss_snr50_db: float | None = Field(
        None, description="SNR at which half the replies are lost (logistic; None: none are)"
    )
    loss_width_db: float = Field(0.5, gt=0, description="width of that logistic (dB)")


class BridgeConfig(_Strict):
    """Process-level settings of the shared-memory bridge."""

    spin: int = Field(2000, ge=0, description="busy-poll iterations before a wait sleeps")
    timeout_s: float = Field(120.0, gt=0, description="longest wait for one scenario answer")


class EnvConfig(_Strict):
    """Everything one EdgeMoE environment needs."""

    backend: Literal["ns3", "shannon"] = Field("ns3", description="who measures the network")
    seed: int = Field(0, ge=0, description="default seed (reset(seed=...) overrides)")
    scenario: ScenarioConfig = Field(default_factory=ScenarioConfig)
    tasks: TaskConfig = Field(default_factory=TaskConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)
    shannon: ShannonConfig = Field(default_factory=ShannonConfig)
    bridge: BridgeConfig = Field(default_factory=BridgeConfig)


def _one_line(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{source}: {where}: {msg}{more}"


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing or malformed file is a one-line ConfigError."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} not valid YAML") from None
    return {} if data is None else data


def load_config(source: str | Path | dict[str, Any] | EnvConfig) -> EnvConfig:
    """Load and validate an environment config from a YAML path, a dict, or pass one through.

    A YAML file may hold the env config at top level or under an ``env:`` key (so an
    experiment file can carry other sections too).
    """
    if isinstance(source, EnvConfig):
        return source
    name = "config"
    if isinstance(source, (str, Path)):
        name = str(source)
        data = read_yaml(source)
    else:
        data = source
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a mapping at top level")
    if "env" in data:
        data = data["env"]
        if not isinstance(data, dict):
            raise ConfigError(f"{name}: env: expected a mapping")
    try:
        return EnvConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, name)) from None
