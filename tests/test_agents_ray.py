"""`netmoe sweep --address` for real: a one-node Ray cluster started with `ray start --head`
on loopback (1 CPU, no dashboard) in a subprocess, a tiny grid on the Shannon backend,
and the rows must equal those of the local sweep for the same seeds; the same for a tiny
multi-user grid (M in {1, 2} users, N = 3 experts; opt-in with NETMOE_LONG_TESTS=1).
Slow (Ray start-up takes 10-30 s);
`ray stop` in the teardown."""

from __future__ import annotations

import os
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


@pytest.fixture
def multi_user_experiment(tmp_path, table_path) -> Path:
    """A tiny users grid: M in {1, 2}, N = 3 experts on a circle, K = 3, serving on."""
    exp = {
        "env": {"backend": "shannon",
                "scenario": {"num_users": 1, "serving": {"enabled": True}},
                "tasks": {"table": str(table_path), "episode_tasks": 3,
                          "arrival": {"mode": "random", "max_offset_s": 1.0}}},
        "train": {"epochs": 2, "num_envs": 1, "eval_every": 1, "eval_episodes": 1,
                  "sac": {"learning_starts": 4, "batch_size": 4, "hidden": 8}},
        "sweep": {"seeds": [0], "users": [1, 2], "experts": [3],
                  "baselines": ["least-loaded", "round-robin"]},
    }  # fmt: skip
    path = tmp_path / "multi_user.yaml"
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


@pytest.mark.skipif(
    os.environ.get("NETMOE_LONG_TESTS") != "1",
    reason="a multi-user sweep run twice, locally and on Ray (1.5-6 min here): "
    "NETMOE_LONG_TESTS=1 python3 -m pytest tests/test_agents_ray.py",
)
def test_multi_user_sweep_on_a_ray_cluster_equals_the_local_sweep(
    multi_user_experiment, tmp_path, ray_cluster
) -> None:
    config = str(multi_user_experiment)
    local = _sweep("--config", config, "--out", str(tmp_path / "local"), "--workers", "1")
    assert local.returncode == 0, local.stderr[-2000:]
    on_ray = _sweep("--config", config, "--out", str(tmp_path / "ray"), "--address", ray_cluster)
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    a = pd.read_csv(tmp_path / "local" / "sweep.csv")
    b = pd.read_csv(tmp_path / "ray" / "sweep.csv")
    methods = ("least-loaded", "round-robin", "sac")
    assert sorted(zip(a["users"], a["method"], strict=True)) == [
        (m, method) for m in (1, 2) for method in methods]  # fmt: skip
    assert (a["experts"] == 3).all() and a["reward"].notna().all()
    # every column but SAC's training speed (wall clock) is the same on Ray
    wall = ["train_rounds_per_s"]
    pd.testing.assert_frame_equal(a.drop(columns=wall), b.drop(columns=wall))
    assert b["train_rounds_per_s"].notna().sum() == 2  # one SAC row per cell
    for out in ("local", "ray"):  # the figures of both runs
        assert (tmp_path / out / "vs_users_n3.png").exists()
    assert sorted(p.name for p in (tmp_path / "ray").iterdir() if p.is_dir()) == [
        "default-m1-n3", "default-m2-n3"]  # fmt: skip


def test_unreachable_address_is_one_line_error(experiment, tmp_path) -> None:
    port = free_port()  # nothing listens there
    r = _sweep("--config", str(experiment), "--out", str(tmp_path / "x"),
               "--address", f"127.0.0.1:{port}")  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().startswith("netmoe: error: --address: no Ray cluster answers")
    assert len(r.stderr.strip().splitlines()) == 1
