"""Writers with budgets (issue 17): best-of-n keeps the judge's best candidate and records
every score, context modes send the documented messages, the writer columns round-trip
and old tables still load, config errors are one line, and `netmoe table margin` gives
the margin with its intervals. Fakes for the model and the embedder (as in
test_llm_builder.py); the judge is the real offline judge v3 on the fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import llm_pipeline.backends as backends_mod
import llm_pipeline.embed as embed_mod
from llm_pipeline.builder import build_table
from llm_pipeline.config import config_from_dict, load_table_config
from llm_pipeline.errors import TableConfigError
from llm_pipeline.journal import journal_dir, read_journal
from llm_pipeline.judge import make_offline_judge
from llm_pipeline.margin import margin_of, writer_margins
from llm_pipeline.merge import _choose
from llm_pipeline.messages import expert_messages, length_instruction, writer_messages
from llm_pipeline.plan import candidate_seed, item_seed
from llm_pipeline.testing import FakeBackend, HashEmbedder
from netmoe.cli import main
from netmoe_table import (
    REPO_ROOT,
    WRITER_COLUMNS,
    TableError,
    default_table_path,
    has_writers,
    load_table,
    write_table,
)

TIMING = ["gen_seconds"]
SUBTASKS = ["Open the story.", "Turn it.", "End it."]


def _prompts(tmp_path):
    path = tmp_path / "prompts.yaml"
    items = [
        {"id": "p000", "type": "story", "prompt": "Write a story about a lantern in a storm."},
        {"id": "p001", "type": "howto", "prompt": "Describe how to make coffee on a bridge."},
        {"id": "p002", "type": "news", "prompt": "Write a news report about a river market."},
    ]
    path.write_text(json.dumps({"prompts": items}))
    return path


def _expert(name, **budget):
    return {"name": name, "specialty": name, "system_prompt": f"You are {name}.", **budget}


def _cfg(tmp_path, **over):
    data = {
        "prompts": str(_prompts(tmp_path)),
        "out": str(tmp_path / "table.parquet"),
        "seed": 7,
        "num_subtasks": 3,
        "gate": {"split": "rules"},
        "local": {"specialty": "phone", "system_prompt": "Be brief.", "max_tokens": 40},
        "experts": [
            _expert("e1", best_of=3, context="prompt+neighbours", max_tokens=60, min_tokens=30),
            _expert("e2", best_of=2, context="prompt", max_tokens=60),
        ],
    }
    data.update(over)
    return config_from_dict(data)


class SpyBackend(FakeBackend):
    """The fake writer, remembering every message list it was sent."""

    sent: list = []

    def generate(self, messages, **kw):
        SpyBackend.sent.append(messages)
        return super().generate(messages, **kw)


@pytest.fixture
def fakes(monkeypatch):
    SpyBackend.sent = []
    state = {"fail_after": None}
    monkeypatch.setattr(
        backends_mod, "make_text_backend", lambda cfg, n=None: SpyBackend(state["fail_after"])
    )
    monkeypatch.setattr(embed_mod, "get_embedder", lambda model_dir=None: HashEmbedder())
    return state


def test_best_of_keeps_the_judges_best_candidate_and_records_every_score(tmp_path, fakes):
    cfg = _cfg(tmp_path)
    out = Path(build_table(cfg, progress=False)["out"])
    df = load_table(out)
    assert has_writers(df)
    sub = df[df.kind == "subtask"]
    judge = make_offline_judge(cfg.judge.offline, HashEmbedder())
    picked_later = 0
    for r in sub.itertuples():
        w = cfg.all_experts[r.expert]
        scores = json.loads(r.candidate_scores)
        assert (r.writer, r.best_of, r.max_tokens, r.context) == (
            w.name,
            w.best_of,
            w.max_tokens,
            w.context,
        )
        assert len(scores) == w.best_of
        cands = {
            int(c.get("cand", 0)): c
            for c in read_journal(journal_dir(out) / f"{r.prompt_id}.jsonl")
            if c["type"] == "text" and (c["k"], c["expert"]) == (r.subtask_index, r.expert)
        }
        assert sorted(cands) == list(range(w.best_of))
        # every recorded score is the judge's score of that candidate against the subtask
        for j, c in cands.items():
            assert c["seed"] == candidate_seed(7, r.prompt_id, r.subtask_index, r.expert, j)
            assert scores[j] == pytest.approx(judge.score(c["text"], r.subtask), abs=1e-3)
        best = int(np.argmax(scores))
        picked_later += best > 0
        assert r.score == pytest.approx(max(scores)) and r.text == cands[best]["text"]
        assert r.seed == cands[best]["seed"]
        # cost: every candidate's time and decoded tokens
        assert r.gen_seconds == pytest.approx(sum(c["gen_seconds"] for c in cands.values()))
        assert r.decoded_tokens == sum(c["decoded_tokens"] for c in cands.values())
    assert picked_later > 0  # the choice is not always the first candidate
    local = sub[sub.expert == 0]
    assert (local.best_of == 1).all() and (local.context == "subtask").all()
    assert int(local.seed.iloc[0]) == item_seed(7, "p000", 0, 0)  # v1's seed for best_of 1
    fused = df[df.kind == "fused"]
    assert (fused.writer == "concat").all() and (fused.candidate_scores == "[]").all()
    # concat fusion joins the kept candidates
    kept = sub[sub.prompt_id == "p001"].set_index(["subtask_index", "expert"]).text
    row = fused[(fused.prompt_id == "p001") & (fused.assignment == "1-2-0")].iloc[0]
    assert row.text == " ".join([kept[(0, 1)], kept[(1, 2)], kept[(2, 0)]])


def test_choose_skips_missing_scores_and_keeps_the_first_of_equals():
    cands = [
        {"text": f"t{j}", "model": "m", "backend": "b", "seed": j, "gen_seconds": 1.0}
        for j in range(3)
    ]
    row = {"_cands": cands}
    _choose(row, [None, 4.0, 4.0])
    assert row["text"] == "t1" and row["score"] == 4.0 and row["gen_seconds"] == 3.0
    assert json.loads(row["candidate_scores"]) == [None, 4.0, 4.0]
    row = {"_cands": cands[:2]}
    _choose(row, [None, None])
    assert row["score"] is None  # the missing-score policy applies to the row


def test_killed_best_of_build_resumes_without_regenerating(tmp_path, fakes):
    out = tmp_path / "t.parquet"
    fakes["fail_after"] = 17
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_table(_cfg(tmp_path), out=out, progress=False)
    fakes["fail_after"] = None
    stats = build_table(_cfg(tmp_path), out=out, progress=False)
    # per prompt: a gate record (rules) and 3 subtasks x (1 + 3 + 2) candidates; the
    # crash came after p000's gate record and 17 of its texts
    assert stats["generated_texts"] == 3 * 19 - 18
    clean = build_table(_cfg(tmp_path), out=tmp_path / "clean.parquet", progress=False)
    pd.testing.assert_frame_equal(
        load_table(out).drop(columns=TIMING), load_table(clean["out"]).drop(columns=TIMING)
    )


def test_context_modes_send_the_documented_messages(tmp_path, fakes):
    prompt = "Write a story about a lantern in a storm."
    short = writer_messages("S.", "Turn it.", k=1, subtasks=SUBTASKS, prompt=prompt)
    assert short == expert_messages("S.", "Turn it.")  # the v1 question, byte for byte
    assert short[1]["content"] == "Turn it. Write one short paragraph."
    whole = writer_messages("S.", "Turn it.", context="prompt", prompt=prompt, max_tokens=60)
    assert whole[1]["content"] == f"The whole request: {prompt}\nYour part of it: Turn it. " + (
        "Write one short paragraph."
    )
    mid = writer_messages(
        "S.",
        "Turn it.",
        context="prompt+neighbours",
        prompt=prompt,
        subtasks=SUBTASKS,
        k=1,
        min_tokens=160,
        max_tokens=320,
    )
    assert mid[0] == {"role": "system", "content": "S."}
    assert mid[1]["content"].split("\n") == [
        f"The whole request: {prompt}",
        "The part before yours (written by someone else): Open the story.",
        "The part after yours (written by someone else): End it.",
        "Your part, part 2 of 3: Turn it. Write 120 to 220 words, in two or three paragraphs.",
    ]
    first = writer_messages(
        "S.", "Open the story.", context="prompt+neighbours", prompt=prompt, subtasks=SUBTASKS
    )
    assert "before yours" not in first[1]["content"] and "End it." not in first[1]["content"]
    assert length_instruction(0, 400) == "Write one short paragraph."
    # the build sends them: e1 (prompt+neighbours, min 30) on p000's middle subtask
    build_table(_cfg(tmp_path), progress=False)
    e1 = [m for m in SpyBackend.sent if m[0]["content"] == "You are e1."]
    assert len(e1) == 3 * 3 * 3  # prompts x subtasks x best_of
    assert any(
        "The part before yours" in m[1]["content"] and "The part after yours" in m[1]["content"]
        for m in e1
    )
    assert all(m[1]["content"].startswith("The whole request: ") for m in e1)
    assert all("Write 20 to 40 words" in m[1]["content"] for m in e1)
    local = [m for m in SpyBackend.sent if m[0]["content"] == "Be brief."]
    assert all("\n" not in m[1]["content"] for m in local)


def test_writer_columns_round_trip_and_old_tables_load(tmp_path, fakes):
    df = load_table(build_table(_cfg(tmp_path), progress=False)["out"])
    for name in ("t.parquet", "t.csv"):
        back = load_table(write_table(df, tmp_path / "rt" / name))
        pd.testing.assert_frame_equal(back[list(WRITER_COLUMNS)], df[list(WRITER_COLUMNS)])
    old = df.drop(columns=list(WRITER_COLUMNS))  # a table written before issue 17
    assert not has_writers(load_table(write_table(old, tmp_path / "old.parquet")))
    v1 = load_table(REPO_ROOT / "data" / "quality_table_v1.parquet")  # before issue 17
    assert not has_writers(v1) and len(v1) == 2280
    assert has_writers(load_table(default_table_path()))  # the default: the v2 writers
    for broken, needle in [
        (df.drop(columns=["best_of"]), "writer columns incomplete, missing ['best_of']"),
        (df.assign(candidate_scores="[1.0]"), "candidate_scores must hold best_of scores"),
        (df.assign(candidate_scores="best"), "is not a JSON list of scores"),
        (df.assign(decoded_tokens=-1), "decoded_tokens must be >= 0"),
    ]:
        with pytest.raises(TableError, match=needle.replace("[", r"\[").replace("]", r"\]")):
            write_table(broken, tmp_path / "bad.parquet")


@pytest.mark.parametrize(
    "expert, needle",
    [
        ({"best_of": 0}, "experts.0.best_of: Input should be greater than or equal to 1"),
        ({"best_of": 17}, "experts.0.best_of: Input should be less than or equal to 16"),
        ({"context": "all"}, "experts.0.context: Input should be 'subtask', 'prompt' or"),
        ({"min_tokens": 90, "max_tokens": 90}, "min_tokens (90) must be below max_tokens (90)"),
    ],
)
def test_budget_errors_are_one_line(tmp_path, capsys, expert, needle):
    cfg = {"experts": [_expert("e1", **expert)]}
    with pytest.raises(TableConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        config_from_dict(cfg)
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(cfg))
    assert main(["table", "build", "--config", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netmoe: error:") and "\n" not in err and needle in err


def test_best_of_with_llm_fusion_is_refused_in_one_line():
    with pytest.raises(TableConfigError, match="fusion.mode: llm needs best_of 1 .*e1"):
        config_from_dict({"experts": [_expert("e1", best_of=2)], "fusion": {"mode": "llm"}})


def test_v1_recipe_is_kept_and_the_default_spends_more_on_experts():
    v1 = load_table_config(REPO_ROOT / "configs" / "table_v1.yaml")
    assert v1.fingerprint() == "a69e4cfc766f9be8"  # the v1 journal's
    assert all(w.best_of == 1 and w.context == "subtask" for w in v1.all_experts)
    new = load_table_config(REPO_ROOT / "configs" / "table_default.yaml")
    assert new.local.best_of == 1 and new.local.context == "subtask"
    assert all(e.best_of >= 3 and e.context == "prompt+neighbours" for e in new.experts)
    assert all(150 <= e.max_tokens <= 400 for e in new.all_experts)
    assert new.fingerprint() != v1.fingerprint()
    openai = load_table_config(REPO_ROOT / "configs" / "table_openai.yaml")
    assert {openai.backends[e.backend].model for e in openai.experts} == {"big"}
    assert openai.backends[openai.local.backend].model == "small"


def test_margin_intervals_and_the_margin_command(tmp_path, fakes, capsys):
    m = margin_of("x", np.array([1.0, 2.0, 3.0]), boot=2000)
    half = 4.302653 / np.sqrt(3)  # t(0.975, 2) * sd 1 / sqrt(3)
    assert m.mean == 2.0 and m.t_ci == pytest.approx((2 - half, 2 + half), abs=1e-5)
    assert 1.0 <= m.boot_ci[0] <= m.boot_ci[1] <= 3.0
    assert "[-0.484, +4.484] includes 0" in m.line()
    assert "excludes 0" in margin_of("y", np.array([1.0, 2.0, 3.0, 2.0, 2.5])).line()
    df = load_table(build_table(_cfg(tmp_path), progress=False)["out"])
    got = {g.name: g for g in writer_margins(df, boot=500)}
    sub = df[df.kind == "subtask"]
    per = sub.groupby(["prompt_id", "expert"]).score.mean().unstack()
    assert got["expert 1 (e1) - local"].mean == pytest.approx((per[1] - per[0]).mean())
    assert got["edge (all) - local"].prompts == 3
    assert "fused all-edge - all-local" in got
    assert main(["table", "margin", str(tmp_path / "table.parquet"), "--boot", "500"]) == 0
    out = capsys.readouterr().out
    assert "edge (all) - local" in out and "95% CI (t)" in out and "decoded" in out
    assert main(["table", "info", str(tmp_path / "table.parquet")]) == 0
    assert "writer 1 e1: best_of 3, max_tokens 60, min_tokens 30" in capsys.readouterr().out
    assert main(["table", "margin", str(tmp_path / "none.parquet")]) == 2
    assert "quality table not found" in capsys.readouterr().err


def test_recounting_tokens_refuses_a_config_with_another_budget(tmp_path, capsys):
    v1 = load_table(REPO_ROOT / "data" / "quality_table_v1.parquet")
    path = write_table(v1[v1.prompt_id == "p000"], tmp_path / "v1.parquet")
    args = ["table", "tokens", "--table", str(path), "--recount", "--out", str(tmp_path / "o")]
    assert main([*args, "--config", str(REPO_ROOT / "configs" / "table_default.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "budget ('subtask', 0)" in err and "configs/table_v1.yaml" in err and "\n" not in err
    assert main([*args, "--config", str(REPO_ROOT / "configs" / "table_v1.yaml")]) == 0


def test_shipped_table_is_the_v2_recipe_and_its_experts_beat_the_local_writer() -> None:
    """What the README and docs/llm-pipeline.md say of data/quality_table.parquet: 30
    prompts of six content types, the local writer's small budget against the experts'
    best of 3 with more context and tokens, expert replies of 150-400 tokens on average
    (a share of them over one 1448-byte segment), every kept reply the best-scored of its
    candidates, and each expert's judged margin over the local writer with a 95% interval
    above zero."""
    df = load_table(REPO_ROOT / "data" / "quality_table.parquet")
    sub = df[df.kind == "subtask"]
    assert df.prompt_id.nunique() >= 30 and df.content_type.nunique() == 6
    budget = sub.groupby("expert")[["best_of", "max_tokens", "context"]].first()
    assert budget.loc[0].tolist() == [1, 192, "subtask"]
    for e in (1, 2, 3):
        assert budget.loc[e].tolist() == [3, 320, "prompt+neighbours"]
    tokens = sub.groupby("expert").completion_tokens.mean()
    assert all(150 <= tokens[e] <= 400 for e in (1, 2, 3)) and tokens[0] < tokens.loc[1:].min()
    assert (sub[sub.expert > 0].bytes > 1448).mean() > 0.1
    for score, cands in zip(sub.score, sub.candidate_scores, strict=True):
        assert score == pytest.approx(max(s for s in json.loads(cands) if s is not None))
    margins = {m.name: m for m in writer_margins(df, boot=1000)}
    names = sub.groupby("expert").writer.first()
    for e in (1, 2, 3):
        m = margins[f"expert {e} ({names[e]}) - local"]
        assert m.prompts >= 30 and m.t_ci[0] > 0 and m.boot_ci[0] > 0
