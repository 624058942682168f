"""scenario.users / num_users / user_spread_m: Python owns the structure (one way to give
the users, the positions of num_users copies); the program owns the range (--numUsers)."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from pybridge.config import ConfigError, load_config, read_yaml
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError
from pybridge.scenario_check import check_scenario

DEFAULT = read_yaml(REPO_ROOT / "configs" / "default.yaml")["env"]


def with_scenario(**changes: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(DEFAULT)
    for key, value in changes.items():
        if value is None:
            cfg["scenario"].pop(key, None)
        else:
            cfg["scenario"][key] = value
    return cfg


def test_one_user_command_line_has_no_num_users() -> None:
    sc = load_config(DEFAULT).scenario
    assert sc.user_nodes == [sc.user]
    assert not any(a.startswith("--numUsers") for a in sc.argv(rng_run=1))


def test_num_users_copies_the_user_around_its_position() -> None:
    sc = load_config(with_scenario(num_users=4, user_spread_m=2.0)).scenario
    users = sc.user_nodes
    assert len(users) == 4
    for u, node in enumerate(users):
        assert node.mobility == sc.user.mobility and node.params == sc.user.params
        assert node.position[0] == pytest.approx(2.0 * math.cos(math.pi * u / 2), abs=1e-9)
        assert node.position[1] == pytest.approx(2.0 * math.sin(math.pi * u / 2), abs=1e-9)
        assert node.position[2] == sc.user.position[2]
    argv = sc.argv(rng_run=1)
    assert "--numUsers=4" in argv
    nodes = next(a for a in argv if a.startswith("--nodes="))
    assert nodes.count(";") + 1 == 4 + len(sc.experts)


def test_users_list_is_passed_users_first() -> None:
    users = [{"position": [0, 0, 1]}, {"position": [2, 1, 1], "mobility": "random-walk"}]
    sc = load_config(with_scenario(user=None, users=users)).scenario
    assert [n.position for n in sc.user_nodes] == [(0, 0, 1), (2, 1, 1)]
    assert "--numUsers=2" in sc.argv(rng_run=1)
    # a dumped config loads again (user stays at its default)
    assert load_config(load_config(with_scenario(user=None, users=users)).model_dump())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"users": [{"position": [0, 0, 1]}], "num_users": 2, "user": None},
            "config: scenario: give users or num_users, not both",
        ),
        ({"users": [{"position": [0, 0, 1]}]}, "config: scenario: give user"),
        ({"num_users": "many"}, "config: scenario.num_users: "),
        ({"user_spread_m": -1}, "config: scenario.user_spread_m: "),
    ],
)
def test_two_ways_or_bad_types_are_one_config_error(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(with_scenario(**changes))
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"num_users": 17}, "scenario.num_users"),
        ({"num_users": 0}, "scenario.num_users"),
        (
            {"user": None, "users": [{"position": [0, 0, 1]}, {"position": [99, 0, 1],
                                                                "mobility": "random-walk"}]},
            "scenario.users.1",
        ),
    ],
)  # fmt: skip
def test_the_program_owns_the_values(changes: dict, field: str) -> None:
    try:
        config = load_config(with_scenario(**changes))
        with pytest.raises(ConfigError) as err:
            check_scenario(config)
    except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
        pytest.skip(str(exc))
    assert f": {field}: " in str(err.value)
    assert "\n" not in str(err.value)
