"""The OpenAI-compatible backend against a real HTTP server on loopback."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llm_pipeline.backends import OpenAIBackend
from llm_pipeline.errors import BackendError
from llm_pipeline.testing_server import send

SECRET = "sk-test-very-secret-123"


class _Handler(BaseHTTPRequestHandler):
    """Chat-completions endpoint whose behaviour the test sets via ``server.mode``."""

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv.requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        mode = srv.mode
        if mode == "flaky" and len(srv.requests) <= 2:
            mode = "500"
        if mode == "500":
            self._send(500, b'{"error": {"message": "boom"}}')
        elif mode == "garbage":
            self._send(200, b"<html>this is not json</html>", "text/html")
        elif mode == "nochoices":
            self._send(200, json.dumps({"id": "x", "object": "chat.completion"}).encode())
        elif mode == "slow":
            time.sleep(1.0)
            self._send(200, self._ok(body))
        else:
            self._send(200, self._ok(body))

    def _ok(self, body: dict) -> bytes:
        user = body["messages"][-1]["content"]
        return json.dumps(
            {
                "id": "cmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"echo: {user}"},
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()

    def _send(self, code: int, data: bytes, ctype: str = "application/json") -> None:
        send(self, code, data, ctype)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.mode = "ok"
    srv.requests = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def _backend(srv, **kw) -> OpenAIBackend:
    host, port = srv.server_address
    args = dict(api_key_env="NETMOE_TEST_KEY", timeout=5.0, max_retries=2, backoff=0.01)
    args.update(kw)
    return OpenAIBackend(f"http://{host}:{port}/v1", "tiny-model", **args)


def test_generate_round_trip_sends_key_model_and_seed(server, monkeypatch, caplog):
    monkeypatch.setenv("NETMOE_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    g = _backend(server).generate("hello there", max_tokens=7, temperature=0.0, seed=42)
    assert g.text == "echo: hello there"
    assert g.backend == "openai" and g.model == "tiny-model" and g.seconds > 0
    req = server.requests[-1]
    assert req["path"] == "/v1/chat/completions"
    assert req["auth"] == f"Bearer {SECRET}"
    assert req["body"]["max_tokens"] == 7 and req["body"]["seed"] == 42
    assert SECRET not in caplog.text


def test_server_500_retries_then_one_clear_error(server, monkeypatch, caplog):
    monkeypatch.setenv("NETMOE_TEST_KEY", SECRET)
    server.mode = "500"
    with pytest.raises(BackendError) as exc:
        _backend(server, max_retries=2).generate("x")
    msg = str(exc.value)
    assert "HTTP 500" in msg and "3 attempt" in msg and "\n" not in msg
    assert len(server.requests) == 3
    assert SECRET not in msg and SECRET not in caplog.text


def test_transient_500_recovers_after_backoff(server):
    server.mode = "flaky"
    g = _backend(server, max_retries=3).generate("again")
    assert g.text == "echo: again"
    assert len(server.requests) == 3


def test_garbage_body_is_a_malformed_error(server):
    server.mode = "garbage"
    with pytest.raises(BackendError, match="malformed"):
        _backend(server).generate("x")


def test_json_without_choices_is_a_malformed_error(server):
    server.mode = "nochoices"
    with pytest.raises(BackendError, match="malformed"):
        _backend(server).generate("x")


def test_timeout_is_retried_then_reported(server):
    server.mode = "slow"
    t0 = time.perf_counter()
    with pytest.raises(BackendError, match="APITimeoutError"):
        _backend(server, timeout=0.2, max_retries=1).generate("x")
    assert time.perf_counter() - t0 < 5
    assert len(server.requests) == 2


def test_nothing_listening_is_a_connection_error():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    b = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", timeout=1.0, max_retries=1, backoff=0.01)
    with pytest.raises(BackendError, match="APIConnectionError"):
        b.generate("x")
