"""Does the offline judge mean something? Pairwise checks on a held-out set
(``data/judge_heldout.yaml``): a coherent passage must outscore the same passage with its
sentences shuffled, and an on-topic passage must outscore an off-topic one (another item's
passage judged against this item's prompt). Ties count as failures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .judge import OfflineJudge, sentences

HELDOUT = Path(__file__).resolve().parent.parent / "data" / "judge_heldout.yaml"


@dataclass(frozen=True)
class ValidationResult:
    """Pair counts and win rates of the two checks."""

    shuffle_wins: int
    shuffle_pairs: int
    topic_wins: int
    topic_pairs: int

    @property
    def shuffle_rate(self) -> float:
        return self.shuffle_wins / self.shuffle_pairs

    @property
    def topic_rate(self) -> float:
        return self.topic_wins / self.topic_pairs


def load_items(path: str | Path = HELDOUT) -> list[dict[str, str]]:
    """The held-out items: dicts with ``prompt`` and ``text``."""
    return list(yaml.safe_load(Path(path).read_text())["items"])


def validate_judge(
    judge: OfflineJudge,
    items: list[dict[str, str]],
    shuffles: int = 3,
    off_topic: int = 3,
    seed: int = 0,
) -> ValidationResult:
    """Run both pairwise checks; ``shuffles`` orders and ``off_topic`` foils per item."""
    rng = np.random.default_rng(seed)
    n = len(items)
    sw = sp = tw = tp = 0
    for i, item in enumerate(items):
        base = judge.score(item["text"], item["prompt"])
        sents = sentences(item["text"])
        for _ in range(shuffles):
            perm = rng.permutation(len(sents))
            while np.array_equal(perm, np.arange(len(sents))):
                perm = rng.permutation(len(sents))
            shuffled = " ".join(sents[j] for j in perm)
            sp += 1
            sw += base > judge.score(shuffled, item["prompt"])
        foils = [j for j in range(n) if j != i]
        others = rng.choice(foils, size=min(off_topic, len(foils)), replace=False)
        for j in others:
            tp += 1
            tw += base > judge.score(items[int(j)]["text"], item["prompt"])
    return ValidationResult(sw, sp, tw, tp)
