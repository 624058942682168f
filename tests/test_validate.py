"""`netmoe validate`: the Shannon-vs-ns-3 study's maths, its CLI and a short real run."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pybridge.config import load_config
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError, program_path
from pybridge.scenario_check import check_scenario
from pybridge.shannon import ShannonBackend
from validation import cli
from validation.study import TaskSource, attribute, by_users, run_scenario, summarize, with_users

try:
    program_path("edge-moe")
    BUILT = True
except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
    BUILT = False


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def _sub(ns3: list[float], shannon: list[float], **cols: list) -> pd.DataFrame:
    n = len(ns3)
    base = dict(
        scenario=["s"] * n, task=list(range(n)), subtask=[0] * n, expert=[1] * n,
        distance_m=[3.0] * n, moved_m=[0.0] * n, concurrent=[1] * n, request_bytes=[300] * n,
        reply_bytes=[2000] * n, compute_s=[0.1] * n, snr_pred_db=[35.0] * n,
        delivered_ns3=[True] * n, delivered_shannon=[True] * n, transfer_ns3_s=ns3,
        transfer_shannon_s=shannon, retx_ns3=[0] * n, frames_ns3=[10] * n,
    )  # fmt: skip
    base.update(cols)
    return pd.DataFrame(base)


def _exp(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        dict(
            scenario=["s"] * n, task=list(range(n)), expert=[1] * n, distance_m=[3.0] * n,
            moved_m=[0.0] * n, concurrent=[1] * n, snr_ns3_db=[33.0] * n, snr_pred_db=[35.0] * n,
            energy_ns3_j=[0.004] * n, energy_shannon_j=[0.001] * n, goodput_ns3_mbps=[20.0] * n,
            rate_shannon_mbps=[200.0] * n, frames_ns3=[10] * n, retx_ns3=[1] * n,
            lost_ns3=[0] * n, lost_shannon=[0] * n, bytes_expected=[2000] * n,
        )
    )  # fmt: skip


def test_summary_on_hand_worked_numbers() -> None:
    # ratios 2, 4, 10 -> median 4; one subtask lost by ns-3 only (not in the ratio)
    sub = _sub(
        [0.002, 0.004, 0.010, np.nan], [0.001, 0.001, 0.001, 0.001],
        delivered_ns3=[True, True, True, False],
    )  # fmt: skip
    row = summarize(sub, _exp(4)).query("binning == 'all'").iloc[0]
    assert row["ratio_median"] == pytest.approx(4.0)
    assert row["delay_ns3_ms"] == pytest.approx(4.0)
    assert row["lost_ns3"] == pytest.approx(0.25) and row["lost_shannon"] == 0
    assert row["energy_ratio"] == pytest.approx(4.0)
    assert row["snr_err_db"] == pytest.approx(-2.0)
    assert row["retx_per_frame"] == pytest.approx(0.1)
    dist = summarize(sub, _exp(4)).query("binning == 'distance'")
    assert list(dist["bin"]) == ["[0.0, 5.0)"]


def test_attribution_splits_by_effect() -> None:
    sub = _sub([0.002, 0.002, 0.010, 0.010], [0.001] * 4, retx_ns3=[0, 0, 3, 1])
    row = attribute(sub).query("effect == 'retransmissions'").iloc[0]
    assert (row["n_with"], row["n_without"]) == (2, 2)
    assert row["ratio_with"] == pytest.approx(10.0)
    assert row["ratio_without"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--config", "no/such.yaml"], "no such config file"),
        (["--config", "configs/default.yaml", "--tasks", "0"], "--tasks must be >= 1"),
        (["--config", "configs/default.yaml", "--local-prob", "1"], "--local-prob"),
        (["--config", "configs/default.yaml", "--table", "no/such.parquet"], "not found"),
        (["--config", "configs/default.yaml", "--users", "1", "17"], "--users: each M"),
    ],
)
def test_bad_input_is_one_line(argv: list[str], message: str, capsys) -> None:  # noqa: ANN001
    assert cli.run(_args(*argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netmoe validate: error:") and message in err
    assert "\n" not in err


def test_cli_is_registered() -> None:
    from netmoe.cli import COMMANDS

    assert COMMANDS["validate"][0] == "validation.cli"


@pytest.mark.ns3
@pytest.mark.skipif(not BUILT, reason="edge-moe is not built")
def test_paired_run_on_a_trace(tmp_path) -> None:  # noqa: ANN001
    cfg = load_config(REPO_ROOT / "configs/scenarios/ns2-trace.yaml")
    source = TaskSource(None, 2, 200, 50.0)
    sub, exp = run_scenario("ns2", cfg, source, tasks=4, seed=1)
    again, _ = run_scenario("ns2", cfg, source, tasks=4, seed=1)
    pd.testing.assert_frame_equal(sub, again)  # reproducible from the seed
    assert len(sub) == 8 and set(sub["expert"]) <= {1, 2, 3}
    assert sub["delivered_ns3"].all() and sub["delivered_shannon"].all()
    # ns-3 pays the TCP handshake, MAC overheads and ACKs that the formula ignores
    assert (sub["transfer_ns3_s"] > sub["transfer_shannon_s"]).all()
    assert (exp["moved_m"] > 0.5).any()  # the user walks during some tasks
    assert all(math.isfinite(v) for v in exp["energy_ns3_j"])


@pytest.mark.ns3
@pytest.mark.skipif(not BUILT, reason="edge-moe is not built")
def test_static_nodes_without_fading_pair_to_the_same_snr() -> None:
    # the paired distance gives exactly the log-distance SNR that ns-3 hears
    cfg = load_config({"scenario": {"propagation": {"nakagami": False}, "warmup_s": 0.5}})
    _, exp = run_scenario("static", cfg, TaskSource(None, 2, 200, 50.0), tasks=3, seed=0)
    err = exp["snr_ns3_db"] - exp["snr_pred_db"]
    assert err.abs().max() < 0.5
    assert (exp["moved_m"] == 0).all()


@pytest.mark.ns3
@pytest.mark.skipif(not BUILT, reason="edge-moe is not built")
def test_the_formula_snr_is_the_path_loss_at_the_tasks_start_distance() -> None:
    # with a walking user the formula's next observation is elsewhere: the study once
    # compared ns-3's task SNR with that (off by several dB for the walking user)
    cfg = load_config({
        "scenario": {"user": {"position": [0, 0, 1], "mobility": "random-walk",
                              "params": {"speed": 3.0, "distance": 5}},
                     "propagation": {"nakagami": False}, "warmup_s": 0.5},
    })  # fmt: skip
    _, exp = run_scenario("walk", cfg, TaskSource(None, 2, 200, 50.0), tasks=4, seed=0)
    link = ShannonBackend(cfg, 2).link
    assert np.allclose(exp["snr_pred_db"], link.snr_db(exp["distance_m"].to_numpy()), atol=1e-6)
    assert (exp["moved_m"] > 0.5).any()  # the user did walk during the tasks


@pytest.mark.ns3
@pytest.mark.skipif(not BUILT, reason="edge-moe is not built")
def test_cli_writes_tables_and_plots(tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "val"
    argv = ["--config", str(REPO_ROOT / "configs/scenarios/ns2-trace.yaml"), "--synthetic"]
    assert cli.run(_args(*argv, "--tasks", "3", "--out", str(out), "--no-progress")) == 0
    for name in ("subtasks.csv", "experts.csv", "summary.csv", "attribution.csv"):
        assert (out / name).stat().st_size > 0
    for name in ("transfer_scatter", "ratio_by_bin", "snr_rate", "energy_scatter"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    summary = pd.read_csv(out / "summary.csv")
    assert summary.query("binning == 'all'")["ratio_median"].iloc[0] > 1


@pytest.mark.slow
@pytest.mark.ns3
def test_validate_runs_over_the_whole_catalogue(tmp_path) -> None:  # noqa: ANN001
    import subprocess
    import sys

    configs = []
    for path in sorted((REPO_ROOT / "configs" / "scenarios").glob("*.yaml")):
        try:
            program_path(load_config(path).scenario.program)
        except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
            continue
        configs.append(str(path))
    if not configs:  # pragma: no cover - depends on the build
        pytest.skip("no scenario program is built")
    out = tmp_path / "val"
    argv = ["validate", "--config", *configs, "--synthetic", "--tasks", "2", "--seed", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "netmoe.cli", *argv, "--out", str(out), "--no-plots",
         "--no-progress"],
        capture_output=True, text=True, timeout=1200, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = pd.read_csv(out / "summary.csv").query("binning == 'all'")
    names = {Path(c).stem for c in configs}
    assert set(summary["scenario"]) == names  # one row per scenario, named by its file
    users = {Path(c).stem: len(load_config(c).scenario.user_nodes) for c in configs}
    # 2 rounds x M users x 3 subtasks, all offloaded
    assert (summary["subtasks"] == 2 * 3 * summary["scenario"].map(users)).all()
    # every scenario delivered something on both models, and ns-3 is slower than the formula
    ok = summary.dropna(subset=["ratio_median"])
    assert len(ok) == len(summary) and (ok["ratio_median"] > 1).all()


def test_bad_expert_writers_is_one_line(tmp_path, capsys) -> None:  # noqa: ANN001
    config = tmp_path / "writers.yaml"
    config.write_text("env:\n  tasks:\n    expert_writers: [1, 2, 7]\n")
    assert cli.run(_args("--config", str(config), "--tasks", "1")) == 2
    err = capsys.readouterr().err.strip()
    assert "tasks.expert_writers: writer 7 is not in 1..3" in err and "\n" not in err


def _round(cfg, m: int, seed: int = 0) -> list:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    source = TaskSource(None, 3, 200, 50.0)
    return [source.make(rng, 0, np.array([1, 2, 3]), cfg) for _ in range(m)]


def test_predict_round_at_one_user_is_predict_at() -> None:
    cfg = load_config({"backend": "shannon"})
    sh = ShannonBackend(cfg, 3)
    sh.start_round(7)
    d = np.array([4.0, 12.0, 30.0])
    (task,) = _round(cfg, 1)
    one = sh.predict_at(d, 3.0, task)
    (again,) = sh.predict_round_at(d[None, :], 3.0, [task])
    for name in ("subtask_delay_s", "energy_j", "goodput_mbps", "obs_snr_db"):
        np.testing.assert_array_equal(one[name], again[name])


def test_predict_round_at_puts_each_user_in_its_own_geometry() -> None:
    cfg = with_users(load_config({"backend": "shannon"}), 2)
    sh = ShannonBackend(cfg, 3)
    sh.start_round(7)
    near, far = np.array([3.0, 3.0, 3.0]), np.array([60.0, 60.0, 60.0])
    tasks = _round(cfg, 2)
    a, b = sh.predict_round_at(np.stack([near, far]), 3.0, tasks)
    assert (a["goodput_mbps"] > b["goodput_mbps"]).all()  # the far user's rate is lower
    swapped = sh.predict_round_at(np.stack([far, near]), 3.0, tasks)
    np.testing.assert_array_equal(swapped[0]["goodput_mbps"], b["goodput_mbps"])
    assert sh.time == cfg.scenario.warmup_s  # the episode's state is unchanged
    with pytest.raises(ValueError, match="shape"):
        sh.predict_round_at(near[None, :], 3.0, tasks)


def test_with_users_num_users_and_a_users_list() -> None:
    base = load_config("configs/default.yaml")
    assert with_users(base, 1).scenario.argv(1) == base.scenario.argv(1)
    assert len(with_users(base, 8).scenario.user_nodes) == 8
    # every M observes as the config says: probes, with several users too
    assert base.scenario.observe == with_users(base, 1).scenario.observe == "probe"
    assert with_users(base, 2).scenario.observe == "probe"
    assert check_scenario(with_users(base, 2))["numUsers"] == 2
    listed = load_config("configs/scenarios/multi-user.yaml")
    two = with_users(listed, 2).scenario.user_nodes
    assert two == listed.scenario.user_nodes[:2]
    eight = with_users(listed, 8).scenario.user_nodes
    assert eight[:4] == listed.scenario.user_nodes
    # user 4: user 0's copy moved user_spread_m along angle 2 pi 4 / 8 (to -x)
    assert eight[4].position == pytest.approx((-3.0, 0.0, 1.0))
    assert eight[4].mobility == listed.scenario.user_nodes[0].mobility


def test_by_users_one_row_per_scenario_and_m() -> None:
    sub = pd.concat(
        [_sub([0.002, 0.004], [0.001, 0.001]).assign(users=1),
         _sub([0.006, 0.010], [0.001, 0.001]).assign(users=2)], ignore_index=True,
    )  # fmt: skip
    exp = pd.concat([_exp(2).assign(users=1), _exp(2).assign(users=2)], ignore_index=True)
    table = by_users(sub, exp)
    assert list(table["users"]) == [1, 2]
    assert list(table["ratio_median"]) == pytest.approx([3.0, 8.0])
    assert list(table["goodput_ratio"]) == pytest.approx([0.1, 0.1])
    assert (table["lost_gap"] == 0).all()


@pytest.mark.ns3
@pytest.mark.skipif(not BUILT, reason="edge-moe is not built")
def test_cli_users_pairs_every_users_tasks(tmp_path) -> None:  # noqa: ANN001
    out, plain = tmp_path / "users", tmp_path / "plain"
    config = tmp_path / "static.yaml"
    config.write_text("env:\n  scenario: {propagation: {nakagami: false}, warmup_s: 0.5}\n")
    argv = ["--config", str(config), "--synthetic", "--tasks", "2", "--no-progress"]
    assert cli.run(_args(*argv, "--users", "1", "3", "--out", str(out))) == 0
    assert cli.run(_args(*argv, "--out", str(plain), "--no-plots")) == 0
    table = pd.read_csv(out / "users.csv")
    assert list(table["users"]) == [1, 3]
    assert list(table["subtasks"]) == [2 * 3 * 1, 2 * 3 * 3]  # rounds x users x K
    assert (table["ratio_median"] > 1).all()
    sub = pd.read_csv(out / "subtasks.csv")
    assert set(sub.query("users == 3")["user"]) == {0, 1, 2}
    # M = 1 is the plain one-user study, row for row
    one = sub.query("users == 1").reset_index(drop=True)
    pd.testing.assert_frame_equal(one, pd.read_csv(plain / "subtasks.csv"))
    assert (out / "error_vs_users.png").read_bytes()[:4] == b"\x89PNG"
