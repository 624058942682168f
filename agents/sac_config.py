"""Hyperparameters of the discrete SAC agent (YAML ``train: sac:``), one help string each.

Kept apart from ``agents.sac`` (the algorithm) so the experiment loader can check them;
``agents.sac`` re-exports :class:`SACConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


def _h(text: str) -> Any:
    return {"help": text}


@dataclass
class SACConfig:
    """Every hyperparameter of the agent (YAML: ``train: sac:``)."""

    hidden: int = field(default=128, metadata=_h("units in each of the two hidden layers"))
    gamma: float = field(
        default=0.0,
        metadata=_h(
            "discount; 0 scores each task on its own: the next prompt is drawn "
            "independently of the action, and bootstrapping from it only adds that "
            "prompt's value to every target as noise (table regret of the pretrained "
            "policy 0.029 at 0 vs 0.081 at 0.5 with 8 pretraining envs, "
            "bench/sac_probe.py --mode regret; docs/results.md)"
        ),
    )
    tau: float = field(default=0.01, metadata=_h("Polyak rate of the target critics"))
    policy_lr: float = field(default=3e-4, metadata=_h("Adam learning rate of the actor"))
    q_lr: float = field(default=1e-3, metadata=_h("Adam learning rate of the critics"))
    alpha_lr: float = field(default=3e-3, metadata=_h("Adam learning rate of log(alpha)"))
    batch_size: int = field(default=128, metadata=_h("transitions per gradient step"))
    buffer_size: int = field(default=50_000, metadata=_h("replay capacity (transitions)"))
    learning_starts: int = field(
        default=400, metadata=_h("env transitions with uniform random actions before learning")
    )
    updates_per_step: int = field(
        default=4, metadata=_h("gradient steps per vector-env step (all envs together)")
    )
    autotune: bool = field(default=True, metadata=_h("tune the entropy weight alpha"))
    alpha: float = field(default=0.2, metadata=_h("entropy weight (start value if autotune)"))
    action_head: str = field(
        default="auto",
        metadata=_h(
            "'joint' (one categorical and one Q per joint action, (N+1)^K outputs), "
            "'factored' (one per subtask, Q = sum_k q[k, a_k]) or 'auto' (joint when "
            "(N+1)^K <= joint_max_actions)"
        ),
    )
    joint_max_actions: int = field(
        default=256, metadata=_h("'auto' uses the joint head up to this many joint actions")
    )
    obs_norm: bool = field(
        default=True,
        metadata=_h(
            "standardise observations with running mean and std (the features that tell "
            "prompts apart vary by ~0.03, the SNR features by ~0.5)"
        ),
    )
    mask_unreachable: bool = field(
        default=True,
        metadata=_h(
            "never pick an expert the observation says is unreachable (with the env's "
            "layout: not associated); such joint actions get probability 0"
        ),
    )
    mask_min_snr_db: float = field(
        default=15.0,
        metadata=_h(
            "with mask_unreachable, also never pick an expert last heard below this SNR "
            "(dB): on the default scenario associated experts lost replies only below "
            "15 dB observed SNR (bench/loss_vs_snr.py); -inf masks on association alone"
        ),
    )
    target_entropy_scale: float = field(
        default=0.3,
        metadata=_h(
            "target entropy = scale * K * log(N+1), a fraction of the maximum entropy "
            "of K uniform categoricals (0.3 beat 0.5 by 0.13 +- 0.09 per task on ns-3 "
            "training seeds 8-15, which no reported evaluation uses; docs/results.md)"
        ),
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SACConfig:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown sac setting(s) {unknown}; known: {sorted(known)}")
        cfg = cls(**data)
        for f in fields(cls):
            value = getattr(cfg, f.name)
            want = {"int": int, "float": float, "bool": bool, "str": str}[str(f.type)]
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                setattr(cfg, f.name, float(value))
            elif not isinstance(getattr(cfg, f.name), want):
                raise ValueError(f"sac.{f.name} must be {want.__name__}, got {value!r}")
        if cfg.action_head not in ("auto", "joint", "factored"):
            raise ValueError(
                f"sac.action_head must be 'auto', 'joint' or 'factored', got {cfg.action_head!r}"
            )
        return cfg

    def use_joint(self, heads: int, choices: int) -> bool:
        """Whether the joint head is used for K = ``heads`` entries of ``choices`` values."""
        if self.action_head == "auto":
            return choices**heads <= self.joint_max_actions
        return self.action_head == "joint"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
