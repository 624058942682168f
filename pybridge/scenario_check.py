"""Ask the scenario program whether a config's scenario is valid, before anything runs.

The program owns the scenario's value rules. ``<program> --check <flags>`` parses and
validates every flag exactly as a run would, simulates nothing, and either prints the
resolved values as one JSON line (exit 0) or one line ``<program>: --<flag>: <problem>``
on stderr (exit 2). Here that line becomes a :class:`ConfigError` that names the config
field behind the flag. The task timing (``tasks.deadline_s``, ``tasks.gap_s``) is
checked the same way, with the rule the program applies to every action.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from typing import Any

from pybridge.config import ConfigError, EnvConfig
from pybridge.paths import program_path

CHECK_TIMEOUT_S = 60.0
_COMPLAINT = re.compile(r"^(?P<program>[\w.-]+): --(?P<flag>\w+): (?P<problem>.*)$")
_NODE = re.compile(r"^node (?P<index>\d+) \((?:user|expert \d+)\)")


def check_scenario(config: EnvConfig, source: str = "config") -> dict[str, Any]:
    """The scenario's resolved values as the program will run them, or a one-line
    :class:`ConfigError` naming the field (``ScenarioNotBuiltError`` if the program is
    missing). Asked once per distinct scenario in a process."""
    sc, tasks = config.scenario, config.tasks
    flags = sc.flags(rng_run=1)
    argv = sc.argv(rng_run=1)
    argv += [f"--deadline={tasks.deadline_s!r}", f"--gap={tasks.gap_s!r}"]
    fields = {f.name: f.field for f in flags}
    fields |= {"deadline": "tasks.deadline_s", "gap": "tasks.gap_s"}
    ok, out = _run_check(str(program_path(sc.program)), tuple(argv))
    if ok:
        return out
    m = _COMPLAINT.match(out)
    if m is None:
        raise ConfigError(f"{source}: scenario: {sc.program} --check failed: {out}")
    field = fields.get(m["flag"], "scenario.extra_args")
    node = _NODE.match(m["problem"]) if m["flag"] == "nodes" else None
    if node is not None:  # "node 0 (user): ..." / "node 2 (expert 2): ..."
        i = int(node["index"])
        field = "scenario.user" if i == 0 else f"scenario.experts.{i - 1}"
    # other flags the problem mentions ("outside --area") are named by their fields too
    problem = re.sub(
        r"--(\w+)",
        lambda o: f"{o[0]} ({fields[o[1]]})" if o[1] in fields else o[0],
        m["problem"],
    )
    raise ConfigError(f"{source}: {field}: {problem} (--{m['flag']} of {m['program']})")


@functools.lru_cache(maxsize=64)
def _run_check(program: str, argv: tuple[str, ...]) -> tuple[bool, Any]:
    """(True, resolved values) or (False, the program's last stderr line)."""
    try:
        proc = subprocess.run(
            [program, "--check", *argv],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return False, f"no answer within {CHECK_TIMEOUT_S:g} s"
    if proc.returncode == 0:
        try:
            return True, json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return False, f"unreadable answer {proc.stdout[-200:]!r}"
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return False, lines[-1] if lines else f"exit status {proc.returncode}, no message"
