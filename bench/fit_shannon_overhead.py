"""Fit the Shannon backend's protocol overhead to ns-3 (``shannon.link_energy_j``,
``exchange_energy_j``, ``link_power_w``, ``stall_prob``, ``stall_s``, ``loss_snr50_db``,
``loss_width_db``; docs/agents.md, docs/results.md "Pretraining on ns-3's offloading
cost").

Runs the uniformly random policy of bench/loss_vs_snr.py on the default ns-3 scenario
(env seeds 3,000,000 + i, which no training or evaluation uses) and, over every (task,
expert used) whose replies all arrived without a stall, fits by least squares

    energy_j = link_energy_j + exchange_energy_j * subtasks + link_power_w * open_s

where ``energy_j`` is the user device's airtime energy with that expert during the task
(ns-3's, what the reward charges), ``subtasks`` how many subtasks went to it and
``open_s`` its delay. The formula's own payload airtime (microjoules) is left out of the
fit: the three terms are what it misses. An exchange with a subtask whose transfer
(delay minus generation) took longer than ``STALL_TRANSFER_S`` has waited for a TCP
retransmission timeout (1 s at least; a transfer takes milliseconds): a stall the
formula cannot have, left out of the energy fit and counted instead: ``stall_prob`` is
their share of the delivered exchanges, ``stall_s`` the median transfer time of a stalled
exchange minus that of the others. Replies lost by associated
experts are fitted by maximum likelihood (grid search) to a logistic in the observed SNR,
P(lost) = 1 / (1 + exp((snr - loss_snr50_db) / loss_width_db)), with the SNR the user
device observed before the task (what a policy sees; the Shannon backend applies the
curve to the SNR it reports, the same quantity there). Prints the fit and a YAML
snippet.

    python bench/fit_shannon_overhead.py --episodes 40   # ~75 s
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from loss_vs_snr import collect

from agents.experiment import load_env
from pybridge.paths import REPO_ROOT

# A transfer longer than this waited for a TCP retransmission timeout (ns-3's minimum RTO
# and the scenario's SYN timeout are 1 s; a transfer alone takes milliseconds): a stall.
STALL_TRANSFER_S = 0.5


def fit(rows) -> tuple[np.ndarray, float, int]:
    """Least-squares (link_energy_j, exchange_energy_j, link_power_w), the residual
    standard deviation (J) and the number of rows used."""
    ok = rows[rows.associated & (rows.lost == 0) & (rows.transfer_s <= STALL_TRANSFER_S)]
    design = np.column_stack([np.ones(len(ok)), ok.sent, ok.open_s])
    coef, *_ = np.linalg.lstsq(design, ok.energy_j.to_numpy(), rcond=None)
    residual = ok.energy_j.to_numpy() - design @ coef
    return coef, float(residual.std()), len(ok)


def stalls(rows) -> tuple[float, float, int]:
    """(stall_prob, stall_s, stalled exchanges) over the delivered, associated ones."""
    ok = rows[rows.associated & (rows.lost == 0)]
    transfer = ok.transfer_s
    stalled = transfer > STALL_TRANSFER_S
    extra = transfer[stalled].median() - transfer[~stalled].median() if stalled.any() else 0.0
    return float(stalled.mean()), float(extra), int(stalled.sum())


def loss_curve(rows) -> tuple[float, float]:
    """Maximum-likelihood (loss_snr50_db, loss_width_db) of the associated experts' replies."""
    ok = rows[rows.associated]
    snr, sent, lost = ok.observed_snr_db.to_numpy(), ok.sent.to_numpy(), ok.lost.to_numpy()
    best, best_ll = (0.0, 1.0), -np.inf
    for mid in np.arange(8.0, 20.0, 0.05):
        for width in np.arange(0.1, 3.0, 0.02):
            p = 1.0 / (1.0 + np.exp(np.clip((snr - mid) / width, -50, 50)))
            p = np.clip(p, 1e-9, 1 - 1e-9)
            ll = float(np.sum(lost * np.log(p) + (sent - lost) * np.log(1 - p)))
            if ll > best_ll:
                best, best_ll = (float(mid), float(width)), ll
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "configs" / "default.yaml")
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random policy")
    args = parser.parse_args()
    rows = collect(load_env(args.config), args.episodes, args.seed)
    (link, exchange, power), sd, n = fit(rows)
    print(f"{n} of {len(rows)} (task, expert) exchanges: associated, delivered, no stall")
    print(f"mean energy per expert used: {rows.energy_j.mean() * 1e3:.3f} mJ")
    print(f"fit: {link * 1e3:.3f} mJ + {exchange * 1e3:.3f} mJ x subtasks "
          f"+ {power * 1e3:.3f} mW x open_s (residual sd {sd * 1e3:.3f} mJ)")  # fmt: skip
    prob, extra, stalled = stalls(rows)
    print(f"stalled: {stalled} exchanges ({prob:.2%}), {extra:.2f} s longer (medians)")
    mid, width = loss_curve(rows)
    print(f"replies lost by associated experts: 50% at {mid:.2f} dB observed, width {width:.2f} dB")
    print(
        f"shannon: {{link_energy_j: {max(link, 0):.2e}, exchange_energy_j: "
        f"{max(exchange, 0):.2e}, link_power_w: {max(power, 0):.2e}, "
        f"stall_prob: {prob:.4f}, stall_s: {extra:.2f}, "
        f"loss_snr50_db: {mid:.2f}, loss_width_db: {width:.2f}}}"
    )


if __name__ == "__main__":
    main()
