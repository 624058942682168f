"""Error types of the pipeline. Each carries one line fit for ``netmoe: error: ...``."""

from __future__ import annotations


class PipelineError(ValueError):
    """Base class: a user-facing problem described in one line."""


class ConfigError(PipelineError):
    """The table config or the prompt set is invalid."""


class BackendError(PipelineError):
    """A model backend is unknown, cannot load, or its server failed or answered garbage."""


class TableSchemaError(PipelineError):
    """A quality table breaks the schema of docs/quality-table.md."""
