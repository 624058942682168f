"""Build the quality table: generate, journal, judge, merge.

Phase 1 (generation, parallel): for each prompt, the gate split and every (subtask,
expert) text (and, with ``fusion.mode: llm``, every selected fused text) are appended as
JSON lines to a per-prompt journal ``<out>.parts/<prompt_id>.jsonl``, each line flushed
and fsynced as soon as its text exists. A killed build loses at most the text being
generated; rerunning skips every journaled text. Every text has its own seed, derived
from (base seed, prompt id, subtask, expert / assignment), and llama.cpp starts each
text from an empty cache, so texts do not depend on order, worker count or resumes.

Phase 2 (merge, driver): routing scores (embeddings), fused texts for ``fusion.mode:
concat``, judge scores, one DataFrame in canonical order, written atomically. Scoring
from the journal means a changed judge needs no regeneration.

Parallelism: ``workers`` local processes (each with cores/workers llama.cpp threads), or
Ray tasks (``executor="ray"``, ``ray_executor.py``; Ray is optional) that stream their
records to the driver, which journals them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import TableConfig, config_from_dict
from .errors import ConfigError, PipelineError
from .prompts import PromptSpec, load_prompts

log = logging.getLogger(__name__)

FUSION_PROMPT = "Combine the following passages together to form a complete story"


def item_seed(base: int, *parts: object) -> int:
    """Stable 31-bit seed of one text from the base seed and the text's identity."""
    key = ":".join(str(p) for p in (base, *parts))
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def all_assignments(k: int, n_experts: int) -> list[tuple[int, ...]]:
    """Every action: one expert (0..N) per subtask, in lexicographic order."""
    return list(itertools.product(range(n_experts + 1), repeat=k))


def fused_assignments(cfg: TableConfig, prompt_id: str) -> list[tuple[int, ...]]:
    """The assignments that get a fused row, per ``fusion.assignments``."""
    every = all_assignments(cfg.num_subtasks, len(cfg.experts))
    sel = cfg.fusion.assignments
    if sel == "all":
        return every
    if sel == "none":
        return []
    rng = np.random.default_rng(item_seed(cfg.seed, prompt_id, "fused-sample"))
    idx = sorted(rng.choice(len(every), size=min(int(sel), len(every)), replace=False))
    return [every[i] for i in idx]


def fusion_messages(passages: list[str]) -> list[dict[str, str]]:
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


