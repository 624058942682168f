"""The quality table as the environment sees it: dense arrays indexed by
(prompt, subtask, expert), plus the fused answers' scores by assignment.

Schema: docs/quality-table.md. Expert 0 is the user device's own model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = (
    "prompt_id",
    "kind",
    "subtask_index",
    "subtask",
    "expert",
    "assignment",
    "route_score",
    "words",
    "bytes",
    "score",
)


class TableError(ValueError):
    """The quality table is missing, unreadable or breaks the schema (one line)."""


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

    def quality(self, prompt: int, assignment: tuple[int, ...]) -> float:
        """Score of the fused answer; the mean of the chosen texts' scores if not in the table."""
        fused = self.fused.get((prompt, assignment))
        if fused is not None:
            return fused
        k = np.arange(len(assignment))
        return float(self.score[prompt, k, list(assignment)].mean())

    @classmethod
    def from_frame(cls, df: pd.DataFrame, source: str = "table") -> QualityTable:
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise TableError(f"{source}: missing column(s) {missing}")
        sub = df[df["kind"] == "subtask"]
        if sub.empty:
            raise TableError(f"{source}: no 'subtask' rows")
        prompt_ids = sorted(sub["prompt_id"].astype(str).unique())
        k_values = sorted(sub["subtask_index"].astype(int).unique())
        e_values = sorted(sub["expert"].astype(int).unique())
        K, E = len(k_values), len(e_values)
        if k_values != list(range(K)):
            raise TableError(f"{source}: subtask_index must be 0..K-1, got {k_values}")
        if e_values != list(range(E)) or E < 2:
            raise TableError(f"{source}: expert must be 0..N with N >= 1, got {e_values}")
        if sub[["score", "words", "bytes"]].isna().any().any():
            raise TableError(f"{source}: NaN in score/words/bytes of subtask rows")
        if not sub["score"].between(0, 10).all():
            raise TableError(f"{source}: score outside 0..10")
        P = len(prompt_ids)
        index = {p: i for i, p in enumerate(prompt_ids)}
        dup = sub.duplicated(["prompt_id", "subtask_index", "expert"])
        if dup.any():
            row = sub[dup].iloc[0]
            raise TableError(
                f"{source}: duplicate row for prompt {row.prompt_id} subtask "
                f"{row.subtask_index} expert {row.expert}"
            )
        if len(sub) != P * K * E:
            raise TableError(
                f"{source}: expected {P}x{K}x{E}={P * K * E} subtask rows, found {len(sub)}"
            )
        p_idx = sub["prompt_id"].astype(str).map(index).to_numpy()
        k_idx = sub["subtask_index"].astype(int).to_numpy()
        e_idx = sub["expert"].astype(int).to_numpy()

        def dense(column: str, dtype: type) -> np.ndarray:
            out = np.zeros((P, K, E), dtype=dtype)
            out[p_idx, k_idx, e_idx] = sub[column].to_numpy(dtype=dtype)
            return out

        route = dense("route_score", float)
        route = np.where(np.isnan(route), 0.0, np.clip(route, 0.0, 1.0))
        subtask_bytes = np.zeros((P, K), dtype=np.int64)
        texts = sub.drop_duplicates(["prompt_id", "subtask_index"])
        subtask_bytes[
            texts["prompt_id"].astype(str).map(index).to_numpy(),
            texts["subtask_index"].astype(int).to_numpy(),
        ] = [len(str(t).encode()) for t in texts["subtask"]]

        fused: dict[tuple[int, tuple[int, ...]], float] = {}
        for row in df[df["kind"] == "fused"].itertuples(index=False):
            p = index.get(str(row.prompt_id))
            try:
                assignment = tuple(int(x) for x in str(row.assignment).split("-"))
            except ValueError:
                raise TableError(f"{source}: bad assignment {row.assignment!r}") from None
            if p is None or len(assignment) != K or not all(0 <= a < E for a in assignment):
                raise TableError(
                    f"{source}: fused row {row.prompt_id}/{row.assignment} fits no action"
                )
            if not (isinstance(row.score, (int, float)) and 0 <= row.score <= 10):
                raise TableError(f"{source}: fused score {row.score!r} outside 0..10")
            fused[(p, assignment)] = float(row.score)
        return cls(
            prompt_ids=prompt_ids,
            words=dense("words", np.int64),
            bytes=dense("bytes", np.int64),
            score=dense("score", float),
            route=route,
            subtask_bytes=subtask_bytes,
            fused=fused,
        )

    @classmethod
    def load(cls, path: str | Path) -> QualityTable:
        """Read a Parquet or CSV table and check it (TableError on any problem)."""
        path = Path(path)
        if not path.is_file():
            raise TableError(
                f"{path}: quality table not found (build one with `netmoe table build`)"
            )
        try:
            if path.suffix == ".csv":
                df = pd.read_csv(path, keep_default_na=False, na_values=[""])
            else:
                df = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - any reader failure is one clear line
            raise TableError(f"{path}: cannot read table ({type(exc).__name__})") from None
        return cls.from_frame(df, str(path))
