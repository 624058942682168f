"""The pipeline against llama.cpp's own OpenAI-compatible server (``python -m
llama_cpp.server``) on loopback, serving the bundled SmolLM2 GGUF under the alias
``smollm2`` with 1 thread and a small context: a generation, a judge call, the model
name checked against ``/v1/models``, the one-line errors for a missing ``/v1`` and a
missing or wrong key, and a build resumed after the server was killed mid-build.

Skipped (with the reason) when llama.cpp's server extras are not installed
(``pip install -e '.[server]'``)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

import llm_pipeline.embed as embed_mod
from llm_pipeline.backends import OpenAIBackend, bundled_gguf
from llm_pipeline.errors import BackendError
from llm_pipeline.journal import read_journal
from llm_pipeline.judge_llm import LLMJudge
from llm_pipeline.testing import HashEmbedder
from netmoe.cli import main

SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
_missing = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"llama.cpp's server extras are not installed (no {', '.join(_missing)}): "
    "pip install -e '.[server]'",
)

ALIAS = "smollm2"
KEY = "sk-llama-test-7d2e"
KEY_ENV = "NETMOE_LLAMA_TEST_KEY"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, key: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            json.loads(resp.read())
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1: started, waited for, killed."""

    def __init__(self, port: int | None = None, api_key: str | None = KEY) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(bundled_gguf()),
            "--model_alias",
            ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_threads",
            "1",
            "--n_threads_batch",
            "1",
            "--n_ctx",
            "1024",
        ]
        if api_key:
            cmd += ["--api_key", api_key]
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        # its log (llama.cpp's load report, one line per request) is far more than a
        # pipe holds: a file, read back only to say why the server did not start
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=self.log, text=True, env=env
        )
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"llama_cpp.server exited: {self.log.read()[-500:]}")
            try:
                if _get(f"{self.url}/models", api_key) == 200:
                    return
            except OSError:  # not listening yet
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("llama_cpp.server did not answer /v1/models within 90 s")
            time.sleep(0.2)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def llama():
    server = LlamaServer()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setattr(embed_mod, "get_embedder", lambda model_dir=None: HashEmbedder())


def _backend_cfg(url: str, **over) -> dict:
    b = {
        "type": "openai",
        "base_url": url,
        "model": ALIAS,
        "api_key_env": KEY_ENV,
        "timeout": 120,
        "max_retries": 1,
        "backoff": 0.05,
    }
    b.update(over)
    return b


def _write_cfg(tmp_path: Path, url: str, **over) -> Path:
    prompts = [
        {"id": "p0", "type": "story", "prompt": "Write a story about a lighthouse keeper."},
    ]
    (tmp_path / "prompts.yaml").write_text(yaml.safe_dump({"prompts": prompts}))
    data = {
        "prompts": "prompts.yaml",
        "out": "table.parquet",
        "seed": 5,
        "num_subtasks": 3,
        "backends": {"default": _backend_cfg(url)},
        "local": {"specialty": "short answers", "system_prompt": "Be brief.", "max_tokens": 24},
        "experts": [
            {"name": "e1", "specialty": "stories", "system_prompt": "Tell.", "max_tokens": 24}
        ],
        "gate": {"split": "rules"},
        "judge": {"type": "offline"},
    }
    data.update(over)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _texts(journal: Path) -> dict[tuple[int, int], str]:
    """The journaled (subtask, expert) texts."""
    return {(r["k"], r["expert"]): r["text"] for r in read_journal(journal) if r["type"] == "text"}


def _one_line_error(rc: int, err: str, *needles: str) -> str:
    # llama.cpp's log callback writes to sys.stderr, which pytest captures: the token
    # counter's vocabulary-only load warns there (fd 2, silenced by tokens.py, in the CLI)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("llama_context")]
    assert rc == 2 and len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_generation_and_judge_call(llama, keyed):
    backend = OpenAIBackend(llama.url, ALIAS, KEY_ENV, timeout=120)
    assert backend.check_model() == [ALIAS]
    g = backend.generate("Write one sentence about the sea.", max_tokens=16, seed=1)
    assert g.text and g.model == ALIAS and g.backend == "openai"
    assert 0 < g.completion_tokens <= 16 and g.prompt_tokens > 5  # llama.cpp's usage
    got = LLMJudge(backend, attempts=2).ask(g.text, "Write one sentence about the sea.")
    assert got.answer and 1 <= got.attempts <= 2
    assert got.score is None or 0 <= got.score <= 10  # a 135M judge may give no number


