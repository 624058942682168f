"""Phase 2 of a build, on the driver: from the journals, the table's rows with routing
scores (embeddings), each best-of writer's candidates judged against the subtask and the
best kept (every score in ``candidate_scores``), concatenated fused answers of the kept
texts for ``fusion.mode: concat``, and judge scores (``scoring``: the LLM judge's
journaled, a missing score leaves rows out), in canonical order. Scoring from the
journal means a changed judge needs no regeneration (and may choose other candidates).
Token counts come from the journal records; records written before they existed, and
concatenated fused rows, are counted here (``tokens.add_tokens``)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from netmoe_table import TOKEN_COLUMNS, normalise

from . import backends, embed
from .config import TableConfig
from .errors import PipelineError
from .gate import route_scores
from .journal import GATE_KEY, candidate_tag, journal_path, read_journal, record_key
from .judge import LLMJudge, OfflineJudge, make_offline_judge
from .plan import assignment_name, fused_assignments, is_complete
from .prompts import PromptSpec
from .scoring import drop_missing, llm_scores, offline_scores
from .tokens import add_tokens
from .workers import map_in_processes


def make_judge(cfg: TableConfig, embedder: Any) -> OfflineJudge | LLMJudge:
    """The configured judge: the paper's LLM prompt, or the offline version ``judge.offline``."""
    if cfg.judge.type == "llm":
        name = cfg.judge.backend
        backend = backends.make_text_backend(cfg.backends[name])
        # the server is checked once, when the first score is not in the journal
        check = partial(backends.check_served_models, cfg, [name])
        return LLMJudge(backend, cfg.judge.attempts, before_first_ask=check)
    return make_offline_judge(cfg.judge.offline, embedder, cfg.judge.lm_chunk_tokens)


@dataclass
class Merged:
    """Phase 2's result: the table, and the rows the judge gave no score
    (``scoring``: missing fused rows and prompts with a missing subtask score are left
    out of ``table``)."""

    table: pd.DataFrame
    missing_scores: list[str] = field(default_factory=list)
    dropped_prompts: list[str] = field(default_factory=list)
    judge_counts: dict[str, int] = field(default_factory=dict)


def _candidates(cfg: TableConfig, recs: dict, k: int, e: int) -> list[dict[str, Any]]:
    """The journal records of writer ``e``'s best-of candidates on subtask ``k``."""
    return [recs[("text", k, e, candidate_tag(j))] for j in range(cfg.all_experts[e].best_of)]


def _prompt_rows(
    cfg: TableConfig, spec: PromptSpec, parts: Path, embedder: Any
) -> list[dict[str, Any]]:
    """One prompt's subtask rows, unscored, each with its best-of candidates in ``_cands``
    and, in ``_fused``, the prompt's fused rows to make once candidates are chosen;
    ``_ref`` is what a row is judged against."""
    recs = {record_key(r): r for r in read_journal(journal_path(parts, spec.prompt_id))}
    if not is_complete(cfg, spec.prompt_id, list(recs.values())):
        raise PipelineError(f"prompt {spec.prompt_id}: generation incomplete")
    gate = recs[GATE_KEY]
    subtasks = gate["subtasks"]
    route = route_scores(embedder, subtasks, [e.specialty for e in cfg.all_experts])
    base = {
        "prompt_id": spec.prompt_id,
        "prompt": spec.prompt,
        "content_type": spec.content_type,
        "split_method": gate["split"],
    }
    rows: list[dict[str, Any]] = []
    for k, subtask in enumerate(subtasks):
        for e, w in enumerate(cfg.all_experts):
            rows.append(
                {
                    **base,
                    "kind": "subtask",
                    "subtask_index": k,
                    "subtask": subtask,
                    "expert": e,
                    "assignment": "",
                    "route_score": float(route[k, e]),
                    "writer": w.name,
                    "best_of": w.best_of,
                    "max_tokens": w.max_tokens,
                    "min_tokens": w.min_tokens,
                    "context": w.context,
                    "_ref": subtask,
                    "_cands": _candidates(cfg, recs, k, e),
                }
            )
    fused = []
    for a in fused_assignments(cfg, spec.prompt_id):
        name = assignment_name(a)
        row = {
            **base,
            "kind": "fused",
            "subtask_index": -1,
            "subtask": "",
            "expert": -1,
            "assignment": name,
            "route_score": float("nan"),
            "candidate_scores": "[]",
            "_ref": spec.prompt,
            "_action": a,
        }
        if cfg.fusion.mode == "llm":
            r = recs[("fused", -1, -1, name)]
            row.update(_from_record(r))
            row.update(
                writer="fusion",
                best_of=1,
                max_tokens=cfg.fusion.max_tokens,
                min_tokens=0,
                context="passages",
            )
        else:
            row.update(
                model="concat",
                backend="concat",
                seed=cfg.seed,
                gen_seconds=0.0,
                decoded_tokens=0,
                writer="concat",
                best_of=0,
                max_tokens=0,
                min_tokens=0,
                context="passages",
                **{c: None for c in TOKEN_COLUMNS},
            )
        fused.append(row)
    if rows:
        rows[0]["_fused"] = fused
    return rows


