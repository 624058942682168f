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
import logging
import re
import subprocess
from pathlib import Path
from typing import Any

from pybridge.config import ConfigError, EnvConfig
from pybridge.flags import num
from pybridge.paths import ScenarioNotBuiltError, program_path

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 60.0
_COMPLAINT = re.compile(r"^(?P<program>[\w.-]+): --(?P<flag>\w+): (?P<problem>.*)$")
_NODE = re.compile(r"^node (?P<index>\d+) \((?:user(?: \d+)?|expert \d+)\)")
# what ns-3 itself prints for flags the program does not own (extra_args)
_NS3_REFUSAL = re.compile(r"(?P<what>Invalid command-line argument: .*)|msg=\"(?P<msg>.*)\", file=")


def check_scenario(config: EnvConfig, source: str = "config") -> dict[str, Any]:
    """The scenario's resolved values as the program will run them, or a one-line
    :class:`ConfigError` naming the field (``ScenarioNotBuiltError`` if the program is
    missing). Asked once per distinct scenario and program build in a process."""
    sc, tasks = config.scenario, config.tasks
    flags = sc.flags(rng_run=1)
    argv = sc.argv(rng_run=1)
    argv += [f"--deadline={num(tasks.deadline_s)}", f"--gap={num(tasks.gap_s)}"]
    fields = {f.name: f.field for f in flags}
    fields |= {"deadline": "tasks.deadline_s", "gap": "tasks.gap_s"}
    program = program_path(sc.program)
    ok, out = _run_check(str(program), program.stat().st_mtime_ns, tuple(argv))
    if ok:
        return json.loads(out)  # a fresh dict per call: the cache holds text
    m = _COMPLAINT.match(out)
    if m is None:  # not the program's own line: ns-3 refused something in extra_args
        ns3 = _NS3_REFUSAL.search(out)
        what = (ns3["what"] or ns3["msg"]).strip() if ns3 else out
        raise ConfigError(f"{source}: scenario.extra_args: {sc.program} refused: {what}")
    field = fields.get(m["flag"], "scenario.extra_args")
    node = _NODE.match(m["problem"]) if m["flag"] == "nodes" else None
    if node is not None:  # "node 0 (user): ..." / "node 2 (expert 2): ..."
        i = int(node["index"])
        users = len(sc.user_nodes)
        if i >= users:
            field = f"scenario.experts.{i - users}"
        elif sc.users is not None:
            field = f"scenario.users.{i}"
        else:
            field = "scenario.user"
    # other flags the problem mentions ("outside --area") are named by their fields too
    problem = re.sub(
        r"--(\w+)(=\S*)?",
        lambda o: f"{o[0]} ({fields[o[1]]})" if o[1] in fields else o[0],
        m["problem"],
    )
    raise ConfigError(f"{source}: {field}: {problem} (--{m['flag']} of {m['program']})")


def check_for_backend(config: EnvConfig, source: str = "config") -> dict[str, Any] | None:
    """:func:`check_scenario` for an environment: required with the ns-3 backend; the
    Shannon twin runs without a build, so there a missing program only skips the check
    (with a warning) and the scenario's values go unchecked."""
    try:
        return check_scenario(config, source)
    except ScenarioNotBuiltError as exc:
        if config.backend == "ns3":
            raise
        log.warning("%s: scenario values not checked (%s)", source, exc)
        return None


@functools.lru_cache(maxsize=64)
def _run_check(program: str, mtime_ns: int, argv: tuple[str, ...]) -> tuple[bool, str]:
    """(True, the JSON line) or (False, the program's complaint). A program that does
    not answer raises (and is not cached): a busy machine must not poison the cache."""
    del mtime_ns  # part of the cache key only: a rebuilt program is asked again
    try:
        proc = subprocess.run(
            [program, "--check", *argv],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"scenario: {Path(program).name} --check gave no answer within {CHECK_TIMEOUT_S:g} s"
        ) from None
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    if proc.returncode == 0 and lines:
        try:
            json.loads(lines[-1])
            return True, lines[-1]
        except json.JSONDecodeError:
            pass
    if proc.returncode == 0:  # e.g. --PrintHelp in extra_args: a page of help, no JSON
        return False, "answered --check with no JSON line (a --Print... flag in extra_args?)"
    err = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    complaint = next((ln for ln in err if _COMPLAINT.match(ln) or _NS3_REFUSAL.search(ln)), None)
    return False, complaint or (err[-1] if err else f"exit status {proc.returncode}")