def test_check_backend_verb(llama, keyed, tmp_path, capsys):
    cfg = _write_cfg(tmp_path, llama.url, judge={"type": "llm", "attempts": 2})
    assert main(["table", "check-backend", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert f"backends.default ({llama.url} model {ALIAS}): generated" in out
    assert "judge on backends.default: " in out


def test_model_name_is_checked_against_v1_models(llama, keyed, tmp_path, capsys):
    with pytest.raises(BackendError, match=f"does not serve model 'big' .*it serves: {ALIAS}"):
        OpenAIBackend(llama.url, "big", KEY_ENV).check_model()
    cfg = _write_cfg(
        tmp_path, llama.url, backends={"default": _backend_cfg(llama.url, model="big")}
    )
    rc = main(["table", "build", "--config", str(cfg), "--no-progress"])
    _one_line_error(rc, capsys.readouterr().err, "backends.default", "does not serve model 'big'")
    assert not (tmp_path / "table.parquet.parts" / "p0.jsonl").exists()  # no text asked


def test_missing_v1_and_keys_are_one_line_errors(llama, keyed, tmp_path, capsys, monkeypatch):
    bare = llama.url.removesuffix("/v1")
    cfg = _write_cfg(tmp_path, bare, backends={"default": _backend_cfg(bare)})
    rc = main(["table", "check-backend", "--config", str(cfg)])
    _one_line_error(rc, capsys.readouterr().err, "HTTP 404", f"try base_url: {bare}/v1")
    cfg = _write_cfg(tmp_path, llama.url)
    monkeypatch.delenv(KEY_ENV)
    rc = main(["table", "check-backend", "--config", str(cfg)])
    _one_line_error(rc, capsys.readouterr().err, "HTTP 401", f"${KEY_ENV}, which is not set")
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    rc = main(["table", "check-backend", "--config", str(cfg)])
    line = _one_line_error(rc, capsys.readouterr().err, f"key in ${KEY_ENV} was refused")
    assert "(Invalid API key)" in line and "sk-wrong" not in line


@pytest.mark.slow
def test_build_resumes_after_the_server_is_killed(keyed, tmp_path, capsys):
    """Kill the server once the first text is journaled: the build stops with one line
    saying the journal resumes it; against a new server the same command generates only
    the texts not journaled and keeps the others as they were."""
    server = LlamaServer()
    cfg = _write_cfg(tmp_path, server.url, backends={"default": _backend_cfg(server.url)})
    journal = tmp_path / "table.parquet.parts" / "p0.jsonl"
    result: dict[str, int] = {}
    build = threading.Thread(
        target=lambda: result.update(
            rc=main(["table", "build", "--config", str(cfg), "--no-progress"])
        )
    )
    try:
        build.start()
        deadline = time.monotonic() + 120
        while not (journal.exists() and _texts(journal)):
            assert build.is_alive() and time.monotonic() < deadline, "no text journaled"
            time.sleep(0.05)
    finally:
        server.kill()
    build.join(timeout=120)
    assert not build.is_alive()
    _one_line_error(result["rc"], capsys.readouterr().err, "is the server running", "resumes")
    before = _texts(journal)
    assert 1 <= len(before) < 6  # 3 subtasks x (local + e1)

    server = LlamaServer(port=server.port)  # the server is back, at the same address
    try:
        rc = main(["table", "build", "--config", str(cfg), "--no-progress"])
    finally:
        server.kill()
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"{6 - len(before)} new texts" in out
    table = pd.read_parquet(tmp_path / "table.parquet")
    sub = table[table.kind == "subtask"]
    assert len(sub) == 6 and sub.model.str.endswith(f":{ALIAS}").all()
    for (k, expert), text in before.items():  # journaled texts kept as they were
        row = sub[(sub.subtask_index == k) & (sub.expert == expert)]
        assert row.text.item() == text
