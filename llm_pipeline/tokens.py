"""Token counts of the quality table: ``prompt_tokens`` (the chat-templated messages a
writer was sent) and ``completion_tokens`` (the stored text), with how each was counted
in ``token_source`` as ``"<prompt>/<completion>"``:

- ``usage``: reported by the backend when it generated the text (llama.cpp's or the
  server's ``usage``); a server's completion count is used only when the stored text is
  the whole reply (not cut back to a sentence by ``messages.trim_to_sentence``).
- ``gguf``: counted afterwards with the writer's own GGUF tokenizer (a ``llama_cpp``
  backend's model file) and, for a prompt, its chat template: exact (equal to llama.cpp's
  ``usage.prompt_tokens``; ``tests/test_llm_tokens.py``).
- ``estimate``: counted with the bundled SmolLM2 GGUF for a text another model wrote (an
  ``openai`` backend that reported no usage, or a cut reply): another tokenizer's count.
- ``none`` / ``sum``: a concatenated fused row (``fusion.mode: concat``) was sent nothing
  (prompt 0) and its completion is the sum of its passages' ``completion_tokens``.

Counting loads only a GGUF's vocabulary (``Llama(model_path, vocab_only=True)``: no
weights, about half a second) and renders the messages with the GGUF's
``tokenizer.chat_template`` exactly as llama-cpp-python's chat handler does (generation
prompt added; BOS added unless the template wrote special tokens).

``add_tokens`` fills the columns of a whole table without regenerating texts (``netmoe
table tokens``); the builder uses the same functions for rows whose journal records
predate token counts.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from netmoe_table import TOKEN_COLUMNS, TOKENS_ATTR, TableError

from .backends import Generation, bundled_gguf, prefer_passive_openmp
from .config import BackendConfig, TableConfig
from .errors import BackendError
from .messages import Messages, fusion_messages, writer_messages

TEMPLATE_NOTE = (
    "the GGUF's tokenizer.chat_template rendered by llama-cpp-python's Jinja2ChatFormatter "
    "with add_generation_prompt (as create_chat_completion sends it), tokenized with "
    "special tokens, BOS unless the template adds it"
)


@dataclass(frozen=True)
class Counts:
    """Token counts of one text and how they were made (``token_source``)."""

    prompt_tokens: int
    completion_tokens: int
    token_source: str

    def as_row(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "token_source": self.token_source,
        }


@contextlib.contextmanager
def _quiet_fd2() -> Iterator[None]:
    """Silence file descriptor 2 (llama.cpp warns there that a vocabulary-only model has
    no training context length, whatever ``verbose`` says)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class TokenCounter:
    """One GGUF's tokenizer and chat template (vocabulary only, no weights).

    :param model_path: the GGUF file.
    """

    def __init__(self, model_path: str | Path) -> None:
        prefer_passive_openmp()
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError:
            raise BackendError(
                "llama-cpp-python is not installed (needed to count tokens)"
            ) from None
        self.path = Path(model_path)
        if not self.path.is_file():
            raise BackendError(f"model file not found: {self.path}")
        try:
            with _quiet_fd2():
                self._llm = Llama(model_path=str(self.path), vocab_only=True, verbose=False)
        except Exception as exc:  # noqa: BLE001 - llama.cpp raises ValueError/RuntimeError
            raise BackendError(f"cannot load the tokenizer of {self.path}: {exc}") from None
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise BackendError(f"{self.path.name} has no chat template: cannot count prompts")
        model = self._llm._model
        eos, bos = self._llm.token_eos(), self._llm.token_bos()
        self._format = Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )
        self.name = self.path.stem

    def chat_tokens(self, messages: Messages) -> int:
        """Tokens of ``messages`` as llama.cpp's chat completion prompts the model."""
        result = self._format(messages=messages)
        prompt = result.prompt.encode("utf-8")
        return len(self._llm.tokenize(prompt, add_bos=not result.added_special, special=True))

    def text_tokens(self, text: str) -> int:
        """Tokens of a completion's text (no BOS, special-token text read as plain text)."""
        if not text:
            return 0
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))


@functools.cache
def counter(model_path: str) -> TokenCounter:
    """A cached ``TokenCounter`` per GGUF path."""
    return TokenCounter(model_path)


def counter_for(backend: BackendConfig) -> tuple[TokenCounter, str]:
    """The tokenizer for a backend's texts and the label of its counts: the backend's own
    GGUF (``gguf``) for ``llama_cpp``, the bundled SmolLM2 (``estimate``) otherwise."""
    if backend.type == "llama_cpp":
        path = Path(backend.model_path).expanduser() if backend.model_path else bundled_gguf()
        return counter(str(path)), "gguf"
    return counter(str(bundled_gguf())), "estimate"


def generation_counts(
    backend: BackendConfig, messages: Messages, g: Generation, stored: str
) -> Counts:
    """Counts of a text just generated: the prompt from the backend's usage when it gave
    one; the completion of the stored text ``stored`` with the writer's GGUF, or a
    server's usage when ``stored`` is its whole reply (module docstring)."""
    tok, label = counter_for(backend)
    if g.prompt_tokens is not None:
        p, psrc = g.prompt_tokens, "usage"
    else:
        p, psrc = tok.chat_tokens(messages), label
    if backend.type != "llama_cpp" and g.completion_tokens is not None and stored == g.text:
        c, csrc = g.completion_tokens, "usage"
    else:
        c, csrc = tok.text_tokens(stored), label
    return Counts(p, c, f"{psrc}/{csrc}")


