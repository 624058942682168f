"""The quality table's one owner (netmoe_table): one-line TableError on every broken
invariant, one missing-value rule, one default path resolved one way, and the builder's
writer and the environment's reader agreeing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netmoe_table import (
    DEFAULT_TABLE,
    READ_COLUMNS,
    REPO_ROOT,
    SCHEMA,
    TableError,
    check_layout,
    default_table_path,
    load_table,
    normalise,
    read_table,
    resolve_path,
    write_table,
)


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
    with pytest.raises(TableError) as exc:
        load_table(path)
    assert needle in str(exc.value) and "\n" not in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_write_refuses_an_invalid_frame_and_keeps_the_old_file(tmp_path):
    path = write_table(_frame(), tmp_path / "t.parquet")
    before = path.read_bytes()
    with pytest.raises(TableError):
        write_table(_frame().assign(score=-1.0), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temp file left


def test_csv_missing_value_rule(tmp_path):
    """Empty cells are missing only in float columns; text columns keep empty strings
    (and a literal "NA" stays text)."""
    df = _frame()
    df.loc[df.kind == "subtask", "model"] = "NA"
    path = write_table(df, tmp_path / "t.csv")
    back = read_table(path)
    fused = back[back.kind == "fused"].iloc[0]
    assert np.isnan(fused.route_score) and fused.subtask == ""
    assert (back[back.kind == "subtask"].assignment == "").all()
    assert (back[back.kind == "subtask"].model == "NA").all()
    pd.testing.assert_frame_equal(back, read_table(write_table(df, tmp_path / "t.parquet")))


def test_reader_and_writer_agree(tmp_path):
    """What the builder writes, the environment reads, from Parquet and CSV alike."""
    from pybridge.tasks import QualityTable

    df = _frame()
    a = QualityTable.load(write_table(df, tmp_path / "t.parquet"))
    b = QualityTable.load(write_table(df, tmp_path / "t.csv"))
    for name in ("words", "bytes", "score", "route", "subtask_bytes"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.fused == b.fused == {(0, (1, 0)): 6.0}
    assert a.num_subtasks == 2 and a.num_experts == 1


def test_environment_needs_only_the_read_columns():
    """A table with only READ_COLUMNS (e.g. made up for a test) is readable; the full
    schema is what the builder must write."""
    df = _frame()[list(READ_COLUMNS)]
    layout = check_layout(df)
    assert layout.prompt_ids == ["p0"] and (layout.num_subtasks, layout.num_choices) == (2, 2)
    with pytest.raises(TableError, match="missing column"):
        write_table(df, "/nonexistent/never-written.parquet")


@pytest.mark.parametrize(
    "breaker, needle",
    [
        (lambda d: d.drop(columns="expert"), "missing column"),
        (lambda d: d[d.kind == "fused"], "no subtask rows"),
        (lambda d: d.assign(score=d.score + 6), "within 0..10"),
        (lambda d: d.iloc[1:], "lacks some"),
        (lambda d: pd.concat([d, d.iloc[[0]]]), "duplicate"),
        (lambda d: d.assign(assignment=d.assignment.replace("1-0", "1-0-1")), "fits no action"),
        (lambda d: d.assign(prompt_id=d.prompt_id.where(d.kind == "subtask", "p9")), "fits no"),
    ],
)
def test_environment_reader_refuses_broken_layouts(tmp_path, breaker, needle):
    from pybridge.tasks import QualityTable

    path = tmp_path / "bad.parquet"
    breaker(_frame()).to_parquet(path)
    with pytest.raises(TableError, match=needle) as exc:
        QualityTable.load(path)
    assert "\n" not in str(exc.value)


def test_one_default_path_resolved_from_the_repository(tmp_path, monkeypatch):
    from llm_pipeline.config import TableConfig, config_from_dict
    from pybridge.config import TaskConfig

    monkeypatch.chdir(tmp_path)  # the current directory does not matter
    assert default_table_path() == REPO_ROOT / DEFAULT_TABLE
    assert TaskConfig().table_path() == default_table_path()
    cfg = TableConfig.model_validate(
        {"experts": [{"name": "e", "specialty": "s", "system_prompt": "p"}]}
    )
    assert cfg.resolve(cfg.out) == default_table_path()
    assert resolve_path("/abs/t.csv") == resolve_path("/abs/t.csv", tmp_path)
    assert resolve_path("t.csv", tmp_path) == tmp_path / "t.csv"
    own = config_from_dict(cfg.model_dump(), base_dir=tmp_path)
    assert own.resolve(own.out) == tmp_path / DEFAULT_TABLE


def test_missing_table_is_one_line():
    with pytest.raises(TableError, match="quality table not found"):
        load_table("/nonexistent/table.parquet")
