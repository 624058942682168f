"""Offline judges: a 0 (worst) .. 10 (best) score without asking a model to judge, and the
text measures they are built from.

``OfflineJudge`` (v3, ``offline-minilm-v3``) needs only the sentence-embedding model; it
exists because the bundled 135M model is far too small to judge. With ``e(.)`` the unit
MiniLM embedding, ``s_i`` the n sentences of the text, ``r`` the reference (the subtask for
an expert's text, the prompt for a fused answer) and ``clip`` to [0, 1]:

- topicality ``T = clip((cos(c, e(r)) - 0.10) / 0.50)``, ``c`` the normalised mean of the
  sentence embeddings (order-free, no 256-token truncation)
- order ``O = clip(0.7 + 2 (adj - all) + 0.5 (cos(e(s_1), e(r)) - mean_i cos(e(s_i), e(r)))
  - 0.2 V)``: ``adj`` mean cos of consecutive sentences, ``all`` mean cos over all
  sentence pairs, ``V`` the count of discourse-cue breaches (``order_violations``)
- repetition ``R`` = distinct word trigrams / word trigrams (1 for < 3 trigrams)
- length ``L = min(1, words / 20)``

``score = 10 * L * R * (0.45 T + 0.55 O)``, rounded to 3 decimals; one-sentence texts get
``O = 0.5``. (``details`` also reports a local-coherence level ``C = clip((adj - 0.05) /
0.45)``, weight 0 in the score: on the validation sets it only added noise.) Validation
(coherent vs shuffled, on- vs off-topic): ``llm_pipeline.judge_validation``,
docs/llm-pipeline.md.

``OfflineLMJudge`` (v4, ``offline-minilm-lm-v4``) adds a language-model coherence term to
these terms: how much the text's own sentence order raises SmolLM2's likelihood
(``judge_lm.LMScorer``; formula in its docstring).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass

import numpy as np

from .config import OFFLINE_V3, OFFLINE_V4
from .embed import Embedder
from .judge_lm import LMScorer

_SENT = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
# Discourse cues of sentence order (see ``order_violations``).
_CONTINUE = re.compile(
    r"^(he|she|it|they|them|his|her|its|their|this|these|those|that|then|but|however|"
    r"finally|also|so|still|instead|afterwards|after that|after this|later|next|soon|"
    r"eventually|in the end|in conclusion|as a result|therefore|thus|because of this|"
    r"meanwhile|at the same time|second|third|lastly|last|at last|by then|from then on|"
    r"(?:\w+ )?(?:hours|days|weeks|months|years) later|the next|every \w+ after|"
    r"even so|besides|moreover|furthermore|in addition|otherwise|now)\b",
    re.IGNORECASE,
)
_INITIAL = re.compile(
    r"^(first|first of all|to begin|to start|start by|begin by|begin|start|once upon a time|"
    r"long ago|there once)\b",
    re.IGNORECASE,
)
_FINAL = re.compile(
    r"\b(finally|in the end|in conclusion|lastly|to sum up|at last|from then on|ever since)\b",
    re.IGNORECASE,
)
_ARTICLE_STOP = {
    "same",
    "other",
    "next",
    "first",
    "last",
    "most",
    "best",
    "whole",
    "end",
    "time",
    "day",
    "way",
    "world",
    "rest",
    "only",
    "new",
    "old",
    "little",
}


_PERSONAL = {"he", "she", "they", "his", "her", "their", "him", "them"}
_SUBORDINATE = re.compile(r"^(when|as|after|before|while|once|if|since|\w+ing)\b", re.IGNORECASE)


def _pronoun_opening(sentence: str) -> bool:
    """A personal pronoun in the opening clause (or in the main clause right after an
    opening subordinate/participle clause): it refers back, so the sentence cannot open
    a text."""
    clauses = [c.strip() for c in sentence.split(",")]
    look = clauses[:2] if _SUBORDINATE.match(clauses[0]) else clauses[:1]
    if len(look) == 2:
        look[1] = " ".join(look[1].split()[:2])
    words = re.findall(r"[a-z']+", " ".join(look).lower())
    return any(w in _PERSONAL for w in words)


def order_violations(sents: list[str]) -> int:
    """Count breaches of directional discourse cues in a sentence sequence.

    A continuation cue (pronoun, "then", "later", "finally", ...) opening the first
    sentence, or a personal pronoun in its opening clause; an opening cue ("first",
    "start by", "once upon a time", ...) on a sentence that is not first; a closing cue
    ("finally", "in the end", ...) before the last sentence; and a noun introduced with
    "a/an" after it was already "the" noun.
    Shuffling a coherent text tends to create such breaches; it rarely removes them.
    """
    n = len(sents)
    v = 1 if _CONTINUE.match(sents[0]) or _pronoun_opening(sents[0]) else 0
    v += sum(1 for s in sents[1:] if _INITIAL.match(s))
    v += sum(1 for s in sents[:-1] if _FINAL.search(s))
    seen_the: set[str] = set()
    for s in sents[:n]:
        toks = re.findall(r"[a-z']+", s.lower())
        pairs = list(zip(toks, toks[1:], strict=False))
        v += sum(1 for a, b in pairs if a in ("a", "an") and b in seen_the)
        seen_the |= {b for a, b in pairs if a == "the" and len(b) > 3 and b not in _ARTICLE_STOP}
    return v


def sentences(text: str) -> list[str]:
    """Split text into sentences (on . ! ? followed by space)."""
    return [s.strip() for s in _SENT.split(text.strip()) if s.strip()]


def _clip(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def repetition(text: str) -> float:
    """Distinct word trigrams over all word trigrams (1.0 when there are fewer than 3)."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    grams = list(zip(words, words[1:], words[2:], strict=False))
    return 1.0 if len(grams) < 3 else len(set(grams)) / len(grams)


