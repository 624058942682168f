"""Build the quality table: generate, journal, judge, write.

Phase 1 (generation, parallel; ``generation.Generator``): for each prompt still
incomplete, the gate split and every text are appended to the prompt's journal
(``journal``) as soon as each exists; a killed build loses at most the text being
generated and a rerun skips every journaled text. ``workers`` local processes
(``local_executor``) or Ray tasks (``executor="ray"``, ``ray_executor``; Ray is optional)
do the work; every text has its own seed (``plan``), so the table does not depend on
which.

Phase 2 (``merge``, driver): routing scores, concatenated fused answers, judge scores
(``scoring``: the LLM judge's journaled; a text without a score leaves rows out), one
DataFrame in canonical order, written atomically (``netmoe_table.write_table``).

Before phase 1 generates anything, every ``openai`` backend the build uses (phase 1's and
an LLM judge's) must list its model in the server's ``/v1/models``
(``backends.check_served_models``): a misnamed judge model stops the build before an
hour of generation, not after it.

A journal directory belongs to one config (``manifest``).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from netmoe_table import write_table

from .backends import check_served_models
from .config import TableConfig
from .errors import TableConfigError
from .journal import journal_dir, journal_path, read_journal
from .local_executor import generate_local
from .manifest import check_manifest
from .merge import merge
from .plan import is_complete
from .prompts import PromptSpec, load_prompts
from .ray_executor import generate_ray

log = logging.getLogger(__name__)


def generate(
    cfg: TableConfig,
    prompts: list[PromptSpec],
    parts: Path,
    workers: int = 1,
    executor: str = "local",
    progress: bool = True,
    ray_address: str | None = None,
) -> dict[str, float]:
    """Phase 1 for every prompt still incomplete. Returns timing stats.

    ``executor``: ``local`` (``workers`` processes) or ``ray`` (``workers`` concurrent Ray
    tasks; ``ray_address`` or ``RAY_ADDRESS`` names a cluster, see ``ray_executor``)."""
    from tqdm import tqdm

    todo = [
        p
        for p in prompts
        if not is_complete(cfg, p.prompt_id, read_journal(journal_path(parts, p.prompt_id)))
    ]
    t0 = time.perf_counter()
    if todo:  # stop before any work on a server that does not serve a configured model
        check_served_models(cfg, generation_backends(cfg) + judge_backends(cfg))
    bar = tqdm(
        total=len(prompts),
        initial=len(prompts) - len(todo),
        unit="prompt",
        desc="generate",
        disable=not progress,
    )
    cfg_dict = cfg.model_dump()
    try:
        if executor == "ray":
            new = generate_ray(cfg_dict, todo, parts, workers, bar, ray_address)
        else:
            new = generate_local(cfg_dict, todo, parts, workers, bar)
    finally:
        bar.close()
    return {"new_texts": new, "seconds": time.perf_counter() - t0}


def generation_backends(cfg: TableConfig) -> list[str]:
    """The backends phase 1 uses: the experts', the gate's unless it splits by rules,
    fusion's with ``fusion.mode: llm``."""
    names = [e.backend for e in cfg.all_experts]
    if cfg.gate.split != "rules":
        names.append(cfg.gate.backend)
    if cfg.fusion.mode == "llm":
        names.append(cfg.fusion.backend)
    return list(dict.fromkeys(names))


def judge_backends(cfg: TableConfig) -> list[str]:
    """The backend phase 2 asks: an LLM judge's (an offline judge asks none)."""
    return [cfg.judge.backend] if cfg.judge.type == "llm" else []


def build_table(
    cfg: TableConfig,
    out: str | Path | None = None,
    workers: int = 1,
    executor: str = "local",
    fresh: bool = False,
    progress: bool = True,
    prompts: Iterable[PromptSpec] | None = None,
    ray_address: str | None = None,
    rejudge: bool = False,
) -> dict[str, Any]:
    """Generate (resumable), judge (resumable; ``workers`` processes for an offline
    judge; ``rejudge`` ignores journaled scores) and atomically write the table. Returns
    stats.

    ``out`` (default: the config's) and the config's prompt set resolve from the config's
    ``base_dir`` (default: the repository root) when relative."""
    out_path = cfg.resolve(out or cfg.out)
    specs = (
        list(prompts)
        if prompts is not None
        else load_prompts(cfg.resolve(cfg.prompts), cfg.max_prompt_chars, cfg.max_prompts)
    )
    if not specs:
        raise TableConfigError("no prompts to build")
    parts = journal_dir(out_path)
    if fresh and parts.exists():
        shutil.rmtree(parts)
    check_manifest(parts, cfg)
    t0 = time.perf_counter()
    gen = generate(cfg, specs, parts, workers, executor, progress, ray_address)
    t1 = time.perf_counter()
    merged = merge(cfg, specs, parts, progress, workers, rejudge)
    df = merged.table
    write_table(df, out_path)
    t2 = time.perf_counter()
    stats = {
        "out": str(out_path),
        "rows": len(df),
        "prompts": len(specs) - len(merged.dropped_prompts),
        "generated_texts": gen["new_texts"],
        "missing_scores": merged.missing_scores,
        "dropped_prompts": merged.dropped_prompts,
        "judge_counts": merged.judge_counts,
        "generate_seconds": round(t1 - t0, 1),
        "judge_seconds": round(t2 - t1, 1),
        "total_seconds": round(t2 - t0, 1),
    }
    if gen["new_texts"] and t1 > t0:
        stats["texts_per_minute"] = round(60 * gen["new_texts"] / (t1 - t0), 1)
    log.info("table written: %s", stats)
    return stats
