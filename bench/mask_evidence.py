"""The numbers behind docs/results.md's "three masks on training seeds", from files other
bench scripts wrote (no simulation here):

- per expert and observed-SNR band, replies sent and lost under a random policy
  (``bench/loss_vs_snr.py --out``): where the moving expert's 18 dB came from;
- at each task where SAC lost a reply, the observed SNR and its change since the
  previous decision, and how often the SNR-fall rule (a fall of more than 3 dB, heard at
  15-18 dB) would have fired on SAC's trajectory (``bench/sac_gap.py --out``);
- paired differences of final rewards, pooled over several (variant, default) pairs of
  ``bench/sac_probe.py`` runs or ``netmoe compare`` runs (``--pairs``).

    python bench/mask_evidence.py --losses runs/bench/loss_vs_snr_trend.csv \\
        --gap runs/bench/sac_gap_s30b.csv \\
        --pairs runs/probe/s30_mobile18:runs/probe/s30_default \\
                runs/probe/s30b_mobile18:runs/probe/s30b_default
    python bench/mask_evidence.py --pairs runs/compare_mobile18:runs/compare_default
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

SNR_BANDS = [-np.inf, 13, 14, 15, 16, 17, 18, 20, 25, np.inf]


def losses_by_expert(rows: pd.DataFrame) -> pd.DataFrame:
    """Replies sent and lost to associated experts, per observed-SNR band and expert."""
    heard = rows[rows.associated]
    band = pd.cut(heard.observed_snr_db, SNR_BANDS, right=False)
    return heard.groupby([band, heard.expert], observed=True)[["sent", "lost"]].sum().unstack()


def falls_on_sac_trajectory(rows: pd.DataFrame, fall_db: float = 3.0) -> str:
    """The observed SNR and its change at SAC's lost-reply tasks, and how often the fall
    rule (heard at 15-18 dB after a fall of more than ``fall_db``) would have fired."""
    snr = rows.observed_snr_db.map(lambda s: np.array(ast.literal_eval(s)))
    previous = snr.groupby([rows.seed, rows.episode]).shift(1)
    change = [s - p if isinstance(p, np.ndarray) else np.full(len(s), np.nan)
              for s, p in zip(snr, previous, strict=True)]  # fmt: skip
    lines = ["seed task  observed SNR (dB)  change since the previous decision (dB)"]
    for i in rows.index[rows.sac_lost > 0]:
        lines.append(f"{rows.seed[i]:4d} {rows.task[i]:4d}  {np.round(snr[i], 1)}  "
                     f"{np.round(change[i], 1)}")  # fmt: skip
    fired = np.array([(c < -fall_db) & (s >= 15) & (s < 18)
                      for s, c in zip(snr, change, strict=True)])  # fmt: skip
    experts = np.arange(1, fired.shape[1] + 1)
    used = {
        who: np.array([np.isin(experts, ast.literal_eval(a)) for a in rows[f"{who}_action"]])
        for who in ("sac", "bound")
    }
    lines.append(
        f"the rule fires for {fired.sum()} expert-decisions on {fired.any(1).sum()} of "
        f"{len(rows)} tasks; SAC used such an expert {(fired & used['sac']).sum()} times, "
        f"the bound {(fired & used['bound']).sum()}"
    )
    return "\n".join(lines)


def _final(run: Path) -> pd.DataFrame:
    """Per seed, the final reward and its parts: a probe's last epoch or a compare's SAC."""
    if (run / "evals.csv").exists():
        evals = pd.read_csv(run / "evals.csv")
        return evals[evals.epoch == evals.epoch.max()].set_index("seed")
    runs = pd.read_csv(run / "runs.csv")
    sac = runs[runs.method == "sac"].set_index("seed")
    return sac.rename(columns={"final_reward": "reward", "final_quality": "quality",
                               "final_tx_cost": "tx_cost"})  # fmt: skip


def pooled(pairs: list[tuple[Path, Path]]) -> str:
    """Variant minus default, seed by seed, pooled over ``pairs``: mean, 95% t interval."""
    a = pd.concat([_final(v) for v, _ in pairs])
    b = pd.concat([_final(d) for _, d in pairs])
    diff = (a.reward - b.reward).to_numpy()
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
    lines = [f"variant - default over {len(diff)} seeds: {diff.mean():+.3f} ± {half:.3f} "
             f"({(diff > 0).sum()} up)"]  # fmt: skip
    for part in ("quality", "tx_cost"):
        lines.append(f"  {part}: variant {a[part].mean():.3f}, default {b[part].mean():.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losses", type=Path, help="bench/loss_vs_snr.py --out CSV")
    parser.add_argument("--gap", type=Path, help="bench/sac_gap.py --out CSV")
    parser.add_argument("--pairs", nargs="*", default=[], metavar="VARIANT:DEFAULT",
                        help="run directories (sac_probe names or compare outputs)")  # fmt: skip
    args = parser.parse_args()
    if args.losses:
        print("associated replies sent / lost, by observed SNR band and expert:")
        print(losses_by_expert(pd.read_csv(args.losses)).to_string())
    if args.gap:
        print(falls_on_sac_trajectory(pd.read_csv(args.gap)))
    if args.pairs:
        print(pooled([tuple(Path(p) for p in pair.split(":", 1)) for pair in args.pairs]))


if __name__ == "__main__":
    main()
