"""Judge scores of the table's rows, and what a missing one does.

Every score is journaled: appended to the prompt's journal
(``<out>.parts/<prompt_id>.jsonl``) as a ``score`` record as soon as it exists, keyed by
the judge's version (the LLM judge's model, prompt and answer budget; an offline judge's
name, parameters and LM setting, ``OfflineJudge.version``), the text, its reference and
seed, so a rerun judges only what is not journaled, and a build killed while judging
resumes where it stopped (judge v4 takes hours on a v2 table). An offline judge's formula
changed in code without a new name is not seen by the key: rebuild with ``--rejudge``.

**Missing scores.** The judge is asked up to ``judge.attempts`` times per text
(``LLMJudge.ask``). A text for which no answer held a score (``judge_llm.parse_score``)
is journaled as missing, with the judge's last answer, and named in a warning; the
build goes on. A rerun asks again for the missing ones only, going on with the next
attempts (new seeds at temperature 0.7; the record counts every attempt so far): a
deterministic server such as llama.cpp's answers a repeated request the same way, so
repeating the first attempts would change nothing. In the table:

- a fused row without a score is left out; the environment then takes the documented
  fallback for that action, the mean of its subtask rows' scores;
- a subtask row without a score leaves its whole prompt out of the table (the table's
  layout needs every (subtask, expert) score of a prompt), so the environment has one
  prompt fewer.

A build where every prompt is left out fails with one line.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from .journal import append_journal, journal_path, read_journal
from .judge_llm import LLMJudge
from .judge_offline import OfflineJudge

log = logging.getLogger(__name__)

Row = dict[str, Any]


def row_name(row: Row) -> str:
    """How a warning names a row: ``p003 subtask 1 expert 2`` or ``p003 fused 0-2-1``."""
    if row["kind"] == "fused":
        return f"{row['prompt_id']} fused {row['assignment']}"
    return f"{row['prompt_id']} subtask {row['subtask_index']} expert {row['expert']}"


def score_key(version: str, text: str, reference: str, seed: int) -> str:
    """Identity of one judged text in the journal."""
    blob = json.dumps([version, text, reference, int(seed)], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def score_record(row: Row, version: str, key: str, score: float | None, **extra: Any) -> Row:
    """The journal's ``score`` record of one judged row (``extra``: the LLM judge's
    attempts and last answer)."""
    return {
        "type": "score",
        "k": row["subtask_index"],
        "expert": row["expert"],
        "assignment": row["assignment"],
        "judge": version,
        "key": key,
        "score": score,
        **extra,
    }


def journaled_scores(path: Path) -> dict[str, Row]:
    """The ``score`` records of one journal by key (the last record of a key wins)."""
    return {r["key"]: r for r in read_journal(path) if r.get("type") == "score"}


def llm_scores(
    judge: LLMJudge, rows: list[Row], parts: Path, progress: bool = True
) -> Counter[str]:
    """Set ``row["score"]`` of every row (None when missing), asking the judge only for
    what the journals lack; a text asked once in this run (same text, reference and seed)
    is not asked twice. Returns counts: journaled, asked, reused, missing."""
    from tqdm import tqdm

    known: dict[str, dict[str, Row]] = {}
    counts = Counter(dict.fromkeys(("journaled", "asked", "reused", "missing"), 0))
    asked: set[str] = set()
    bar = tqdm(
        rows, desc="judge (llm)", unit="text", leave=False, mininterval=2, disable=not progress
    )
    for row in bar:
        pid = row["prompt_id"]
        path = journal_path(parts, pid)
        if pid not in known:
            known[pid] = journaled_scores(path)
        key = score_key(judge.version, row["text"], row["_ref"], row["seed"])
        rec = known[pid].get(key)
        if rec is not None and (rec["score"] is not None or key in asked):
            # journaled, or asked already in this run (identical text, reference, seed)
            row["score"] = None if rec["score"] is None else float(rec["score"])
            counts["journaled" if key not in asked else "reused"] += 1
            if row["score"] is None:
                counts["missing"] += 1
            continue
        before = int(rec.get("attempts") or 0) if rec is not None else 0
        got = judge.ask(row["text"], row["_ref"], row["seed"], first=before)
        rec = score_record(
            row,
            judge.version,
            key,
            got.score,
            attempts=before + got.attempts,
            answer=got.answer[:200],
        )
        append_journal(path, rec)
        known[pid][key] = rec
        asked.add(key)
        counts["asked"] += 1
        row["score"] = got.score
        if got.score is None:
            counts["missing"] += 1
            log.warning(
                "judge gave no 0-10 score for %s in %d attempts (last answer: %r); "
                "journaled as missing",
                row_name(row),
                before + got.attempts,
                got.answer[:60],
            )
    return counts


def offline_scores(
    judge: OfflineJudge, rows: list[Row], parts: Path, rejudge: bool = False
) -> Counter[str]:
    """Set ``row["score"]`` of every row from the journal or, for what it lacks (every
    row with ``rejudge``), from ``judge``, journaling each new score at once. Returns
    counts: offline journaled, offline judged."""
    known: dict[str, dict[str, Row]] = {}
    counts = Counter({"offline journaled": 0, "offline judged": 0})
    for row in rows:
        pid = row["prompt_id"]
        path = journal_path(parts, pid)
        if pid not in known:
            known[pid] = {} if rejudge else journaled_scores(path)
        key = score_key(judge.version, row["text"], row["_ref"], row["seed"])
        rec = known[pid].get(key)
        if rec is not None and rec.get("score") is not None:
            row["score"] = float(rec["score"])
            counts["offline journaled"] += 1
            continue
        row["score"] = judge.score(row["text"], row["_ref"], row["seed"])
        rec = score_record(row, judge.version, key, row["score"])
        append_journal(path, rec)
        known[pid][key] = rec
        counts["offline judged"] += 1
    return counts


def drop_missing(rows: list[Row]) -> tuple[list[Row], list[str], list[str]]:
    """Apply the missing-score policy. Returns the kept rows, the names of the rows
    without a score and the prompts left out."""
    missing = [r for r in rows if r["score"] is None]
    if not missing:
        return rows, [], []
    dropped = sorted({r["prompt_id"] for r in missing if r["kind"] == "subtask"})
    kept = [r for r in rows if r["score"] is not None and r["prompt_id"] not in dropped]
    names = [row_name(r) for r in missing]
    fused = sum(r["kind"] == "fused" and r["prompt_id"] not in dropped for r in missing)
    log.warning(
        "%d text(s) without a judge score (%s%s): %d fused row(s) left out (the "
        "environment uses the mean of their subtask scores), %d prompt(s) left out "
        "(a subtask score missing)%s; a rerun asks the judge again for these only",
        len(names),
        ", ".join(names[:5]),
        " ..." if len(names) > 5 else "",
        fused,
        len(dropped),
        f": {', '.join(dropped)}" if dropped else "",
    )
    return kept, names, dropped
