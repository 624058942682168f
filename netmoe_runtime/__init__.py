"""Run infrastructure shared by the library packages (``agents``, ``llm_pipeline``):
nothing here imports them or the ``netmoe`` command line."""
