"""Hyperparameters of the discrete SAC agent (YAML ``train: sac:``), one help string each.

Kept apart from ``agents.sac`` (the algorithm) so the experiment loader can check them;
``agents.sac`` re-exports :class:`SACConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from netmoe_runtime.config_base import StrictModel, one_line


class SACConfig(StrictModel):
    """Every hyperparameter of the agent (YAML: ``train: sac:``)."""

    # strict: a YAML string or bool is never taken for a number (an int is a float)
    model_config = ConfigDict(strict=True)

    hidden: int = Field(128, description="units in each of the two hidden layers")
    gamma: float = Field(
        0.0,
        description=(
            "discount; 0 scores each task on its own: the next prompt is drawn "
            "independently of the action, and bootstrapping from it only adds that "
            "prompt's value to every target as noise (table regret of the pretrained "
            "policy 0.029 at 0 vs 0.081 at 0.5 with 8 pretraining envs, "
            "bench/sac_probe.py --mode regret; docs/results.md)"
        ),
    )
    tau: float = Field(0.01, description="Polyak rate of the target critics")
    policy_lr: float = Field(3e-4, description="Adam learning rate of the actor")
    q_lr: float = Field(1e-3, description="Adam learning rate of the critics")
    alpha_lr: float = Field(3e-3, description="Adam learning rate of log(alpha)")
    batch_size: int = Field(128, description="transitions per gradient step")
    buffer_size: int = Field(50_000, description="replay capacity (transitions)")
    learning_starts: int = Field(
        400, description="env transitions with uniform random actions before learning"
    )
    updates_per_step: int = Field(
        4, description="gradient steps per vector-env step (all envs together)"
    )
    autotune: bool = Field(True, description="tune the entropy weight alpha")
    alpha: float = Field(0.2, description="entropy weight (start value if autotune)")
    action_head: Literal["auto", "joint", "factored"] = Field(
        "auto",
        description=(
            "'joint' (one categorical and one Q per joint action, (N+1)^K outputs), "
            "'factored' (one per subtask, Q = sum_k q[k, a_k]) or 'auto' (joint when "
            "(N+1)^K <= joint_max_actions)"
        ),
    )
    joint_max_actions: int = Field(
        256, description="'auto' uses the joint head up to this many joint actions"
    )
    obs_norm: bool = Field(
        True,
        description=(
            "standardise observations with running mean and std (the features that tell "
            "prompts apart vary by ~0.03, the SNR features by ~0.5)"
        ),
    )
    mask_unreachable: bool = Field(
        True,
        description=(
            "never pick an expert the observation says is unreachable (with the env's "
            "layout: not associated); such joint actions get probability 0"
        ),
    )
    mask_min_snr_db: float = Field(
        15.0,
        description=(
            "with mask_unreachable, also never pick an expert last heard below this SNR "
            "(dB): on the default scenario associated experts lost replies only below "
            "15 dB observed SNR (bench/loss_vs_snr.py); -inf masks on association alone"
        ),
    )
    mask_max_age_s: float | None = Field(
        None,
        gt=0,
        description=(
            "with mask_unreachable, also never pick an expert whose last signal sample is "
            "older than this at the decision (s): it did not answer the probe or missed "
            "its heartbeats, and such experts lost most replies (bench/loss_vs_snr.py); "
            "None: no age limit"
        ),
    )

    mask_max_fall_db: float | None = Field(
        None,
        gt=0,
        description=(
            "with mask_unreachable, also never pick an expert heard below "
            "mask_fall_below_db whose SNR fell by more than this (dB) since the previous "
            "decision: it may be moving out of range (at 15-18 dB, after a fall of more "
            "than 3 dB, 5 of 64 replies were lost, otherwise 1 of 203; "
            "bench/loss_vs_snr.py); needs the env's observation.snr_change; None: no such "
            "limit"
        ),
    )
    mask_fall_below_db: float = Field(
        18.0,
        description="mask_max_fall_db applies to experts heard below this SNR (dB)",
    )
    mask_mobile_min_snr_db: float | None = Field(
        None,
        description=(
            "with mask_unreachable, the least SNR (dB) for an expert that moves (its "
            "mobility model is not constant; a phone, not a TV): it can walk out of range "
            "while it writes, and on the default scenario the walking expert lost 6 of 100 "
            "replies heard at 15-18 dB, the static ones none of 170 (bench/loss_vs_snr.py); "
            "None: mask_min_snr_db for every expert"
        ),
    )

    def mask_limits(self) -> dict[str, float | None]:
        """The mask's limits as ``ObservationLayout.usable`` and the masked references take
        them (``min_snr_db``, ``max_age_s``, ``max_fall_db``, ``fall_below_db``,
        ``mobile_min_snr_db``): every mask of this config is this one."""
        limits: dict[str, float | None] = {
            "min_snr_db": self.mask_min_snr_db,
            "max_age_s": self.mask_max_age_s,
        }
        if self.mask_max_fall_db is not None:  # only then: an older layout has no change
            limits |= {
                "max_fall_db": self.mask_max_fall_db,
                "fall_below_db": self.mask_fall_below_db,
            }
        if self.mask_mobile_min_snr_db is not None:
            limits["mobile_min_snr_db"] = self.mask_mobile_min_snr_db
        return limits

    target_entropy_scale: float = Field(
        0.3,
        description=(
            "target entropy = scale * K * log(N+1), a fraction of the maximum entropy "
            "of K uniform categoricals (0.3 beat 0.5 by 0.13 +- 0.09 per task on ns-3 "
            "training seeds 8-15, which no reported evaluation uses; docs/results.md)"
        ),
    )
    critic: Literal["local", "central"] = Field(
        "local",
        description=(
            "what the critics see: 'local', the user's own observation (as the actor); "
            "'central' (several users only), the env's global state() with that user's "
            "rows first (centralised training, decentralised execution: the actor still "
            "acts on its own observation; docs/agents.md, 'Several users')"
        ),
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | SACConfig | None) -> SACConfig:
        """Check a ``train: sac:`` mapping (an int where a float is expected is fine); a
        mistake is a ValueError with one line ``sac: field: problem``."""
        if isinstance(data, SACConfig):
            return data
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as exc:
            raise ValueError(one_line(exc, "sac")) from None

    def use_joint(self, heads: int, choices: int) -> bool:
        """Whether the joint head is used for K = ``heads`` entries of ``choices`` values."""
        if self.action_head == "auto":
            return choices**heads <= self.joint_max_actions
        return self.action_head == "joint"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()
