"""The LLM judge: the paper's explicit 0 (worst) .. 10 (best) question (method of arXiv
2304.00723) asked of any text backend, and the parsing of the number it answers."""

from __future__ import annotations

import re

from .backends import TextBackend
from .errors import BackendError

PAPER_JUDGE_PROMPT = (
    "Score the following story on a continual scale from 0 (worst) to 10 (best), where a "
    "score of 0 means 'The story makes no sense and is totally not understandable' and a "
    "score of 10 means 'The story is perfect-written and highly consistent'."
)

_NUMBER = re.compile(r"(?<![\d.])(10(?:\.0+)?|\d(?:\.\d+)?)(?:\s*/\s*10)?(?![\d])")


def parse_score(answer: str) -> float | None:
    """First number 0..10 in an LLM judge's answer, or None."""
    m = _NUMBER.search(answer)
    return float(m.group(1)) if m else None


class LLMJudge:
    """The paper's 0..10 LLM-judge score on any backend."""

    def __init__(self, backend: TextBackend, attempts: int = 3) -> None:
        self.backend = backend
        self.attempts = attempts
        self.name = f"llm:{backend.model_name}"

    def score(self, text: str, reference: str, seed: int = 0) -> float:
        """Ask for a score; a few seeded retries, then BackendError if no number comes."""
        messages = [
            {"role": "system", "content": "You are a strict writing judge. Answer with a number."},
            {"role": "user", "content": f"{PAPER_JUDGE_PROMPT}\n\nStory:\n{text}\n\nScore:"},
        ]
        for attempt in range(self.attempts):
            answer = self.backend.generate(
                messages,
                max_tokens=8,
                temperature=0.0 if attempt == 0 else 0.7,
                seed=seed + attempt,
            ).text
            value = parse_score(answer)
            if value is not None:
                return value
        raise BackendError(f"LLM judge gave no 0-10 score in {self.attempts} attempts")
