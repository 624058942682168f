"""Smoke tests of the `netmoe` command line: every command starts and explains itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netmoe.cli import COMMANDS


def _netmoe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netmoe.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_top_level_help_lists_every_command() -> None:
    done = _netmoe("--help")
    assert done.returncode == 0
    for name in COMMANDS:
        assert name in done.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command: str) -> None:
    done = _netmoe(command, "--help")
    assert done.returncode == 0, done.stderr
    assert f"netmoe {command}" in done.stdout


def test_unknown_command_is_an_error() -> None:
    done = _netmoe("fly")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
