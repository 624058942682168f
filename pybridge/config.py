"""Typed configuration of one environment: scenario, tasks, reward, backends.

A YAML file (or dict) maps onto :class:`EnvConfig`. Python owns the types and the
structure (which sections exist, which radio a program is); the scenario program owns
the value rules of the scenario and its defaults (``include/netmoe/scenario-defaults.h``)
and is asked once, by :func:`pybridge.scenario_check.check_scenario` when an
environment is built, so a bad value fails there with one line naming the field.
Values only the Python side uses (tasks, reward, the Shannon twin, the bridge) are
checked here. Every error is a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, create_model, field_validator, model_validator

import pybridge.radios.builtin  # noqa: F401 - registers the radios before ScenarioConfig
from netmoe_runtime.config_base import ConfigError, StrictModel, read_yaml, validate
from netmoe_table import DEFAULT_TABLE, resolve_path
from pybridge.flags import Flag, num, nums
from pybridge.nodes import NodeConfig
from pybridge.paths import REPO_ROOT
from pybridge.radios.base import RADIOS, Radio, radio_of
from pybridge.scenario_defaults import DEFAULTS, default_layout
from pybridge.serving import ServingConfig

__all__ = [
    "ConfigError",
    "EnvConfig",
    "NodeConfig",
    "ScenarioConfig",
    "ShannonConfig",
    "load_config",
    "read_yaml",
]


class _ScenarioBase(StrictModel):
    """The ns-3 scenario: devices, radio, mobility. Experts are numbered 1..N in order."""

    program: str = Field(
        "edge-moe",
        description="scenario program in the build tree; it decides the radio: edge-moe "
        "(Wi-Fi: takes wifi, topology, propagation, building, background, heartbeat_interval_s, "
        "pcap_prefix, flowmon_xml, netanim) or edge-moe-lte (LTE cell: takes lte, edge_servers)",
    )
    user: NodeConfig = Field(
        default_factory=NodeConfig,
        description="the user device (one user; with num_users, the template of every user)",
    )
    users: list[NodeConfig] | None = Field(
        None,
        description="several user devices, user 0 first (1..16: --numUsers); instead of "
        "user and num_users",
    )
    num_users: int | None = Field(
        None,
        description="M copies of user (1..16: --numUsers), user u at user.position + "
        "user_spread_m * (cos(2 pi u/M), sin(2 pi u/M), 0); instead of users",
    )
    user_spread_m: float = Field(
        DEFAULTS["userSpread"],
        ge=0,
        le=1e5,
        description="num_users: radius of the circle the users stand on (m; the programs' "
        "default without --nodes, scenario-defaults.h)",
    )
    experts: list[NodeConfig] = Field(
        default_factory=lambda: [NodeConfig(position=p) for p in default_layout()[1:]],
        description="edge expert devices (1..32); default: the program's layout without "
        "--nodes (scenario-defaults.h: numExperts on a circle of radius around the user; "
        "edge-moe's shown)",
    )
    area: tuple[float, float, float, float] | None = Field(
        None,
        description="xmin, xmax, ymin, ymax bounding random mobility (default: the radio's, "
        "from scenario-defaults.h)",
    )
    warmup_s: float = Field(DEFAULTS["warmup"], description="simulated time before the first task")
    tcp_syn_timeout_s: float = Field(
        DEFAULTS["synTimeout"],
        description="TCP's first SYN retransmission timeout, doubled on each retry (RFC 6298 "
        "and Linux: 1 s; ns-3's TcpSocket::ConnTimeout default is RFC 1122's 3 s)",
    )
    observe: Literal["heartbeat", "probe"] = Field(
        DEFAULTS["observe"],
        description="how the user device keeps its observation fresh: probe (edge-moe: one "
        "broadcast query just before a decision when an expert was not heard within "
        "probe_max_age_s, answered by every expert; edge-moe-lte: nothing, the cell's reports "
        "are fresh) or heartbeat (edge-moe's experts send one every heartbeat_interval_s); "
        "docs/scenario.md",
    )
    probe_max_age_s: float = Field(
        DEFAULTS["probeMaxAge"],
        description="observe: probe: query when an expert's last sample would be older than "
        "this at the decision (default: one heartbeat period)",
    )
    probe_lead_s: float = Field(
        DEFAULTS["probeLead"],
        description="observe: probe: the query leaves this long before the decision",
    )
    probe_jitter_s: float = Field(
        DEFAULTS["probeJitter"],
        description="observe: probe: each expert delays its answer by uniform [0, this] so "
        "that answers do not collide (RFC 6762's responder delay); below probe_lead_s",
    )
    probe_answers: int = Field(
        DEFAULTS["probeAnswers"],
        description=f"observe: probe: frames per answer, {DEFAULTS['probeAnswerSpacing'] * 1e3:g} "
        "ms apart, each a fresh SNR sample (the observation averages them, snr_alpha); "
        "probe_jitter_s + (this - 1) x that spacing must be below probe_lead_s",
    )
    probe_repair_max_s: float = Field(
        DEFAULTS["probeRepairMax"],
        description="observe: probe: repair queries to an expert the user device dropped "
        "repeat at intervals that double (from probe_lead_s in a task, probe_max_age_s in a "
        "gap) up to this but never below the first, as mDNS spaces repeated queries (with "
        "the defaults a gap keeps 0.1 s); 0: no doubling (the fixed cadence before "
        "2026-12-07)",
    )
    ns2_trace: Path | None = Field(
        None,
        description="ns-2 movement trace (SUMO, BonnMotion) for nodes of mobility ns2; "
        "relative paths are from the repository",
    )
    serving: ServingConfig = Field(
        default_factory=ServingConfig,
        description="experts as LLM servers: profiles, queues, streaming (both radios)",
    )
    extra_args: list[str] = Field(
        default_factory=list, description="further --flags passed verbatim to the program"
    )

    @field_validator("ns2_trace", mode="before")
    @classmethod
    def _a_path(cls, v: object) -> object:
        if isinstance(v, str) and not v.strip():  # Path("") would be the repository itself
            raise ValueError("an empty path; leave the key out for no trace")
        return v

    @field_validator("program")
    @classmethod
    def _known_program(cls, v: str) -> str:
        radio_of(v)  # ValueError names the known programs
        return v

    @model_validator(mode="after")
    def _only_own_radio(self) -> _ScenarioBase:
        """A setting of another radio would be silently ignored: refuse it instead."""
        own = self.radio
        for radio in RADIOS.values():
            if radio is own:
                continue
            for name in radio.fields:
                if name in self.model_fields_set and getattr(self, name) != (
                    type(self).model_fields[name].get_default(call_default_factory=True)
                ):
                    raise ValueError(
                        f"{name} is a {radio.name} setting, but scenario.program "
                        f"{self.program!r} is {own.name}: remove {name} or change the program"
                    )
        return self

    @model_validator(mode="after")
    def _a_profile_per_expert(self) -> _ScenarioBase:
        names = self.serving.experts
        if isinstance(names, list) and len(names) != len(self.experts):
            raise ValueError(
                f"serving.experts names {len(names)} profiles for {len(self.experts)} experts "
                "(give one name for all, or one per expert)"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _program_default_experts(cls, data: Any) -> Any:
        """Without ``experts``: where the program puts them without ``--nodes``."""
        if isinstance(data, dict) and "experts" not in data:
            try:
                layout = radio_of(str(data.get("program", "edge-moe"))).default_layout
            except ValueError:
                return data  # the program field's own check names it
            data = {**data, "experts": [{"position": p} for p in layout[1:]]}
        return data

    @model_validator(mode="after")
    def _one_way_to_give_users(self) -> _ScenarioBase:
        if self.users is None:
            return self
        if self.num_users is not None:
            raise ValueError("give users or num_users, not both")
        if self.user != NodeConfig():
            raise ValueError("give user (one, or num_users copies) or users, not both")
        return self

    @property
    def user_nodes(self) -> list[NodeConfig]:
        """The user devices, user 0 first: ``users``, ``num_users`` copies of ``user`` on a
        circle of ``user_spread_m`` around its position, or ``user`` alone."""
        if self.users is not None:
            return list(self.users)
        m = 1 if self.num_users is None else self.num_users
        if m == 1:
            return [self.user]
        x, y, z = self.user.position
        r = self.user_spread_m
        return [
            self.user.model_copy(
                update={
                    "position": (  # to the nanometre: no 1e-16 in the command line
                        round(x + r * math.cos(2 * math.pi * u / m), 9),
                        round(y + r * math.sin(2 * math.pi * u / m), 9),
                        z,
                    )
                }
            )
            for u in range(m)
        ]

    @property
    def radio(self) -> Radio:
        return radio_of(self.program)

    @property
    def bounds(self) -> tuple[float, ...]:
        """``area``, or the radio's default area."""
        return self.area if self.area is not None else self.radio.default_area

    @property
    def num_wired(self) -> int:
        """Wired edge servers (the radio's section says how many), experts after ``experts``."""
        wired = self.radio.wired(self)  # type: ignore[arg-type]
        return wired.count if wired is not None else 0

    @property
    def num_experts(self) -> int:
        """Every expert the action addresses: the radio ones, then the wired servers."""
        return len(self.experts) + self.num_wired

    def ns2_trace_path(self) -> Path | None:
        """The ns-2 trace as an absolute path (relative ones are from the repository)."""
        if self.ns2_trace is None:
            return None
        return self.ns2_trace if self.ns2_trace.is_absolute() else REPO_ROOT / self.ns2_trace

    def flags(self, rng_run: int) -> list[Flag]:
        """The program's flags, each with the config field it comes from (the optional
        ones not in use marked ``given=False``)."""
        users = self.user_nodes
        nodes = ";".join(n.spec() for n in [*users, *self.experts])
        ns2 = self.ns2_trace_path()
        users_field = "scenario.users" if self.users is not None else "scenario.num_users"
        return [
            # passed with several users only, so one user's command line is unchanged
            Flag("numUsers", str(len(users)), users_field, len(users) != 1),
            Flag("numExperts", str(len(self.experts)), "scenario.experts"),
            Flag("nodes", nodes, "scenario.experts"),
            Flag("area", nums(self.bounds), "scenario.area"),
            *self.radio.flags(self),  # type: ignore[arg-type]
            Flag("warmup", num(self.warmup_s), "scenario.warmup_s"),
            Flag("RngRun", str(rng_run), "seed"),
            Flag("synTimeout", num(self.tcp_syn_timeout_s), "scenario.tcp_syn_timeout_s"),
            Flag("ns2Trace", str(ns2 or ""), "scenario.ns2_trace", ns2 is not None),
            # passed when not the program's default, so older configs keep their command line
            Flag("observe", self.observe, "scenario.observe", self.observe != DEFAULTS["observe"]),
            Flag(
                "probeMaxAge",
                num(self.probe_max_age_s),
                "scenario.probe_max_age_s",
                self.probe_max_age_s != DEFAULTS["probeMaxAge"],
            ),
            Flag(
                "probeLead",
                num(self.probe_lead_s),
                "scenario.probe_lead_s",
                self.probe_lead_s != DEFAULTS["probeLead"],
            ),
            Flag(
                "probeJitter",
                num(self.probe_jitter_s),
                "scenario.probe_jitter_s",
                self.probe_jitter_s != DEFAULTS["probeJitter"],
            ),
            Flag(
                "probeAnswers",
                str(self.probe_answers),
                "scenario.probe_answers",
                self.probe_answers != DEFAULTS["probeAnswers"],
            ),
            Flag(
                "probeRepairMax",
                num(self.probe_repair_max_s),
                "scenario.probe_repair_max_s",
                self.probe_repair_max_s != DEFAULTS["probeRepairMax"],
            ),
            *self.serving.flags(),
        ]

    def argv(self, rng_run: int) -> list[str]:
        """Command-line arguments for the scenario program (without the program itself)."""
        return [f.arg for f in self.flags(rng_run) if f.given] + list(self.extra_args)


