"""The pipeline against a real OpenAI-compatible server process on loopback
(``llm_pipeline.testing_server``, started once per module): a judge answer without a
score, journaled and resumed judging, transport settings outside the fingerprint, a
wrong model name, one-line errors for a missing /v1, a missing key and a refused
connection, config-relative paths, and ``netmoe table check-backend``."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

import llm_pipeline.embed as embed_mod
from llm_pipeline.backends import OpenAIBackend
from llm_pipeline.config import config_from_dict
from llm_pipeline.errors import BackendError
from llm_pipeline.journal import read_journal
from llm_pipeline.scoring import journaled_scores
from llm_pipeline.testing import HashEmbedder
from llm_pipeline.testing_server import DEFAULT_CONFIG
from netmoe.cli import main
from netmoe_table import REPO_ROOT

SECRET = "sk-netmoe-test-4f9a1c"
PROMPTS = [
    {"id": "p0", "type": "story", "prompt": "Write a story about a lighthouse keeper and a storm."},
    {"id": "p1", "type": "how-to", "prompt": "Explain how to bake bread, list tools and steps."},
]


@pytest.fixture(scope="module")
def server_url():
    proc = subprocess.Popen(
        [sys.executable, "-m", "llm_pipeline.testing_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        yield line.split()[-1]  # http://127.0.0.1:PORT/v1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _control(url: str, method: str, path: str, data: dict | None = None):
    root = url.removesuffix("/v1")
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(root + path, data=body, method=method)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture
def server(server_url, monkeypatch):
    """The module's server, reset to its defaults; set(**config), log()."""
    monkeypatch.setattr(embed_mod, "get_embedder", lambda model_dir=None: HashEmbedder())
    monkeypatch.delenv("NETMOE_TEST_KEY", raising=False)

    class Server:
        url = server_url

        def set(self, **config):
            _control(server_url, "POST", "/_config", config)

        def log(self):
            return _control(server_url, "GET", "/_log")

        def clear(self):
            _control(server_url, "DELETE", "/_log")

        def models_requests(self) -> int:
            return _control(server_url, "GET", "/_stats")["models_requests"]

    s = Server()
    s.set(**DEFAULT_CONFIG)
    s.clear()
    return s


def _backend(url: str, **over) -> dict:
    b = {
        "type": "openai",
        "base_url": url,
        "model": "tiny-model",
        "api_key_env": "NETMOE_TEST_KEY",
        "timeout": 5,
        "max_retries": 1,
        "backoff": 0.01,
    }
    b.update(over)
    return b


def _write_cfg(tmp_path: Path, url: str, name: str = "cfg.yaml", **over) -> Path:
    (tmp_path / "prompts.yaml").write_text(yaml.safe_dump({"prompts": PROMPTS}))
    data = {
        "prompts": "prompts.yaml",  # relative: from the config file's directory
        "out": "table.parquet",
        "seed": 3,
        "num_subtasks": 2,
        "backends": {"default": _backend(url)},
        "experts": [{"name": "e1", "specialty": "stories", "system_prompt": "Tell."}],
        "gate": {"split": "rules"},
        "judge": {"type": "llm", "attempts": 2},
    }
    data.update(over)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _build(capsys, cfg: Path, *extra: str) -> tuple[int, str, str]:
    rc = main(["table", "build", "--config", str(cfg), "--no-progress", *extra])
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line_error(rc: int, err: str, *needles: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1, err
    assert lines[0].startswith("netmoe: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _judge_requests(server) -> int:
    return sum(r["judge"] for r in server.log())


def test_judge_without_a_number_is_retried_recorded_missing_and_resumed(
    tmp_path, server, capsys, caplog
):
    # p0's second subtask text gets no number: its prompt is left out; others kept.
    server.set(unscored_if=r"echo: Write a storm")
    cfg = _write_cfg(tmp_path, server.url)
    rc, out, err = _build(capsys, cfg)
    assert rc == 0, err
    table = pd.read_parquet(tmp_path / "table.parquet")
    assert sorted(table.prompt_id.unique()) == ["p1"]
    assert "6 text(s) without a judge score (p0 subtask 1 expert 0" in out
    assert "left out: p0" in out
    assert "no 0-10 score for p0 subtask 1 expert 0 in 2 attempts" in caplog.text
    records = read_journal(tmp_path / "table.parquet.parts" / "p0.jsonl")
    missing = [r for r in records if r["type"] == "score" and r["score"] is None]
    assert missing and all(r["attempts"] == 2 for r in missing)
    assert "excellent" in missing[0]["answer"]
    # Rerun: only the missing texts are asked again (2 attempts each), nothing else.
    server.clear()
    server.set(unscored_if=None)
    rc, out, err = _build(capsys, cfg)
    assert rc == 0, err
    # each distinct (text, reference, seed) once, now scored at the first attempt
    # (6 rows, 3 distinct texts: p0's fused answers are all alike here)
    assert _judge_requests(server) == len(missing) == 3
    # ... going on with the third attempt (temperature 0.7, a new seed): a deterministic
    # server (llama.cpp's) would answer a repeat of the first two the same way again
    asked = [r for r in server.log() if r["judge"]]
    assert all(r["temperature"] == 0.7 for r in asked)
    latest = journaled_scores(tmp_path / "table.parquet.parts" / "p0.jsonl")
    assert [latest[m["key"]]["attempts"] for m in missing] == [3] * len(missing)
    assert sum(not r["judge"] for r in server.log()) == 0  # no text regenerated
    table = pd.read_parquet(tmp_path / "table.parquet")
    assert sorted(table.prompt_id.unique()) == ["p0", "p1"]
    assert table.score.between(1, 9).all()
    # A third run asks nothing at all, and writes the same scores.
    server.clear()
    assert _build(capsys, cfg)[0] == 0
    assert server.log() == []
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "table.parquet").drop(columns="gen_seconds"),
        table.drop(columns="gen_seconds"),
    )


