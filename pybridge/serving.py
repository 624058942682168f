"""``scenario.serving``: experts as LLM servers (queue, prefill, decode, streaming).

The scenario programs own the serving model and its value rules (``--serving``,
``--expertProfiles``, ``--localProfile``, ``--streaming``, ``--tokensPerChunk``,
``--chunkOverheadBytes``; ``ns3_scenarios/serving-profile.h``); this section names the
profiles, says which device uses which, and writes the flags. A profile's rates are
checked by the program (``edge-moe --check``), so a zero rate fails there with one line
naming ``scenario.serving...``.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from netmoe_runtime.config_base import StrictModel
from pybridge.flags import Flag, num
from pybridge.scenario_defaults import DEFAULTS


class ServingProfileConfig(StrictModel):
    """One device's LLM server."""

    prefill_tok_s: float = Field(description="prompt tokens per second")
    decode_tok_s: list[float] = Field(
        min_length=1,
        description="per-sequence decode tokens/s with 1, 2, ... generations at once on the "
        "device (the last value repeats)",
    )
    slots: int = Field(description="batch slots: generations at once")
    queue_capacity: int = Field(
        description="requests that can wait for a slot (FIFO); one more is rejected"
    )

    def spec(self) -> str:
        """The profile as the program's flags write it."""
        decode = "/".join(num(v) for v in self.decode_tok_s)
        return (
            f"prefill={num(self.prefill_tok_s)},decode={decode},"
            f"slots={self.slots},queue={self.queue_capacity}"
        )


class ServingConfig(StrictModel):
    """Experts as LLM servers; off: an expert waits the task's compute time (the paper)."""

    enabled: bool = Field(
        bool(DEFAULTS["serving"]),
        description="serve subtasks with the profiles below (queue, prefill, decode, "
        "streaming); false: an expert waits words / tasks.edge_words_per_s",
    )
    streaming: bool = Field(
        bool(DEFAULTS["streaming"]),
        description="stream each reply in chunks while decoding (false: whole reply at the end)",
    )
    tokens_per_chunk: int = Field(
        int(DEFAULTS["tokensPerChunk"]), description="tokens per streamed chunk"
    )
    chunk_overhead_bytes: int = Field(
        int(DEFAULTS["chunkOverheadBytes"]),
        description="framing bytes per chunk (default: one OpenAI chat.completion.chunk "
        "server-sent event in HTTP/1.1 chunked encoding)",
    )
    profiles: dict[str, ServingProfileConfig] = Field(
        default_factory=dict, description="named profiles that experts and local refer to"
    )
    experts: str | list[str] | None = Field(
        None,
        description="one profile name for every expert, or one per expert (None: the "
        "program's default profile, scenario-defaults.h expertProfiles)",
    )
    local: str | None = Field(
        None,
        description="the user device's profile (None: the program's default, localProfile)",
    )

    @model_validator(mode="after")
    def _names_known(self) -> ServingConfig:
        names = [self.local] if self.local is not None else []
        names += [self.experts] if isinstance(self.experts, str) else list(self.experts or [])
        for name in names:
            if name not in self.profiles:
                known = ", ".join(sorted(self.profiles)) or "none"
                raise ValueError(f"profile {name!r} is not in profiles (known: {known})")
        return self

    def flags(self) -> list[Flag]:
        """The program's serving flags; the profiles only when given."""
        f = "scenario.serving"
        experts = (
            None
            if self.experts is None
            else ";".join(
                self.profiles[n].spec()
                for n in ([self.experts] if isinstance(self.experts, str) else self.experts)
            )
        )
        local = None if self.local is None else self.profiles[self.local].spec()
        return [
            Flag("serving", str(int(self.enabled)), f"{f}.enabled"),
            Flag("expertProfiles", experts or "", f"{f}.experts", experts is not None),
            Flag("localProfile", local or "", f"{f}.local", local is not None),
            Flag("streaming", str(int(self.streaming)), f"{f}.streaming", self.enabled),
            Flag(
                "tokensPerChunk", str(self.tokens_per_chunk), f"{f}.tokens_per_chunk", self.enabled
            ),  # fmt: skip
            Flag(
                "chunkOverheadBytes",
                str(self.chunk_overhead_bytes),
                f"{f}.chunk_overhead_bytes",
                self.enabled,
            ),  # fmt: skip
        ]