def expert_messages(system_prompt: str, subtask: str) -> list[dict[str, str]]:
    """What an expert is asked for one subtask."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": f"{subtask} Write one short paragraph."},
    ]


# ---------------------------------------------------------------- journal
def journal_dir(out: Path) -> Path:
    """Where the per-prompt journals of ``out`` live."""
    return out.with_name(out.name + ".parts")


def read_journal(path: Path) -> list[dict[str, Any]]:
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


def append_journal(path: Path, record: dict[str, Any]) -> None:
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


def record_key(r: dict[str, Any]) -> tuple:
    """Identity of a journal record."""
    return (r["type"], r.get("k", -1), r.get("expert", -1), r.get("assignment", ""))


# ---------------------------------------------------------------- phase 1
class Generator:
    """Holds the backends of one process and writes one prompt's texts."""

    def __init__(self, cfg: TableConfig, n_threads: int | None = None) -> None:
        from .backends import make_backend

        self.cfg = cfg
        self.backends = {n: make_backend(b, n_threads) for n, b in cfg.backends.items()}

    def run(
        self, spec: PromptSpec, done: list[dict[str, Any]], emit: Callable[[dict[str, Any]], None]
    ) -> int:
        """Generate what ``done`` lacks for ``spec``; ``emit`` each new record. Returns count."""
        new = 0
        for record in self.records(spec, done):
            emit(record)
            new += 1
        return new

    def records(self, spec: PromptSpec, done: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Yield each record ``done`` lacks for ``spec``, as soon as its text exists."""
        from .gate import split_prompt

        cfg, pid = self.cfg, spec.prompt_id
        have = {record_key(r): r for r in done}
        gate = have.get(("gate", -1, -1, ""))
        if gate is None:
            t0 = time.perf_counter()
            subtasks, method = split_prompt(
                spec.prompt,
                cfg.num_subtasks,
                spec.content_type,
                cfg.gate.split,
                self.backends[cfg.gate.backend],
                item_seed(cfg.seed, pid, "gate"),
                cfg.gate.max_tokens,
            )
            gate = {
                "type": "gate",
                "subtasks": subtasks,
                "split": method,
                "seconds": time.perf_counter() - t0,
            }
            yield gate
        texts: dict[tuple[int, int], str] = {}
        for k, subtask in enumerate(gate["subtasks"]):
            for e, expert in enumerate(cfg.all_experts):
                rec = have.get(("text", k, e, ""))
                if rec is None:
                    seed = item_seed(cfg.seed, pid, k, e)
                    g = self.backends[expert.backend].generate(
                        expert_messages(expert.system_prompt, subtask),
                        max_tokens=expert.max_tokens,
                        temperature=expert.temperature,
                        seed=seed,
                        top_p=expert.top_p,
                    )
                    rec = {
                        "type": "text",
                        "k": k,
                        "expert": e,
                        "text": trim_to_sentence(g.text),
                        "model": f"{expert.name}:{g.model}",
                        "backend": g.backend,
                        "seed": seed,
                        "gen_seconds": round(g.seconds, 4),
                    }
                    yield rec
                texts[(k, e)] = rec["text"]
        if cfg.fusion.mode == "llm":
            backend = self.backends[cfg.fusion.backend]
            for a in fused_assignments(cfg, pid):
                name = "-".join(map(str, a))
                if ("fused", -1, -1, name) in have:
                    continue
                seed = item_seed(cfg.seed, pid, "fused", name)
                g = backend.generate(
                    fusion_messages([texts[(k, e)] for k, e in enumerate(a)]),
                    max_tokens=cfg.fusion.max_tokens,
                    temperature=cfg.fusion.temperature,
                    seed=seed,
                )
                yield {
                    "type": "fused",
                    "assignment": name,
                    "text": trim_to_sentence(g.text),
                    "model": f"fusion:{g.model}",
                    "backend": g.backend,
                    "seed": seed,
                    "gen_seconds": round(g.seconds, 4),
                }


_WORKER: Generator | None = None


def _init_worker(cfg_dict: dict[str, Any], n_threads: int) -> None:
    global _WORKER
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    _WORKER = Generator(config_from_dict(cfg_dict, cfg_dict.get("base_dir", ".")), n_threads)


def _work_local(args: tuple[PromptSpec, str]) -> tuple[str, int]:
    spec, path = args
    assert _WORKER is not None
    journal = Path(path)
    done = read_journal(journal)
    n = _WORKER.run(spec, done, lambda r: append_journal(journal, r))
    return spec.prompt_id, n


def _config_dict(cfg: TableConfig) -> dict[str, Any]:
    d = asdict(cfg)
    return d


def _refingerprint(stored: Any) -> str | None:
    """Fingerprint, under today's rule, of the config a manifest stores (None if unreadable)."""
    if not isinstance(stored, dict):
        return None
    data = {k: v for k, v in stored.items() if k not in ("base_dir", "out")}
    try:
        return config_from_dict(data).fingerprint()
    except (ConfigError, TypeError, ValueError):
        return None


def check_manifest(parts: Path, cfg: TableConfig, prompts: list[PromptSpec]) -> None:
    """Journals belong to one config: refuse to mix texts of another config."""
    manifest = parts / "manifest.json"
    fp = cfg.fingerprint()
    if manifest.is_file():
        stored = json.loads(manifest.read_text())
        old = stored.get("fingerprint")
        if old == fp:
            return
        if _refingerprint(stored.get("config")) != fp:
            raise ConfigError(
                f"{parts} holds texts of another config (fingerprint {old} != {fp}); "
                "remove it or use --fresh"
            )
        # Same texts, fingerprint written under an older rule (e.g. when the judge was
        # still part of it): keep the journal and record today's fingerprint.
    parts.mkdir(parents=True, exist_ok=True)
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": fp, "config": _config_dict(cfg)}, indent=1))
    os.replace(tmp, manifest)


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
        p for p in prompts if not _complete(cfg, p, read_journal(parts / f"{p.prompt_id}.jsonl"))
    ]
    cores = os.cpu_count() or 1
    n_threads = max(1, cores // max(1, workers))
    t0 = time.perf_counter()
    new = 0
    bar = tqdm(
        total=len(prompts),
        initial=len(prompts) - len(todo),
        unit="prompt",
        desc="generate",
        disable=not progress,
    )
    cfg_dict = _config_dict(cfg)
    try:
        if executor == "ray":
            from .ray_executor import generate_ray

            new = generate_ray(cfg_dict, todo, parts, workers, bar, ray_address)
        elif workers <= 1:
            _init_worker(cfg_dict, n_threads)
            for spec in todo:
                new += _work_local((spec, str(parts / f"{spec.prompt_id}.jsonl")))[1]
                bar.update(1)
                bar.set_postfix(texts=new)
        else:
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            with ctx.Pool(workers, _init_worker, (cfg_dict, n_threads)) as pool:
                jobs = [(s, str(parts / f"{s.prompt_id}.jsonl")) for s in todo]
                for _, n in pool.imap_unordered(_work_local, jobs):
                    new += n
                    bar.update(1)
                    bar.set_postfix(texts=new)
    finally:
        bar.close()
    return {"new_texts": new, "seconds": time.perf_counter() - t0}


def _complete(cfg: TableConfig, spec: PromptSpec, records: list[dict[str, Any]]) -> bool:
    keys = {record_key(r) for r in records}
    n = len(cfg.all_experts)
    need = {("gate", -1, -1, "")} | {
        ("text", k, e, "") for k in range(cfg.num_subtasks) for e in range(n)
    }
    if cfg.fusion.mode == "llm":
        need |= {
            ("fused", -1, -1, "-".join(map(str, a))) for a in fused_assignments(cfg, spec.prompt_id)
        }
    return need <= keys


# ---------------------------------------------------------------- phase 2
def make_judge(cfg: TableConfig, embedder: Any) -> Any:
    """The configured judge: the paper's LLM prompt, or the offline version ``judge.offline``."""
    from .judge import LLMJudge, make_offline_judge

    if cfg.judge.type == "llm":
        from .backends import make_backend

        return LLMJudge(make_backend(cfg.backends[cfg.judge.backend]))
    return make_offline_judge(cfg.judge.offline, embedder)


def merge(
    cfg: TableConfig, prompts: list[PromptSpec], parts: Path, progress: bool = True
) -> pd.DataFrame:
    """Phase 2: routing, concat fusion, judging; the whole table as a DataFrame."""
    from tqdm import tqdm

    from .embed import get_embedder
    from .gate import route_scores

    embedder = get_embedder(cfg.gate.embedding_model)
    judge = make_judge(cfg, embedder)
    specialties = [e.specialty for e in cfg.all_experts]
    rows: list[dict[str, Any]] = []
    for spec in tqdm(prompts, desc="judge", unit="prompt", disable=not progress):
        recs = {record_key(r): r for r in read_journal(parts / f"{spec.prompt_id}.jsonl")}
        if not _complete(cfg, spec, list(recs.values())):
            raise PipelineError(f"prompt {spec.prompt_id}: generation incomplete")
        gate = recs[("gate", -1, -1, "")]
        subtasks = gate["subtasks"]
        route = route_scores(embedder, subtasks, specialties)
        base = {
            "prompt_id": spec.prompt_id,
            "prompt": spec.prompt,
            "content_type": spec.content_type,
            "split_method": gate["split"],
        }
        texts: dict[tuple[int, int], str] = {}
        for k, subtask in enumerate(subtasks):
            for e in range(len(cfg.all_experts)):
                r = recs[("text", k, e, "")]
                texts[(k, e)] = r["text"]
                seed = r["seed"]
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
                        "seed": seed,
                        "gen_seconds": r["gen_seconds"],
                        "_ref": subtask,
                    }
                )
        for a in fused_assignments(cfg, spec.prompt_id):
            name = "-".join(map(str, a))
            if cfg.fusion.mode == "llm":
                r = recs[("fused", -1, -1, name)]
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
                    "_ref": spec.prompt,
                }
            )
    if hasattr(judge, "prefetch"):
        judge.prefetch(
            [r["text"] for r in rows if r["kind"] == "subtask"], sorted({r["_ref"] for r in rows})
        )
    for row in tqdm(rows, desc="score", unit="text", disable=not progress, mininterval=2):
        row["score"] = float(round(judge.score(row["text"], row["_ref"], row["seed"]), 3))
        row["words"] = len(row["text"].split())
        row["bytes"] = len(row["text"].encode("utf-8"))
        row["judge"] = judge.name
        del row["_ref"]
    from .table import normalise

    return normalise(pd.DataFrame(rows))


