"""Deterministic stand-ins for tests and smoke runs: a backend that writes text from a
seed, and an embedder of hashed bag-of-words vectors. No language quality is claimed."""

from __future__ import annotations

import random
import re
import zlib

import numpy as np

from .backends import Generation
from .messages import Messages

WORDS = (
    "river lantern robot garden coffee storm village market signal bread forest "
    "engine light winter island music letter bridge camera planet"
).split()


class FakeBackend:
    """Writes a few sentences chosen by the seed and the last user message.

    ``fail_after``: raise ``RuntimeError`` on that call (to simulate a crash mid-build).
    """

    name = "fake"
    model_name = "fake-model"

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.fail_after = fail_after

    def generate(
        self,
        messages: Messages | str,
        max_tokens: int = 96,
        temperature: float = 0.7,
        seed: int = 0,
        top_p: float = 0.95,
    ) -> Generation:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("simulated crash")
        last = messages if isinstance(messages, str) else messages[-1]["content"]
        rng = random.Random(zlib.crc32(last.encode()) ^ seed)
        topic = [w for w in re.findall(r"[a-z]+", last.lower()) if len(w) > 4][:3] or ["thing"]
        sents = []
        for _ in range(3):
            words = rng.sample(WORDS, 4) + [rng.choice(topic)]
            sents.append(" ".join(words).capitalize() + ".")
        text = " ".join(sents)
        return Generation(
            " ".join(text.split()[: max(3, max_tokens)]), 0.001, self.model_name, self.name
        )


class HashEmbedder:
    """Unit bag-of-words vectors from per-word pseudo-random directions (dim 64)."""

    dim = 64

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                rng = np.random.default_rng(zlib.crc32(w.encode()))
                out[i] += rng.standard_normal(self.dim).astype(np.float32)
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n > 0 else out[i]
        return out
