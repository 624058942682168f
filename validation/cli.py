"""``netmoe validate``: the closed-form Shannon model against ns-3, scenario by scenario.

Examples::

    netmoe validate --config configs/scenarios/smart-home.yaml --tasks 40
    netmoe validate --config configs/scenarios/*.yaml --synthetic --out results/validation
    netmoe validate --config configs/default.yaml configs/scenarios/multi-user.yaml \
        --users 1 2 4 8 --tasks 5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's flags."""
    parser.add_argument("--config", nargs="+", required=True, help="environment YAML(s)")
    parser.add_argument(
        "--tasks", type=int, default=40,
        help="tasks per scenario (rounds: one task per user; default 40)",
    )  # fmt: skip
    parser.add_argument(
        "--users", type=int, nargs="+", metavar="M",
        help="run each config with M user devices for each M given (1..16): "
        "scenario.num_users, or the first M of scenario.users (extended beyond the "
        "list); default: the config's users",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seeds actions, tasks and ns-3 RngRun")
    parser.add_argument("--out", default="results/validation", help="output directory")
    parser.add_argument("--table", help="quality table for the task stream (default: config's)")
    parser.add_argument(
        "--synthetic", action="store_true",
        help="synthetic task sizes instead of a quality table (30-300 words per reply)",
    )  # fmt: skip
    parser.add_argument("--subtasks", type=int, default=3, help="K with --synthetic (1..16)")
    parser.add_argument(
        "--local-prob", type=float, default=0.0,
        help="probability that a subtask stays local (default 0: all offloaded)",
    )  # fmt: skip
    parser.add_argument("--no-plots", action="store_true", help="tables only")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _fail(msg: str) -> int:
    print(f"netmoe validate: error: {msg}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run the study; 0 on success, 2 with one line on stderr for bad input."""
    from tqdm import tqdm

    from pybridge.bridge import ScenarioDied
    from pybridge.config import ConfigError, load_config
    from pybridge.paths import ScenarioNotBuiltError
    from pybridge.scenario_check import check_scenario
    from pybridge.tasks import QualityTable, TableError, expert_writers
    from validation.study import (
        TaskSource,
        by_users,
        run_scenario,
        summarize,
        with_users,
        write_tables,
    )

    if args.tasks < 1:
        return _fail("--tasks must be >= 1")
    if args.seed < 0:
        return _fail("--seed must be >= 0")
    if not 0 <= args.local_prob < 1:
        return _fail("--local-prob must be in [0, 1)")
    if not 1 <= args.subtasks <= 16:
        return _fail("--subtasks must be 1..16")
    if args.users is not None and not all(1 <= m <= 16 for m in args.users):
        return _fail("--users: each M must be 1..16")
    try:
        configs = []
        for path in args.config:
            cfg = load_config(path)
            for m in args.users or [None]:
                variant = cfg if m is None else with_users(cfg, m)
                where = str(path) if m is None else f"{path} (--users {m})"
                check_scenario(variant, where)  # the program's value rules, before any run
                configs.append((Path(path).stem, variant))
        sources = []
        for name, cfg in configs:
            table = None
            if not args.synthetic:
                table = QualityTable.load(args.table or cfg.tasks.table_path())
                try:  # the table by device: the writer each expert device runs
                    writers = expert_writers(
                        cfg.tasks.expert_writers, cfg.scenario.num_experts, table.num_experts
                    )
                except ValueError as exc:
                    return _fail(f"{name}: tasks.expert_writers: {exc}")
                table = table.for_devices(writers)
            sources.append(
                TaskSource(
                    table, args.subtasks, cfg.tasks.request_overhead_bytes,
                    cfg.tasks.edge_words_per_s,
                )
            )  # fmt: skip
    except (ConfigError, TableError, ScenarioNotBuiltError) as exc:
        return _fail(str(exc))

    import pandas as pd

    subs, exps = [], []
    bar = tqdm(total=args.tasks * len(configs), disable=args.no_progress, unit="task")
    try:
        for (name, cfg), source in zip(configs, sources, strict=True):
            m = len(cfg.scenario.user_nodes)
            bar.set_description(name if m == 1 else f"{name} M={m}")
            try:
                sub, exp = run_scenario(
                    name, cfg, source, tasks=args.tasks, seed=args.seed,
                    local_prob=args.local_prob, on_task=lambda: bar.update(1),
                )  # fmt: skip
            except ScenarioDied as exc:
                return _fail(f"{name} (M = {m}): {exc}" if args.users else f"{name}: {exc}")
            subs.append(sub)
            exps.append(exp)
    finally:
        bar.close()
    sub, exp = pd.concat(subs, ignore_index=True), pd.concat(exps, ignore_index=True)
    out = Path(args.out)
    paths = write_tables(out, sub, exp)
    if not args.no_plots:
        from validation.plots import plot_all, plot_users

        plot_all(out, sub, exp)
        if args.users:
            plot_users(out, by_users(sub, exp))
    overall = summarize(sub, exp)
    overall = overall[overall["binning"] == "all"]
    cols = ["scenario"] + (["users"] if args.users else [])
    cols += ["subtasks", "delay_ns3_ms", "delay_shannon_ms", "ratio_median", "lost_ns3",
             "lost_shannon", "energy_ratio", "snr_err_db", "retx_per_frame"]  # fmt: skip
    if args.users:
        cols += ["goodput_ratio", "abs_err_ms"]
    # with the serving model (scenario.serving): time to first token and completion
    cols += [c for c in ("ttft_ns3_ms", "ttft_err_ms", "completion_ns3_ms", "completion_err_ms")
             if c in overall.columns]  # fmt: skip
    with pd.option_context("display.width", 160, "display.float_format", "{:.3g}".format):
        print(overall[cols].to_string(index=False))
    print(f"tables: {paths['summary'].parent}/(subtasks|experts|summary|attribution|users).csv")
    return 0