@dataclass(frozen=True)
class OfflineScore:
    """The offline score and its terms (see module docstring)."""

    score: float
    topicality: float
    coherence: float
    order: float
    repetition: float
    length: float
    lm_gain: float = 0.0
    """v4 only: ``D``, nats per token that the text's own context adds (``LMScorer``)."""
    lm: float = 0.0
    """v4 only: the language-model coherence term ``G`` in [0, 1]."""


class OfflineJudge:
    """Embedding-based 0..10 scorer; deterministic, CPU only."""

    name = OFFLINE_V3
    PARAMS = {
        "o0": 0.7,
        "o_adj": 2.0,
        "o_first": 0.5,
        "o_viol": 0.2,
        "w_t": 0.45,
        "w_o": 0.55,
        "w_c": 0.0,
    }

    def __init__(
        self, embedder: Embedder, cache_size: int = 200_000, params: dict[str, float] | None = None
    ) -> None:
        self.embedder = embedder
        self.params = {**self.PARAMS, **(params or {})}
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size

    @property
    def version(self) -> str:
        """Name and a hash of the parameters: the key of this judge's journaled scores."""
        blob = json.dumps(self._recipe(), sort_keys=True)
        return f"{self.name}:{hashlib.sha256(blob.encode()).hexdigest()[:8]}"

    def _recipe(self) -> dict:
        return {"params": self.params}

    def clear_caches(self) -> None:
        """Forget cached embeddings (and, in v4, LM values): what a prompt's scores depend
        on is then that prompt alone (``merge.judge_prompt`` calls it per prompt)."""
        self._cache.clear()

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings with a per-judge cache: fused texts reuse their passages' sentences."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if len(self._cache) + len(missing) > self._cache_size:
                self._cache.clear()
            for t, v in zip(missing, self.embedder.encode(missing), strict=False):
                self._cache[t] = v
        return np.stack([self._cache[t] for t in texts])

    def prefetch(self, texts: list[str], references: list[str]) -> None:
        """Embed every sentence and reference in a few large batches (faster)."""
        todo = list(references)
        for t in texts:
            todo.extend(sentences(t))
        self._encode(todo)

    def details(self, text: str, reference: str) -> OfflineScore:
        """Score ``text`` against ``reference`` and return every term."""
        words = len(text.split())
        if words == 0:
            return OfflineScore(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        sents = sentences(text)
        emb = self._encode([reference, *sents])
        e_ref, e_s = emb[0], emb[1:]
        centroid = e_s.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        topic = _clip((float(centroid @ e_ref) - 0.10) / 0.50)
        n = len(sents)
        if n >= 2:
            sim = e_s @ e_s.T
            adj = float(np.mean([sim[i, i + 1] for i in range(n - 1)]))
            iu = np.triu_indices(n, 1)
            allp = float(sim[iu].mean())
            ref_sim = e_s @ e_ref
            first_gain = float(ref_sim[0] - ref_sim.mean())
            q = self.params
            order = _clip(
                q["o0"]
                + q["o_adj"] * (adj - allp)
                + q["o_first"] * first_gain
                - q["o_viol"] * order_violations(sents)
            )
            coherence = _clip((adj - 0.05) / 0.45)
        else:
            order = coherence = 0.5
        rep = repetition(text)
        length = min(1.0, words / 20.0)
        q = self.params
        score = 10.0 * length * rep * (q["w_t"] * topic + q["w_o"] * order + q["w_c"] * coherence)
        return OfflineScore(round(score, 3), topic, coherence, order, rep, length)

    def score(self, text: str, reference: str, seed: int = 0) -> float:
        """0..10 score of ``text`` written for ``reference``."""
        return self.details(text, reference).score


class OfflineLMJudge(OfflineJudge):
    """v3's terms plus a language-model coherence term (``offline-minilm-lm-v4``).

    With ``D`` from ``LMScorer.context_gain`` (SmolLM2-135M, the text's own sentences):

    - LM coherence ``G = 1 / (1 + exp(-(D - 1.0) / 0.5))`` (``D`` is 0.5-2.2 nats per
      token on the development passages, mean 1.1)
    - ``score = 10 L R (0.45 T + 0.05 O + 0.50 G)`` (``T, O, R, L`` as in v3), rounded to
      3 decimals; one-sentence texts get ``G = 0.5``.

    :param embedder: the sentence embedder of v3's terms.
    :param lm: an ``LMScorer`` (default: the bundled SmolLM2 GGUF on one thread).
    """

    name = OFFLINE_V4
    # Chosen on the development sets 1-3 (grid over d0, d_s and the weights; a broad plateau
    # at ~0.90 pooled order rate); frozen before data/judge_heldout4.yaml was written.
    PARAMS = {**OfflineJudge.PARAMS, "w_t": 0.45, "w_o": 0.05, "w_g": 0.50, "d0": 1.0, "d_s": 0.5}

    def __init__(
        self,
        embedder: Embedder,
        lm: LMScorer | None = None,
        cache_size: int = 200_000,
        params: dict[str, float] | None = None,
    ) -> None:
        super().__init__(embedder, cache_size, params)
        self.lm = lm if lm is not None else LMScorer()

    def _recipe(self) -> dict:
        return {"params": self.params, "lm_chunk_tokens": getattr(self.lm, "chunk_tokens", None)}

    def clear_caches(self) -> None:
        super().clear_caches()
        if hasattr(self.lm, "clear_cache"):
            self.lm.clear_cache()

    def details(self, text: str, reference: str) -> OfflineScore:
        """Score ``text`` against ``reference`` and return every term."""
        base = super().details(text, reference)
        if base.length == 0.0:
            return base
        sents = sentences(text)
        q = self.params
        if len(sents) >= 2:
            gain = self.lm.context_gain(sents)
            g = 1.0 / (1.0 + math.exp(-(gain - q["d0"]) / q["d_s"]))
        else:
            gain, g = 0.0, 0.5
        mix = q["w_t"] * base.topicality + q["w_o"] * base.order + q["w_c"] * base.coherence
        score = 10.0 * base.length * base.repetition * (mix + q["w_g"] * g)
        return OfflineScore(
            round(score, 3),
            base.topicality,
            base.coherence,
            base.order,
            base.repetition,
            base.length,
            gain,
            g,
        )
