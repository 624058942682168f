"""Phase 1 of the table build on this machine: in the calling process (one worker) or in
a pool of ``workers`` spawned processes, each with its own ``Generator`` and
cores / workers llama.cpp threads (prompt and decoding alike, so W workers never run
more than the machine's cores; docs/benchmarks.md has the measurement), each journaling
the prompts it is given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .backends import prefer_passive_openmp
from .config import config_from_dict
from .generation import Generator
from .journal import append_journal, journal_path, read_journal
from .prompts import PromptSpec

_WORKER: Generator | None = None


def _init_worker(cfg_dict: dict[str, Any], n_threads: int) -> None:
    global _WORKER
    prefer_passive_openmp()  # before anything loads llama.cpp in this process
    _WORKER = Generator(config_from_dict(cfg_dict), n_threads)


def _work(args: tuple[PromptSpec, str]) -> tuple[str, int]:
    spec, path = args
    assert _WORKER is not None
    journal = Path(path)
    done = read_journal(journal)
    n = _WORKER.run(spec, done, lambda r: append_journal(journal, r))
    return spec.prompt_id, n


def generate_local(
    cfg_dict: dict[str, Any], todo: list[PromptSpec], parts: Path, workers: int, bar: Any
) -> int:
    """Generate every record of ``todo``, journaling under ``parts``; returns the number of
    new records. ``bar`` (tqdm) advances by one per finished prompt."""
    n_threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    jobs = [(s, str(journal_path(parts, s.prompt_id))) for s in todo]
    new = 0
    if workers <= 1:
        _init_worker(cfg_dict, n_threads)
        for job in jobs:
            new += _work(job)[1]
            bar.update(1)
            bar.set_postfix(texts=new)
        return new
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, _init_worker, (cfg_dict, n_threads)) as pool:
        for _, n in pool.imap_unordered(_work, jobs):
            new += n
            bar.update(1)
            bar.set_postfix(texts=new)
    return new