def _from_record(r: dict[str, Any]) -> dict[str, Any]:
    """A row's fields taken from one journal text record."""
    return {
        "text": r["text"],
        "model": r["model"],
        "backend": r["backend"],
        "seed": r["seed"],
        "gen_seconds": r["gen_seconds"],
        **{c: r.get(c) for c in TOKEN_COLUMNS},
        "decoded_tokens": r.get("decoded_tokens", r.get("completion_tokens")),
    }


def _choose(row: dict[str, Any], scores: list[float | None]) -> None:
    """Fill a subtask row from its best-scored candidate (the first of equal ones; a
    candidate without a score never wins, and a row whose candidates all lack one keeps
    ``score`` None). Generation time and decoded tokens are the sum over candidates: what
    the writer spent for this reply."""
    cands = row.pop("_cands")
    scored = [(s, -j) for j, s in enumerate(scores) if s is not None]
    best = -max(scored)[1] if scored else 0
    row.update(_from_record(cands[best]))
    row["score"] = scores[best]
    row["gen_seconds"] = round(sum(float(c["gen_seconds"]) for c in cands), 4)
    decoded = [c.get("decoded_tokens", c.get("completion_tokens")) for c in cands]
    row["decoded_tokens"] = None if None in decoded else int(sum(decoded))
    row["candidate_scores"] = json.dumps(
        [None if s is None else round(float(s), 3) for s in scores]
    )


