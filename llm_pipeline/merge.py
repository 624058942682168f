"""Phase 2 of a build, on the driver: from the journals, the table's rows with routing
scores (embeddings), concatenated fused answers for ``fusion.mode: concat``, and judge
scores (``scoring``: the LLM judge's journaled, a missing score leaves rows out), in
canonical order. Scoring from the journal means a changed judge needs no regeneration.
Token counts come from the journal records; records written before they existed, and
concatenated fused rows, are counted here (``tokens.add_tokens``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from netmoe_table import TOKEN_COLUMNS, normalise

from . import backends, embed
from .config import TableConfig
from .errors import PipelineError
from .gate import route_scores
from .journal import GATE_KEY, journal_path, read_journal, record_key
from .judge import LLMJudge, OfflineJudge, make_offline_judge
from .plan import assignment_name, fused_assignments, is_complete
from .prompts import PromptSpec
from .scoring import drop_missing, llm_scores
from .tokens import add_tokens


def make_judge(cfg: TableConfig, embedder: Any) -> OfflineJudge | LLMJudge:
    """The configured judge: the paper's LLM prompt, or the offline version ``judge.offline``."""
    if cfg.judge.type == "llm":
        backend = backends.make_text_backend(cfg.backends[cfg.judge.backend])
        return LLMJudge(backend, cfg.judge.attempts)
    return make_offline_judge(cfg.judge.offline, embedder)


@dataclass
class Merged:
    """Phase 2's result: the table, and the rows the judge gave no score
    (``scoring``: missing fused rows and prompts with a missing subtask score are left
    out of ``table``)."""

    table: pd.DataFrame
    missing_scores: list[str] = field(default_factory=list)
    dropped_prompts: list[str] = field(default_factory=list)
    judge_counts: dict[str, int] = field(default_factory=dict)


def _prompt_rows(
    cfg: TableConfig, spec: PromptSpec, parts: Path, embedder: Any
) -> list[dict[str, Any]]:
    """One prompt's rows, unscored; ``_ref`` is what a row is judged against."""
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
    texts: dict[tuple[int, int], str] = {}
    for k, subtask in enumerate(subtasks):
        for e in range(len(cfg.all_experts)):
            r = recs[("text", k, e, "")]
            texts[(k, e)] = r["text"]
            rows.append(
                {
                    **base,
                    "kind": "subtask",
                    "subtask_index": k,
                    "subtask": subtask,
                    "expert": e,
                    "assignment": "",
                    "route_score": float(route[k, e]),
                    "text": r["text"],
                    "model": r["model"],
                    "backend": r["backend"],
                    "seed": r["seed"],
                    "gen_seconds": r["gen_seconds"],
                    **{c: r.get(c) for c in TOKEN_COLUMNS},
                    "_ref": subtask,
                }
            )
    for a in fused_assignments(cfg, spec.prompt_id):
        name = assignment_name(a)
        tokens: dict[str, Any] = {c: None for c in TOKEN_COLUMNS}
        if cfg.fusion.mode == "llm":
            r = recs[("fused", -1, -1, name)]
            tokens = {c: r.get(c) for c in TOKEN_COLUMNS}
            text, model, backend, seed, secs = (
                r["text"],
                r["model"],
                r["backend"],
                r["seed"],
                r["gen_seconds"],
            )
        else:
            text = " ".join(texts[(k, e)] for k, e in enumerate(a))
            model, backend, seed, secs = "concat", "concat", cfg.seed, 0.0
        rows.append(
            {
                **base,
                "kind": "fused",
                "subtask_index": -1,
                "subtask": "",
                "expert": -1,
                "assignment": name,
                "route_score": float("nan"),
                "text": text,
                "model": model,
                "backend": backend,
                "seed": seed,
                "gen_seconds": secs,
                **tokens,
                "_ref": spec.prompt,
            }
        )
    return rows


def merge(
    cfg: TableConfig, prompts: list[PromptSpec], parts: Path, progress: bool = True
) -> Merged:
    """Phase 2: routing, concat fusion, judging; the whole table as a DataFrame."""
    from tqdm import tqdm

    embedder = embed.get_embedder(cfg.gate.embedding_model)
    judge = make_judge(cfg, embedder)
    rows: list[dict[str, Any]] = []
    for spec in tqdm(prompts, desc="judge", unit="prompt", disable=not progress):
        rows.extend(_prompt_rows(cfg, spec, parts, embedder))
    counts: dict[str, int] = {}
    if isinstance(judge, LLMJudge):
        counts = llm_scores(cfg, judge, rows, parts, progress)
    else:
        if isinstance(judge, OfflineJudge):
            judge.prefetch(
                [r["text"] for r in rows if r["kind"] == "subtask"],
                sorted({r["_ref"] for r in rows}),
            )
        for row in tqdm(rows, desc="score", unit="text", disable=not progress, mininterval=2):
            row["score"] = judge.score(row["text"], row["_ref"], row["seed"])
    rows, missing, dropped = drop_missing(rows)
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
        row["judge"] = judge.name
        del row["_ref"]
    table = add_tokens(pd.DataFrame(rows), cfg)
    return Merged(normalise(table), missing, dropped, counts)
