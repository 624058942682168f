"""Moved to :mod:`netmoe_runtime.ray_cluster` (library code does not import the CLI
package); this alias stays only until ``llm_pipeline.ray_executor`` imports from there."""

from netmoe_runtime.ray_cluster import unreachable

__all__ = ["unreachable"]
