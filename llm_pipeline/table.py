"""The quality table on disk: schema (docs/quality-table.md), loader with one-line
errors, and an atomic writer (temp file + ``os.replace``: a reader never sees half a
table, and an error never damages the table already there)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import TableSchemaError

# column -> kind of values (docs/quality-table.md); extra columns come after these.
SCHEMA: dict[str, str] = {
    "prompt_id": "str",
    "prompt": "str",
    "content_type": "str",
    "kind": "str",
    "subtask_index": "int",
    "subtask": "str",
    "expert": "int",
    "assignment": "str",
    "route_score": "float",
    "text": "str",
    "words": "int",
    "bytes": "int",
    "score": "float",
    "model": "str",
    "backend": "str",
    "judge": "str",
    "seed": "int",
    "gen_seconds": "float",
}
# Added by this builder (allowed by the schema: extra columns, none renamed).
EXTRA_COLUMNS: dict[str, str] = {
    "split_method": "str",  # how the gate split the prompt: llm or rules
}


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise TableSchemaError(f"{path}: table not found")
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path, keep_default_na=False, na_values={"route_score": [""]})
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is one line
        raise TableSchemaError(f"{path}: cannot read table ({type(exc).__name__})") from None


def validate_frame(df: pd.DataFrame, source: str = "table") -> None:
    """Check columns, types and the invariants of docs/quality-table.md."""
    missing = [c for c in SCHEMA if c not in df.columns]
    if missing:
        raise TableSchemaError(f"{source}: missing column(s) {missing}")
    for col, kind in SCHEMA.items():
        s = df[col]
        if kind == "int" and not pd.api.types.is_integer_dtype(s):
            raise TableSchemaError(f"{source}: column {col} must be integer, is {s.dtype}")
        if kind == "float" and not pd.api.types.is_numeric_dtype(s):
            raise TableSchemaError(f"{source}: column {col} must be numeric, is {s.dtype}")
        if kind == "str" and s.isna().any():
            raise TableSchemaError(f"{source}: column {col} has missing values")
    bad_kind = set(df["kind"]) - {"subtask", "fused"}
    if bad_kind:
        raise TableSchemaError(f"{source}: unknown kind(s) {sorted(bad_kind)}")
    if df["score"].isna().any() or not df["score"].between(0, 10).all():
        raise TableSchemaError(f"{source}: score must be within 0..10")
    sub, fused = df[df["kind"] == "subtask"], df[df["kind"] == "fused"]
    if sub.empty:
        raise TableSchemaError(f"{source}: no subtask rows")
    if (sub["words"] != sub["text"].str.split().str.len()).any():
        raise TableSchemaError(f"{source}: words does not match the text's word count")
    if (df["bytes"] != df["text"].map(lambda t: len(t.encode("utf-8")))).any():
        raise TableSchemaError(f"{source}: bytes does not match the text's UTF-8 size")
    rs = sub["route_score"]
    if rs.isna().any() or not rs.between(0, 1).all():
        raise TableSchemaError(f"{source}: route_score of subtask rows must be within 0..1")
    ks = sorted(sub["subtask_index"].unique())
    es = sorted(sub["expert"].unique())
    if ks != list(range(len(ks))) or es != list(range(len(es))) or len(es) < 2:
        raise TableSchemaError(
            f"{source}: need subtask_index 0..K-1 and expert 0..N (N>=1), got {ks} / {es}"
        )
    counts = sub.groupby(["prompt_id", "subtask_index", "expert"]).size()
    if (counts != 1).any():
        raise TableSchemaError(f"{source}: duplicate (prompt, subtask, expert) rows")
    per_prompt = sub.groupby("prompt_id").size()
    if (per_prompt != len(ks) * len(es)).any():
        bad = per_prompt[per_prompt != len(ks) * len(es)].index[0]
        raise TableSchemaError(
            f"{source}: prompt {bad} lacks some of its {len(ks)}x{len(es)} subtask rows"
        )
    if not fused.empty:
        if (fused["subtask_index"] != -1).any() or (fused["expert"] != -1).any():
            raise TableSchemaError(f"{source}: fused rows need subtask_index = expert = -1")
        for a in fused["assignment"]:
            parts = a.split("-")
            if len(parts) != len(ks) or not all(p.isdigit() and int(p) < len(es) for p in parts):
                raise TableSchemaError(f"{source}: fused assignment {a!r} fits no action")
        if fused.duplicated(["prompt_id", "assignment"]).any():
            raise TableSchemaError(f"{source}: duplicate fused assignment rows")
        if not set(fused["prompt_id"]) <= set(sub["prompt_id"]):
            raise TableSchemaError(f"{source}: fused rows for a prompt with no subtask rows")


def load_table(path: str | Path) -> pd.DataFrame:
    """Read a quality table (Parquet, or CSV by suffix) and validate its schema.

    Raises ``TableSchemaError`` (a ``ValueError``) with one line on any problem.
    """
    path = Path(path)
    df = _read(path)
    validate_frame(df, str(path))
    return df


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Columns in schema order with schema dtypes, rows in canonical order."""
    cols = list(SCHEMA) + [c for c in df.columns if c not in SCHEMA]
    df = df[cols].copy()
    for col, kind in SCHEMA.items():
        if kind == "int":
            df[col] = df[col].astype(np.int64)
        elif kind == "float":
            df[col] = df[col].astype(np.float64)
        else:
            df[col] = df[col].astype(str)
    order = df["kind"].map({"subtask": 0, "fused": 1})
    df = df.assign(_o=order).sort_values(
        ["prompt_id", "_o", "subtask_index", "expert", "assignment"], kind="stable"
    )
    return df.drop(columns="_o").reset_index(drop=True)


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Validate, then write atomically (temp file in the same directory + os.replace)."""
    path = Path(path)
    validate_frame(df, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if path.suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