def test_fused_rows_without_a_score_fall_back_and_keep_the_prompt(tmp_path, server, capsys):
    server.set(unscored_if=r"echo:.*echo:")  # every concatenated answer, no subtask text
    cfg = _write_cfg(tmp_path, server.url, judge={"type": "llm", "attempts": 1})
    rc, out, err = _build(capsys, cfg)
    assert rc == 0, err
    table = pd.read_parquet(tmp_path / "table.parquet")
    assert (table.kind == "subtask").all() and table.prompt_id.nunique() == 2
    assert "8 text(s) without a judge score" in out and "left out: no prompt" in out


def test_transport_settings_keep_the_journal(tmp_path, server, capsys, monkeypatch):
    cfg = _write_cfg(tmp_path, server.url)
    assert _build(capsys, cfg)[0] == 0
    # Same server by another name, other timeout, retries, backoff and key variable.
    moved = server.url.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("OTHER_KEY", "unused")
    backend = _backend(moved, timeout=9, max_retries=0, backoff=2.0, api_key_env="OTHER_KEY")
    cfg2 = _write_cfg(tmp_path, moved, "moved.yaml", backends={"default": backend})
    server.clear()
    rc, out, err = _build(capsys, cfg2)
    assert rc == 0, err
    assert "0 new texts" in out and "0 asked" in out
    assert [r["path"] for r in server.log()] == []  # nothing regenerated or re-judged
    # What changes a text still changes the fingerprint.
    base = {"experts": [{"name": "e", "specialty": "s", "system_prompt": "p"}]}
    a = config_from_dict({**base, "backends": {"default": _backend(server.url)}})
    b = config_from_dict({**base, "backends": {"default": backend}})
    c = config_from_dict({**base, "backends": {"default": _backend(moved, model="other")}})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_a_build_checks_the_served_models_once_per_phase(tmp_path, server, capsys):
    cfg = _write_cfg(tmp_path, server.url)
    assert _build(capsys, cfg)[0] == 0
    # one /v1/models before generating, one before the judge's first request (not one
    # per prompt and per judging pass)
    assert server.models_requests() == 2
    server.clear()
    assert _build(capsys, cfg)[0] == 0  # all journaled: no server needed at all
    assert server.models_requests() == 0 and server.log() == []


def test_wrong_model_name_stops_before_any_text(tmp_path, server, capsys):
    cfg = _write_cfg(tmp_path, server.url, backends={"default": _backend(server.url, model="nope")})
    rc, _, err = _build(capsys, cfg)
    _one_line_error(rc, err, "backends.default", "does not serve model 'nope'", "tiny-model")
    assert [r["path"] for r in server.log()] == []  # no chat request was made
    assert not (tmp_path / "table.parquet").exists()


def test_wrong_judge_model_stops_before_any_text(tmp_path, server, capsys):
    # the writers' model is served, the judge's is not: found before generating, not
    # after every text exists
    backends = {"default": _backend(server.url), "judge": _backend(server.url, model="nope")}
    judge = {"type": "llm", "attempts": 2, "backend": "judge"}
    cfg = _write_cfg(tmp_path, server.url, backends=backends, judge=judge)
    rc, _, err = _build(capsys, cfg)
    _one_line_error(rc, err, "backends.judge", "does not serve model 'nope'")
    assert [r["path"] for r in server.log()] == []  # no chat request was made


