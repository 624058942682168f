"""Every bad config is refused when the environment is built, with one line naming the
field, and nothing is left behind; every accepted one builds and steps.

The sweep mutates one field of a shipped config at a time, as a new user would: negative,
zero, huge, NaN, a wrong type, an empty string, a deleted key. The default run sweeps
configs/default.yaml, building every mutation and stepping the accepted ones on the
Shannon twin; the full sweep (opt-in, long: ``NETMOE_FULL_SWEEP=1``) takes every
shipped config and steps on its own backend (ns-3), so a mutation that passes the check
but kills or hangs the scenario fails it.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pybridge
from pybridge.config import ConfigError, load_config, read_yaml
from pybridge.env import EdgeMoEEnv
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError, program_path

try:
    program_path("edge-moe")
    program_path("edge-moe-lte")
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(str(exc), allow_module_level=True)

DELETE = object()
MUTATIONS: dict[str, Any] = {
    "negative": -1,
    "zero": 0,
    "huge": 1e12,
    "nan": math.nan,
    "wrong type": {"not": "a value"},
    "empty string": "",
    "deleted": DELETE,
}
SHIPPED = [
    REPO_ROOT / "configs" / "default.yaml",
    REPO_ROOT / "configs" / "experiment_default.yaml",
    REPO_ROOT / "configs" / "experiment_cross_model.yaml",
    *sorted((REPO_ROOT / "configs" / "scenarios").glob("*.yaml")),
]
# A mutated scenario must not run away: one task of a step stays bounded.
EPISODE_TASKS = 1


def env_section(path: Path) -> dict[str, Any]:
    data = read_yaml(path)
    return copy.deepcopy(data.get("env", data))


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every scalar in a YAML tree (dict keys and list indexes)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i))
    else:
        yield path


def mutate(env: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(env)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def cases(paths: list[Path]) -> list[tuple[Path, tuple[Any, ...], str]]:
    return [(p, leaf, name) for p in paths for leaf in leaves(env_section(p)) for name in MUTATIONS]


def children() -> set[int]:
    """Live (non-zombie) child processes of this process."""
    out = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            out.add(int(pid))
    return out


def try_mutation(path: Path, leaf: tuple[Any, ...], name: str, backend: str | None) -> str:
    """'refused' or 'ran'; fails the test on anything else."""
    env_cfg = mutate(env_section(path), leaf, MUTATIONS[name])
    if backend is not None:
        env_cfg["backend"] = backend
    if isinstance(env_cfg.get("tasks"), dict) and "episode_tasks" not in leaf:
        env_cfg["tasks"]["episode_tasks"] = EPISODE_TASKS
    where = ".".join(str(k) for k in leaf)
    try:
        several = len(load_config(env_cfg).scenario.user_nodes) > 1
        env = pybridge.parallel_env(config=env_cfg) if several else EdgeMoEEnv(env_cfg)
    except ConfigError as exc:
        msg = str(exc)
        assert "\n" not in msg, f"{path.name} {where}={name}: more than one line: {msg!r}"
        named = ".".join(str(k) for k in leaf[:2])
        assert named in msg, f"{path.name} {where}={name}: {named!r} not named in {msg!r}"
        return "refused"
    try:
        env.reset(seed=0)
        action = np.ones(env.num_subtasks, dtype=np.int64)  # expert 1 for every subtask
        env.step({a: action for a in env.agents} if several else action)
    except Exception as exc:  # noqa: BLE001 - any failure after a successful build is a bug
        pytest.fail(f"{path.name} {where}={name}: built, then {type(exc).__name__}: {exc}")
    finally:
        env.close()
    return "ran"


def shm_names() -> set[str]:
    """/dev/shm's entries but named semaphores (``sem.*``): neither the environment nor a
    scenario makes one, while other jobs on the machine (a multiprocessing or joblib pool)
    make and remove them at any time."""
    return {n for n in os.listdir("/dev/shm") if not n.startswith("sem.")}


def sweep(paths: list[Path], backend: str | None) -> dict[str, int]:
    shm_before, kids_before = shm_names(), children()
    counts = {"refused": 0, "ran": 0}
    for path, leaf, name in cases(paths):
        counts[try_mutation(path, leaf, name, backend)] += 1
    assert children() <= kids_before, "a scenario process was left running"
    assert shm_names() <= shm_before, "something was left in /dev/shm"
    print(f"mutation sweep over {len(paths)} config(s): {counts}")  # shown with -s
    return counts


def test_default_config_mutations_refused_or_run() -> None:
    counts = sweep([REPO_ROOT / "configs" / "default.yaml"], backend="shannon")
    # both outcomes occur: the sweep is not vacuous
    assert counts["refused"] > 50 and counts["ran"] > 20, counts


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        (("scenario", "program"), "scenario.program: Value error, unknown scenario program"),
        (("scenario", "experts", 0, "position", 0), "scenario.experts"),
        (("scenario", "wifi", "rate_manager"), "scenario.wifi.rate_manager"),
        (("tasks", "gap_s"), "tasks.gap_s"),
    ],
)
def test_named_examples_from_the_issue(leaf: tuple[Any, ...], message: str) -> None:
    env_cfg = mutate(env_section(REPO_ROOT / "configs" / "default.yaml"), leaf, "")
    if leaf[-1] != "program":
        env_cfg = mutate(env_cfg, leaf, 1e12 if leaf[-1] != "rate_manager" else "")
    with pytest.raises(ConfigError) as err:
        EdgeMoEEnv(env_cfg)
    assert message.replace("Value error, ", "") in str(err.value)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("NETMOE_FULL_SWEEP") != "1",
    reason="the full sweep steps ns-3 for every accepted mutation of every shipped config "
    "(long): NETMOE_FULL_SWEEP=1 python3 -m pytest -s tests/test_config_mutations.py",
)
def test_every_shipped_config_mutation_refused_or_runs_on_its_backend() -> None:
    counts = sweep(SHIPPED, backend=None)
    assert counts["refused"] > 0 and counts["ran"] > 0, counts