def build_table(
    cfg: TableConfig,
    out: str | Path | None = None,
    workers: int = 1,
    executor: str = "local",
    fresh: bool = False,
    progress: bool = True,
    prompts: Iterable[PromptSpec] | None = None,
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Generate (resumable), judge and atomically write the table. Returns stats."""
    import shutil

    from .table import write_table

    out_path = cfg.resolve(out or cfg.out)
    specs = (
        list(prompts)
        if prompts is not None
        else load_prompts(cfg.resolve(cfg.prompts), cfg.max_prompt_chars, cfg.max_prompts)
    )
    if not specs:
        raise ConfigError("no prompts to build")
    parts = journal_dir(out_path)
    if fresh and parts.exists():
        shutil.rmtree(parts)
    check_manifest(parts, cfg, specs)
    t0 = time.perf_counter()
    gen = generate(cfg, specs, parts, workers, executor, progress, ray_address)
    t1 = time.perf_counter()
    df = merge(cfg, specs, parts, progress)
    write_table(df, out_path)
    t2 = time.perf_counter()
    stats = {
        "out": str(out_path),
        "rows": len(df),
        "prompts": len(specs),
        "generated_texts": gen["new_texts"],
        "generate_seconds": round(t1 - t0, 1),
        "judge_seconds": round(t2 - t1, 1),
        "total_seconds": round(t2 - t0, 1),
    }
    if gen["new_texts"] and t1 > t0:
        stats["texts_per_minute"] = round(60 * gen["new_texts"] / (t1 - t0), 1)
    log.info("table written: %s", stats)
    return stats
