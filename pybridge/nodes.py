"""A device of the scenario: where it starts and how it moves (the ``--nodes`` format)."""

from __future__ import annotations

from pydantic import Field

from netmoe_runtime.config_base import StrictModel
from pybridge.flags import num, nums


class NodeConfig(StrictModel):
    """Where a device starts and how it moves."""

    position: tuple[float, float, float] = Field(
        (0.0, 0.0, 1.0), description="start position x, y, z in metres"
    )
    mobility: str = Field(
        "constant",
        description="ns-3 mobility model: constant, random-walk, random-waypoint, "
        "constant-velocity, gauss-markov, or ns2 (follow scenario.ns2_trace: $node_(0) = "
        "user, $node_(i) = expert i; position is then taken from the trace)",
    )
    params: dict[str, float] = Field(
        default_factory=dict,
        description="model parameters: random-walk speed, distance; random-waypoint speed, "
        "minSpeed, pause; constant-velocity vx, vy; gauss-markov speed, alpha",
    )

    def spec(self) -> str:
        """This node in the scenario's ``--nodes`` format: ``x,y,z|model|k=v,...``."""
        params = ",".join(f"{k}={num(v)}" for k, v in sorted(self.params.items()))
        return f"{nums(self.position)}|{self.mobility}" + (f"|{params}" if params else "")
