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
from dataclasses import dataclass, field
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


def make_judge(cfg: TableConfig, embedder: Any) -> OfflineJudge | LLMJudge:
    """The configured judge: the paper's LLM prompt, or the offline version ``judge.offline``."""
    if cfg.judge.type == "llm":
        backend = backends.make_text_backend(cfg.backends[cfg.judge.backend])
        return LLMJudge(backend, cfg.judge.attempts)
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
    counts: dict[str, int],
    rejudge: bool = False,
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
    _score(cfg, judge, cands, parts, counts, rejudge)
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
    _score(cfg, judge, fused, parts, counts, rejudge)
    return subs + fused


_WORKER: dict[str, Any] = {}


def _init_judge_worker(cfg_dict: dict[str, Any], parts: Path, rejudge: bool) -> None:
    """A judging process: its own embedder and judge, loaded once."""
    from .config import config_from_dict

    cfg = config_from_dict(cfg_dict)
    embedder = embed.get_embedder(cfg.gate.embedding_model)
    _WORKER.update(
        cfg=cfg, parts=parts, rejudge=rejudge, embedder=embedder, judge=make_judge(cfg, embedder)
    )


def _judge_in_worker(spec: PromptSpec) -> tuple[list[dict[str, Any]], dict[str, int]]:
    counts: dict[str, int] = {}
    w = _WORKER
    rows = judge_prompt(w["cfg"], w["judge"], spec, w["parts"], w["embedder"], counts, w["rejudge"])
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

    counts: dict[str, int] = {}
    subs_and_fused: list[dict[str, Any]] = []
    bar = tqdm(total=len(prompts), desc="judge", unit="prompt", disable=not progress)
    if workers > 1 and cfg.judge.type == "offline" and len(prompts) > 1:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        n = min(workers, len(prompts))
        with ctx.Pool(n, _init_judge_worker, (cfg.model_dump(), parts, rejudge)) as pool:
            # map keeps the prompts' order: the table's rows do not depend on who finished first
            for rows, c in pool.imap(_judge_in_worker, prompts):
                subs_and_fused.extend(rows)
                for key, v in c.items():
                    counts[key] = counts.get(key, 0) + v
                bar.update()
        judge_name = cfg.judge.offline
    else:
        embedder = embed.get_embedder(cfg.gate.embedding_model)
        judge = make_judge(cfg, embedder)
        for spec in prompts:
            subs_and_fused.extend(judge_prompt(cfg, judge, spec, parts, embedder, counts, rejudge))
            bar.update()
        judge_name = judge.name
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
        row["judge"] = judge_name
        del row["_ref"]
    table = add_tokens(pd.DataFrame(rows), cfg)
    # journal records older than decoded_tokens: what the stored text holds
    table["decoded_tokens"] = table["decoded_tokens"].fillna(table["completion_tokens"])
    return Merged(normalise(table), missing, dropped, counts)


def _score(
    cfg: TableConfig,
    judge: OfflineJudge | LLMJudge,
    rows: list[dict[str, Any]],
    parts: Path,
    counts: dict[str, int],
    rejudge: bool = False,
) -> None:
    """Set ``score`` of every row from the journal or the judge (None when missing)."""
    if isinstance(judge, LLMJudge):
        got = llm_scores(cfg, judge, rows, parts, progress=False)
    else:
        got = offline_scores(judge, rows, parts, rejudge)
    for key, n in got.items():
        counts[key] = counts.get(key, 0) + n