def _candidate_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One pseudo-row per best-of candidate, for the judge (``_row``: its subtask row)."""
    out = []
    for i, row in enumerate(rows):
        for c in row["_cands"]:
            out.append(
                {
                    **{k: row[k] for k in ("prompt_id", "kind", "subtask_index", "expert")},
                    "assignment": "",
                    "text": c["text"],
                    "seed": c["seed"],
                    "_ref": row["_ref"],
                    "_row": i,
                }
            )
    return out


def judge_prompt(
    cfg: TableConfig,
    judge: OfflineJudge | LLMJudge,
    spec: PromptSpec,
    parts: Path,
    embedder: Any,
    counts: Counter[str],
    rejudge: bool = False,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """One prompt's rows, judged: its best-of candidates scored against the subtask and
    the best kept, then its fused answers scored against the prompt (``scoring``:
    journaled, so a killed build resumes). An offline judge starts every prompt with empty
    caches, so a prompt's scores do not depend on which prompts the same process judged
    before: any number of judging processes gives the same table."""
    if isinstance(judge, OfflineJudge):
        judge.clear_caches()
    subs = _prompt_rows(cfg, spec, parts, embedder)
    fused = subs[0].pop("_fused", []) if subs else []
    cands = _candidate_rows(subs)
    if isinstance(judge, OfflineJudge):
        judge.prefetch([c["text"] for c in cands], sorted({r["_ref"] for r in subs + fused}))
    _score(judge, cands, parts, counts, rejudge, progress)
    by_row: list[list[float | None]] = [[] for _ in subs]
    for c in cands:
        by_row[c["_row"]].append(c["score"])
    for row, scores in zip(subs, by_row, strict=True):
        _choose(row, scores)
    chosen = {(r["subtask_index"], r["expert"]): r["text"] for r in subs}
    for f in fused:
        a = f.pop("_action")
        if cfg.fusion.mode != "llm":
            f["text"] = " ".join(chosen[(k, e)] for k, e in enumerate(a))
    _score(judge, fused, parts, counts, rejudge, progress)
    for row in subs + fused:
        row["judge"] = judge.name
    return subs + fused


@dataclass
class _Judging:
    """What judging one prompt needs, made once per judging process."""

    cfg: TableConfig
    parts: Path
    rejudge: bool
    progress: bool
    embedder: Any
    judge: OfflineJudge | LLMJudge


def _start_judging(cfg: TableConfig, parts: Path, rejudge: bool, progress: bool) -> _Judging:
    embedder = embed.get_embedder(cfg.gate.embedding_model)
    return _Judging(cfg, parts, rejudge, progress, embedder, make_judge(cfg, embedder))


def _judge_one(j: _Judging, spec: PromptSpec) -> tuple[list[dict[str, Any]], Counter[str]]:
    counts: Counter[str] = Counter()
    rows = judge_prompt(j.cfg, j.judge, spec, j.parts, j.embedder, counts, j.rejudge, j.progress)
    return rows, counts


def merge(
    cfg: TableConfig,
    prompts: list[PromptSpec],
    parts: Path,
    progress: bool = True,
    workers: int = 1,
    rejudge: bool = False,
) -> Merged:
    """Phase 2: routing, best-of choice, concat fusion, judging; the whole table.

    ``workers`` > 1 judges prompts in that many processes (offline judges only; each
    loads its own models, ~1.3 GB with judge v4); ``rejudge`` ignores journaled scores."""
    from tqdm import tqdm

    counts: Counter[str] = Counter()
    subs_and_fused: list[dict[str, Any]] = []
    bar = tqdm(total=len(prompts), desc="judge", unit="prompt", disable=not progress)
    # an LLM judge asks a server: one process, with a per-text bar under this one
    processes = workers if cfg.judge.type == "offline" else 1
    # the prompts' order is kept: the table's rows do not depend on who finished first
    for rows, c in map_in_processes(
        _start_judging, (cfg, parts, rejudge, progress), _judge_one, prompts, processes
    ):
        subs_and_fused.extend(rows)
        counts.update(c)
        bar.update()
    bar.close()
    # canonical order: every prompt's subtask rows, then every prompt's fused rows
    subs = [r for r in subs_and_fused if r["kind"] == "subtask"]
    fused = [r for r in subs_and_fused if r["kind"] == "fused"]
    rows, missing, dropped = drop_missing(subs + fused)
    if not rows:
        raise PipelineError(
            f"the judge gave no score for {len(missing)} text(s) ({missing[0]} ...), "
            "which leaves every prompt out of the table; check the judge with "
            "`netmoe table check-backend`"
        )
    for row in rows:
        row["score"] = float(round(row["score"], 3))
        row["words"] = len(row["text"].split())
        row["bytes"] = len(row["text"].encode("utf-8"))
        del row["_ref"]
    table = add_tokens(pd.DataFrame(rows), cfg)
    # journal records older than decoded_tokens: what the stored text holds
    table["decoded_tokens"] = table["decoded_tokens"].fillna(table["completion_tokens"])
    return Merged(normalise(table), missing, dropped, dict(counts))


def _score(
    judge: OfflineJudge | LLMJudge,
    rows: list[dict[str, Any]],
    parts: Path,
    counts: Counter[str],
    rejudge: bool = False,
    progress: bool = False,
) -> None:
    """Set ``score`` of every row from the journal or the judge (None when missing);
    ``progress``: the LLM judge's per-text bar."""
    if isinstance(judge, LLMJudge):
        counts.update(llm_scores(judge, rows, parts, progress))
    else:
        counts.update(offline_scores(judge, rows, parts, rejudge))
