"""What every netmoe config model shares: the strict base model, the one-line error and
YAML reading. Used by the environment's config, the radios, the agents' experiment files
and the text pipeline's table config, so every bad value reads the same way::

    configs/default.yaml: scenario.experts.1.position.0: Input should be a finite number
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message is one line naming the field."""


class StrictModel(BaseModel):
    """Frozen, no unknown keys, no NaN or infinity: a typo or a NaN is an error, not a default."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def one_line(err: ValidationError, source: str) -> str:
    """``source: field.path: problem (+n more)`` from a pydantic ValidationError."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{source}: {where}: {msg}{more}"


def validate(
    model: type[BaseModel], data: Any, source: str, error: type[ValueError] = ConfigError
) -> Any:
    """``model.model_validate(data)``; a ValidationError becomes one line of ``error``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(one_line(exc, source)) from None


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing or malformed file is a one-line ConfigError."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} not valid YAML") from None
    return {} if data is None else data
