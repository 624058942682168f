"""A small OpenAI-compatible server for tests and for trying a config without a model:
``POST /v1/chat/completions`` and ``GET /v1/models`` on loopback, standard library only
(starts in a fraction of a second as its own process).

    python3 -m llm_pipeline.testing_server [--port 0] [--models tiny-model] [--api-key KEY]

prints ``listening on http://127.0.0.1:PORT/v1`` once it accepts connections. It
behaves like the servers the pipeline meets (llama.cpp's ``llama_cpp.server``, vLLM,
Ollama) where the tests need it to:

- a path outside ``/v1/`` gets a bare ``404`` (a ``base_url`` without ``/v1``);
- with ``--api-key``, a request without that bearer key gets ``401`` and an OpenAI-style
  error body;
- a chat answer echoes the last user message (``echo: ...``), except that a judge request
  (the paper's "Score the following story" prompt) is answered by ``judge`` below;
- the answer names the requested model, whatever it is (as a server that falls back to
  its default model does: only ``/v1/models`` tells the truth).

The behaviour can be changed while it runs: ``POST /_config`` with a JSON object merges
into ``CONFIG`` below; ``GET /_log`` returns the requests served so far (path, model,
whether it was a judge request, its temperature and seed, whether the key matched),
``GET /_stats`` how many ``/v1/models`` requests it answered, and ``DELETE /_log`` clears
both.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JUDGE_MARKER = "Score the following story"
"""How a judge request is recognised (the start of ``judge_llm.PAPER_JUDGE_PROMPT``)."""

DEFAULT_CONFIG: dict[str, Any] = {
    "models": ["tiny-model"],
    "api_key": None,
    # chat: "ok", "500" (always), "flaky" (500 for the first `flaky` requests), "slow"
    # (sleep `slow` s first), "garbage" (not JSON)
    "chat": "ok",
    "flaky": 2,
    "slow": 1.0,
    # judge: the answer to a judge request; "{n}" is replaced by a score 1-9 derived from
    # the judged text, so scores differ between texts but not between runs
    "judge": "Score: {n}/10",
    # answer `judge_unscored` instead when this regular expression matches the judged story
    "unscored_if": None,
    "judge_unscored": "Your story is excellent. Here's a",
    # usage: the token counts a reply reports, or null for a reply without `usage` (as
    # some servers send); "words" counts the prompt's and the answer's words
    "usage": "words",
}


def send(
    handler: BaseHTTPRequestHandler, code: int, data: bytes, ctype: str = "application/json"
) -> None:
    """Answer one request with ``data``; a client that already left is not an error."""
    try:
        handler.send_response(code)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.path == "/_log":
            self._json(200, self.server.log)
        elif self.path == "/_stats":
            self._json(200, {"models_requests": self.server.models_requests})
        elif self.path.rstrip("/") == "/v1/models":
            self.server.models_requests += 1
            if self._authorised():
                models = [
                    {"id": m, "object": "model", "owned_by": "test"} for m in self.cfg["models"]
                ]
                self._json(200, {"object": "list", "data": models})
        else:
            self._send(404, b"Not Found", "text/plain")

    def do_DELETE(self) -> None:  # noqa: N802
        self.server.log.clear()
        self.server.models_requests = 0
        self._json(200, {})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_config":
            self.server.config.update(json.loads(raw or b"{}"))
            self._json(200, self.server.config)
            return
        if not self.path.startswith("/v1/"):
            self._send(404, b"Not Found", "text/plain")
            return
        if not self._authorised():
            return
        body = json.loads(raw)
        user = body["messages"][-1]["content"]
        judge = JUDGE_MARKER in user
        log = self.server.log
        log.append(
            {
                "path": self.path,
                "model": body.get("model"),
                "judge": judge,
                "temperature": body.get("temperature"),
                "seed": body.get("seed"),
            }
        )
        cfg = self.cfg
        mode = cfg["chat"]
        if mode == "flaky":
            mode = "500" if len(log) <= int(cfg["flaky"]) else "ok"
        if mode == "500":
            self._json(500, {"error": {"message": "boom", "type": "server_error"}})
            return
        if mode == "garbage":
            self._send(200, b"<html>this is not json</html>", "text/html")
            return
        if mode == "slow":
            time.sleep(float(cfg["slow"]))
        content = self._judge_answer(user) if judge else f"echo: {user}"
        reply: dict[str, Any] = {
            "id": "cmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
        }
        if cfg["usage"]:
            p = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
            c = len(content.split())
            reply["usage"] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
        self._json(200, reply)

    @property
    def cfg(self) -> dict[str, Any]:
        return self.server.config

    def _judge_answer(self, user: str) -> str:
        story = user.split("Story:", 1)[-1]
        marker = self.cfg["unscored_if"]
        if marker and re.search(marker, story, re.DOTALL):
            return str(self.cfg["judge_unscored"])
        n = 1 + sum(story.encode()) % 9
        return str(self.cfg["judge"]).replace("{n}", str(n))

    def _authorised(self) -> bool:
        key = self.cfg["api_key"]
        ok = key is None or self.headers.get("Authorization") == f"Bearer {key}"
        if not ok:
            self.server.log.append({"path": self.path, "model": None, "judge": False, "401": True})
            self._json(
                401,
                {
                    "error": {
                        "message": "Invalid API Key",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        return ok

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def _send(self, code: int, data: bytes, ctype: str) -> None:
        send(self, code, data, ctype)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, config: dict[str, Any]) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.config = {**DEFAULT_CONFIG, **config}
        self.log: list[dict[str, Any]] = []
        self.models_requests = 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    p.add_argument("--models", nargs="+", default=["tiny-model"], help="ids /v1/models lists")
    p.add_argument("--api-key", default=None, help="require this bearer key (else 401)")
    args = p.parse_args(argv)
    srv = _Server(args.port, {"models": args.models, "api_key": args.api_key})
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}/v1", flush=True)
    try:
        srv.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