def test_shipped_two_model_config_puts_each_writer_on_its_model(tmp_path, server, capsys):
    # configs/table_openai.yaml as shipped (the local writer on `small`, the experts, gate
    # and LLM judge on `big`), pointed at this server and this test's key variable
    data = yaml.safe_load((REPO_ROOT / "configs" / "table_openai.yaml").read_text())
    for b in data["backends"].values():
        b.update(base_url=server.url, api_key_env="NETMOE_TEST_KEY", max_retries=1)
    data.update(base_dir=str(REPO_ROOT), out=str(tmp_path / "table.parquet"))
    cfg = tmp_path / "openai.yaml"
    cfg.write_text(yaml.safe_dump(data))
    server.set(models=["small", "big"])
    assert _build(capsys, cfg, "--max-prompts", "1")[0] == 0
    table = pd.read_parquet(tmp_path / "table.parquet")
    sub = table[table.kind == "subtask"]
    assert set(sub[sub.expert == 0].model) == {"local:small"}
    assert set(sub[sub.expert > 0].model.str.split(":").str[1]) == {"big"}
    assert set(sub[sub.expert > 0].best_of) == {3}
    asked = server.log()
    assert {r["model"] for r in asked if r["judge"]} == {"big"}
    assert {r["model"] for r in asked if not r["judge"]} == {"small", "big"}


def test_base_url_without_v1_says_to_add_it(tmp_path, server, capsys):
    bare = server.url.removesuffix("/v1")
    cfg = _write_cfg(tmp_path, bare, backends={"default": _backend(bare)})
    rc, _, err = _build(capsys, cfg)
    _one_line_error(rc, err, "HTTP 404", f"try base_url: {bare}/v1")
    with pytest.raises(BackendError, match=f"404 on /chat/completions.*try base_url: {bare}/v1"):
        OpenAIBackend(bare, "tiny-model", max_retries=0).generate("x")


def test_missing_or_wrong_key_names_the_variable(tmp_path, server, capsys, monkeypatch):
    server.set(api_key=SECRET)
    cfg = _write_cfg(tmp_path, server.url)
    rc, _, err = _build(capsys, cfg)
    _one_line_error(rc, err, "HTTP 401", "$NETMOE_TEST_KEY, which is not set")
    monkeypatch.setenv("NETMOE_TEST_KEY", "sk-wrong")
    rc, _, err = _build(capsys, cfg)
    line = _one_line_error(rc, err, "HTTP 401", "key in $NETMOE_TEST_KEY was refused")
    assert "sk-wrong" not in line
    monkeypatch.setenv("NETMOE_TEST_KEY", SECRET)
    rc, out, err = _build(capsys, cfg)
    assert rc == 0 and SECRET not in out + err


def test_refused_connection_is_one_line_without_warnings(tmp_path, server, capsys, caplog):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    s.close()
    cfg = _write_cfg(tmp_path, dead, backends={"default": _backend(dead, max_retries=2)})
    caplog.set_level(logging.INFO, logger="llm_pipeline")
    rc, _, err = _build(capsys, cfg)
    _one_line_error(rc, err, "after 3 attempt(s)", "is the server running")
    # the retries are logged, at INFO: a user's console (WARNING and up) shows only the
    # one line above (the CLI's handler does not reach pytest's stderr, so look here)
    retries = [r for r in caplog.records if "retry" in r.getMessage().lower()]
    assert retries and all(r.levelno < logging.WARNING for r in retries)


def test_relative_paths_resolve_from_the_config_file(tmp_path, server, capsys, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    cfg = _write_cfg(conf, server.url, judge={"type": "offline"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert _build(capsys, cfg)[0] == 0
    assert (conf / "table.parquet").is_file()  # the config's out, next to the config
    assert _build(capsys, cfg, "--out", "typed.parquet")[0] == 0
    assert (elsewhere / "typed.parquet").is_file()  # a typed path: from the cwd
    # The shipped config still finds the repository's prompt set from anywhere.
    from llm_pipeline.config import load_table_config

    shipped = load_table_config(Path(REPO_ROOT, "configs", "table_default.yaml"))
    assert shipped.resolve(shipped.prompts) == REPO_ROOT / "data" / "prompts.yaml"
    assert shipped.resolve(shipped.out) == REPO_ROOT / "data" / "quality_table.parquet"


def test_check_backend_runs_one_generation_and_one_judge_call(tmp_path, server, capsys):
    cfg = _write_cfg(tmp_path, server.url)
    assert main(["table", "check-backend", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "backends.default" in out and "generated" in out and "model tiny-model" in out
    assert "judge on backends.default: score" in out
    assert [r["judge"] for r in server.log()] == [False, True]
    server.set(judge="Your story is excellent. Here's a")
    assert main(["table", "check-backend", "--config", str(cfg)]) == 0
    assert "no 0-10 score in 2 attempts" in capsys.readouterr().out
    bad = _write_cfg(
        tmp_path, server.url, "bad.yaml", backends={"default": _backend(server.url, model="x")}
    )
    rc = main(["table", "check-backend", "--config", str(bad)])
    _one_line_error(rc, capsys.readouterr().err, "does not serve model 'x'")
