"""Token counts of the quality table (llm_pipeline.tokens, netmoe table tokens): equal to
llama.cpp's own counts on shipped rows, recorded by a build (usage, or counted when a
journal predates them), idempotent on an existing table, one line and an untouched file
on a broken one, and a schema round trip."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

import llm_pipeline.backends as backends_mod
import llm_pipeline.embed as embed_mod
from llm_pipeline.backends import Generation, LlamaCppBackend, OpenAIBackend, bundled_gguf
from llm_pipeline.builder import build_table
from llm_pipeline.config import BackendConfig, config_from_dict, load_table_config
from llm_pipeline.journal import journal_dir
from llm_pipeline.messages import expert_messages
from llm_pipeline.testing import FakeBackend, HashEmbedder
from llm_pipeline.testing_server import _Server
from llm_pipeline.tokens import counter, generation_counts
from netmoe.cli import main
from netmoe_table import (
    REPO_ROOT,
    TOKEN_COLUMNS,
    TOKENS_ATTR,
    TableError,
    load_table,
    token_note,
    write_table,
)

SHIPPED_CFG = "configs/table_v1.yaml"  # the recipe of the v1 table, shipped beside v2
V1_TABLE = REPO_ROOT / "data" / "quality_table_v1.parquet"


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return load_table(V1_TABLE)


def _old_small(shipped: pd.DataFrame) -> pd.DataFrame:
    """Two prompts of the shipped table as written before token counts existed."""
    df = shipped[shipped.prompt_id.isin(["p000", "p001"])]
    df = df.drop(columns=list(TOKEN_COLUMNS)).reset_index(drop=True)
    df.attrs = {}
    return df


def test_shipped_counts_equal_llama_cpp_usage(shipped):
    """prompt_tokens is what llama.cpp's chat completion reports as usage.prompt_tokens
    for the same messages; completion_tokens is the full model's tokenizer on the text."""
    cfg = load_table_config(SHIPPED_CFG)
    sub = shipped[shipped.kind == "subtask"]
    rows = sub.iloc[[0, 7, 101, 250]]
    assert set(rows.expert) == {0, 1, 2, 3}
    backend = LlamaCppBackend(n_threads=1)
    llm = backend._load()
    for r in rows.itertuples():
        msgs = expert_messages(cfg.all_experts[r.expert].system_prompt, r.subtask)
        llm.reset()
        out = llm.create_chat_completion(messages=msgs, max_tokens=1, temperature=0.0)
        assert r.prompt_tokens == out["usage"]["prompt_tokens"]
        assert r.completion_tokens == len(llm.tokenize(r.text.encode(), add_bos=False))
        assert r.token_source == "gguf/gguf"
    g = backend.generate(msgs, max_tokens=2, temperature=0.0)  # what a build records
    assert g.prompt_tokens == r.prompt_tokens and g.completion_tokens == 2
    fused = shipped[shipped.kind == "fused"].iloc[0]
    parts = [
        sub[(sub.prompt_id == fused.prompt_id) & (sub.subtask_index == k) & (sub.expert == int(e))]
        for k, e in enumerate(fused.assignment.split("-"))
    ]
    assert fused.prompt_tokens == 0 and fused.token_source == "none/sum"
    assert fused.completion_tokens == sum(int(p.completion_tokens.iloc[0]) for p in parts)
    assert shipped.attrs[TOKENS_ATTR]["tokenizers"] == [bundled_gguf().name]


