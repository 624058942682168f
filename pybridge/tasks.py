"""The quality table as the environment sees it: dense arrays indexed by
(prompt, subtask, expert), plus the fused answers' scores by assignment.

The table's schema, reading and checks belong to ``netmoe_table`` (docs/quality-table.md);
this module only lays a checked table out densely. Expert 0 is the user device's own model.

Writers are not devices: the table's expert columns 1..W are *writers* (model
configurations), and each of the scenario's N expert devices runs one of them
(``tasks.expert_writers``; many devices may run the same writer). :func:`expert_writers`
resolves that mapping and :meth:`QualityTable.for_devices` lays the table out by device,
so every reader that indexes it by expert (the env, the baselines) sees N devices.

Tasks are not table prompts either: ``tasks.subtasks_per_task`` K composes one task from
the subtasks of ceil(K / K_t) consecutive table prompts (K_t: the table's subtasks per
prompt), :meth:`QualityTable.compose`, so K is not tied to the table's split. Each subtask
keeps its own request, reply and per-writer score; the task's quality adds up its prompts'
qualities (:meth:`QualityTable.quality`; docs/environment.md, "Subtasks per task").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from netmoe_table import TableError, check_layout, read_table

__all__ = ["QualityTable", "TableError", "expert_writers"]


@dataclass(frozen=True)
class QualityTable:
    """Dense view of a quality table.

    Arrays are shaped (P prompts, K subtasks, N+1 experts); ``fused`` maps
    (prompt index, assignment tuple) to the fused answer's score.
    """

    prompt_ids: list[str]
    words: np.ndarray
    bytes: np.ndarray
    score: np.ndarray
    route: np.ndarray
    subtask_bytes: np.ndarray  # (P, K): UTF-8 size of the subtask text (the request)
    fused: dict[tuple[int, tuple[int, ...]], float]
    #: (P, K, N+1) reply tokens from the table's ``completion_tokens`` column, or None
    completion_tokens: np.ndarray | None = None
    #: (P, K, N+1) prompt tokens from the table's ``prompt_tokens`` column, or None
    prompt_tokens: np.ndarray | None = None
    #: (N+1,) the writer each device runs (0: the local model) when the table is laid out
    #: by device (:meth:`for_devices`); None: devices are the table's writers
    writers: np.ndarray | None = None
    #: (P, C) the table prompts a composed task is made of (:meth:`compose`), in subtask
    #: order, ``part_size`` subtasks each (the last may be cut short); None: one each
    components: np.ndarray | None = None
    #: the table's subtasks per prompt K_t when composed (``fused`` is keyed by table
    #: prompt and K_t-long writer assignments); 0 when not composed
    part_size: int = 0

    @property
    def num_prompts(self) -> int:
        return self.words.shape[0]

    @property
    def num_subtasks(self) -> int:
        return self.words.shape[1]

    @property
    def num_experts(self) -> int:
        """Edge experts N (the table also has expert 0, the local model)."""
        return self.words.shape[2] - 1

    def for_devices(self, writers: np.ndarray) -> QualityTable:
        """The table laid out by device: device i (1..N) gets the columns of writer
        ``writers[i-1]`` (1..W), device 0 stays the local model, and ``quality`` looks a
        device assignment up as the writer assignment it stands for. Writers 1..W in
        order give a table equal to this one."""
        if self.writers is not None:
            raise ValueError("the table is already laid out by device")
        w = np.concatenate([[0], np.asarray(writers, dtype=np.int64)])

        def columns(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[:, :, w]

        return QualityTable(
            prompt_ids=self.prompt_ids,
            words=columns(self.words),  # type: ignore[arg-type]
            bytes=columns(self.bytes),  # type: ignore[arg-type]
            score=columns(self.score),  # type: ignore[arg-type]
            route=columns(self.route),  # type: ignore[arg-type]
            subtask_bytes=self.subtask_bytes,
            fused=self.fused,
            completion_tokens=columns(self.completion_tokens),
            prompt_tokens=columns(self.prompt_tokens),
            writers=w,
            components=self.components,
            part_size=self.part_size,
        )

    def compose(self, num_subtasks: int) -> QualityTable:
        """Tasks of ``num_subtasks`` K subtasks: task p is made of the subtasks of table
        prompts p, p+1, ..., p+C-1 (mod P), C = ceil(K / K_t), in that order, the last one
        cut to its first subtasks when K_t does not divide K. Each subtask keeps its
        request bytes, reply bytes, words, tokens, routing and judge scores; the prompt
        ids are joined with ``+``. K = K_t returns this table itself (today's tasks).
        ``ValueError`` (one line) when K < 1 or C > P (a task would repeat a prompt)."""
        kt, count = self.num_subtasks, self.num_prompts
        if num_subtasks == kt:
            return self
        if self.writers is not None or self.components is not None:
            raise ValueError("compose the table as read, before laying it out by device")
        if num_subtasks < 1:
            raise ValueError(f"{num_subtasks} subtasks per task; at least 1")
        parts = -(-num_subtasks // kt)
        if parts > count:
            raise ValueError(
                f"{num_subtasks} subtasks per task need {parts} prompts of {kt} subtasks; "
                f"the table has {count}"
            )
        components = (np.arange(count)[:, None] + np.arange(parts)[None, :]) % count
        prompt = np.repeat(components, kt, axis=1)[:, :num_subtasks]  # (P, K) table prompt
        subtask = np.tile(np.arange(kt), parts)[None, :num_subtasks]  # (1, K) its subtask

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[prompt, subtask]

        return QualityTable(
            prompt_ids=["+".join(self.prompt_ids[i] for i in row) for row in components],
            words=pick(self.words),  # type: ignore[arg-type]
            bytes=pick(self.bytes),  # type: ignore[arg-type]
            score=pick(self.score),  # type: ignore[arg-type]
            route=pick(self.route),  # type: ignore[arg-type]
            subtask_bytes=pick(self.subtask_bytes),  # type: ignore[arg-type]
            fused=self.fused,
            completion_tokens=pick(self.completion_tokens),
            prompt_tokens=pick(self.prompt_tokens),
            components=components,
            part_size=kt,
        )

    def quality(self, prompt: int, assignment: tuple[int, ...]) -> float:
        """Score of the fused answer; the mean of the chosen texts' scores if not in the table.

        On a table laid out by device (:meth:`for_devices`) ``assignment`` names devices
        and the fused answer is looked up by the writers they run. On a composed table
        (:meth:`compose`) the task's quality is the sum over its table prompts of
        (its subtasks in the task / K_t) x that prompt's quality as above, a prompt cut
        short counting the mean of its chosen texts' scores: each prompt answered is worth
        what it is worth alone, as the costs add up over subtasks; K = K_t is today's."""
        key = (
            assignment if self.writers is None else tuple(int(self.writers[a]) for a in assignment)
        )
        if self.components is None:
            return self._part_quality(prompt, prompt, 0, assignment, key)
        kt, total = self.part_size, 0.0
        for c, table_prompt in enumerate(self.components[prompt]):
            s = slice(c * kt, (c + 1) * kt)
            part = self._part_quality(prompt, int(table_prompt), c * kt, assignment[s], key[s])
            total += part * len(assignment[s]) / kt
        return total

    def _part_quality(
        self,
        prompt: int,
        table_prompt: int,
        first: int,
        devices: tuple[int, ...],
        writers: tuple[int, ...],
    ) -> float:
        """The fused score of ``table_prompt`` answered by ``writers`` (its subtasks in
        order; a full set only), else the mean of the texts' scores, subtasks ``first``..
        of this table's ``prompt`` on ``devices``."""
        fused = self.fused.get((table_prompt, writers))
        if fused is not None:
            return fused
        k = np.arange(first, first + len(devices))
        return float(self.score[prompt, k, list(devices)].mean())

    @classmethod
    def from_frame(cls, df: pd.DataFrame, source: str = "table") -> QualityTable:
        """Check ``df`` (``netmoe_table.check_layout``; ``TableError``) and lay it out."""
        layout = check_layout(df, source)
        sub = layout.subtasks
        P, K, E = len(layout.prompt_ids), layout.num_subtasks, layout.num_choices
        p_idx, k_idx, e_idx = layout.prompt, layout.subtask_index, layout.expert

        def dense(column: str, dtype: type) -> np.ndarray:
            out = np.zeros((P, K, E), dtype=dtype)
            out[p_idx, k_idx, e_idx] = sub[column].to_numpy(dtype=dtype)
            return out

        route = dense("route_score", float)
        route = np.where(np.isnan(route), 0.0, np.clip(route, 0.0, 1.0))
        index = {p: i for i, p in enumerate(layout.prompt_ids)}
        subtask_bytes = np.zeros((P, K), dtype=np.int64)
        texts = sub.drop_duplicates(["prompt_id", "subtask_index"])
        subtask_bytes[
            texts["prompt_id"].astype(str).map(index).to_numpy(),
            texts["subtask_index"].astype(int).to_numpy(),
        ] = [len(str(t).encode()) for t in texts["subtask"]]
        tokens = {
            c: dense(c, np.int64)
            for c in ("completion_tokens", "prompt_tokens")
            if c in sub.columns and sub[c].notna().all()
        }
        return cls(
            prompt_ids=layout.prompt_ids,
            words=dense("words", np.int64),
            bytes=dense("bytes", np.int64),
            score=dense("score", float),
            route=route,
            subtask_bytes=subtask_bytes,
            fused=layout.fused,
            completion_tokens=tokens.get("completion_tokens"),
            prompt_tokens=tokens.get("prompt_tokens"),
        )

    @classmethod
    def load(cls, path: str | Path) -> QualityTable:
        """Read a Parquet or CSV table and check it (``TableError`` on any problem)."""
        return cls.from_frame(read_table(path), str(path))


def expert_writers(writers: list[int] | None, num_devices: int, num_writers: int) -> np.ndarray:
    """(N,) the writer (1..W) each expert device 1..N runs: ``writers`` as given
    (``tasks.expert_writers``), or by default device i runs writer ((i-1) mod W) + 1, so
    N = W keeps devices and writers the same. ``ValueError`` (one line) on a bad list."""
    if writers is None:
        return np.arange(num_devices, dtype=np.int64) % num_writers + 1
    if len(writers) != num_devices:
        raise ValueError(f"names {len(writers)} writers for {num_devices} expert devices")
    bad = [w for w in writers if not 1 <= w <= num_writers]
    if bad:
        raise ValueError(f"writer {bad[0]} is not in 1..{num_writers} (the table's experts)")
    return np.asarray(writers, dtype=np.int64)
