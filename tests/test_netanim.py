"""NetAnim traces from edge-moe (--netanim / scenario.netanim): written, valid XML, one
node element per simulated node, users and experts described."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import pybridge
from pybridge.config import ConfigError, load_config
from pybridge.paths import ScenarioNotBuiltError, program_path
from pybridge.scenario_check import check_scenario

try:
    EDGE_MOE = str(program_path("edge-moe"))
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(str(exc), allow_module_level=True)

pytestmark = pytest.mark.ns3

NODES = "0,0,1;3,0,1|random-walk|speed=1;5,0,1;-10,5,1;0,-20,1"  # 2 users, 3 experts


def _descriptions(path: Path) -> list[str]:
    root = ET.parse(path).getroot()  # raises on a truncated or malformed file
    assert root.tag == "anim"
    return [n.get("descr", "") for n in root.iter("node")]


def _updates(path: Path) -> dict[str, str]:
    """Node id -> its last description update (NetAnim's <nu p="d"> records)."""
    out = {}
    for nu in ET.parse(path).getroot().iter("nu"):
        if nu.get("p") == "d":
            out[nu.get("id")] = nu.get("descr")
    return out


def test_standalone_writes_one_node_per_device(tmp_path: Path) -> None:
    anim = tmp_path / "anim.xml"
    proc = subprocess.run(
        [EDGE_MOE, "--standalone", "--tasks=2", "--numUsers=2", f"--nodes={NODES}",
         "--script=1,2,3", "--gap=1", f"--netanim={anim}"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(_descriptions(anim)) == 5  # 2 users + 3 experts, nothing else in direct mode
    ids = {descr: node for node, descr in _updates(anim).items()}
    assert set(ids) == {"user 0", "user 1", "expert 1", "expert 2", "expert 3"}
    # user 1 walks (ns-3 creates it after the experts): NetAnim gets its moves
    moves = [nu for nu in ET.parse(anim).getroot().iter("nu") if nu.get("p") == "p"]
    assert sum(nu.get("id") == ids["user 1"] for nu in moves) > 2
    assert not any(nu.get("id") == ids["expert 1"] and nu.get("t") != "0" for nu in moves)


def test_packets_only_when_asked(tmp_path: Path) -> None:
    sizes = {}
    for packets in (0, 1):
        anim = tmp_path / f"anim{packets}.xml"
        proc = subprocess.run(
            [EDGE_MOE, "--standalone", "--tasks=1", "--script=1,2,3", f"--netanim={anim}",
             f"--netanimPackets={packets}"],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        root = ET.parse(anim).getroot()
        sizes[packets] = sum(1 for _ in root.iter("p")) + sum(1 for _ in root.iter("wpr"))
    assert sizes[0] == 0 and sizes[1] > 0


def test_parallel_env_writes_the_episode(tmp_path: Path, table_path: Path) -> None:
    anim = tmp_path / "episode.xml"
    env = pybridge.parallel_env(
        config={
            "backend": "ns3",
            "scenario": {"num_users": 3, "netanim": str(anim), "warmup_s": 0.5},
            "tasks": {"table": str(table_path), "episode_tasks": 2, "gap_s": 0.5},
        }
    )
    try:
        env.reset(seed=0)
        while env.agents:
            env.step({a: np.array([1, 2, 3]) for a in env.agents})
        env.reset(seed=1)  # the episode ends: its process closes the file
    finally:
        env.close()
    assert len(_descriptions(anim)) == 3 + 3  # 3 users + the default config's 3 experts
    assert "user 2" in _updates(anim).values()


def test_unwritable_path_is_one_line(tmp_path: Path) -> None:
    cfg = load_config({"scenario": {"netanim": str(tmp_path / "no" / "such" / "a.xml")}})
    with pytest.raises(ConfigError, match="scenario.netanim: ") as err:
        check_scenario(cfg)
    assert "\n" not in str(err.value)
