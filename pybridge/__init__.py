"""pybridge: the ns-3 <-> Python bridge and the EdgeMoE Gymnasium environment.

Importing it registers ``netmoe/EdgeMoE-v0``::

    import gymnasium as gym
    import pybridge  # noqa: F401
    env = gym.make("netmoe/EdgeMoE-v0", config="configs/default.yaml")
"""

import gymnasium as gym

ENV_ID = "netmoe/EdgeMoE-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="pybridge.env:EdgeMoEEnv")

__all__ = ["ENV_ID"]
