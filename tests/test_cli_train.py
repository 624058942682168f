"""The train / compare / sweep commands: outputs, kill-and-resume, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from pybridge.paths import REPO_ROOT


@pytest.fixture
def experiment(tmp_path, table_path) -> Path:
    """A tiny experiment on the Shannon backend with a synthetic table."""
    exp = {
        "env": {"backend": "shannon", "tasks": {"table": str(table_path), "episode_tasks": 5}},
        "train": {
            "epochs": 12, "num_envs": 2, "vector": "sync", "eval_every": 3, "eval_episodes": 2,
            "checkpoint_every": 4,
            "sac": {"learning_starts": 20, "batch_size": 16, "hidden": 16},
        },
        "compare": {"seeds": 2, "workers": 1},
        "sweep": {
            "seeds": [0],
            "scenarios": {"near": {}, "far": {"scenario": {"experts": [
                {"position": [30, 0, 1]}, {"position": [0, 30, 1]}, {"position": [-30, 0, 1]}]}}},
            "reward_weights": [{}, {"w_time": 3.0}],
            "baselines": ["local"],
        },
    }  # fmt: skip
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


def netmoe(command: str, *args: str) -> subprocess.CompletedProcess:
    """Run one command as a user would (its standalone entry point)."""
    return subprocess.run(
        [sys.executable, "-m", f"agents.cli_{command}", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_commands_registered_in_netmoe_cli() -> None:
    from netmoe.cli import COMMANDS

    for name in ("train", "compare", "sweep"):
        assert COMMANDS[name][0] == f"agents.cli_{name}"


def test_train_writes_results_checkpoint_and_tensorboard(experiment, tmp_path) -> None:
    out = tmp_path / "run"
    res = netmoe("train", "--config", str(experiment), "--out", str(out), "--no-progress")
    assert res.returncode == 0, res.stderr
    epochs = pd.read_parquet(out / "epochs.parquet")
    evals = pd.read_csv(out / "evals.csv")
    assert epochs["epoch"].tolist() == list(range(1, 13))
    assert evals["epoch"].tolist() == [3, 6, 9, 12]
    assert epochs["env_steps"].iloc[-1] == 12 * 2 * 5
    assert {"train_reward", "qf_loss", "alpha", "wall_s"} <= set(epochs.columns)
    assert torch.load(out / "checkpoint.pt", weights_only=False)["epoch"] == 12
    assert list((out / "tb").glob("events.out.tfevents.*"))


def test_killed_run_resumes_with_nothing_lost(experiment, tmp_path) -> None:
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    assert netmoe("train", "--config", str(experiment), "--out", str(whole)).returncode == 0
    # SIGKILL after epoch 7: the last checkpoint is epoch 4, epochs 5-7 are lost work
    killed = netmoe("train", "--config", str(experiment), "--out", str(crashed),
                    "--kill-after-epoch", "7")  # fmt: skip
    assert killed.returncode == -9
    assert torch.load(crashed / "checkpoint.pt", weights_only=False)["epoch"] == 4
    resumed = netmoe("train", "--config", str(experiment), "--out", str(crashed))
    assert resumed.returncode == 0, resumed.stderr
    for name in ("epochs", "evals"):
        a = pd.read_parquet(whole / f"{name}.parquet").drop(columns="wall_s")
        b = pd.read_parquet(crashed / f"{name}.parquet").drop(columns="wall_s")
        pd.testing.assert_frame_equal(a, b)  # identical to the run never interrupted
    wa = torch.load(whole / "checkpoint.pt", weights_only=False)["agent"]["actor"]
    wb = torch.load(crashed / "checkpoint.pt", weights_only=False)["agent"]["actor"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_checkpoint_of_another_experiment_or_table_is_not_resumed(
    experiment, tmp_path, table_path
) -> None:
    exp = yaml.safe_load(experiment.read_text())
    exp["train"].update(epochs=2, eval_every=2, checkpoint_every=2)
    table = pd.read_parquet(table_path)
    own_table = tmp_path / "table.parquet"
    table.to_parquet(own_table)
    exp["env"]["tasks"]["table"] = str(own_table)
    path, out = tmp_path / "short.yaml", tmp_path / "run"
    path.write_text(yaml.safe_dump(exp))
    assert netmoe("train", "--config", str(path), "--out", str(out)).returncode == 0
    written = (out / "experiment.yaml").read_text()
    # longer training of the same experiment resumes (2 more epochs, not 4)
    exp["train"].update(epochs=4)
    path.write_text(yaml.safe_dump(exp))
    longer = netmoe("train", "--config", str(path), "--out", str(out), "-v")
    assert longer.returncode == 0 and "resuming" in longer.stderr
    assert pd.read_csv(out / "epochs.csv")["epoch"].tolist() == [1, 2, 3, 4]
    written = (out / "experiment.yaml").read_text()
    # another agent setting, or the same table path with other scores: refused, one line
    exp["train"]["sac"]["hidden"] = 32
    path.write_text(yaml.safe_dump(exp))
    other = netmoe("train", "--config", str(path), "--out", str(out))
    assert other.returncode == 2
    assert "holds a checkpoint of another experiment or quality table" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
    exp["train"]["sac"]["hidden"] = 16
    path.write_text(yaml.safe_dump(exp))
    table["score"] = table["score"] * 0.5  # re-scored in place
    table.to_parquet(own_table)
    rescored = netmoe("train", "--config", str(path), "--out", str(out))
    assert rescored.returncode == 2 and "another experiment" in rescored.stderr
    assert (out / "experiment.yaml").read_text() == written  # nothing overwritten
    assert torch.load(out / "checkpoint.pt", weights_only=False)["epoch"] == 4


def test_pretraining_phase_then_training_and_resume(experiment, tmp_path) -> None:
    """3 epochs on the pretraining backend, then 4 on the env's own: evaluations only on
    the env's own backend (epoch 0 = right after pretraining); a run killed after the
    switch resumes to the same result."""
    exp = yaml.safe_load(experiment.read_text())
    exp["train"].update(epochs=4, eval_every=2, checkpoint_every=2, pretrain_backend="shannon",
                        pretrain_epochs=3, pretrain_num_envs=3)  # fmt: skip
    path = tmp_path / "pre.yaml"
    path.write_text(yaml.safe_dump(exp))
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    assert netmoe("train", "--config", str(path), "--out", str(whole)).returncode == 0
    epochs = pd.read_csv(whole / "epochs.csv")
    assert epochs["phase"].tolist() == ["pretrain"] * 3 + ["train"] * 4
    assert epochs["epoch"].tolist() == [-2, -1, 0, 1, 2, 3, 4]
    assert epochs["env_steps"].tolist() == [15, 30, 45, 55, 65, 75, 85]  # 3 envs, then 2
    assert pd.read_csv(whole / "evals.csv")["epoch"].tolist() == [0, 2, 4]
    killed = netmoe("train", "--config", str(path), "--out", str(crashed),
                    "--kill-after-epoch", "5")  # fmt: skip
    assert killed.returncode == -9
    assert torch.load(crashed / "checkpoint.pt", weights_only=False)["epoch"] == 4
    assert netmoe("train", "--config", str(path), "--out", str(crashed)).returncode == 0
    for name in ("epochs", "evals"):
        a = pd.read_parquet(whole / f"{name}.parquet").drop(columns="wall_s")
        b = pd.read_parquet(crashed / f"{name}.parquet").drop(columns="wall_s")
        pd.testing.assert_frame_equal(a, b)


def test_pretraining_transitions_replayed_beside_the_env_own(
    experiment, tmp_path, monkeypatch
) -> None:
    """pretrain_replay_share 0.5: after the switch every batch is half pretraining
    transitions, half the env's own; both buffers are checkpointed, and a run killed
    after the switch resumes to the same result."""
    import numpy as np

    import agents.train as train_mod
    from agents.experiment import load_experiment

    exp = yaml.safe_load(experiment.read_text())
    exp["train"].update(epochs=4, eval_every=2, checkpoint_every=2, pretrain_backend="shannon",
                        pretrain_epochs=3, pretrain_num_envs=3, pretrain_keep_buffer=True,
                        pretrain_replay_share=0.5)  # fmt: skip
    path = tmp_path / "share.yaml"
    path.write_text(yaml.safe_dump(exp))

    batches, draws = [], []
    real_update, real_sample = train_mod.DiscreteSAC.update, train_mod.ReplayBuffer.sample

    def spy_update(self, batch):
        batches.append(batch.obs.copy())
        return real_update(self, batch)

    def spy_sample(self, batch_size, rng):
        draws.append((len(self), batch_size))  # (transitions held, drawn)
        return real_sample(self, batch_size, rng)

    monkeypatch.setattr(train_mod.DiscreteSAC, "update", spy_update)
    monkeypatch.setattr(train_mod.ReplayBuffer, "sample", spy_sample)
    res = train_mod.train(load_experiment(path), tmp_path / "whole", progress=False)
    ckpt = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    prior, own = ckpt["prior"]["obs"], ckpt["buffer"]["obs"]
    assert len(prior) == 45 and len(own) == 40  # 3 x 3 x 5 pretraining, 4 x 2 x 5 own
    rows = lambda a: {r.tobytes() for r in a}  # noqa: E731
    for obs in batches[-20:]:  # the last epoch: 5 steps x 4 updates
        assert rows(obs[:8]) <= rows(prior) and rows(obs[8:]) <= rows(own)
    # pretraining draws whole batches; after the switch, 8 from the 45 pretraining
    # transitions and 8 from the env's own, which learning waits for
    switch = next(i for i, (_, n) in enumerate(draws) if n == 8)
    assert switch and all(n == 16 for _, n in draws[:switch])
    after = draws[switch:]
    assert all(8 <= held <= 40 and n == 8 for held, n in after[0::2])  # the env's own
    assert after[1::2] == [(45, 8)] * (len(after) // 2)
    assert np.isfinite(res.evals["reward"]).all()

    crashed = tmp_path / "crashed"
    killed = netmoe("train", "--config", str(path), "--out", str(crashed),
                    "--kill-after-epoch", "5")  # fmt: skip
    assert killed.returncode == -9
    assert netmoe("train", "--config", str(path), "--out", str(crashed)).returncode == 0
    for name in ("epochs", "evals"):
        a = pd.read_parquet(tmp_path / "whole" / f"{name}.parquet").drop(columns="wall_s")
        b = pd.read_parquet(crashed / f"{name}.parquet").drop(columns="wall_s")
        pd.testing.assert_frame_equal(a, b)


def test_training_survives_a_dying_scenario(experiment, tmp_path, monkeypatch) -> None:
    """A scenario process that dies mid-epoch cuts that epoch short (marked in epochs.csv);
    the next epoch starts fresh environments."""
    import agents.rollout as rollout_mod
    import agents.train as train_mod
    from agents.experiment import load_experiment
    from pybridge.bridge import ScenarioDied

    made = []
    real = rollout_mod.make_vector_env

    def flaky(exp, pretrain=False):
        envs = real(exp, pretrain)
        made.append(envs)
        if len(made) == 1:  # the first vector env dies on its 8th step (epoch 2)
            step, calls = envs.step, [0]

            def dying_step(actions):
                calls[0] += 1
                if calls[0] == 8:
                    raise ScenarioDied("scenario process 1 died (killed by signal 6): test")
                return step(actions)

            envs.step = dying_step
        return envs

    monkeypatch.setattr(rollout_mod, "make_vector_env", flaky)
    exp = load_experiment(experiment)
    exp = exp.with_train(epochs=4)
    res = train_mod.train(exp, tmp_path / "run", progress=False)
    died = res.epochs["scenario_died"].fillna("").tolist()
    assert died[1].startswith("scenario process 1 died") and died[0] == died[2] == died[3] == ""
    assert len(made) == 2  # a fresh vector env after the death
    assert res.epochs["env_steps"].tolist() == [10, 14, 24, 34]  # epoch 2: 2 of its 5 steps


def test_compare_records_a_failed_job(experiment, tmp_path, monkeypatch) -> None:
    import agents.compare as compare_mod
    from agents.experiment import load_experiment
    from pybridge.bridge import ScenarioDied

    real = compare_mod.run_job

    def run_job(exp, method, seed, out, progress):
        if (method, seed) == ("local", 1):
            raise ScenarioDied("scenario process 2 died (killed by signal 11)")
        return real(exp, method, seed, out, progress)

    monkeypatch.setattr(compare_mod, "run_job", run_job)
    exp = load_experiment(experiment)
    exp = exp.with_compare(methods=["sac", "local"]).with_train(epochs=3)
    summary = compare_mod.compare(exp, tmp_path / "cmp", progress=False)
    runs = pd.read_csv(tmp_path / "cmp" / "runs.csv")
    failed = runs[runs["error"].notna()]
    assert failed[["method", "seed"]].values.tolist() == [["local", 1]]
    assert "signal 11" in failed["error"].iloc[0]
    assert summary.set_index("method")["seeds"].to_dict() == {"sac": 2, "local": 1}
    assert (summary["failed_jobs"] == 1).all()


def test_cross_model_records_a_failed_job(experiment, tmp_path, monkeypatch) -> None:
    import agents.compare as compare_mod
    from agents.experiment import load_experiment
    from pybridge.bridge import ScenarioDied

    real = compare_mod.cross_job

    def job(exp, seed, trained_on, eval_backend, out, progress):
        if seed == 1:
            raise ScenarioDied("scenario process 3 died (killed by signal 6)")
        return real(exp, seed, trained_on, eval_backend, out, progress)

    monkeypatch.setattr(compare_mod, "cross_job", job)
    exp = load_experiment(experiment)
    exp = exp.with_train(epochs=2)
    summary = compare_mod.cross_model(exp, tmp_path / "x", ["shannon"], "shannon", False)
    table = pd.read_csv(tmp_path / "x" / "cross_model.csv")
    assert table["error"].notna().tolist() == [False, True]
    assert summary["seeds"].tolist() == [1] and summary["diff_vs_native"].tolist() == [0.0]


def test_async_vector_envs(experiment, tmp_path) -> None:
    from agents.experiment import load_experiment
    from agents.train import train

    exp = load_experiment(experiment)
    exp = exp.with_train(vector="async", epochs=3)
    res = train(exp, tmp_path / "async", progress=False)
    assert len(res.epochs) == 3 and res.epochs["env_steps"].iloc[-1] == 3 * 2 * 5


def test_compare_writes_figures_and_table(experiment, tmp_path) -> None:
    out = tmp_path / "cmp"
    res = netmoe("compare", "--config", str(experiment), "--out", str(out), "--no-progress")
    assert res.returncode == 0, res.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert summary["method"].tolist() == [
        "sac", "random", "local", "greedy-snr", "least-loaded", "quality-greedy",
        "table-oracle", "table-oracle-masked", "upper-bound"]  # fmt: skip
    assert (summary["seeds"] == 2).all()
    assert summary["final_reward_ci95"].notna().all()
    ub = summary.set_index("method")["final_reward"]
    assert ub["upper-bound"] == ub.max()
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 18 and runs.loc[runs.method == "sac", "time_to_95_s"].notna().all()
    # SAC's learning curve: every training epoch of every seed, as in its epochs.csv
    training = pd.read_csv(out / "training.csv")
    for seed in (0, 1):
        epochs = pd.read_csv(out / "sac" / f"seed{seed}" / "epochs.csv")
        mine = training[training.seed == seed].reset_index(drop=True)
        assert mine.epoch.tolist() == epochs.epoch.tolist()
        assert np.allclose(mine.train_reward, epochs.train_reward)
    for png in ("reward_vs_epoch.png", "mean_final_reward.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_compare_in_a_process_pool_and_cross_model(experiment, tmp_path) -> None:
    pool = ["--workers", "2", "--methods", "local,quality-greedy", "--no-progress"]
    res = netmoe("compare", "--config", str(experiment), "--out", str(tmp_path / "pool"), *pool)
    assert res.returncode == 0, res.stderr
    assert len(pd.read_csv(tmp_path / "pool" / "runs.csv")) == 4
    training = pd.read_csv(tmp_path / "pool" / "training.csv")  # no SAC: a header, no rows
    assert training.empty and "train_reward" in training.columns
    res = netmoe("compare", "--config", str(experiment), "--out", str(tmp_path / "x"),
                 "--cross-model", "--train-backends", "shannon", "--eval-backend", "shannon",
                 "--seeds", "1", "--epochs", "3", "--no-progress")  # fmt: skip
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "x" / "cross_model_summary.csv")
    assert table["diff_vs_native"].tolist() == [0.0]


@pytest.mark.slow
def test_sweep_runs_the_grid_locally(experiment, tmp_path) -> None:
    res = netmoe("sweep", "--config", str(experiment), "--out", str(tmp_path / "sw"),
                 "--epochs", "3", "--workers", "2")  # fmt: skip
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert len(table) == 2 * 2 * 1 * 2  # scenarios x weights x seeds x (sac + local)
    assert set(table["scenario"]) == {"near", "far"}
    assert set(table["method"]) == {"sac", "local"}
    far = table[(table.scenario == "far") & (table.method == "local")]["reward"]
    assert far.notna().all()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config", "/no/such.yaml"], "no such config file"),
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--backend", "shannon", "--seed", "-1"], "--seed must be >= 0"),
    ],
)
def test_bad_input_is_one_line_error(experiment, args, message) -> None:
    argv = args if "--config" in args else ["--config", str(experiment), *args]
    res = netmoe("train", *argv)
    assert res.returncode == 2
    assert res.stderr.strip() == res.stderr.strip().splitlines()[0]
    assert res.stderr.startswith("netmoe: error:") and message in res.stderr


@pytest.mark.parametrize(
    "content, message",
    [
        ("train: {epochs: 'many'}\n", "train.epochs: Input should be a valid integer"),
        ("train: {sac: {gama: 0.9}}\n", "train.sac.gama: Extra inputs are not permitted"),
        ("train: {pretrain_replay_share: 1}\n", "pretrain_replay_share: must be in [0, 1)"),
        ("compare: {methods: [sac, oracle]}\n", "unknown ['oracle']"),
        ("env: {reward: {w_time: -1}}\n", "reward.w_time"),
        ("trian: {}\n", "unknown section"),
        ("train: [1, 2\n", "not valid YAML"),
    ],
)
def test_bad_experiment_files_are_one_line_errors(tmp_path, table_path, content, message) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"env_base: {REPO_ROOT / 'configs/default.yaml'}\n" + content)
    res = netmoe("compare", "--config", str(path))
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and message in res.stderr


def test_sweep_ray_path_without_ray(experiment, tmp_path) -> None:
    # Hide an installed ray: a package of that name that fails to import comes first.
    shim = tmp_path / "no_ray" / "ray"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text('raise ImportError("ray hidden by the test")\n')
    env = {
        **os.environ,
        "PYTHONPATH": f"{shim.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    res = subprocess.run(
        [sys.executable, "-m", "agents.cli_sweep", "--config", str(experiment),
         "--out", str(tmp_path / "r"), "--address", "auto"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert res.returncode == 2 and "needs ray" in res.stderr, res.stderr


def test_through_the_netmoe_dispatcher(experiment, tmp_path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "netmoe.cli", "train", "--config", str(experiment),
         "--out", str(tmp_path / "d"), "--epochs", "1", "--no-progress"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "d" / "epochs.csv").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "netmoe.cli", "compare", "--config", "/no/such.yaml"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("netmoe: error:")
