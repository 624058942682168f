"""What each model is asked (an expert's subtask, the paper's fusion prompt) and how a
text that ran out of tokens is cut back to its last full sentence."""

from __future__ import annotations

Messages = list[dict[str, str]]

FUSION_PROMPT = "Combine the following passages together to form a complete story"


def expert_messages(system_prompt: str, subtask: str) -> Messages:
    """What an expert is asked for one subtask."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": f"{subtask} Write one short paragraph."},
    ]


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
