"""`netmoe sweep --address` for real: a one-node Ray cluster started with `ray start --head`
on loopback (1 CPU, no dashboard) in a subprocess, a tiny grid on the Shannon backend,
and the rows must equal those of the local sweep for the same seeds. Slow (Ray start-up
takes 10-30 s); `ray stop` in the teardown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import free_port, ray_env

from pybridge.paths import REPO_ROOT

pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture
def experiment(tmp_path, table_path) -> Path:
    exp = {
        "env": {"backend": "shannon", "tasks": {"table": str(table_path), "episode_tasks": 5}},
        "train": {"epochs": 2, "num_envs": 2, "vector": "sync", "eval_every": 1,
                  "eval_episodes": 1, "checkpoint_every": 2,
                  "sac": {"learning_starts": 10, "batch_size": 8, "hidden": 8}},
        "sweep": {"seeds": [0, 1], "scenarios": {"near": {}},
                  "reward_weights": [{}, {"w_time": 3.0}], "baselines": ["local"]},
    }  # fmt: skip
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


def _sweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli_sweep", *args],
        cwd=REPO_ROOT, env=ray_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_sweep_on_a_ray_cluster_equals_the_local_sweep(experiment, tmp_path, ray_cluster) -> None:
    local = _sweep("--config", str(experiment), "--out", str(tmp_path / "local"), "--workers", "1")
    assert local.returncode == 0, local.stderr[-2000:]
    on_ray = _sweep("--config", str(experiment), "--out", str(tmp_path / "ray"),
                    "--address", ray_cluster)  # fmt: skip
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    a = pd.read_csv(tmp_path / "local" / "sweep.csv")
    b = pd.read_csv(tmp_path / "ray" / "sweep.csv")
    assert len(a) == 2 * 2 * 2  # seeds x weight sets x (sac + local)
    pd.testing.assert_frame_equal(a, b)
    # the cells really ran on the cluster's workers: their run directories are there
    assert sorted(p.name for p in (tmp_path / "ray" / "near" / "w1").iterdir()) == [
        "seed0", "seed1"]  # fmt: skip


def test_unreachable_address_is_one_line_error(experiment, tmp_path) -> None:
    port = free_port()  # nothing listens there
    r = _sweep("--config", str(experiment), "--out", str(tmp_path / "x"),
               "--address", f"127.0.0.1:{port}")  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().startswith("netmoe: error: --address: no Ray cluster answers")
    assert len(r.stderr.strip().splitlines()) == 1
