"""Error types of the pipeline. Each carries one line fit for ``netmoe: error: ...``.

(A broken quality table is ``netmoe_table.TableError``, shared with the environment.)
"""

from __future__ import annotations


class PipelineError(ValueError):
    """Base class: a user-facing problem described in one line."""


class TableConfigError(PipelineError):
    """The table-build config or the prompt set is invalid."""


class BackendError(PipelineError):
    """A text backend is unknown, cannot load, or its server failed or answered garbage."""
