"""Shared fixtures: small quality tables made here, in the real schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def synthetic_frame(
    num_prompts: int, num_subtasks: int, num_experts: int, seed: int = 0
) -> pd.DataFrame:
    """A small table of made-up texts in the real schema: for tests and examples only.

    Scores and sizes are random; nothing about language quality is claimed.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(num_prompts):
        for k in range(num_subtasks):
            subtask = f"subtask {k} of prompt {p}"
            for e in range(num_experts + 1):
                words = int(rng.integers(30, 150))
                text = " ".join(["word"] * words)
                rows.append(
                    dict(
                        prompt_id=f"p{p:03d}",
                        prompt=f"prompt {p}",
                        kind="subtask",
                        subtask_index=k,
                        subtask=subtask,
                        expert=e,
                        assignment="",
                        route_score=float(rng.uniform()),
                        text=text,
                        words=words,
                        bytes=len(text.encode()),
                        score=float(rng.uniform(3, 9)) if e else float(rng.uniform(2, 6)),
                    )
                )
    return pd.DataFrame(rows)


@pytest.fixture
def table_path(tmp_path):
    """A 4-prompt, 3-subtask, 3-expert synthetic table on disk (Parquet)."""
    path = tmp_path / "table.parquet"
    synthetic_frame(4, 3, 3).to_parquet(path)
    return path
