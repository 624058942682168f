"""What one prompt needs: the seed of every text, the actions that get a fused row, and
the journal records that make the prompt complete.

Every text has its own seed, derived from (base seed, prompt id, subtask, expert /
assignment), so a text does not depend on order, worker count or resumes. A writer's
best-of candidate 0 has the seed a best_of 1 writer's text has; candidate j > 0 adds j.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np

from .config import TableConfig
from .journal import GATE_KEY, Record, RecordKey, candidate_tag, record_key


def item_seed(base: int, *parts: object) -> int:
    """Stable 31-bit seed of one text from the base seed and the text's identity."""
    key = ":".join(str(p) for p in (base, *parts))
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def candidate_seed(base: int, prompt_id: str, k: int, e: int, j: int) -> int:
    """Seed of best-of candidate ``j`` of writer ``e`` on subtask ``k``."""
    return item_seed(base, prompt_id, k, e) if j == 0 else item_seed(base, prompt_id, k, e, j)


def all_assignments(k: int, n_experts: int) -> list[tuple[int, ...]]:
    """Every action: one expert (0..N) per subtask, in lexicographic order."""
    return list(itertools.product(range(n_experts + 1), repeat=k))


def assignment_name(assignment: tuple[int, ...]) -> str:
    """``(0, 2, 1)`` -> ``"0-2-1"``: the table's ``assignment`` column."""
    return "-".join(map(str, assignment))


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


def required_keys(cfg: TableConfig, prompt_id: str) -> set[RecordKey]:
    """The journal records a prompt needs: its gate split, every (subtask, expert) text
    (each best-of candidate) and, with ``fusion.mode: llm``, every selected fused text."""
    need = {GATE_KEY} | {
        ("text", k, e, candidate_tag(j))
        for k in range(cfg.num_subtasks)
        for e, w in enumerate(cfg.all_experts)
        for j in range(w.best_of)
    }
    if cfg.fusion.mode == "llm":
        need |= {("fused", -1, -1, assignment_name(a)) for a in fused_assignments(cfg, prompt_id)}
    return need


def is_complete(cfg: TableConfig, prompt_id: str, records: list[Record]) -> bool:
    """Whether ``records`` hold everything the prompt needs."""
    return required_keys(cfg, prompt_id) <= {record_key(r) for r in records}
