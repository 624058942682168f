"""An experiment file: the environment plus how to train, compare and sweep.

YAML layout (every section optional except the environment)::

    env_base: configs/default.yaml   # optional: start from this env config ...
    env: {reward: {w_time: 2.0}}     # ... and deep-merge these overrides (or a full env)
    train: {epochs: 300, num_envs: 2, sac: {gamma: 0.5}}
    compare: {seeds: 5, methods: [sac, random, local, greedy-snr, quality-greedy, upper-bound]}
    sweep: {seeds: [0, 1], scenarios: {...}, reward_weights: [...]}

Any mistake raises :class:`ExperimentError` with one line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from agents.sac_config import SACConfig
from netmoe_runtime.config_base import ConfigError, StrictModel, one_line, read_yaml, validate
from pybridge.config import EnvConfig, load_config
from pybridge.paths import REPO_ROOT

METHODS = (
    "sac", "random", "local", "greedy-snr", "least-loaded", "quality-greedy", "round-robin",
    "table-oracle", "table-oracle-masked", "upper-bound", "upper-bound-masked",
    "coordinate-descent",
)  # fmt: skip
#: methods only a multi-user experiment (its env names its users) has
MULTI_USER_ONLY = ("coordinate-descent",)
#: a single-user compare's default methods: the list before round-robin existed, so that
#: an experiment without compare.methods compares as before (round-robin on request)
SINGLE_USER_DEFAULT = tuple(
    m for m in METHODS if m not in ("round-robin", "upper-bound-masked", *MULTI_USER_ONLY)
)
#: methods that need one user (they read the single-user env's quality table and reward,
#: or SAC's single-user mask)
SINGLE_USER_ONLY = ("table-oracle", "table-oracle-masked", "upper-bound-masked")


SECTIONS = frozenset({"env_base", "env", "train", "compare", "sweep"})  # of an experiment file


class ExperimentError(ValueError):
    """A bad experiment file or option; the message is one line."""


class _Section(StrictModel):
    # strict: a YAML string or bool is never taken for a number (an int is a float)
    model_config = ConfigDict(strict=True)


class TrainConfig(_Section):
    """How one SAC run goes (YAML ``train:``)."""

    epochs: int = Field(150, ge=1, description="training epochs; one epoch = one episode per env")
    num_envs: int = Field(2, ge=1, description="environments stepped in parallel")
    vector: Literal["async", "sync"] = Field(
        "async", description="'async' (one process per env) or 'sync' (in-process)"
    )
    eval_every: int = Field(10, ge=1, description="evaluate the greedy policy every N epochs")
    eval_episodes: int = Field(5, ge=1, description="episodes per evaluation")
    checkpoint_every: int = Field(10, ge=1, description="write a checkpoint every N epochs")
    seed: int = Field(0, ge=0, description="seeds the agent, training and eval episodes")
    sac: SACConfig = Field(
        default_factory=SACConfig, description="SAC hyperparameters (agents.sac.SACConfig)"
    )
    pretrain_backend: Literal["", "ns3", "shannon"] = Field(
        "",
        description=(
            "'' (none) or a backend ('shannon') to pretrain on before the env's own backend; "
            "same quality table and reward, different network model"
        ),
    )
    pretrain_epochs: int = Field(
        0, ge=0, description="epochs on pretrain_backend before the `epochs` on the env"
    )
    pretrain_num_envs: int = Field(
        8, ge=1, description="environments per pretraining epoch (in-process, 'sync')"
    )
    pretrain_norm_carry: int = Field(
        100,
        ge=0,
        description=(
            "after pretraining, the observation statistics count as this many observations "
            "(the network features' scales differ between backends; the env's own take over)"
        ),
    )
    pretrain_keep_buffer: bool = Field(
        True, description="keep the pretraining transitions in replay when switching backends"
    )
    pretrain_replay_share: float = Field(
        0.0,
        description=(
            "with pretrain_keep_buffer, the share of every batch after the switch drawn "
            "from the pretraining transitions, the rest from the env's own (0.5: the "
            "symmetric sampling of Ball et al., RLPD, ICML 2023); 0 samples all kept "
            "transitions uniformly"
        ),
    )

    @field_validator("pretrain_replay_share")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0.0 <= v < 1.0:
            raise ValueError("must be in [0, 1)")
        return v

    @model_validator(mode="after")
    def _pretraining(self) -> TrainConfig:
        if self.pretrain_epochs and not self.pretrain_backend:
            raise ValueError("pretrain_epochs needs pretrain_backend")
        return self

    @field_serializer("sac")
    def _sac_as_written(self, sac: SACConfig) -> dict[str, Any]:
        # the settings the file gives, not the defaults: what experiment.yaml and the
        # resume fingerprint have always held
        return sac.model_dump(exclude_unset=True)


class CompareConfig(_Section):
    """Every method over several seeds (YAML ``compare:``)."""

    seeds: int = Field(5, ge=1, description="seeds 0..seeds-1 per method")
    methods: list[str] = Field(
        default_factory=lambda: list(SINGLE_USER_DEFAULT),
        description="methods (default: every one but round-robin and upper-bound-masked "
        "with one user; with "
        "several: sac, the six per-user baselines and upper-bound when (N+1)^(M K) <= "
        "oracle_candidates, else coordinate-descent)",
    )
    workers: int = Field(2, ge=1, description="parallel processes (one job each)")
    oracle_candidates: int = Field(
        256, ge=0, description="upper bound: exhaustive up to this many joint actions"
    )

    @field_validator("methods")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if m not in METHODS]
        if bad:
            raise ValueError(f"unknown {bad}; known: {list(METHODS)}")
        return v


class SweepConfig(_Section):
    """A grid of runs (YAML ``sweep:``): seeds x scenarios x reward weights."""

    seeds: list[int] = Field(default_factory=lambda: [0, 1], description="training seeds")
    scenarios: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"default": {}},
        description="name -> env overrides (deep-merged into env)",
    )
    reward_weights: list[dict[str, Any]] = Field(
        default_factory=lambda: [{}], description="list of reward overrides"
    )
    baselines: list[str] = Field(
        default_factory=lambda: ["local", "quality-greedy"],
        description="baselines evaluated beside SAC in every cell",
    )
    users: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list,
        description="grid: scenario.num_users of each cell (every scenario x users x experts; "
        "empty: no such axis)",
    )
    experts: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list,
        description="grid: numbers of experts, expert i of N at expert_radius_m * "
        "(cos 2 pi i/N, sin 2 pi i/N, 1 m) (empty: the env's experts)",
    )
    expert_radius_m: float = Field(10.0, gt=0, description="grid: radius of the experts' circle")
    max_users: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict,
        description="baseline -> the most users a cell may have for it to be evaluated there "
        "(a reference whose tries grow with M); the others are evaluated in every cell",
    )

    def grid_scenarios(self) -> dict[str, dict[str, Any]]:
        """``scenarios`` crossed with the users x experts grid: name -> env overrides
        (``scenarios`` itself without a grid)."""
        if not self.users and not self.experts:
            return self.scenarios
        out = {}
        for name, over in self.scenarios.items():
            for m in self.users or [None]:
                for n in self.experts or [None]:
                    grid: dict[str, Any] = {}
                    if m is not None:  # M copies of scenario.user (a users list gives way)
                        grid.update(users=None, num_users=m)
                    if n is not None:
                        grid["experts"] = expert_circle(n, self.expert_radius_m)
                    label = "".join(f"-{c}{v}" for c, v in (("m", m), ("n", n)) if v is not None)
                    out[name + label] = deep_merge(over, {"scenario": grid})
        return out

    @field_validator("baselines")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        known = [m for m in METHODS if m != "sac"]
        bad = [m for m in v if m not in known]
        if bad:
            raise ValueError(f"unknown {bad}; known: {known}")
        return v

    @model_validator(mode="after")
    def _capped_are_baselines(self) -> SweepConfig:
        if bad := sorted(set(self.max_users) - set(self.baselines)):
            raise ValueError(f"max_users: {bad} not in baselines")
        return self


class Experiment(StrictModel):
    """A checked experiment: the env (a raw mapping, valid for ``load_config``) and the
    train, compare and sweep sections."""

    env: dict[str, Any] = Field(description="the environment config (pybridge.config)")
    train: TrainConfig = Field(default_factory=TrainConfig, description="one SAC run")
    compare: CompareConfig = Field(default_factory=CompareConfig, description="compare")
    sweep: SweepConfig = Field(default_factory=SweepConfig, description="sweep")
    source: str = Field("experiment", description="where it was read from, for messages")

    @model_validator(mode="after")
    def _mask_reads_the_observation(self) -> Experiment:
        if self.train.sac.mask_max_fall_db is not None:
            if not load_config(self.env).observation.snr_change:
                raise ValueError(
                    "train.sac.mask_max_fall_db needs the SNR change in the observation: "
                    "set env observation.snr_change: true"
                )
        return self

    def env_config(self) -> EnvConfig:
        return load_config(self.env)

    def with_env(self, overrides: dict[str, Any]) -> Experiment:
        """A copy with env overrides deep-merged (validated)."""
        env = deep_merge(self.env, overrides)
        _validate_env(env, self.source)
        return self.model_copy(update={"env": env})

    def with_train(self, **changes: Any) -> Experiment:
        """A copy with these ``train`` settings changed (validated)."""
        return self.model_copy(
            update={"train": _changed(self.train, changes, "train", self.source)}
        )

    def with_compare(self, **changes: Any) -> Experiment:
        """A copy with these ``compare`` settings changed (validated)."""
        compare = _changed(self.compare, changes, "compare", self.source)
        return self.model_copy(update={"compare": compare})

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "train": self.train.model_dump(),
            "compare": self.compare.model_dump(),
            "sweep": self.sweep.model_dump(),
        }


def _changed(section: _Section, changes: dict[str, Any], name: str, source: str) -> Any:
    """``section`` with ``changes`` applied, checked as the file is (the unchanged
    settings keep whether they were given, so dumps stay as written)."""
    try:
        checked = type(section).model_validate({**section.model_dump(exclude={"sac"}), **changes})
    except ValidationError as exc:
        raise ExperimentError(one_line(exc, f"{source}: {name}")) from None
    # the validated values (a dict given for a section becomes its model), set as changes
    return section.model_copy(update={k: getattr(checked, k) for k in changes})


def expert_circle(n: int, radius_m: float) -> list[dict[str, Any]]:
    """N expert nodes (default radio settings) evenly on a circle around the origin, 1 m up."""
    return [
        {"position": [round(radius_m * math.cos(2 * math.pi * i / n), 3),
                      round(radius_m * math.sin(2 * math.pi * i / n), 3), 1.0]}
        for i in range(n)
    ]  # fmt: skip


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def _validate_env(env: dict[str, Any], source: str) -> None:
    try:
        load_config(env)
    except ConfigError as exc:
        raise ExperimentError(f"{source}: env: {str(exc).removeprefix('config: ')}") from None


def load_env(path: str | Path) -> EnvConfig:
    """The environment of ``path``: an env config file as it is, or an experiment file's
    merged env (its ``env_base`` with its ``env`` over it), so a bench script takes
    either."""
    data = read_yaml(path)
    if isinstance(data, dict) and (SECTIONS - {"env"}) & set(data):
        return load_experiment(path).env_config()
    return load_config(path)


def load_experiment(source: str | Path | dict[str, Any]) -> Experiment:
    """Read and check an experiment file (or dict)."""
    name = "experiment"
    if isinstance(source, (str, Path)):
        name = str(source)
        try:
            data = read_yaml(source)
        except ConfigError as exc:
            raise ExperimentError(str(exc)) from None
    else:
        data = source
    data = data or {}
    if not isinstance(data, dict):
        raise ExperimentError(f"{name}: expected a mapping at top level")
    unknown = sorted(set(data) - SECTIONS)
    if unknown:
        raise ExperimentError(f"{name}: unknown section(s) {unknown}")
    env: dict[str, Any] = {}
    if "env_base" in data:
        base = Path(data["env_base"])
        base = base if base.is_absolute() else REPO_ROOT / base
        try:
            raw = yaml.safe_load(base.read_text()) or {}
        except FileNotFoundError:
            raise ExperimentError(f"{name}: env_base: {base}: no such file") from None
        env = raw.get("env", raw) if isinstance(raw, dict) else {}
    over = data.get("env") or {}
    if not isinstance(over, dict):
        raise ExperimentError(f"{name}: env: expected a mapping")
    env = deep_merge(env, over)
    _validate_env(env, name)
    sections = {
        key: data[key] for key in ("train", "compare", "sweep") if data.get(key) is not None
    }
    return validate(
        Experiment, {"env": env, **sections, "source": name}, name, error=ExperimentError
    )
