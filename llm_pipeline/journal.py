"""The per-prompt journals of a build: ``<out>.parts/<prompt_id>.jsonl``, one JSON record
per line (the gate split, a writer's text or best-of candidate, a fused text, an LLM
judge's score), each flushed and fsynced as
soon as its text exists. A kill loses at most the line being written; that torn line is
dropped on reading and cut off before the next append."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

Record = dict[str, Any]
RecordKey = tuple[str, int, int, str]

GATE_KEY: RecordKey = ("gate", -1, -1, "")
"""Key of a prompt's gate-split record."""


def journal_dir(out: Path) -> Path:
    """Where the per-prompt journals of the table ``out`` live."""
    return out.with_name(out.name + ".parts")


def journal_path(parts: Path, prompt_id: str) -> Path:
    """The journal of one prompt under ``parts``."""
    return parts / f"{prompt_id}.jsonl"


def candidate_tag(j: int) -> str:
    """The last key part of a writer's best-of candidate ``j``: "" for the first (the
    record a best_of 1 writer writes), ``c1``, ``c2``, ... for the others."""
    return f"c{j}" if j else ""


def record_key(r: Record) -> RecordKey:
    """Identity of a journal record: (type, subtask, expert, assignment), where a text
    record's last part is its best-of candidate (``candidate_tag``)."""
    last = r.get("assignment", candidate_tag(r.get("cand", 0)))
    return (r["type"], r.get("k", -1), r.get("expert", -1), last)


def read_journal(path: Path) -> list[Record]:
    """Complete JSON lines of a journal; a torn last line (killed mid-write) is dropped."""
    if not path.is_file():
        return []
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return records


def append_journal(path: Path, record: Record) -> None:
    """Append one record durably (a torn last line from a kill is cut off first)."""
    if path.exists():
        clean = _clean_size(path)
        if clean != path.stat().st_size:
            with open(path, "r+b") as fh:
                fh.truncate(clean)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _clean_size(path: Path) -> int:
    size = 0
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break
            try:
                json.loads(line)
            except json.JSONDecodeError:
                break
            size += len(line)
    return size
