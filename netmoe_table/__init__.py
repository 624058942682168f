"""The quality table on disk, owned here once: its schema, where it lives by default, how
a path to it resolves, how it is read (Parquet or CSV, one missing-value rule), checked
and written (atomically). docs/quality-table.md describes the schema.

Both sides use this module: ``llm_pipeline`` writes the table, ``pybridge.tasks`` reads
it into the environment's dense view. It imports only NumPy and pandas, so neither side
pulls in the other's dependencies (llama.cpp, torch; gymnasium, ns-3).

Two levels of checking:

- ``check_layout`` (what every reader relies on, the environment included): the columns
  of ``READ_COLUMNS``; every prompt has the same K subtasks and N+1 experts, one
  ``subtask`` row each; scores within 0..10; fused rows name an action of the table.
- ``validate_frame`` (what the builder writes and ``load_table`` accepts): all of that,
  plus every ``SCHEMA`` column with its type, ``words``/``bytes`` matching the text,
  routing scores within 0..1, only ``subtask``/``fused`` rows, fused rows marked -1, no
  duplicate fused row, and the token columns (``TOKEN_COLUMNS``) either all absent (a
  table written before they existed: ``token_note`` says how to add them) or all
  present, whole numbers >= 0 with a source on every row; likewise the writer columns
  (``WRITER_COLUMNS``: all or none; ``candidate_scores`` a JSON list of ``best_of``
  scores on subtask rows).

Paths: a relative table path from a config file resolves from the repository root
(``resolve_path``), whatever the current directory; a path typed on a command line is
the caller's to make absolute first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The repository (or install) root: relative config paths resolve from here."""

DEFAULT_TABLE = Path("data/quality_table.parquet")
"""Where ``netmoe table build`` writes and the environment reads, by default."""

# column -> kind of values; extra columns may follow these (none renamed).
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
EXTRA_COLUMNS: dict[str, str] = {
    "split_method": "str",  # added by llm_pipeline: how the gate split the prompt, llm or rules
}
TOKEN_COLUMNS: dict[str, str] = {
    "prompt_tokens": "int",  # tokens of the chat-templated messages the writer was sent
    "completion_tokens": "int",  # tokens of `text` (as stored) with the writer's tokenizer
    "token_source": "str",  # how both were counted, "<prompt>/<completion>" (docs)
}
"""Token counts: optional as a group (tables built before them lack all three); written by
``llm_pipeline`` (the builder, and ``netmoe table tokens`` for an existing table)."""
WRITER_COLUMNS: dict[str, str] = {
    "writer": "str",  # the writer's name (config), `concat` / `fusion` on fused rows
    "best_of": "int",  # candidates sampled for this text (0: concatenated, nothing sampled)
    "max_tokens": "int",  # the writer's token budget per candidate
    "min_tokens": "int",  # its length target (0: none)
    "context": "str",  # what it saw: subtask, prompt, prompt+neighbours; fused: passages
    "candidate_scores": "str",  # JSON list: the judge's score of every candidate, in seed order
    "decoded_tokens": "int",  # tokens decoded for this text, all candidates (before any cut)
}
"""The writer and its budget (issue 17): optional as a group (tables built before it lack
all of them); written by ``llm_pipeline``'s builder."""
TOKENS_ATTR = "netmoe_tokens"
"""``DataFrame.attrs`` key (kept in the Parquet file's pandas metadata) describing how the
token counts were made: tokenizer, chat template, counting library."""

