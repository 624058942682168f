"""pybridge: the ns-3 <-> Python bridge and the EdgeMoE environments.

Importing it registers ``netmoe/EdgeMoE-v0`` (one user device) and
``netmoe/EdgeMoEJoint-v0`` (one controller for every user device)::

    import gymnasium as gym
    import pybridge  # noqa: F401
    env = gym.make("netmoe/EdgeMoE-v0", config="configs/default.yaml")

Several user devices, one agent each (PettingZoo)::

    env = pybridge.parallel_env(config="configs/scenarios/multi-user.yaml")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym

if TYPE_CHECKING:
    from pybridge.config import EnvConfig
    from pybridge.joint_env import JointEnv
    from pybridge.parallel import EdgeMoEParallelEnv

ENV_ID = "netmoe/EdgeMoE-v0"
JOINT_ENV_ID = "netmoe/EdgeMoEJoint-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="pybridge.env:EdgeMoEEnv")
if JOINT_ENV_ID not in gym.registry:
    gym.register(id=JOINT_ENV_ID, entry_point="pybridge.joint_env:JointEnv")


def parallel_env(
    config: str | Path | dict[str, Any] | EnvConfig = "configs/default.yaml",
    render_mode: str | None = None,
) -> EdgeMoEParallelEnv:
    """The several-user PettingZoo ``ParallelEnv`` of ``config`` (a YAML path, a dict or
    an ``EnvConfig``): one agent per user device (``pybridge.parallel``)."""
    from pybridge.parallel import EdgeMoEParallelEnv

    return EdgeMoEParallelEnv(config, render_mode=render_mode)


def __getattr__(name: str) -> Any:
    # imported on first use: pettingzoo and the joint wrapper are not needed by EdgeMoEEnv
    if name == "JointEnv":
        from pybridge.joint_env import JointEnv

        return JointEnv
    if name == "EdgeMoEParallelEnv":
        from pybridge.parallel import EdgeMoEParallelEnv

        return EdgeMoEParallelEnv
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ENV_ID", "JOINT_ENV_ID", "EdgeMoEParallelEnv", "JointEnv", "parallel_env"]
