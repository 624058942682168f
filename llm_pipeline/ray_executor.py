"""Phase 1 of the table build on Ray: one task per prompt, on a local Ray instance or a
cluster (``ray start --head`` on one machine, ``ray start --address=HEAD:PORT`` on the
others, then ``RAY_ADDRESS=HEAD:PORT`` or ``--ray-address`` on the driver).

Each task is a generator: every record (gate split, expert text, fused text) travels
back to the driver as soon as it exists and is journaled there, exactly as the local
executor journals it, so the journal lives on the driver's disk only (the cluster needs
no shared file system) and a killed build loses at most the texts in flight. Texts
depend only on their own seeds, so a Ray build equals a process-parallel one.

Every task asks for one CPU and runs llama.cpp on one thread (``n_threads`` in a
backend's config overrides); ``workers`` tasks run at a time. Without an address the
driver starts a local instance limited to ``workers`` CPUs and no dashboard, and shuts it
down afterwards. Ray is optional: ``pip install 'netmoe[ray]'``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from netmoe_runtime.ray_cluster import unreachable

from .config import config_from_dict
from .errors import PipelineError, TableConfigError
from .generation import Generator
from .journal import append_journal, journal_path, read_journal
from .prompts import PromptSpec

log = logging.getLogger(__name__)

# Offline and quiet, unless the caller set them: no usage reporting, no token auth.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def prompt_records(
    cfg_dict: dict[str, Any], spec: PromptSpec, done: list[dict[str, Any]], n_threads: int
) -> Iterator[dict[str, Any]]:
    """Task body: yield each record ``done`` lacks for ``spec`` as soon as it exists."""
    gen = Generator(config_from_dict(cfg_dict), n_threads)
    yield from gen.records(spec, done)


def check_reachable(address: str) -> None:
    """Fail fast (``TableConfigError``) when a ``HOST:PORT`` address does not accept TCP
    connections: ``ray.init`` would otherwise retry for minutes. Other forms (``auto``,
    ``ray://...``) are left to Ray."""
    if (why := unreachable(address)) is not None:
        raise TableConfigError(f"no Ray cluster answers at {address}: {why}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def generate_ray(
    cfg_dict: dict[str, Any],
    todo: list[PromptSpec],
    parts: Path,
    workers: int,
    bar: Any,
    address: str | None = None,
) -> int:
    """Generate every record of ``todo`` on Ray, journaling under ``parts``; returns the
    number of new records. ``address``: default ``RAY_ADDRESS``, else a local instance."""
    try:
        import ray
        from ray.exceptions import RayError, RayTaskError
    except ImportError:
        raise TableConfigError("--executor ray needs Ray (pip install 'netmoe[ray]')") from None
    for key, value in RAY_ENV.items():
        os.environ.setdefault(key, value)
    address = address or os.environ.get("RAY_ADDRESS") or None
    own = not ray.is_initialized()
    if own:
        kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        if address:
            check_reachable(address)
        else:
            kwargs.update(num_cpus=workers, include_dashboard=False)
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RayError, RuntimeError, ValueError) as exc:
            where = address or "a local instance"
            raise TableConfigError(
                f"cannot start or reach Ray ({where}): {_first_line(exc)}"
            ) from None
    task = ray.remote(num_cpus=1, max_retries=0)(prompt_records)
    queued = list(todo)
    running: dict[Any, PromptSpec] = {}
    new = 0

    def submit() -> None:
        while queued and len(running) < workers:
            spec = queued.pop(0)
            done = read_journal(journal_path(parts, spec.prompt_id))
            running[task.remote(cfg_dict, spec, done, 1)] = spec

    try:
        submit()
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            stream = ready[0]
            spec = running[stream]
            try:
                ref = next(stream)
            except StopIteration:
                del running[stream]
                bar.update(1)
                bar.set_postfix(texts=new)
                submit()
                continue
            try:
                record = ray.get(ref)
            except RayTaskError as exc:
                cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                raise PipelineError(
                    f"prompt {spec.prompt_id} failed on Ray: {_first_line(cause)}"
                ) from None
            except RayError as exc:
                raise PipelineError(
                    f"prompt {spec.prompt_id} failed on Ray: {_first_line(exc)}"
                ) from None
            append_journal(journal_path(parts, spec.prompt_id), record)
            new += 1
    finally:
        for stream in running:
            try:
                ray.cancel(stream, force=True)
            except Exception:  # noqa: BLE001 - best effort on the way out
                log.debug("could not cancel a Ray task", exc_info=True)
        if own:
            ray.shutdown()
    return new