READ_COLUMNS: tuple[str, ...] = (
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
"""The columns a reader needs (the environment's view); a table with only these loads."""

FLOAT_COLUMNS = tuple(c for c, kind in SCHEMA.items() if kind == "float")
KINDS = ("subtask", "fused")


class TableError(ValueError):
    """The quality table is missing, unreadable or breaks the schema (one line)."""


# ---------------------------------------------------------------- paths
def resolve_path(path: str | Path, base: str | Path | None = None) -> Path:
    """``path`` with ``~`` expanded; a relative one joined to ``base`` (default: the
    repository root)."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    return Path(REPO_ROOT if base is None else base) / p


def default_table_path() -> Path:
    """The absolute path of the default table (``DEFAULT_TABLE`` under the repository)."""
    return resolve_path(DEFAULT_TABLE)


# ---------------------------------------------------------------- reading
def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table, unchecked: Parquet, or CSV by the ``.csv`` suffix.

    Missing values, one rule: an empty CSV cell is missing (NaN) in a float column
    (``route_score`` of fused rows) and an empty string in every other column; Parquet
    stores missing values as such. ``TableError`` if the file is absent or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: quality table not found (build one with `netmoe table build`)")
    try:
        if path.suffix == ".csv":
            na = {c: [""] for c in FLOAT_COLUMNS}
            return pd.read_csv(path, keep_default_na=False, na_values=na)
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is one clear line
        raise TableError(f"{path}: cannot read table ({type(exc).__name__})") from None


# ---------------------------------------------------------------- checking
@dataclass(frozen=True)
class Layout:
    """What a checked table is indexed by: prompts (sorted ids), K subtasks, N+1 experts.

    ``subtasks`` holds the ``subtask`` rows and ``prompt``/``subtask_index``/``expert``
    their integer positions in the (P, K, N+1) grid; ``fused`` maps (prompt position,
    assignment) to the fused answer's score.
    """

    prompt_ids: list[str]
    num_subtasks: int
    num_choices: int
    subtasks: pd.DataFrame
    prompt: np.ndarray
    subtask_index: np.ndarray
    expert: np.ndarray
    fused: dict[tuple[int, tuple[int, ...]], float]


def parse_assignment(text: object, num_subtasks: int, num_choices: int) -> tuple[int, ...] | None:
    """The action of a fused row (``"0-2-1"``: one expert per subtask), or None if it
    names no action of a table with K = ``num_subtasks`` and N+1 = ``num_choices``."""
    parts = str(text).split("-")
    if len(parts) != num_subtasks or not all(p.isdigit() for p in parts):
        return None
    action = tuple(int(p) for p in parts)
    return action if all(a < num_choices for a in action) else None


def has_tokens(df: pd.DataFrame) -> bool:
    """Whether ``df`` carries the token columns (all of ``TOKEN_COLUMNS``)."""
    return all(c in df.columns for c in TOKEN_COLUMNS)


def token_note(df: pd.DataFrame, source: str = "table") -> str | None:
    """None if ``df`` has token counts; otherwise one line saying how to add them."""
    if has_tokens(df):
        return None
    return (
        f"{source}: no token counts (a table written before they existed); add them "
        f"without regenerating texts: netmoe table tokens --table {source}"
    )


def _check_tokens(df: pd.DataFrame, source: str) -> None:
    present = [c for c in TOKEN_COLUMNS if c in df.columns]
    if not present:
        return
    if len(present) != len(TOKEN_COLUMNS):
        missing = [c for c in TOKEN_COLUMNS if c not in df.columns]
        raise TableError(f"{source}: token columns incomplete, missing {missing}")
    _check_kinds(df, TOKEN_COLUMNS, source)
    for col in ("prompt_tokens", "completion_tokens"):
        if (df[col] < 0).any():
            raise TableError(f"{source}: column {col} must be >= 0")
    if (df["token_source"] == "").any():
        raise TableError(f"{source}: column token_source is empty on some rows")


def has_writers(df: pd.DataFrame) -> bool:
    """Whether ``df`` carries the writer columns (all of ``WRITER_COLUMNS``)."""
    return all(c in df.columns for c in WRITER_COLUMNS)


def candidate_scores(value: object) -> list[float | None]:
    """The list a ``candidate_scores`` cell holds (``TableError`` if it holds none)."""
    import json

    try:
        got = json.loads(str(value))
    except json.JSONDecodeError:
        got = None
    if not isinstance(got, list) or not all(x is None or isinstance(x, (int, float)) for x in got):
        raise TableError(f"candidate_scores {str(value)[:40]!r} is not a JSON list of scores")
    return got


def _check_writers(df: pd.DataFrame, source: str) -> None:
    present = [c for c in WRITER_COLUMNS if c in df.columns]
    if not present:
        return
    if len(present) != len(WRITER_COLUMNS):
        missing = [c for c in WRITER_COLUMNS if c not in df.columns]
        raise TableError(f"{source}: writer columns incomplete, missing {missing}")
    _check_kinds(df, WRITER_COLUMNS, source)
    for col in ("best_of", "max_tokens", "min_tokens", "decoded_tokens"):
        if (df[col] < 0).any():
            raise TableError(f"{source}: column {col} must be >= 0")
    sub = df[df["kind"] == "subtask"]
    if (sub["best_of"] < 1).any():
        raise TableError(f"{source}: best_of of subtask rows must be >= 1")
    try:
        n = sub["candidate_scores"].map(lambda v: len(candidate_scores(v)))
    except TableError as exc:
        raise TableError(f"{source}: {exc}") from None
    if (n != sub["best_of"]).any():
        raise TableError(f"{source}: candidate_scores must hold best_of scores per subtask row")


def _check_kinds(df: pd.DataFrame, kinds: dict[str, str], source: str) -> None:
    for col, kind in kinds.items():
        s = df[col]
        if kind == "int" and not pd.api.types.is_integer_dtype(s):
            raise TableError(f"{source}: column {col} must be integer, is {s.dtype}")
        if kind == "float" and not pd.api.types.is_numeric_dtype(s):
            raise TableError(f"{source}: column {col} must be numeric, is {s.dtype}")
        if kind == "str" and s.isna().any():
            raise TableError(f"{source}: column {col} has missing values")


def _check_types(df: pd.DataFrame, source: str) -> None:
    _check_kinds(df, SCHEMA, source)
    bad_kind = set(df["kind"]) - set(KINDS)
    if bad_kind:
        raise TableError(f"{source}: unknown kind(s) {sorted(bad_kind)}")


def _check(df: pd.DataFrame, source: str, complete: bool) -> Layout:
    needed = SCHEMA if complete else READ_COLUMNS
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise TableError(f"{source}: missing column(s) {missing}")
    if complete:
        _check_types(df, source)
        _check_tokens(df, source)
        _check_writers(df, source)
    sub, fused = df[df["kind"] == "subtask"], df[df["kind"] == "fused"]
    if sub.empty:
        raise TableError(f"{source}: no subtask rows")
    prompt_ids = sorted(sub["prompt_id"].astype(str).unique())
    ks = sorted(sub["subtask_index"].astype(int).unique())
    es = sorted(sub["expert"].astype(int).unique())
    if ks != list(range(len(ks))) or es != list(range(len(es))) or len(es) < 2:
        raise TableError(
            f"{source}: need subtask_index 0..K-1 and expert 0..N (N>=1), got {ks} / {es}"
        )
    if sub[["score", "words", "bytes"]].isna().any().any():
        raise TableError(f"{source}: missing score, words or bytes in subtask rows")
    scores = pd.concat([sub["score"], fused["score"]])
    if not pd.api.types.is_numeric_dtype(scores) or not scores.between(0, 10).all():
        raise TableError(f"{source}: score must be within 0..10")
    dup = sub.duplicated(["prompt_id", "subtask_index", "expert"])
    if dup.any():
        row = sub[dup].iloc[0]
        raise TableError(
            f"{source}: duplicate (prompt, subtask, expert) row {row.prompt_id} "
            f"{row.subtask_index} {row.expert}"
        )
    num_k, num_e = len(ks), len(es)
    per_prompt = sub.groupby(sub["prompt_id"].astype(str)).size()
    if (per_prompt != num_k * num_e).any():
        bad = per_prompt[per_prompt != num_k * num_e].index[0]
        raise TableError(f"{source}: prompt {bad} lacks some of its {num_k}x{num_e} subtask rows")
    if complete:
        if (sub["words"] != sub["text"].str.split().str.len()).any():
            raise TableError(f"{source}: words does not match the text's word count")
        if (df["bytes"] != df["text"].map(lambda t: len(t.encode("utf-8")))).any():
            raise TableError(f"{source}: bytes does not match the text's UTF-8 size")
        rs = sub["route_score"]
        if rs.isna().any() or not rs.between(0, 1).all():
            raise TableError(f"{source}: route_score of subtask rows must be within 0..1")
        if (fused["subtask_index"] != -1).any() or (fused["expert"] != -1).any():
            raise TableError(f"{source}: fused rows need subtask_index = expert = -1")
        if fused.duplicated(["prompt_id", "assignment"]).any():
            raise TableError(f"{source}: duplicate fused assignment rows")
    index = {p: i for i, p in enumerate(prompt_ids)}
    scores_by_action: dict[tuple[int, tuple[int, ...]], float] = {}
    # only the three columns read (a row tuple of every column costs most of a load)
    for pid, assignment, score in zip(
        fused["prompt_id"].astype(str), fused["assignment"], fused["score"], strict=True
    ):
        p = index.get(pid)
        action = parse_assignment(assignment, num_k, num_e)
        if p is None or action is None:
            raise TableError(f"{source}: fused row {pid}/{assignment} fits no action")
        scores_by_action[(p, action)] = float(score)
    return Layout(
        prompt_ids=prompt_ids,
        num_subtasks=num_k,
        num_choices=num_e,
        subtasks=sub,
        prompt=sub["prompt_id"].astype(str).map(index).to_numpy(),
        subtask_index=sub["subtask_index"].astype(int).to_numpy(),
        expert=sub["expert"].astype(int).to_numpy(),
        fused=scores_by_action,
    )


def check_layout(df: pd.DataFrame, source: str = "table") -> Layout:
    """The checks every reader relies on (module docstring); ``TableError`` otherwise."""
    return _check(df, source, complete=False)


def validate_frame(df: pd.DataFrame, source: str = "table") -> Layout:
    """The full schema (module docstring): what the builder writes; ``TableError`` otherwise."""
    return _check(df, source, complete=True)


def load_table(path: str | Path) -> pd.DataFrame:
    """Read a table and check the full schema (``TableError``, one line, on any problem)."""
    df = read_table(path)
    validate_frame(df, str(path))
    return df


# ---------------------------------------------------------------- writing
def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Columns in schema order (then the token and writer columns, then any others) with
    schema dtypes, rows in canonical order."""
    optional = {**TOKEN_COLUMNS, **WRITER_COLUMNS}
    known = {**SCHEMA, **{c: k for c, k in optional.items() if c in df.columns}}
    cols = list(known) + [c for c in df.columns if c not in known]
    df = df[cols].copy()
    for col, kind in known.items():
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
    """Check the full schema, then write atomically: a temporary file in the same
    directory, fsynced, then ``os.replace``, so a reader never sees half a table and an
    error never damages the table already there."""
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