def counted(backend: BackendConfig, messages: Messages, text: str) -> Counts:
    """Counts of a stored text, made afterwards with the writer's tokenizer."""
    tok, label = counter_for(backend)
    return Counts(tok.chat_tokens(messages), tok.text_tokens(text), f"{label}/{label}")


def describe(cfg: TableConfig) -> dict[str, Any]:
    """What ``DataFrame.attrs[TOKENS_ATTR]`` records: tokenizers, template, library."""
    import llama_cpp

    names = sorted(
        {counter_for(cfg.backends[e.backend])[0].path.name for e in cfg.all_experts}
        | {counter_for(cfg.backends[cfg.fusion.backend])[0].path.name}
    )
    return {
        "tokenizers": names,
        "chat_template": TEMPLATE_NOTE,
        "counted_with": f"llama-cpp-python {llama_cpp.__version__} (vocab_only)",
        "token_source": "<prompt>/<completion>: usage, gguf, estimate, none, sum "
        "(docs/quality-table.md)",
    }


def _writer(row: Any, cfg: TableConfig, source: str) -> int:
    """Check that a subtask row's writer is the config's expert of that index, with the
    budget that shapes its prompt."""
    experts = cfg.all_experts
    e = int(row.expert)
    if not 0 <= e < len(experts) or not str(row.model).startswith(f"{experts[e].name}:"):
        name = experts[e].name if 0 <= e < len(experts) else "none"
        raise TableError(
            f"{source}: row {row.prompt_id}/{row.subtask_index}/{e} was written by "
            f"{str(row.model).split(':')[0]!r} but the config's expert {e} is {name!r}: "
            "pass the table config it was built with (--config)"
        )
    w = experts[e]
    if "best_of" in row.index:  # a table with writer columns: the same budget
        have = (int(row.best_of), int(row.max_tokens), int(row.min_tokens), str(row.context))
        want = (w.best_of, w.max_tokens, w.min_tokens, w.context)
    else:  # a v1 table: every writer asked the subtask alone for one short paragraph
        have, want = ("subtask", 0), (w.context, w.min_tokens)
    if have != want:
        raise TableError(
            f"{source}: row {row.prompt_id}/{row.subtask_index}/{e} was written with budget "
            f"{have} but the config's writer {w.name!r} has {want}: its prompts would be "
            "counted wrong; pass the table config it was built with (--config; a v1 table: "
            "configs/table_v1.yaml)"
        )
    return e


def add_tokens(df: pd.DataFrame, cfg: TableConfig, source: str = "table") -> pd.DataFrame:
    """``df`` with every row's token counts filled: rows that have them keep them, the
    others are counted (``counted``; concatenated fused rows as their passages' sum).
    The system prompts and the fusion prompt come from ``cfg``, the table's config."""
    df = df.copy()
    for col in TOKEN_COLUMNS:
        if col not in df.columns:
            df[col] = pd.NA
    need = df["token_source"].isna() | (df["token_source"].astype(str).isin(["", "<NA>"]))
    sub = df["kind"] == "subtask"
    fusion_backend = cfg.backends[cfg.fusion.backend]
    texts: dict[tuple[str, int, int], str] = {}
    for row in df[sub].itertuples():
        texts[(str(row.prompt_id), int(row.subtask_index), int(row.expert))] = str(row.text)
    subtasks: dict[str, dict[int, str]] = {}
    for row in df[sub].itertuples():
        subtasks.setdefault(str(row.prompt_id), {})[int(row.subtask_index)] = str(row.subtask)
    for i, row in df[sub & need].iterrows():
        e = _writer(row, cfg, source)
        expert = cfg.all_experts[e]
        own = subtasks[str(row.prompt_id)]
        msgs = writer_messages(
            expert.system_prompt,
            str(row.subtask),
            context=expert.context,
            prompt=str(row.get("prompt", "")),
            subtasks=[own[k] for k in sorted(own)],
            k=int(row.subtask_index),
            min_tokens=expert.min_tokens,
            max_tokens=expert.max_tokens,
        )
        c = counted(cfg.backends[expert.backend], msgs, str(row.text))
        df.loc[i, list(TOKEN_COLUMNS)] = list(c.as_row().values())
    completion = {
        (str(r.prompt_id), int(r.subtask_index), int(r.expert)): int(r.completion_tokens)
        for r in df[sub].itertuples()
    }
    k_count = int(df.loc[sub, "subtask_index"].max()) + 1 if sub.any() else 0
    for i, row in df[~sub & need].iterrows():
        action = [int(a) for a in str(row.assignment).split("-")]
        if len(action) != k_count:
            raise TableError(f"{source}: fused row {row.prompt_id}/{row.assignment} fits no action")
        pid = str(row.prompt_id)
        if str(row.backend) == "concat":
            total = sum(completion[(pid, k, e)] for k, e in enumerate(action))
            c = Counts(0, total, "none/sum")
        else:
            passages = [texts[(pid, k, e)] for k, e in enumerate(action)]
            c = counted(fusion_backend, fusion_messages(passages), str(row.text))
        df.loc[i, list(TOKEN_COLUMNS)] = list(c.as_row().values())
    df["prompt_tokens"] = df["prompt_tokens"].astype("int64")
    df["completion_tokens"] = df["completion_tokens"].astype("int64")
    df["token_source"] = df["token_source"].astype(str)
    df.attrs[TOKENS_ATTR] = describe(cfg)
    return df
