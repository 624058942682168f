"""A picture of one round of the several-user env (``render_mode="rgb_array"``).

Left: the devices on the floor plan (users as circles, experts as squares, the access
point or eNB as a triangle), a thin dotted line from a user to each expert its link layer
is associated with, and one line per offloaded subtask of the last round from its user to
its expert (the user's colour; red dashed: the reply was lost). Right: each expert's
queue over the last round (time-average bar, peak tick), or, where the backend does not
measure it, the largest queue length any user last heard.

Positions are the Shannon backend's current ones; the ns-3 backend reports distances
only, so there the devices stand at their configured start positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from pybridge.backends import Report, Task
from pybridge.config import EnvConfig

#: frame size in pixels (width, height)
FRAME_PX = (800, 400)
DPI = 100
#: matplotlib's cycle without its red (C3), which marks a lost reply
USER_COLOURS = ("C0", "C1", "C2", "C4", "C5", "C6", "C8", "C9")


class RoundRenderer:
    """Draws frames of one env; one matplotlib figure reused for every frame."""

    def __init__(self, config: EnvConfig) -> None:
        self.config = config
        self.figure = Figure(figsize=(FRAME_PX[0] / DPI, FRAME_PX[1] / DPI), dpi=DPI)
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.canvas = FigureCanvasAgg(self.figure)

    def frame(
        self,
        env: Any,
        reports: list[Report],
        last_round: tuple[list[Task], list[Report]] | None,
    ) -> np.ndarray:
        """(H, W, 3) uint8: ``env`` (an ``EdgeMoEParallelEnv``) after its last round."""
        sc = self.config.scenario
        users, experts = self._positions(env)
        fig = self.figure
        fig.clear()
        ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        colours = [USER_COLOURS[u % len(USER_COLOURS)] for u in range(len(users))]
        for u, report in enumerate(reports):
            for i in np.flatnonzero(report["obs_associated"][: len(experts)]):
                ax.plot(*zip(users[u], experts[i], strict=True), ":", color="0.75", lw=0.8)
        if last_round is not None:
            for u, (task, report) in enumerate(zip(*last_round, strict=True)):
                for k, target in enumerate(task.target):
                    if target == 0 or target > len(experts):
                        continue
                    lost = not report["subtask_delivered"][k]
                    ax.plot(
                        *zip(users[u], experts[target - 1], strict=True),
                        "--" if lost else "-",
                        color="red" if lost else colours[u],
                        lw=1.5,
                        alpha=0.8,
                    )
        relay = sc.radio.relay(sc)
        if relay is not None:
            ax.plot(relay[0], relay[1], "k^", ms=9)
        ax.scatter(experts[:, 0], experts[:, 1], marker="s", c="k", s=40, zorder=3)
        for i, (x, y) in enumerate(experts):
            ax.annotate(f"E{i + 1}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.scatter(users[:, 0], users[:, 1], marker="o", c=colours, s=50, zorder=3)
        for u, (x, y) in enumerate(users):
            ax.annotate(f"U{u}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        t = int(getattr(env, "_t", 0))
        ax.set_title(
            f"round {t}/{self.config.tasks.episode_tasks}, "
            f"t = {float(reports[0]['sim_time_s']):.2f} s",
            fontsize=9,
        )
        self._queues(bars, reports)
        fig.tight_layout()
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def _positions(self, env: Any) -> tuple[np.ndarray, np.ndarray]:
        backend = env.backend
        if backend is not None and hasattr(backend, "positions"):
            return backend.positions()
        sc = self.config.scenario
        users = np.array([n.position[:2] for n in sc.user_nodes], dtype=float)
        return users, np.array([n.position[:2] for n in sc.experts], dtype=float)

    @staticmethod
    def _queues(ax: Any, reports: list[Report]) -> None:
        first = reports[0]
        n = len(first["obs_snr_db"])
        x = np.arange(1, n + 1)
        if "expert_queue_len_mean" in first:
            ax.bar(x, first["expert_queue_len_mean"], color="C0", label="mean")
            ax.plot(x, first["expert_queue_len_max"], "k_", ms=10, mew=2, label="peak")
            ax.set_title("expert queues, last round", fontsize=9)
            ax.legend(fontsize=7, loc="upper right")
        else:
            heard = np.nanmax(
                np.stack([np.nan_to_num(r["obs_queue_len"], nan=0.0) for r in reports]), axis=0
            )
            ax.bar(x, heard, color="C0")
            ax.set_title("expert queues last heard", fontsize=9)
        ax.set_xlabel("expert")
        ax.set_ylabel("requests")
        ax.set_xticks(x)
        ax.tick_params(labelsize=7)

    def close(self) -> None:
        self.figure.clear()
