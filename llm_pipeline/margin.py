"""How much better the edge experts write than the user device, from a built table, with
95 % confidence intervals over prompts (``netmoe table margin``), and what each writer
spends for it.

The unit is the prompt: prompts are the independent draws (a prompt's subtasks share its
gate split and topic), so for writer ``e`` and prompt ``p`` the margin is

    d_p = mean_k score(p, k, e) - mean_k score(p, k, 0)

(the mean over the prompt's K subtask rows; expert 0 is the local writer), and the
margin is ``mean_p d_p`` with two 95 % intervals: Student's t on the P values and a
percentile bootstrap over prompts (``boot`` resamples, seeded, so the output is
reproducible). "edge (all)" is the mean of the N experts' per-prompt means minus the
local writer's. With fused rows, "fused all-edge vs all-local" compares, per prompt, the
mean score of the assignments that use no local text with the all-local assignment
(``0-0-...-0``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from netmoe_table import has_tokens, has_writers


@dataclass(frozen=True)
class Margin:
    """One margin over prompts with its 95 % intervals."""

    name: str
    prompts: int
    mean: float
    t_ci: tuple[float, float]
    boot_ci: tuple[float, float]

    def line(self) -> str:
        lo, hi = self.t_ci
        blo, bhi = self.boot_ci
        excl = "excludes 0" if lo > 0 or hi < 0 else "includes 0"
        return (
            f"{self.name}: {self.mean:+.3f} over {self.prompts} prompts, 95% CI (t) "
            f"[{lo:+.3f}, {hi:+.3f}] {excl}, bootstrap [{blo:+.3f}, {bhi:+.3f}]"
        )


def margin_of(name: str, diffs: np.ndarray, boot: int = 10_000, seed: int = 0) -> Margin:
    """Mean of per-prompt differences with a t interval and a percentile bootstrap."""
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    n = len(d)
    mean = float(d.mean())
    if n < 2:
        return Margin(name, n, mean, (float("nan"),) * 2, (float("nan"),) * 2)
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n))
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, n, size=(boot, n))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return Margin(name, n, mean, (mean - half, mean + half), (float(lo), float(hi)))


def writer_margins(df: pd.DataFrame, boot: int = 10_000, seed: int = 0) -> list[Margin]:
    """Every edge expert's margin over the local writer, the experts' together, and the
    fused all-edge vs all-local margin when the table has those fused rows."""
    sub = df[df["kind"] == "subtask"]
    per = sub.pivot_table(index="prompt_id", columns="expert", values="score", aggfunc="mean")
    names = _names(sub)
    out = []
    for e in per.columns[1:]:
        out.append(margin_of(f"expert {e} ({names[e]}) - local", per[e] - per[0], boot, seed))
    edge = per[per.columns[1:]].mean(axis=1)
    out.append(margin_of("edge (all) - local", edge - per[0], boot, seed))
    fused = df[df["kind"] == "fused"]
    if len(fused):
        k = int(sub["subtask_index"].max()) + 1
        local = "-".join(["0"] * k)
        parts = fused["assignment"].str.split("-")
        no_local = fused[parts.map(lambda a: "0" not in a)]
        mine = fused[fused["assignment"] == local].set_index("prompt_id")["score"]
        theirs = no_local.groupby("prompt_id")["score"].mean()
        both = mine.index.intersection(theirs.index)
        if len(both):
            d = theirs[both] - mine[both]
            out.append(margin_of("fused all-edge - all-local", d.to_numpy(), boot, seed))
    return out


def _names(sub: pd.DataFrame) -> dict[int, str]:
    col = "writer" if "writer" in sub.columns else "model"
    first = sub.groupby("expert")[col].first()
    return {int(e): str(v).split(":")[0] for e, v in first.items()}


def writer_costs(df: pd.DataFrame) -> pd.DataFrame:
    """Per writer (subtask rows): mean score, tokens of the kept reply (mean, min, max),
    tokens decoded for it (all candidates), generation seconds (all candidates) and
    bytes; the budget when the table records it."""
    sub = df[df["kind"] == "subtask"]
    agg: dict[str, tuple[str, str]] = {"score": ("score", "mean"), "bytes": ("bytes", "mean")}
    if has_tokens(df):
        agg |= {
            "tokens": ("completion_tokens", "mean"),
            "tokens_min": ("completion_tokens", "min"),
            "tokens_max": ("completion_tokens", "max"),
        }
    if has_writers(df):
        agg |= {
            "decoded": ("decoded_tokens", "mean"),
            "best_of": ("best_of", "first"),
            "max_tokens": ("max_tokens", "first"),
            "context": ("context", "first"),
        }
    agg["gen_seconds"] = ("gen_seconds", "mean") if "gen_seconds" in sub else ("score", "size")
    table = sub.groupby("expert").agg(**agg)
    table.insert(0, "writer", pd.Series(_names(sub)))
    return table
