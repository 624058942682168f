"""What each model is asked (a writer's subtask, the paper's fusion prompt) and how a
text that ran out of tokens is cut back to its last full sentence.

A writer's context (``ExpertConfig.context``) is how much of the request it sees:

- ``subtask``: the subtask alone (the user device's small budget; the v1 table's only mode)
- ``prompt``: the whole one-sentence prompt, then its subtask
- ``prompt+neighbours``: the prompt, the subtasks before and after its own (so its
  passage can follow on and lead on), then its subtask

A writer with ``min_tokens > 0`` is asked for a length in words (``length_instruction``);
otherwise for "one short paragraph", as the v1 table's writers were.
"""

from __future__ import annotations

from collections.abc import Sequence

Messages = list[dict[str, str]]

SHORT = "Write one short paragraph."
WORDS_PER_TOKEN = 0.75
"""English words per token (SmolLM2's tokenizer on the v1 table: 0.7-0.8), to turn a
token budget into a length the model is asked for."""

FUSION_PROMPT = "Combine the following passages together to form a complete story"


def expert_messages(system_prompt: str, subtask: str) -> Messages:
    """What a writer with the short context and no length target is asked for one subtask."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": f"{subtask} {SHORT}"},
    ]


def length_instruction(min_tokens: int, max_tokens: int) -> str:
    """The length a writer is asked for: its token budget in words, or one short paragraph."""
    if min_tokens <= 0:
        return SHORT
    lo = max(10, round(min_tokens * WORDS_PER_TOKEN / 10) * 10)
    hi = max(lo + 10, round(max_tokens * WORDS_PER_TOKEN * 0.9 / 10) * 10)
    return f"Write {lo} to {hi} words, in two or three paragraphs."


def writer_messages(
    system_prompt: str,
    subtask: str,
    *,
    context: str = "subtask",
    prompt: str = "",
    subtasks: Sequence[str] = (),
    k: int = 0,
    min_tokens: int = 0,
    max_tokens: int = 96,
) -> Messages:
    """What a writer is asked for subtask ``k`` (``subtask`` = ``subtasks[k]``) of
    ``prompt``, with its context mode (module docstring). ``context="subtask"`` and
    ``min_tokens=0`` give ``expert_messages`` exactly."""
    ask = f"{subtask} {length_instruction(min_tokens, max_tokens)}"
    if context == "subtask":
        user = ask
    elif context == "prompt":
        user = f"The whole request: {prompt}\nYour part of it: {ask}"
    elif context == "prompt+neighbours":
        lines = [f"The whole request: {prompt}"]
        if k > 0:
            lines.append(f"The part before yours (written by someone else): {subtasks[k - 1]}")
        if k + 1 < len(subtasks):
            lines.append(f"The part after yours (written by someone else): {subtasks[k + 1]}")
        lines.append(f"Your part, part {k + 1} of {max(len(subtasks), k + 1)}: {ask}")
        user = "\n".join(lines)
    else:
        raise ValueError(f"unknown context {context!r}")
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user}]


def fusion_messages(passages: list[str]) -> Messages:
    """The paper's fusion prompt followed by the passages in subtask order."""
    body = "\n\n".join(f"Passage {i + 1}: {p}" for i, p in enumerate(passages))
    return [{"role": "user", "content": f"{FUSION_PROMPT}.\n\n{body}"}]


def trim_to_sentence(text: str) -> str:
    """Cut a text that ran out of tokens mid-sentence back to its last full sentence
    (kept whole when that would drop more than half of it)."""
    text = text.strip()
    if not text or text[-1] in ".!?\"'":
        return text
    cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "), text.rfind(".\n"))
    return text[: cut + 1] if cut >= len(text) // 2 else text
