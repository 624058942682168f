"""Shared fixtures: small quality tables made here, in the real schema."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def synthetic_frame(
    num_prompts: int, num_subtasks: int, num_experts: int, seed: int = 0
) -> pd.DataFrame:
    """A small table of made-up texts in the real schema: for tests and examples only.

    Scores and sizes are random; nothing about language quality is claimed.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(num_prompts):
        for k in range(num_subtasks):
            subtask = f"subtask {k} of prompt {p}"
            for e in range(num_experts + 1):
                words = int(rng.integers(30, 150))
                text = " ".join(["word"] * words)
                rows.append(
                    dict(
                        prompt_id=f"p{p:03d}",
                        prompt=f"prompt {p}",
                        kind="subtask",
                        subtask_index=k,
                        subtask=subtask,
                        expert=e,
                        assignment="",
                        route_score=float(rng.uniform()),
                        text=text,
                        words=words,
                        bytes=len(text.encode()),
                        score=float(rng.uniform(3, 9)) if e else float(rng.uniform(2, 6)),
                    )
                )
    return pd.DataFrame(rows)


@pytest.fixture
def table_path(tmp_path):
    """A 4-prompt, 3-subtask, 3-expert synthetic table on disk (Parquet)."""
    path = tmp_path / "table.parquet"
    synthetic_frame(4, 3, 3).to_parquet(path)
    return path


# -- several users -------------------------------------------------------------------


def same_nested(a: object, b: object) -> bool:
    """Exactly equal (NaN equal to NaN), through dicts, tuples and lists."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_nested(a[k], b[k]) for k in a)  # type: ignore[attr-defined]
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same_nested(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, np.ndarray):
        nan = a.dtype.kind == "f"
        return a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=nan))  # type: ignore[attr-defined]
    return bool(a == b) or (a != a and b != b)


def ns3_built() -> bool:
    """Whether the edge-moe scenario program is built (tests that run it skip otherwise)."""
    from pybridge.paths import ScenarioNotBuiltError, program_path

    try:
        program_path("edge-moe")
    except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
        return False
    return True


def experts_near(n: int) -> list[dict]:
    """N static experts a few metres from the user, alternating sides of the x axis."""
    return [{"position": [3.0 + 2 * i, (-1) ** i * 2.0, 1.0]} for i in range(n)]


def multi_user_env(
    table, *, users: int, experts: int, serving: bool, episode_tasks: int, **tasks
) -> dict:
    """A Shannon env of ``users`` copies of the default user and ``experts_near(experts)``
    on ``table``, every user's task at a random offset in the round's first second;
    ``tasks``: more of the config's tasks section."""
    return {
        "backend": "shannon",
        "scenario": {
            "num_users": users,
            "experts": experts_near(experts),
            "serving": {"enabled": serving},
        },
        "tasks": {
            "table": str(table),
            "episode_tasks": episode_tasks,
            "arrival": {"mode": "random", "max_offset_s": 1.0},
            **tasks,
        },
    }


# -- Ray ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (at the time of the call)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_env() -> dict[str, str]:
    """The environment for Ray subprocesses: the table build's offline defaults
    (``RAY_ENV``), and no inherited RAY_ADDRESS."""
    import os

    from llm_pipeline.ray_executor import RAY_ENV

    env = {**os.environ, **RAY_ENV}
    env.pop("RAY_ADDRESS", None)
    return env


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A one-node Ray cluster on loopback with 1 CPU and no dashboard, per test module;
    its address; `ray stop` after (which stops every Ray process on the machine)."""
    import shutil
    import subprocess

    if shutil.which("ray") is None:
        pytest.skip("the ray command is not on PATH")
    port = free_port()
    temp = tmp_path_factory.mktemp("ray")
    start = ["ray", "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
             "--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats",
             f"--temp-dir={temp}"]  # fmt: skip
    try:
        r = subprocess.run(start, env=ray_env(), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(["ray", "stop"], env=ray_env(), capture_output=True, timeout=120)
