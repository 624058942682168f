"""Phase 1 of the table build on this machine: in the calling process (one worker, or one
prompt to generate) or in ``workers`` spawned processes (``workers.map_in_processes``),
each with its own ``Generator`` and cores / workers llama.cpp threads (prompt and
decoding alike, so W workers never run more than the machine's cores;
docs/benchmarks.md has the measurement), each journaling the prompts it is given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .backends import prefer_passive_openmp
from .config import config_from_dict
from .generation import Generator
from .journal import append_journal, journal_path, read_journal
from .prompts import PromptSpec
from .workers import map_in_processes


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """llama.cpp threads of each of ``workers`` processes: the machine's cores shared out,
    at least one (2 workers on 2 cores: 1 thread each, not 2 teams of 2 that wait out
    each other's time slices at every barrier)."""
    cores = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, cores // max(1, workers))


def _make_generator(cfg_dict: dict[str, Any], n_threads: int) -> Generator:
    prefer_passive_openmp()  # before anything loads llama.cpp in this process
    return Generator(config_from_dict(cfg_dict), n_threads)


def _generate_prompt(generator: Generator, job: tuple[PromptSpec, str]) -> int:
    """Generate what one prompt's journal lacks; returns the number of new records."""
    spec, path = job
    journal = Path(path)
    return generator.run(spec, read_journal(journal), lambda r: append_journal(journal, r))


def generate_local(
    cfg_dict: dict[str, Any], todo: list[PromptSpec], parts: Path, workers: int, bar: Any
) -> int:
    """Generate every record of ``todo``, journaling under ``parts``; returns the number of
    new records. ``bar`` (tqdm) advances by one per finished prompt."""
    n_threads = threads_per_worker(workers)
    jobs = [(s, str(journal_path(parts, s.prompt_id))) for s in todo]
    new = 0
    for n in map_in_processes(
        _make_generator, (cfg_dict, n_threads), _generate_prompt, jobs, workers, ordered=False
    ):
        new += n
        bar.update(1)
        bar.set_postfix(texts=new)
    return new