# Each radio adds the sections it owns (scenario.wifi, scenario.lte, ...).
ScenarioConfig = create_model(  # type: ignore[call-overload]
    "ScenarioConfig",
    __base__=_ScenarioBase,
    __doc__=_ScenarioBase.__doc__,
    **{name: spec for radio in RADIOS.values() for name, spec in radio.fields.items()},
)


class ArrivalConfig(StrictModel):
    """When each user's task starts within a round (several users)."""

    mode: Literal["simultaneous", "random"] = Field(
        "simultaneous",
        description="simultaneous: every user's task at the round's start; random: user u's "
        "at an offset drawn uniformly in [0, max_offset_s] from the env's seeded RNG",
    )
    max_offset_s: float = Field(
        0.0, ge=0, le=3600, description="mode random: the latest start after the round's start"
    )


class TaskConfig(StrictModel):
    """Where tasks come from and how they load the network. The deadline and the gap are
    also checked by the scenario program (the rule it applies to every action)."""

    table: Path = Field(
        DEFAULT_TABLE,
        description="quality table (Parquet/CSV); relative paths are from the repository",
    )
    episode_tasks: int = Field(20, ge=1, le=1_000_000, description="tasks (steps) per episode")
    deadline_s: float = Field(
        10.0, description="a reply later than this (compute time included) is lost"
    )
    gap_s: float = Field(1.0, description="mean simulated idle time between tasks (exponential)")
    request_overhead_bytes: int = Field(
        200, ge=0, le=10_000_000, description="bytes added to each request (protocol, context)"
    )
    edge_words_per_s: float = Field(
        50.0, gt=0, description="an edge expert's generation speed, sets the reply's compute time"
    )
    expert_writers: list[int] | None = Field(
        None,
        description="the table writer (1..W, its expert columns) each expert device 1..N "
        "runs, one per device; default: device i runs writer ((i-1) mod W) + 1",
    )
    arrival: ArrivalConfig = Field(
        default_factory=ArrivalConfig, description="when each user's task starts in a round"
    )
    subtasks_per_task: int | None = Field(
        None,
        ge=1,
        description="K, the subtasks of one task: the subtasks of ceil(K / K_t) consecutive "
        "table prompts (K_t: the table's split; the last prompt cut short), the quality the "
        "sum of theirs weighted by subtasks / K_t; at most the bridge's 16; default: the "
        "table's K_t (today's tasks)",
    )

    @field_validator("expert_writers")
    @classmethod
    def _writers_from_one(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(w < 1 for w in v):
            raise ValueError(f"writers are numbered from 1 (the table's experts), got {v}")
        return v

    def table_path(self) -> Path:
        """The table's absolute path (``netmoe_table.resolve_path``: from the repository)."""
        return resolve_path(self.table)


class RewardConfig(StrictModel):
    """reward = w_quality*quality - compute_cost - tx_cost - w_latency*task latency
    (see docs/environment.md)."""

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
    w_latency: float = Field(
        0.0,
        ge=0,
        description="cost per second of the task's end-to-end latency (task_latency_s: "
        "every subtask, local ones included, plus the fusion); 0 keeps the paper's reward",
    )


class ShannonConfig(StrictModel):
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

    @model_validator(mode="after")
    def _range(self) -> ShannonConfig:
        lo, hi = self.random_snr_db
        if lo > hi:
            raise ValueError("random_snr_db must be (low, high) with low <= high")
        return self


class BridgeConfig(StrictModel):
    """Process-level settings of the shared-memory bridge."""

    spin_us: float = Field(
        50.0,
        ge=0,
        le=1_000_000,
        description="longest busy-poll (us) before a wait sleeps; only while the peer runs "
        "on another CPU",
    )
    timeout_s: float = Field(
        120.0, ge=1, le=86_400, description="longest wait for one scenario answer"
    )


class ObservationConfig(StrictModel):
    """Optional features of the observation vector (``pybridge.observation``)."""

    snr_change: bool = Field(
        False,
        description="add each expert's SNR change since the previous decision (dB / 40): "
        "what the device can tell of a link it is leaving; SAC's mask_max_fall_db reads it",
    )


class EnvConfig(StrictModel):
    """Everything one EdgeMoE environment needs."""

    backend: Literal["ns3", "shannon"] = Field("ns3", description="who measures the network")
    seed: int = Field(0, ge=0, description="default seed (reset(seed=...) overrides)")
    scenario: ScenarioConfig = Field(default_factory=ScenarioConfig)  # type: ignore[valid-type]
    tasks: TaskConfig = Field(default_factory=TaskConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)
    shannon: ShannonConfig = Field(default_factory=ShannonConfig)
    bridge: BridgeConfig = Field(default_factory=BridgeConfig)
    observation: ObservationConfig = Field(default_factory=ObservationConfig)


def config_source(source: Any) -> str:
    """How a config source is named in error messages: its path, or ``config``."""
    return str(source) if isinstance(source, (str, Path)) else "config"


def load_config(source: str | Path | dict[str, Any] | EnvConfig) -> EnvConfig:
    """Load an environment config from a YAML path, a dict, or pass one through.

    Checks types and structure (one-line :class:`ConfigError`); the scenario's values
    are checked by its program when an environment is built. A YAML file may hold the env
    config at top level or under an ``env:`` key (so an experiment file can carry other
    sections too).
    """
    if isinstance(source, EnvConfig):
        return source
    name = config_source(source)
    data = read_yaml(source) if isinstance(source, (str, Path)) else source
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a mapping at top level")
    if "env" in data:
        data = data["env"]
        if not isinstance(data, dict):
            raise ConfigError(f"{name}: env: expected a mapping")
    return validate(EnvConfig, data, name)
