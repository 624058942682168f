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

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from pybridge.config import ConfigError, EnvConfig, load_config, read_yaml
from pybridge.paths import REPO_ROOT

METHODS = (
    "sac", "random", "local", "greedy-snr", "quality-greedy", "table-oracle",
    "table-oracle-masked", "upper-bound",
)  # fmt: skip


class ExperimentError(ValueError):
    """A bad experiment file or option; the message is one line."""


def _h(text: str) -> Any:
    return {"help": text}


@dataclass
class TrainConfig:
    """How one SAC run goes (YAML ``train:``)."""

    epochs: int = field(
        default=150, metadata=_h("training epochs; one epoch = one episode per env")
    )
    num_envs: int = field(default=2, metadata=_h("environments stepped in parallel"))
    vector: str = field(
        default="async", metadata=_h("'async' (one process per env) or 'sync' (in-process)")
    )
    eval_every: int = field(default=10, metadata=_h("evaluate the greedy policy every N epochs"))
    eval_episodes: int = field(default=5, metadata=_h("episodes per evaluation"))
    checkpoint_every: int = field(default=10, metadata=_h("write a checkpoint every N epochs"))
    seed: int = field(default=0, metadata=_h("seeds the agent, training and eval episodes"))
    sac: dict[str, Any] = field(
        default_factory=dict, metadata=_h("SAC hyperparameters (agents.sac.SACConfig)")
    )
    pretrain_backend: str = field(
        default="",
        metadata=_h(
            "'' (none) or a backend ('shannon') to pretrain on before the env's own backend; "
            "same quality table and reward, different network model"
        ),
    )
    pretrain_epochs: int = field(
        default=0, metadata=_h("epochs on pretrain_backend before the `epochs` on the env")
    )
    pretrain_num_envs: int = field(
        default=8, metadata=_h("environments per pretraining epoch (in-process, 'sync')")
    )
    pretrain_norm_carry: int = field(
        default=100,
        metadata=_h(
            "after pretraining, the observation statistics count as this many observations "
            "(the network features' scales differ between backends; the env's own take over)"
        ),
    )
    pretrain_keep_buffer: bool = field(
        default=True,
        metadata=_h("keep the pretraining transitions in replay when switching backends"),
    )
    pretrain_replay_share: float = field(
        default=0.0,
        metadata=_h(
            "with pretrain_keep_buffer, the share of every batch after the switch drawn "
            "from the pretraining transitions, the rest from the env's own (0.5: the "
            "symmetric sampling of Ball et al., RLPD, ICML 2023); 0 samples all kept "
            "transitions uniformly"
        ),
    )


@dataclass
class CompareConfig:
    """Every method over several seeds (YAML ``compare:``)."""

    seeds: int = field(default=5, metadata=_h("seeds 0..seeds-1 per method"))
    methods: list[str] = field(default_factory=lambda: list(METHODS), metadata=_h("methods"))
    workers: int = field(default=2, metadata=_h("parallel processes (one job each)"))
    oracle_candidates: int = field(
        default=256, metadata=_h("upper bound: exhaustive up to this many joint actions")
    )


@dataclass
class SweepConfig:
    """A grid of runs (YAML ``sweep:``): seeds x scenarios x reward weights."""

    seeds: list[int] = field(default_factory=lambda: [0, 1], metadata=_h("training seeds"))
    scenarios: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"default": {}},
        metadata=_h("name -> env overrides (deep-merged into env)"),
    )
    reward_weights: list[dict[str, float]] = field(
        default_factory=lambda: [{}], metadata=_h("list of reward overrides")
    )
    baselines: list[str] = field(
        default_factory=lambda: ["local", "quality-greedy"],
        metadata=_h("baselines evaluated beside SAC in every cell"),
    )


@dataclass
class Experiment:
    env: dict[str, Any]
    train: TrainConfig
    compare: CompareConfig
    sweep: SweepConfig
    source: str = "experiment"

    def env_config(self) -> EnvConfig:
        return load_config(self.env)

    def with_env(self, overrides: dict[str, Any]) -> Experiment:
        """A copy with env overrides deep-merged (validated)."""
        env = deep_merge(self.env, overrides)
        _validate_env(env, self.source)
        return Experiment(env, self.train, self.compare, self.sweep, self.source)

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "train": asdict(self.train),
            "compare": asdict(self.compare),
            "sweep": asdict(self.sweep),
        }


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def _section(cls: type, data: Any, name: str, source: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ExperimentError(f"{source}: {name}: expected a mapping")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ExperimentError(f"{source}: {name}: unknown field(s) {unknown}")
    obj = cls(**data)
    for f in fields(cls):
        value, default = getattr(obj, f.name), getattr(cls(), f.name)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # YAML `0` for a float field
            setattr(obj, f.name, value)
        if isinstance(default, bool) != isinstance(value, bool) or not isinstance(
            value, type(default)
        ):
            raise ExperimentError(
                f"{source}: {name}.{f.name}: expected {type(default).__name__}, got {value!r}"
            )
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ExperimentError(f"{source}: {name}.{f.name}: must be >= 0")
    return obj


def _validate_env(env: dict[str, Any], source: str) -> None:
    try:
        load_config(env)
    except ConfigError as exc:
        raise ExperimentError(f"{source}: env: {str(exc).removeprefix('config: ')}") from None


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
    unknown = sorted(set(data) - {"env_base", "env", "train", "compare", "sweep"})
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
    train = _section(TrainConfig, data.get("train"), "train", name)
    if train.vector not in ("async", "sync"):
        raise ExperimentError(f"{name}: train.vector: must be 'async' or 'sync'")
    for f in ("epochs", "num_envs", "eval_every", "eval_episodes", "checkpoint_every",
              "pretrain_num_envs"):  # fmt: skip
        if getattr(train, f) < 1:
            raise ExperimentError(f"{name}: train.{f}: must be >= 1")
    if train.pretrain_backend not in ("", "ns3", "shannon"):
        raise ExperimentError(f"{name}: train.pretrain_backend: must be '', 'ns3' or 'shannon'")
    if not 0.0 <= train.pretrain_replay_share < 1.0:
        raise ExperimentError(f"{name}: train.pretrain_replay_share: must be in [0, 1)")
    if train.pretrain_epochs and not train.pretrain_backend:
        raise ExperimentError(f"{name}: train.pretrain_epochs needs train.pretrain_backend")
    try:
        from agents.sac import SACConfig  # torch: only when an experiment is really loaded

        SACConfig.from_dict(train.sac)
    except ValueError as exc:
        raise ExperimentError(f"{name}: train.{exc}") from None
    compare = _section(CompareConfig, data.get("compare"), "compare", name)
    bad = [m for m in compare.methods if m not in METHODS]
    if bad:
        raise ExperimentError(f"{name}: compare.methods: unknown {bad}; known: {list(METHODS)}")
    if compare.seeds < 1 or compare.workers < 1:
        raise ExperimentError(f"{name}: compare.seeds and compare.workers must be >= 1")
    sweep = _section(SweepConfig, data.get("sweep"), "sweep", name)
    return Experiment(env, train, compare, sweep, name)
