"""The gate: split a one-sentence prompt into K subtasks, and score every expert for
every subtask by meaning.

Split: an LLM is asked for K numbered subtasks; its answer is accepted only if it
parses into K distinct lines of 3..30 words that each share a content word with the
prompt. Otherwise (or with ``split: rules``) a rule-based split is used: first a
clause split of a list-like request ("explain X, Y and Z" -> X / Y / Z), then K
aspect templates chosen by content type (e.g. story: opening / conflict / ending).

Routing: ``route_score = (1 + cos(e(subtask), e(specialty))) / 2`` in [0, 1], where
``e`` is the all-MiniLM-L6-v2 sentence embedding.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from .backends import TextBackend
from .embed import Embedder

log = logging.getLogger(__name__)

# Six ordered aspects per content type; K of them are taken evenly spread.
ASPECTS: dict[str, list[str]] = {
    "story": [
        "Write the opening: introduce the setting and the main character",
        "Describe the world and the people around the main character",
        "Write the turning point: the main character meets a problem",
        "Write the struggle: how the main character tries to solve it",
        "Write the climax: the decisive moment",
        "Write the ending: how it is resolved and what changed",
    ],
    "explainer": [
        "Explain what it is and define the key terms",
        "Explain the history or origin",
        "Explain how it works, step by step",
        "Explain the main principles behind it",
        "Give concrete examples and applications",
        "Explain why it matters and its limits",
    ],
    "howto": [
        "List what you need before starting",
        "Describe how to prepare",
        "Give the main steps in order",
        "Give the details of the hardest step",
        "Give tips and common mistakes to avoid",
        "Describe how to check the result and finish",
    ],
    "product": [
        "Describe what the product is and who it is for",
        "Describe its design and look",
        "Describe its key features",
        "Describe how it is used day to day",
        "Describe its benefits compared with alternatives",
        "Write a closing call to action",
    ],
    "travel": [
        "Describe how to get there and the first impressions",
        "Describe the place and its atmosphere",
        "Describe what to see",
        "Describe what to do",
        "Describe the food and where to stay",
        "Give practical tips for visitors",
    ],
    "news": [
        "Report the main event: what happened, where and when",
        "Give the background of the event",
        "Report what the people involved said",
        "Give the details and numbers",
        "Report the reactions",
        "Report what happens next",
    ],
    "generic": [
        "Introduce the topic",
        "Give background",
        "Develop the main points",
        "Add details and examples",
        "Discuss implications",
        "Conclude",
    ],
}
ALIASES = {
    "how-to": "howto",
    "how_to": "howto",
    "guide": "howto",
    "poem": "story",
    "email": "product",
    "letter": "story",
    "ad": "product",
}

_STOP = set(
    "a an the of to in on for and or with about at by from into how what why who is are be "
    "this that these those it its their his her your our my write explain describe give "
    "short story tell".split()
)
_NUMBERED = re.compile(r"^\s*(?:\d+[.):]|[-*•])\s*(.+?)\s*$")


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in _STOP and len(w) > 2}


def _pick(items: list[str], k: int) -> list[str]:
    idx = np.linspace(0, len(items) - 1, k).round().astype(int) if k > 1 else [0]
    return [items[i] for i in idx]


def clause_split(prompt: str, k: int) -> list[str] | None:
    """Split a list-like request ("Explain A, B and C") into K subtasks, else None."""
    body = prompt.strip().rstrip(".!?")
    m = re.match(r"^(\w+(?:\s+(?:me|us))?)\s+(.*)$", body)
    if not m or k < 2:
        return None
    verb, rest = m.group(1), m.group(2)
    parts = [p.strip() for p in re.split(r",\s*(?:and\s+)?|\s+and\s+|;\s*", rest) if p.strip()]
    if len(parts) != k:
        return None
    return [f"{verb.capitalize()} {p}" for p in parts]


def rule_split(prompt: str, k: int, content_type: str = "generic") -> list[str]:
    """Deterministic K-way split: clause split, else content-type aspect templates."""
    clauses = clause_split(prompt, k)
    if clauses:
        return clauses
    ctype = ALIASES.get(content_type, content_type)
    aspects = ASPECTS.get(ctype, ASPECTS["generic"])
    body = prompt.strip().rstrip(".!?")
    return [f"{a} for: {body}." for a in _pick(aspects, k)]


def parse_llm_split(answer: str, prompt: str, k: int) -> list[str] | None:
    """K subtasks from an LLM's numbered list, or None if the answer is unusable."""
    items = []
    for line in answer.splitlines():
        m = _NUMBERED.match(line)
        if m:
            first = re.split(r"(?<=[.!?])\s+", m.group(1).strip())[0]
            items.append(first.strip().strip('"*'))
    items = items[:k]
    if len(items) != k:
        return None
    keys = {i.lower() for i in items}
    if len(keys) != k:
        return None
    topic = _content_words(prompt)
    for item in items:
        if not 3 <= len(item.split()) <= 25 or not (_content_words(item) & topic):
            return None
    return items


def llm_split(
    backend: TextBackend, prompt: str, k: int, seed: int, max_tokens: int = 80
) -> list[str] | None:
    """Ask an LLM for K subtasks; None when its answer fails the checks."""
    messages = [
        {"role": "system", "content": "You break a writing request into smaller parts."},
        {
            "role": "user",
            "content": (
                f"Split this request into exactly {k} subtasks, one per line, "
                f"numbered 1 to {k}. Each subtask is one short sentence.\nRequest: {prompt}"
            ),
        },
    ]
    answer = backend.generate(messages, max_tokens=max_tokens, temperature=0.0, seed=seed).text
    return parse_llm_split(answer, prompt, k)


def split_prompt(
    prompt: str,
    k: int,
    content_type: str = "generic",
    mode: str = "auto",
    backend: TextBackend | None = None,
    seed: int = 0,
    max_tokens: int = 80,
) -> tuple[list[str], str]:
    """Split ``prompt`` into ``k`` subtasks; returns (subtasks, method used: llm|rules)."""
    if mode in ("llm", "auto") and backend is not None:
        items = llm_split(backend, prompt, k, seed, max_tokens)
        if items:
            return items, "llm"
        log.info("LLM split unusable for %r; rule-based split", prompt[:60])
    return rule_split(prompt, k, content_type), "rules"


def route_scores(embedder: Embedder, subtasks: list[str], specialties: list[str]) -> np.ndarray:
    """(K, N+1) routing scores in [0, 1]: cosine similarity mapped by (1 + cos) / 2."""
    e_sub = embedder.encode(subtasks)
    e_spec = embedder.encode(specialties)
    cos = np.clip(e_sub @ e_spec.T, -1.0, 1.0)
    return np.round((1.0 + cos) / 2.0, 4)
