"""Figures of the validation study (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from validation.study import DISTANCE_BINS


def _plt():  # noqa: ANN202 - pyplot module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_all(out: Path, sub: pd.DataFrame, exp: pd.DataFrame) -> list[Path]:
    """Write the study's PNG figures under ``out``; their paths."""
    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    both = sub.dropna(subset=["transfer_ns3_s", "transfer_shannon_s"])

    # 1. transfer time: Shannon's prediction against ns-3's measurement, per subtask
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, g in both.groupby("scenario"):
        ax.scatter(1e3 * g["transfer_shannon_s"], 1e3 * g["transfer_ns3_s"], s=10, label=name)
    if len(both):
        lo = 1e3 * min(both["transfer_shannon_s"].min(), both["transfer_ns3_s"].min())
        hi = 1e3 * max(both["transfer_shannon_s"].max(), both["transfer_ns3_s"].max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="Shannon transfer time (ms)",
        ylabel="ns-3 transfer time (ms)",
        title="Per subtask: request + reply on air",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "transfer_scatter.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 2. ratio against distance and against predicted SNR, median per bin
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ratio = both["transfer_ns3_s"] / both["transfer_shannon_s"].clip(lower=1e-9)
    for name, g in both.assign(ratio=ratio).groupby("scenario"):
        for ax, col, bins in (
            (axes[0], "distance_m", DISTANCE_BINS),
            (axes[1], "snr_pred_db", [-np.inf, 10, 20, 30, 40, 50, np.inf]),
        ):
            med = g.groupby(pd.cut(g[col], bins), observed=True)["ratio"].median()
            centers = g.groupby(pd.cut(g[col], bins), observed=True)[col].median()
            ax.plot(centers.values, med.values, "o-", label=name)
    axes[0].set(
        xlabel="UE-expert distance at task start (m)",
        ylabel="ns-3 / Shannon (median)",
        yscale="log",
        title="Transfer-time ratio vs distance",
    )
    axes[1].set(
        xlabel="path-loss SNR (dB)",
        ylabel="ns-3 / Shannon (median)",
        yscale="log",
        title="Transfer-time ratio vs SNR",
    )
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "ratio_by_bin.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 3. SNR: what ns-3 heard against the closed-form path-loss SNR; goodput vs rate
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, g in exp.groupby("scenario"):
        axes[0].scatter(g["snr_pred_db"], g["snr_ns3_db"], s=10, label=name)
        ok = g["rate_shannon_mbps"] > 0
        axes[1].scatter(
            g.loc[ok, "rate_shannon_mbps"], g.loc[ok, "goodput_ns3_mbps"], s=10, label=name
        )
    for ax in axes:
        lims = ax.get_xlim()
        ax.plot(lims, lims, "k--", lw=1)
    axes[0].set(
        xlabel="path-loss SNR (dB)",
        ylabel="ns-3 SNR at the UE (dB)",
        title="SNR: fading, shadowing, walls",
    )
    axes[1].set(
        xlabel="Shannon rate (Mbit/s)",
        ylabel="ns-3 reply goodput (Mbit/s)",
        xscale="log",
        yscale="log",
        title="Rate: MCS, MAC, TCP",
    )
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "snr_rate.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 4. energy per expert and task
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, g in exp[exp["energy_shannon_j"] > 0].groupby("scenario"):
        ax.scatter(1e3 * g["energy_shannon_j"], 1e3 * g["energy_ns3_j"], s=10, label=name)
    lims = ax.get_xlim()
    ax.plot(lims, lims, "k--", lw=1)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="Shannon radio energy (mJ)",
        ylabel="ns-3 airtime energy (mJ)",
        title="UE radio energy per expert and task",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths.append(out / "energy_scatter.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


#: (column, y label, log scale) of each panel of ``plot_users``
USER_PANELS = (
    ("ratio_median", "transfer ns-3 / Shannon (median)", True),
    ("abs_err_ms", "|ns-3 - Shannon| transfer (median ms)", True),
    ("goodput_ratio", "ns-3 goodput / Shannon rate (median)", True),
    ("energy_ratio", "ns-3 / Shannon radio energy (median)", True),
    ("lost_gap", "lost share: ns-3 - Shannon", False),
    ("completion_err_ms", "|ns-3 - Shannon| completion (median ms)", True),
)


def plot_users(out: Path, table: pd.DataFrame) -> Path:
    """``error_vs_users.png``: each error of ``validation.study.by_users`` against the
    number of users, one line per scenario (a panel without data stays empty)."""
    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (col, label, log) in zip(axes.flat, USER_PANELS, strict=True):
        if col in table.columns:
            for name, g in table.groupby("scenario"):
                g = g.sort_values("users")
                y = g[col].to_numpy(float)
                if log:
                    y = np.where(y > 0, y, np.nan)
                ax.plot(g["users"], y, "o-", label=name)
        ax.set(xlabel="users M", ylabel=label, xscale="log", yscale="log" if log else "linear")
        ax.set_xticks(sorted(table["users"].unique()), minor=False)
        ax.set_xticks([], minor=True)
        ax.set_xticklabels([str(m) for m in sorted(table["users"].unique())])
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Shannon backend's error vs the number of users (no contention in the formula)")
    fig.tight_layout()
    path = out / "error_vs_users.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
