"""What the agents' CLI commands share: one-line errors instead of tracebacks."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any


def guarded(fn: Callable[[], int | None]) -> int:
    """Run ``fn``; a user mistake prints ``netmoe: error: ...`` and returns 2, a failed
    simulation prints one line and returns 1."""
    from agents.experiment import ExperimentError
    from pybridge.bridge import BridgeError
    from pybridge.config import ConfigError
    from pybridge.paths import ScenarioNotBuiltError
    from pybridge.tasks import TableError

    try:
        return int(fn() or 0)
    except (ExperimentError, ConfigError, TableError, ScenarioNotBuiltError) as exc:
        print(f"netmoe: error: {exc}", file=sys.stderr)
        return 2
    except BridgeError as exc:
        print(f"netmoe: error: simulation failed: {exc}", file=sys.stderr)
        return 1


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


def load(args: Any) -> Any:
    """The experiment named by ``--config``, with command-line overrides applied."""
    from agents.experiment import ExperimentError, load_experiment

    exp = load_experiment(args.config)
    changes = {}
    for name in ("epochs", "num_envs", "seed", "eval_episodes"):
        value = getattr(args, name, None)
        if value is not None:
            if value < (0 if name == "seed" else 1):
                raise ExperimentError(
                    f"--{name.replace('_', '-')} must be >= {0 if name == 'seed' else 1}"
                )
            changes[name] = value
    if getattr(args, "backend", None):
        exp = exp.with_env({"backend": args.backend})
    if getattr(args, "users", None) is not None or getattr(args, "experts", None) is not None:
        exp = exp.with_env(size_overrides(exp, args.users, args.experts))
    return exp.with_train(**changes)


def standalone(command: str, module: Any, argv: list[str] | None = None) -> int:
    """Run one command without the ``netmoe`` dispatcher (``python -m agents.cli_train``)."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"netmoe {command}", description=module.__doc__)
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def size_overrides(exp: Any, users: int | None, experts: int | None) -> dict[str, Any]:
    """Env overrides for ``--users M`` and ``--experts N`` (a smaller run of the same
    experiment): the first M of ``scenario.users`` (or ``num_users: M`` copies of
    ``scenario.user`` when the env gives no list) and the first N of the experts."""
    from agents.experiment import ExperimentError

    scenario = exp.env_config().scenario
    over: dict[str, Any] = {}
    if users is not None:
        if users < 1:
            raise ExperimentError("--users must be >= 1")
        if scenario.users is not None:
            if users > len(scenario.users):
                raise ExperimentError(
                    f"--users {users}: the experiment lists {len(scenario.users)} users"
                )
            over["users"] = exp.env["scenario"]["users"][:users]
        else:
            over["num_users"] = users
    if experts is not None:
        if not 1 <= experts <= len(scenario.experts):
            raise ExperimentError(
                f"--experts must be in 1..{len(scenario.experts)} (the experiment's experts)"
            )
        over["experts"] = exp.env["scenario"]["experts"][:experts]
    return {"scenario": over}
