"""Schema loader: one-line ValueError on every broken invariant."""

from __future__ import annotations

import pandas as pd
import pytest

from llm_pipeline.errors import TableSchemaError
from llm_pipeline.table import SCHEMA, load_table, normalise, write_table


def _frame() -> pd.DataFrame:
    rows = []
    for k in range(2):
        for e in range(2):
            text = f"text of subtask {k} by expert {e}."
            rows.append(
                dict(
                    prompt_id="p0",
                    prompt="P.",
                    content_type="story",
                    kind="subtask",
                    subtask_index=k,
                    subtask=f"s{k}",
                    expert=e,
                    assignment="",
                    route_score=0.5,
                    text=text,
                    words=len(text.split()),
                    bytes=len(text.encode()),
                    score=5.0,
                    model="m",
                    backend="b",
                    judge="j",
                    seed=1,
                    gen_seconds=0.1,
                )
            )
    text = "fused text."
    rows.append(
        dict(
            rows[0],
            kind="fused",
            subtask_index=-1,
            subtask="",
            expert=-1,
            assignment="1-0",
            route_score=float("nan"),
            text=text,
            words=2,
            bytes=len(text),
            score=6.0,
        )
    )
    return normalise(pd.DataFrame(rows))


def test_round_trip_parquet_and_csv(tmp_path):
    df = _frame()
    for name in ("t.parquet", "t.csv"):
        out = load_table(write_table(df, tmp_path / name))
        assert list(out.columns) == list(SCHEMA)
        assert len(out) == 5 and out.route_score.isna().sum() == 1


@pytest.mark.parametrize(
    "breaker, needle",
    [
        (lambda d: d.drop(columns="score"), "missing column"),
        (lambda d: d.assign(words=d.words + 1), "words does not match"),
        (lambda d: d.assign(bytes=d.bytes + 1), "bytes does not match"),
        (lambda d: d.assign(score=d.score * 3), "within 0..10"),
        (lambda d: d.iloc[1:], "lacks some"),
        (lambda d: pd.concat([d, d.iloc[[0]]]), "duplicate"),
        (lambda d: d.assign(assignment=d.assignment.replace("1-0", "1-7")), "fits no action"),
        (lambda d: d.assign(kind=d.kind.replace("fused", "merged")), "unknown kind"),
        (lambda d: d.assign(expert=d.expert.astype(float)), "must be integer"),
    ],
)
def test_schema_violations_raise_one_line(tmp_path, breaker, needle):
    path = tmp_path / "bad.parquet"
    breaker(_frame()).to_parquet(path)
    with pytest.raises(TableSchemaError) as exc:
        load_table(path)
    assert needle in str(exc.value) and "\n" not in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_write_refuses_an_invalid_frame_and_keeps_the_old_file(tmp_path):
    path = write_table(_frame(), tmp_path / "t.parquet")
    before = path.read_bytes()
    with pytest.raises(TableSchemaError):
        write_table(_frame().assign(score=-1.0), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temp file left
