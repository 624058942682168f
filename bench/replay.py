"""A trained SAC seed's evaluation episodes, set up for a replay: its final agent, a fresh
environment for its experiment file and the episodes' seeds (the compare's last
evaluation). Imported by lost_replies_replay.py and sac_gap.py (run as
``python bench/<script>.py``, so this directory is on sys.path)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class SeedReplay:
    """What a replay of ``<run>/seed<S>`` needs; ``env`` is closed when the block ends."""

    agent: Any  # agents.sac.DiscreteSAC
    env: Any  # pybridge.env.EdgeMoEEnv
    episodes: list[int]


@contextmanager
def sac_seed(run: Path | str, seed: int) -> Iterator[SeedReplay]:
    """Load ``<run>/seed<seed>`` (``netmoe compare`` or ``netmoe train`` output) for a
    replay on one thread (as the compare evaluated it)."""
    import torch
    import yaml

    from agents.train import eval_seeds, load_agent
    from pybridge.env import EdgeMoEEnv

    torch.set_num_threads(1)
    out = Path(run) / f"seed{seed}"
    agent = load_agent(out)
    experiment = yaml.safe_load((out / "experiment.yaml").read_text())
    env = EdgeMoEEnv(experiment["env"])
    try:
        yield SeedReplay(agent, env, list(eval_seeds(seed, experiment["train"]["eval_episodes"])))
    finally:
        env.close()
