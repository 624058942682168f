"""agents: discrete Soft Actor-Critic, baselines and bounds, training and experiments.

Import-light on purpose: the ``netmoe`` CLI imports the command modules at start-up,
and torch is only imported by the modules that need it (``agents.sac``, ``agents.train``).
"""
