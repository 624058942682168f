"""The Ray executor of the table build, for real: the bundled SmolLM2 GGUF on two tiny
prompts, built (a) on a local Ray instance that the driver starts, (b) on a Ray cluster
started with `ray start --head` on loopback (1 CPU), through the CLI with --ray-address /
RAY_ADDRESS. Each Ray table must equal the process-parallel one for the same seed; a build
killed mid-way on the cluster must resume without regenerating any journaled text; a task
that fails remotely must be one error line with the table on disk intact.

All slow (Ray start-up plus real generation: 20-60 s each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from llm_pipeline.builder import build_table
from llm_pipeline.config import config_from_dict
from llm_pipeline.journal import journal_dir, read_journal
from llm_pipeline.ray_executor import RAY_ENV
from netmoe_table import load_table

ray = pytest.importorskip("ray")
pytest.importorskip("llama_cpp")

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
TIMING = ["gen_seconds"]
PROMPTS = [
    {"id": "p000", "type": "story", "prompt": "Write a story about a lantern in a storm."},
    {"id": "p001", "type": "howto", "prompt": "Describe how to make a cup of tea."},
]
TEXTS_PER_PROMPT = 1 + 2 * 2  # gate split + K=2 subtasks x (local + 1 expert)


def _config_data(tmp: Path, model_path: str | None = None) -> dict:
    (tmp / "prompts.json").write_text(json.dumps({"prompts": PROMPTS}))
    return {
        "prompts": str(tmp / "prompts.json"),
        "out": str(tmp / "table.parquet"),
        "seed": 11,
        "num_subtasks": 2,
        "gate": {"split": "rules"},
        "backends": {"default": {"type": "llama_cpp", "model_path": model_path}},
        "local": {"name": "local", "specialty": "short answers", "system_prompt": "Be brief."},
        "experts": [
            {
                "name": "e1",
                "specialty": "stories and steps",
                "system_prompt": "Write clearly.",
                "max_tokens": 10,
            }
        ],
    }


def _write_config(tmp: Path, **over) -> Path:
    data = _config_data(tmp)
    data["local"]["max_tokens"] = 8
    data.update(over)
    path = tmp / "table.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def _cli(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    cmd = ["nice", "-n", "10", sys.executable, "-m", "netmoe.cli", "table", *args]
    return subprocess.run(
        cmd, cwd=REPO, env={**os.environ, **RAY_ENV, **(env or {})}, text=True, **kw
    )


def _frame(path: Path) -> pd.DataFrame:
    return load_table(path).drop(columns=TIMING)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The same table built by 2 local processes: what every Ray build must equal."""
    tmp = tmp_path_factory.mktemp("reference")
    cfg = _write_config(tmp)
    out = tmp / "local.parquet"
    r = _cli("build", "--config", str(cfg), "--out", str(out), "--workers", "2", "--no-progress")
    assert r.returncode == 0
    return cfg, _frame(out)


def _generated(journal: Path) -> int:
    """Gate splits and texts in a prompt's journal (judge scores are journaled too)."""
    return sum(r["type"] != "score" for r in read_journal(journal))


def test_local_ray_instance_builds_the_same_table(tmp_path, reference):
    """build_table(executor="ray") with no address starts its own 1-CPU Ray instance,
    streams every text back into the journal and shuts Ray down again."""
    for key, value in RAY_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.pop("RAY_ADDRESS", None)
    cfg = config_from_dict(json.loads(reference[0].read_text()))
    out = tmp_path / "ray.parquet"
    stats = build_table(cfg, out=out, workers=1, executor="ray", progress=False)
    assert stats["generated_texts"] == len(PROMPTS) * TEXTS_PER_PROMPT
    assert not ray.is_initialized()  # the instance it started is gone
    pd.testing.assert_frame_equal(_frame(out), reference[1])
    journaled = [_generated(p) for p in sorted(journal_dir(out).glob("p*.jsonl"))]
    assert journaled == [TEXTS_PER_PROMPT] * len(PROMPTS)
    assert (load_table(out).query("kind == 'subtask'").backend == "llama_cpp").all()


def test_cluster_build_through_the_cli_equals_the_local_build(tmp_path, ray_cluster, reference):
    cfg, expected = reference
    out = tmp_path / "cluster.parquet"
    r = _cli(
        "build",
        "--config",
        str(cfg),
        "--out",
        str(out),
        "--executor",
        "ray",
        "--ray-address",
        ray_cluster,
        "--no-progress",
        capture_output=True,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{len(PROMPTS) * TEXTS_PER_PROMPT} new texts" in r.stdout
    pd.testing.assert_frame_equal(_frame(out), expected)


def test_killed_cluster_build_resumes_without_losing_texts(tmp_path, ray_cluster, reference):
    """SIGKILL the driver once some texts are journaled; the rerun (address from
    RAY_ADDRESS this time) generates only the rest and gives the same table."""
    cfg, expected = reference
    out = tmp_path / "killed.parquet"
    parts = journal_dir(out)
    args = ["build", "--config", str(cfg), "--out", str(out), "--executor", "ray"]
    env = {**os.environ, **RAY_ENV, "RAY_ADDRESS": ray_cluster}
    cmd = [sys.executable, "-m", "netmoe.cli", "table", *args, "--no-progress"]
    proc = subprocess.Popen(
        ["nice", "-n", "10", *cmd],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        journaled = 0
        while time.time() < deadline and proc.poll() is None:
            journaled = sum(_generated(p) for p in parts.glob("p*.jsonl"))
            if journaled >= 2:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the build finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    kept = sum(_generated(p) for p in parts.glob("p*.jsonl"))
    assert 2 <= kept < len(PROMPTS) * TEXTS_PER_PROMPT
    assert not out.exists()
    r = _cli(*args, "--no-progress", env={"RAY_ADDRESS": ray_cluster}, capture_output=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{len(PROMPTS) * TEXTS_PER_PROMPT - kept} new texts" in r.stdout
    pd.testing.assert_frame_equal(_frame(out), expected)


def test_remote_failure_is_one_line_and_the_table_is_intact(tmp_path, ray_cluster):
    """A missing model file fails inside the Ray task; the driver reports one line."""
    data = _config_data(tmp_path, model_path=str(tmp_path / "missing.gguf"))
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(json.dumps(data))
    out = tmp_path / "table.parquet"
    pd.DataFrame({"old": [1]}).to_parquet(out)
    before = out.read_bytes()
    r = _cli(
        "build",
        "--config",
        str(cfg),
        "--out",
        str(out),
        "--executor",
        "ray",
        "--ray-address",
        ray_cluster,
        "--no-progress",
        capture_output=True,
    )
    assert r.returncode == 2
    err = [line for line in r.stderr.splitlines() if line.startswith("netmoe: error:")]
    assert len(err) == 1 and "failed on Ray" in err[0] and "missing.gguf" in err[0], r.stderr
    assert out.read_bytes() == before
