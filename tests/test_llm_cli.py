"""`netmoe table ...` on bad input: one `netmoe: error:` line, exit 2, table intact."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
import yaml

from netmoe.cli import main

EXPERTS = [{"name": "e1", "specialty": "stories", "system_prompt": "Tell stories."}]


@pytest.fixture
def existing(tmp_path):
    """A table already on disk that no failing build may touch."""
    path = tmp_path / "table.parquet"
    df = pd.DataFrame({"marker": ["keep me"]})
    df.to_parquet(path)
    return path, path.read_bytes()


def _write_cfg(tmp_path, prompts, **over):
    p = tmp_path / "prompts.yaml"
    p.write_text(yaml.safe_dump({"prompts": prompts}))
    cfg = {
        "prompts": str(p),
        "out": str(tmp_path / "table.parquet"),
        "experts": EXPERTS,
        "gate": {"split": "rules"},
    }
    cfg.update(over)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run(capsys, *argv):
    rc = main(["table", *argv])
    err = capsys.readouterr().err
    return rc, err


def _assert_one_line_error(rc, err, needle):
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("netmoe: error: ") and needle in lines[0], lines[0]


OK_PROMPT = [{"id": "p0", "type": "story", "prompt": "Write a story about a fox."}]


@pytest.mark.parametrize(
    "prompts, over, needle",
    [
        ([{"id": "p0", "prompt": "   "}], {}, "empty prompt"),
        ([{"id": "p0", "prompt": "word " * 500}], {}, "exceeds 400"),
        (
            OK_PROMPT,
            {"backends": {"default": {"type": "gpt5-magic"}}},
            "backends.default.type: Input should be 'llama_cpp' or 'openai'",
        ),
        (
            OK_PROMPT,
            {"backends": {"default": {"model_path": "/nonexistent/model.gguf"}}},
            "model file not found",
        ),
        (OK_PROMPT, {"num_subtasks": 0}, "cfg.yaml: num_subtasks: Input should be greater"),
        (OK_PROMPT, {"colour": "blue"}, "colour: Extra inputs are not permitted"),
        (OK_PROMPT, {"experts": []}, "experts: need at least one edge expert"),
        (OK_PROMPT, {"gate": {"split": "psychic"}}, "gate.split: Input should be"),
        (OK_PROMPT, {"fusion": {"backend": "nope"}}, "fusion: unknown backend 'nope'"),
    ],
)
def test_bad_input_one_line_and_table_intact(tmp_path, capsys, existing, prompts, over, needle):
    cfg = _write_cfg(tmp_path, prompts, **over)
    rc, err = _run(capsys, "build", "--config", str(cfg), "--no-progress")
    _assert_one_line_error(rc, err, needle)
    path, before = existing
    assert path.read_bytes() == before


def test_missing_config_and_bad_yaml(tmp_path, capsys):
    rc, err = _run(capsys, "build", "--config", str(tmp_path / "nope.yaml"))
    _assert_one_line_error(rc, err, "no such config file")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1, 2\n")
    rc, err = _run(capsys, "build", "--config", str(bad))
    _assert_one_line_error(rc, err, "not valid YAML")


def test_info_on_missing_and_broken_tables(tmp_path, capsys):
    rc, err = _run(capsys, "info", str(tmp_path / "none.parquet"))
    _assert_one_line_error(rc, err, "not found")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    rc, err = _run(capsys, "info", str(broken))
    _assert_one_line_error(rc, err, "cannot read")


class _Garbage(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - /v1/models lists the model, so the build starts
        body = json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"choices": "definitely not a list"'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_server_answering_garbage_during_build(tmp_path, capsys, existing):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        host, port = srv.server_address
        backend = {
            "type": "openai",
            "base_url": f"http://{host}:{port}/v1",
            "model": "m",
            "timeout": 5,
            "max_retries": 1,
            "backoff": 0.01,
        }
        cfg = _write_cfg(tmp_path, OK_PROMPT, backends={"default": backend})
        rc, err = _run(capsys, "build", "--config", str(cfg), "--no-progress")
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(timeout=5)
    _assert_one_line_error(rc, err, "malformed")
    path, before = existing
    assert path.read_bytes() == before


def test_info_prints_shape_of_a_valid_table(tmp_path, capsys, monkeypatch):
    import llm_pipeline.backends as backends_mod
    import llm_pipeline.embed as embed_mod
    from llm_pipeline.testing import FakeBackend, HashEmbedder

    monkeypatch.setattr(backends_mod, "make_text_backend", lambda cfg, n=None: FakeBackend())
    monkeypatch.setattr(embed_mod, "get_embedder", lambda model_dir=None: HashEmbedder())
    cfg = _write_cfg(tmp_path, OK_PROMPT, num_subtasks=2)
    assert main(["table", "build", "--config", str(cfg), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "8 rows" in out  # K=2 x (N+1)=2 subtask rows + 2^2 fused
    assert main(["table", "info", str(tmp_path / "table.parquet")]) == 0
    out = capsys.readouterr().out
    assert "1 prompts, K=2, N=1, 4 fused rows" in out


def test_ray_executor_without_ray_is_one_line(tmp_path, capsys, existing, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    cfg = _write_cfg(tmp_path, OK_PROMPT)
    rc, err = _run(capsys, "build", "--config", str(cfg), "--executor", "ray", "--no-progress")
    _assert_one_line_error(rc, err, "needs Ray")
    path, before = existing
    assert path.read_bytes() == before


def test_ray_address_without_ray_executor_is_one_line(tmp_path, capsys, existing):
    cfg = _write_cfg(tmp_path, OK_PROMPT)
    rc, err = _run(capsys, "build", "--config", str(cfg), "--ray-address", "127.0.0.1:1")
    _assert_one_line_error(rc, err, "--ray-address needs --executor ray")
    path, before = existing
    assert path.read_bytes() == before


def test_unreachable_ray_cluster_is_one_line_at_once(tmp_path, capsys, existing):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _write_cfg(tmp_path, OK_PROMPT)
    argv = ["build", "--config", str(cfg), "--executor", "ray", "--no-progress"]
    rc, err = _run(capsys, *argv, "--ray-address", f"127.0.0.1:{port}")
    _assert_one_line_error(rc, err, "no Ray cluster answers at 127.0.0.1")
    path, before = existing
    assert path.read_bytes() == before


@pytest.mark.slow
def test_validate_judge_command_prints_rates(capsys):
    from llm_pipeline.judge_validation import HELDOUT

    assert (
        main(["table", "validate-judge", "--set", str(HELDOUT.parent / "judge_heldout2.yaml")]) == 0
    )
    out = capsys.readouterr().out
    assert "coherent > shuffled 28/30 = 93.3% (95% CI 78.7%-98.2%)" in out
    assert "on-topic > off-topic 30/30 = 100.0% (95% CI 88.6%-100.0%)" in out