def test_tokens_command_adds_counts_and_is_idempotent(shipped, tmp_path, capsys):
    path = write_table(_old_small(shipped), tmp_path / "t.parquet")
    assert token_note(load_table(path)) is not None
    assert main(["table", "check", str(path)]) == 0
    assert "no token counts" in capsys.readouterr().out
    args = ["table", "tokens", "--table", str(path), "--config", SHIPPED_CFG]
    assert main(args) == 0
    first = path.read_bytes()
    got = load_table(path)
    want = shipped[shipped.prompt_id.isin(["p000", "p001"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(got[list(TOKEN_COLUMNS)], want[list(TOKEN_COLUMNS)])
    assert main(args) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert path.read_bytes() == first
    assert main([*args, "--recount"]) == 0
    assert path.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temp file left


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong config"])
def test_broken_input_is_one_line_and_leaves_the_file(shipped, tmp_path, capsys, damage):
    path = write_table(_old_small(shipped), tmp_path / "t.parquet")
    config = SHIPPED_CFG
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"PAR1 not a parquet file")
    else:  # experts renamed: the table's writers are not the config's
        cfg = json.loads(json.dumps(load_table_config(SHIPPED_CFG).model_dump()))
        cfg["local"]["name"] = "phone"
        cfg.pop("base_dir", None)
        config = str(tmp_path / "other.yaml")
        (tmp_path / "other.yaml").write_text(json.dumps(cfg))
    before = path.read_bytes()
    assert main(["table", "tokens", "--table", str(path), "--config", config]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netmoe: error:") and "\n" not in err
    assert ("phone" in err) if damage == "wrong config" else ("cannot read table" in err)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".yaml") == ["t.parquet"]


def test_schema_round_trip_and_checks(shipped, tmp_path):
    small = shipped[shipped.prompt_id.isin(["p000", "p001"])].reset_index(drop=True)
    back = load_table(write_table(small, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(back, small)
    assert back.attrs[TOKENS_ATTR] == shipped.attrs[TOKENS_ATTR]
    csv = load_table(write_table(small, tmp_path / "t.csv"))  # CSV keeps the columns
    assert (csv[list(TOKEN_COLUMNS)] == small[list(TOKEN_COLUMNS)]).all().all()
    old = _old_small(shipped)
    assert load_table(write_table(old, tmp_path / "old.parquet")).shape[1] == old.shape[1]
    for broken, needle in [
        (small.drop(columns="token_source"), "token columns incomplete"),
        (small.assign(prompt_tokens=-1), "prompt_tokens must be >= 0"),
        (small.assign(completion_tokens=1.5), "completion_tokens must be integer"),
        (small.assign(token_source=""), "token_source is empty"),
    ]:
        with pytest.raises(TableError, match=needle):
            write_table(broken, tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()


def test_generation_counts_say_where_they_come_from():
    local = BackendConfig()
    server = BackendConfig(type="openai", base_url="http://127.0.0.1:1/v1", model="m")
    msgs = expert_messages("Be brief.", "Describe a lighthouse.")
    tok = counter(str(bundled_gguf()))
    whole = "A tall white tower. It shines."
    g = Generation(whole, 0.1, "m", "openai", 40, 9)
    assert generation_counts(server, msgs, g, whole).token_source == "usage/usage"
    c = generation_counts(server, msgs, g, "A tall white tower.")  # reply cut to a sentence
    assert (c.completion_tokens, c.token_source) == (
        tok.text_tokens("A tall white tower."),
        "usage/estimate",
    )
    c = generation_counts(server, msgs, Generation(whole, 0.1, "m", "openai"), whole)
    assert c.token_source == "estimate/estimate" and c.prompt_tokens == tok.chat_tokens(msgs)
    c = generation_counts(local, msgs, Generation(whole, 0.1, "m", "llama_cpp", 40, 9), whole)
    assert (c.prompt_tokens, c.completion_tokens) == (40, tok.text_tokens(whole))
    assert c.token_source == "usage/gguf"


def test_openai_backend_reads_usage_from_a_real_server():
    srv = _Server(0, {})
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/v1"
        b = OpenAIBackend(url, "tiny-model", timeout=5.0, max_retries=0)
        g = b.generate([{"role": "user", "content": "two words"}])
        assert (g.prompt_tokens, g.completion_tokens) == (2, 3)  # "echo: two words"
        srv.config["usage"] = None
        g = b.generate([{"role": "user", "content": "two words"}])
        assert (g.prompt_tokens, g.completion_tokens) == (None, None)
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def test_build_records_counts_and_fills_old_journals(tmp_path, monkeypatch):
    """A build writes the columns; a journal whose records predate token counts (fields
    removed) gives the same table on the next build."""
    monkeypatch.setattr(backends_mod, "make_text_backend", lambda cfg, n=None: FakeBackend())
    monkeypatch.setattr(embed_mod, "get_embedder", lambda model_dir=None: HashEmbedder())
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text(
        json.dumps({"prompts": [{"id": "p000", "type": "story", "prompt": "A storm story."}]})
    )
    cfg = config_from_dict(
        {
            "prompts": str(prompts),
            "out": str(tmp_path / "t.parquet"),
            "num_subtasks": 2,
            "experts": [{"name": "e1", "specialty": "stories", "system_prompt": "Tell."}],
            "gate": {"split": "rules"},
        }
    )
    first = load_table(build_table(cfg, progress=False)["out"])
    sub = first[first.kind == "subtask"]
    assert (sub.token_source == "gguf/gguf").all() and (sub.prompt_tokens > 10).all()
    assert (first[first.kind == "fused"].token_source == "none/sum").all()
    journal = journal_dir(tmp_path / "t.parquet") / "p000.jsonl"
    recs = [json.loads(line) for line in journal.read_text().splitlines()]
    journal.write_text(
        "".join(
            json.dumps({k: v for k, v in r.items() if k not in TOKEN_COLUMNS}) + "\n" for r in recs
        )
    )
    again = load_table(build_table(cfg, progress=False)["out"])
    pd.testing.assert_frame_equal(
        again.drop(columns="gen_seconds"), first.drop(columns="gen_seconds")
    )
