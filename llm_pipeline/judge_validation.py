"""Does the offline judge mean something? Pairwise checks on a held-out set
(``data/judge_heldout*.yaml``): a coherent passage must outscore the same passage with its
sentences shuffled, and an on-topic passage must outscore an off-topic one (another item's
passage judged against this item's prompt). Ties count as failures. Shuffles and foils are
drawn from one seed, so a run is reproducible. Rates come with Wilson 95 % intervals
(``wilson_interval``); the pairs of one item share its passage, so the interval is a
little optimistic about how much the items vary.

``long_items`` builds the same checks on texts twice as long, like the quality table's
fused answers: each item's passage followed by the next passage of its type, judged
against the first item's prompt; its shuffles mix the sentences of both passages."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .judge import OfflineJudge, OfflineLMJudge, sentences

HELDOUT = Path(__file__).resolve().parent.parent / "data" / "judge_heldout.yaml"
# Every held-out set, oldest first. Sets 1-3 are development sets since judge v4 (v4 was
# tuned on them); sets 4 (50-100 words a passage) and 5 (150-260 words, the v2 table's
# reply lengths) were written after v4 was frozen.
_NAMES = [f"judge_heldout{k}.yaml" for k in ("", "2", "3", "4", "5")]
HELDOUT_SETS = [HELDOUT.with_name(n) for n in _NAMES if HELDOUT.with_name(n).is_file()]


def wilson_interval(wins: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``wins / n`` (95 % for the default
    ``z``): ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``."""
    if n <= 0:
        raise ValueError("wilson_interval needs n >= 1")
    p = wins / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ValidationResult:
    """Pair counts and win rates of the two checks."""

    shuffle_wins: int
    shuffle_pairs: int
    topic_wins: int
    topic_pairs: int
    by_type: dict[str, tuple[int, int, int, int]] = field(default_factory=dict, compare=False)
    """Per item ``type`` (when the set has one): the same four counts."""
    texts: int = field(default=0, compare=False)
    """Distinct (text, reference) pairs judged (for the time per text)."""

    @property
    def shuffle_rate(self) -> float:
        return self.shuffle_wins / self.shuffle_pairs

    @property
    def topic_rate(self) -> float:
        return self.topic_wins / self.topic_pairs

    @property
    def shuffle_ci(self) -> tuple[float, float]:
        """Wilson 95 % interval of ``shuffle_rate``."""
        return wilson_interval(self.shuffle_wins, self.shuffle_pairs)

    @property
    def topic_ci(self) -> tuple[float, float]:
        """Wilson 95 % interval of ``topic_rate``."""
        return wilson_interval(self.topic_wins, self.topic_pairs)

    def summary(self) -> str:
        """One line: both checks with counts, rates and 95 % intervals."""
        (s_lo, s_hi), (t_lo, t_hi) = self.shuffle_ci, self.topic_ci
        return (
            f"coherent > shuffled {self.shuffle_wins}/{self.shuffle_pairs} = "
            f"{self.shuffle_rate:.1%} (95% CI {s_lo:.1%}-{s_hi:.1%}); "
            f"on-topic > off-topic {self.topic_wins}/{self.topic_pairs} = "
            f"{self.topic_rate:.1%} (95% CI {t_lo:.1%}-{t_hi:.1%})"
        )


def load_items(path: str | Path = HELDOUT) -> list[dict[str, str]]:
    """The held-out items: dicts with ``prompt`` and ``text`` (and optionally ``type``)."""
    items = list(yaml.safe_load(Path(path).read_text())["items"])
    for i, item in enumerate(items):
        if not item.get("prompt") or not item.get("text"):
            raise ValueError(f"{path}: item {i} needs a prompt and a text")
    if len(items) < 2:
        raise ValueError(f"{path}: needs at least 2 items")
    return items


def long_items(items: list[dict[str, str]]) -> list[dict]:
    """Items twice as long: item ``i``'s passage, a space, then the passage of the next item
    of the same ``type`` (cyclically, in file order; all items form one type when the set has
    none), with item ``i``'s prompt. ``parts`` names both source items, so ``validate_judge``
    never takes as off-topic foil a long item that contains this item's own passage."""
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        groups.setdefault(str(item.get("type", "")), []).append(i)
    out: list[dict] = []
    for i, item in enumerate(items):
        group = groups[str(item.get("type", ""))]
        if len(group) < 2:
            raise ValueError(f"type {item.get('type')!r} needs at least 2 items for long texts")
        j = group[(group.index(i) + 1) % len(group)]
        long = {**item, "text": f"{item['text']} {items[j]['text']}", "parts": (i, j)}
        out.append(long)
    return out


def validate_judge(
    judge: OfflineJudge | OfflineLMJudge,
    items: list[dict],
    shuffles: int = 3,
    off_topic: int = 3,
    seed: int = 0,
) -> ValidationResult:
    """Run both pairwise checks; ``shuffles`` orders and ``off_topic`` foils per item.
    Items from ``long_items`` carry ``parts``: a foil never shares a source passage."""
    rng = np.random.default_rng(seed)
    n = len(items)
    sw = sp = tw = tp = 0
    by_type: dict[str, list[int]] = {}
    judged: set[tuple[str, str]] = set()

    def score(text: str, reference: str) -> float:
        judged.add((text, reference))
        return judge.score(text, reference)

    for i, item in enumerate(items):
        before = (sw, sp, tw, tp)
        base = score(item["text"], item["prompt"])
        sents = sentences(item["text"])
        for _ in range(shuffles):
            perm = rng.permutation(len(sents))
            while np.array_equal(perm, np.arange(len(sents))):
                perm = rng.permutation(len(sents))
            shuffled = " ".join(sents[j] for j in perm)
            sp += 1
            sw += base > score(shuffled, item["prompt"])
        own = set(item.get("parts", (i,)))
        foils = [j for j in range(n) if j != i and not own & set(items[j].get("parts", (j,)))]
        others = rng.choice(foils, size=min(off_topic, len(foils)), replace=False)
        for j in others:
            tp += 1
            tw += base > score(items[int(j)]["text"], item["prompt"])
        if "type" in item:
            acc = by_type.setdefault(str(item["type"]), [0, 0, 0, 0])
            for k, (new, old) in enumerate(zip((sw, sp, tw, tp), before, strict=True)):
                acc[k] += new - old
    by = {t: tuple(v) for t, v in by_type.items()}
    return ValidationResult(sw, sp, tw, tp, by, len(judged))
