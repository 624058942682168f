"""The `netmoe` command line: a thin dispatcher over the packages' own entry points."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module with `add_arguments(parser)` and `run(args) -> int`, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("netmoe.build", "compile the ns-3 scenarios and bridge peers (CMake)"),
    "table": ("llm_pipeline.cli", "build or inspect the quality table"),
    "train": ("agents.cli_train", "train discrete SAC (resumes a killed run)"),
    "compare": ("agents.cli_compare", "every method over seeds: figures and table"),
    "sweep": ("agents.cli_sweep", "grid of seeds x scenarios x reward weights"),
    "validate": ("validation.cli", "closed-form Shannon vs ns-3 on the same tasks: tables, plots"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="netmoe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    # only the chosen command's module is imported: start-up stays fast and one
    # command's heavy or broken imports cannot break the others
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if name == chosen:
            importlib.import_module(module).add_arguments(p)
    args = parser.parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt:
        print("netmoe: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
