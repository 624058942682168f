"""The LLM judge: the paper's explicit 0 (worst) .. 10 (best) question (method of arXiv
2304.00723) asked of any text backend, and the grammar of the score in its answer.

**What counts as a score** (``parse_score``). A number is a run of digits with an
optional decimal part (``7``, ``7.5``; no sign, no decimal comma) that touches no
letter, digit, ``%``, ``-``, ``/`` or ``.`` before it and no letter or ``%`` after it
(so ``2nd``, ``-3``, ``1.10.2``, ``85%`` are not numbers here). Numbers above 10 are
ignored. Among the numbers of 0..10:

1. the first one written as out of ten (``8/10``, ``8 / 10``, ``8 out of 10``) wins;
2. a number over another denominator (``4/5``, ``3 out of 5``) is never a score;
3. otherwise the first number that is not a list marker, where a list marker starts a
   line (after optional spaces) and is followed by ``.`` or ``)`` and then text
   (``1. 10`` reads 10, not 1);
4. if every number is a list marker, the first one (``8. Well written`` reads 8).

An answer with no such number (``Your story is excellent. Here's a``) has no score.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from .backends import TextBackend
from .errors import BackendError

PAPER_JUDGE_PROMPT = (
    "Score the following story on a continual scale from 0 (worst) to 10 (best), where a "
    "score of 0 means 'The story makes no sense and is totally not understandable' and a "
    "score of 10 means 'The story is perfect-written and highly consistent'."
)
SYSTEM_PROMPT = "You are a strict writing judge. Answer with a number."
ANSWER_TOKENS = 8

_NUMBER = re.compile(r"(?<![\w.%/-])(\d+(?:\.\d+)?)(?![\w%]|\.\d)")
_OUT_OF = re.compile(r"\s*(?:/|\bout\s+of\b)\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_MARKER_TAIL = re.compile(r"[.)][ \t]+\S")


def parse_score(answer: str) -> float | None:
    """The score in an LLM judge's answer under the grammar above, or None."""
    plain: list[tuple[float, bool]] = []  # (value, is a list marker)
    skip_to = 0  # end of the last denominator seen: "out of 5" makes no 5
    for m in _NUMBER.finditer(answer):
        if m.start() < skip_to:
            continue
        value = float(m.group(1))
        denominator = _OUT_OF.match(answer, m.end())
        if denominator:
            if value <= 10 and float(denominator.group(1)) == 10:
                return value
            skip_to = denominator.end()
            continue
        if value > 10:
            continue
        line_start = answer.rfind("\n", 0, m.start()) + 1
        marker = not answer[line_start : m.start()].strip() and bool(
            _MARKER_TAIL.match(answer, m.end())
        )
        plain.append((value, marker))
    for value, marker in plain:
        if not marker:
            return value
    return plain[0][0] if plain else None


@dataclass(frozen=True)
class JudgeAnswer:
    """What the LLM judge said about one text: the score (None: no score in any of the
    ``attempts``) and its last answer."""

    score: float | None
    attempts: int
    answer: str


class LLMJudge:
    """The paper's 0..10 LLM-judge score on any backend.

    :param backend: the text backend asked.
    :param attempts: answers asked per text before its score counts as missing; the first
        at temperature 0, the others at 0.7 with the next seeds.
    :param before_first_ask: called once, before the first request (a build checks the
        server's ``/v1/models`` there, as it did before generating when it had texts to
        write: a rerun whose scores are all journaled needs no server at all).
    """

    def __init__(
        self,
        backend: TextBackend,
        attempts: int = 3,
        before_first_ask: Callable[[], None] | None = None,
    ) -> None:
        self.backend = backend
        self.attempts = attempts
        self._before_first_ask = before_first_ask
        self.name = f"llm:{backend.model_name}"
        recipe = f"{SYSTEM_PROMPT}\n{PAPER_JUDGE_PROMPT}\n{ANSWER_TOKENS}"
        self.version = f"{self.name}:{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"
        """Identifies the judge's answers: its model, prompt and answer budget."""

    def ask(self, text: str, reference: str, seed: int = 0, first: int = 0) -> JudgeAnswer:
        """Ask for a score, up to ``attempts`` times; never raises for a missing number
        (a failing backend still raises its ``BackendError``).

        ``first``: how many attempts earlier runs already made for this text; this call
        goes on with the next ones (temperature 0.7, seeds ``seed + first`` onwards), so a
        rerun does not repeat a request that a deterministic server (llama.cpp's) would
        answer the same way again. ``JudgeAnswer.attempts`` counts this call's only."""
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"{PAPER_JUDGE_PROMPT}\n\nStory:\n{text}\n\nScore:"},
        ]
        if self._before_first_ask is not None:
            self._before_first_ask()  # raises: asked again at the next ask
            self._before_first_ask = None
        answer = ""
        for attempt in range(first, first + self.attempts):
            answer = self.backend.generate(
                messages,
                max_tokens=ANSWER_TOKENS,
                temperature=0.0 if attempt == 0 else 0.7,
                seed=seed + attempt,
            ).text
            value = parse_score(answer)
            if value is not None:
                return JudgeAnswer(value, attempt + 1 - first, answer)
        return JudgeAnswer(None, self.attempts, answer)

    def score(self, text: str, reference: str, seed: int = 0) -> float:
        """The score; ``BackendError`` if no attempt gave one (a build uses ``ask``)."""
        got = self.ask(text, reference, seed)
        if got.score is None:
            raise BackendError(
                f"LLM judge gave no 0-10 score in {self.attempts} attempts "
                f"(last answer: {got.answer[:60]!r})"
            )
        return got.score
