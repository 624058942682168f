"""Judges: score a text 0 (worst) .. 10 (best). The registry of the offline judges and
the one import point for every judge name.

- ``judge_offline``: ``OfflineJudge`` (v3, sentence embeddings only), ``OfflineLMJudge``
  (v4, v3's terms plus a language-model coherence term) and the text measures they are
  built from (``sentences``, ``order_violations``, ``repetition``); formulas there.
- ``judge_lm``: ``LMScorer``, v4's local causal LM (loaded once per process) and its
  context gain.
- ``judge_llm``: ``LLMJudge``, the paper's prompt (``PAPER_JUDGE_PROMPT``, method of arXiv
  2304.00723) on any text backend, and ``parse_score`` of its answer.
- here: ``JUDGES``, ``DEFAULT_OFFLINE_JUDGE``, ``make_offline_judge``.
"""

from __future__ import annotations

from .embed import Embedder
from .judge_llm import PAPER_JUDGE_PROMPT, LLMJudge, parse_score
from .judge_lm import LMScorer
from .judge_offline import (
    OfflineJudge,
    OfflineLMJudge,
    OfflineScore,
    order_violations,
    repetition,
    sentences,
)

__all__ = [
    "DEFAULT_OFFLINE_JUDGE",
    "JUDGES",
    "PAPER_JUDGE_PROMPT",
    "LLMJudge",
    "LMScorer",
    "OfflineJudge",
    "OfflineLMJudge",
    "OfflineScore",
    "make_offline_judge",
    "order_violations",
    "parse_score",
    "repetition",
    "sentences",
]

JUDGES = {OfflineJudge.name: OfflineJudge, OfflineLMJudge.name: OfflineLMJudge}
"""Offline judges by version name (the names a config may give, ``config.OfflineJudgeName``);
``OfflineLMJudge`` (v4) judged the shipped table."""

DEFAULT_OFFLINE_JUDGE = OfflineLMJudge.name
"""The recommended offline judge: v4 met the issue's 90 % targets on the held-out set 4
(docs/llm-pipeline.md) and judged the shipped table. A table config selects it with
``judge.offline`` (``configs/table_default.yaml`` does); the field itself defaults to
v3, the faster embedding-only judge."""


def make_offline_judge(
    name: str, embedder: Embedder, lm_chunk_tokens: int | None = None
) -> OfflineJudge:
    """The offline judge called ``name`` (one of ``JUDGES``); ``ValueError`` otherwise.
    ``lm_chunk_tokens``: v4's ``LMScorer(chunk_tokens=...)`` (ignored by v3)."""
    if name not in JUDGES:
        raise ValueError(f"unknown offline judge {name!r} (known: {', '.join(JUDGES)})")
    if JUDGES[name] is OfflineLMJudge:
        return OfflineLMJudge(embedder, lm=LMScorer(chunk_tokens=lm_chunk_tokens))
    return JUDGES[name](embedder)
