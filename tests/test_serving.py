"""Experts as LLM servers (--serving): queues, prefill and decode, streaming, rejections.

Real standalone runs of the compiled scenario (one expert 5 m away, so the network adds
milliseconds to seconds of generation), plus the config -> flags -> env path.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from pybridge.config import ConfigError, load_config
from pybridge.paths import ScenarioNotBuiltError, program_path
from pybridge.scenario_defaults import DEFAULTS

pytestmark = pytest.mark.ns3

try:
    EDGE_MOE = str(program_path("edge-moe"))
    EDGE_MOE_LTE = str(program_path("edge-moe-lte"))
except ScenarioNotBuiltError as exc:  # pragma: no cover - depends on the build
    pytest.skip(f"the scenarios are not built: {exc}", allow_module_level=True)

# one slot, no batching: a request waits for the whole generation of the one before it
ONE_SLOT = "prefill=100,decode=50,slots=1,queue=4"
PREFILL_S = 50 / 100  # --promptTokens=50
SERVICE_S = PREFILL_S + (100 - 1) / 50  # --replyTokens=100: first token at the prefill's end


def run(*flags: str, program: str = EDGE_MOE, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [
        program, "--standalone", "--tasks=1", "--numExperts=1", "--deadline=30",
        "--promptTokens=50", "--replyTokens=100", "--replyBytes=400", *flags,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def report(*flags: str) -> dict:
    (line,) = run("--serving=1", *flags).stdout.splitlines()
    return json.loads(line)


def test_second_subtask_waits_for_the_first_generation_on_a_one_slot_expert() -> None:
    r = report("--script=1,1", f"--expertProfiles={ONE_SLOT}", "--streaming=0")
    assert r["subtask_delivered"] == [1, 1] and r["subtask_rejected"] == [0, 0]
    first, second = r["queue_wait_s"]
    assert first == 0
    # the second request arrives a few ms after the first and waits out its generation
    assert SERVICE_S - 0.05 < second <= SERVICE_S
    # one generation after the other: the second ends one service time after the first
    gap = r["completion_s"][1] - r["completion_s"][0]
    assert abs(gap - SERVICE_S) < 0.01
    assert r["task_latency_s"] == pytest.approx(max(r["completion_s"]))


def test_batch_slots_share_the_decode_rate() -> None:
    # two slots, per-sequence 50 tokens/s alone and 25 with two: both decode at 25
    r = report("--script=1,1", "--expertProfiles=prefill=100,decode=50/25,slots=2,queue=0",
               "--streaming=0")  # fmt: skip
    assert r["queue_wait_s"] == [0, 0]
    both = PREFILL_S + 99 / 25
    assert all(both - 0.01 < c < both + 0.1 for c in r["completion_s"])


def test_streamed_reply_first_byte_after_the_prefill_last_after_the_decode() -> None:
    r = report("--script=1", f"--expertProfiles={ONE_SLOT}", "--streaming=1")
    (ttft,), (done,) = r["ttft_s"], r["completion_s"]
    assert PREFILL_S < ttft < PREFILL_S + 0.1  # queue 0 + prefill + network
    assert SERVICE_S < done < SERVICE_S + 0.1
    assert ttft < done
    # 100 one-token chunks: the text plus 100 x the default framing (258 bytes)
    assert r["bytes_delivered"] == [400 + 100 * 258]


def test_streaming_sends_more_packets_than_one_reply() -> None:
    flags = ("--script=1", f"--expertProfiles={ONE_SLOT}", "--chunkOverheadBytes=0")
    stream, whole = report(*flags, "--streaming=1"), report(*flags, "--streaming=0")
    assert stream["bytes_delivered"] == whole["bytes_delivered"] == [400]
    assert stream["packets_sent"][0] > whole["packets_sent"][0] + 50
    # one-shot: nothing before the generation is over
    assert whole["ttft_s"][0] > SERVICE_S > stream["ttft_s"][0]


def test_full_queue_rejects_with_a_reply_and_reports_it() -> None:
    # one slot, no waiting room: the second request is refused at once (a 503 reply)
    r = report("--script=1,1", "--expertProfiles=prefill=100,decode=50,slots=1,queue=0")
    assert r["subtask_rejected"] == [0, 1]
    assert r["subtask_delivered"] == [1, 0] and r["replies_lost"] == [1]
    assert r["queue_wait_s"][1] is None  # never served (NaN)
    assert r["ttft_s"][1] < 0.1  # the rejection comes back at once
    assert r["obs_queue_len"] == [0] and r["obs_queue_age_s"][0] >= 0


def test_local_subtasks_run_on_the_local_profile_and_fusion_adds_to_latency() -> None:
    r = report("--script=0,0", "--localProfile=prefill=100,decode=50,slots=1,queue=0",
               "--fusionTokens=100,50")  # fmt: skip
    assert r["queue_wait_s"][0] == 0 and r["queue_wait_s"][1] == pytest.approx(SERVICE_S, 1e-6)
    assert r["completion_s"][1] == pytest.approx(2 * SERVICE_S, abs=1e-6)
    fusion = 100 / 100 + 50 / 50
    assert r["task_latency_s"] == pytest.approx(2 * SERVICE_S + fusion, abs=1e-6)
    assert r["obs_queue_len"] == [None]  # no expert answered yet


def test_serving_off_ignores_the_serving_flags() -> None:
    base = run("--script=1,0", "--computeS=0.3").stdout
    other = run("--script=1,0", "--computeS=0.3", "--serving=0", "--streaming=0",
                "--tokensPerChunk=7", f"--expertProfiles={ONE_SLOT}").stdout  # fmt: skip
    assert base == other and "ttft_s" not in base


@pytest.mark.parametrize(
    ("flag", "problem"),
    [
        ("--expertProfiles=prefill=0,decode=50,slots=1,queue=4", "prefill: must be in (0"),
        ("--expertProfiles=prefill=100,decode=50/-3,slots=1,queue=4", "decode: must be in (0"),
        ("--expertProfiles=prefill=100,decode=50,slots=0,queue=4", "slots: must be a whole"),
        ("--expertProfiles=prefill=100,decode=50,slots=1", "queue is missing"),
        ("--expertProfiles=prefill=100,decode=50,slots=1,queue=4,speed=2", "unknown key"),
        ("--expertProfiles=a;b", "one profile or one per expert"),
        ("--localProfile=prefill=100,decode=,slots=1,queue=0", "decode"),
    ],
)
@pytest.mark.parametrize("program", [EDGE_MOE, EDGE_MOE_LTE])
def test_bad_profiles_fail_with_one_line(program: str, flag: str, problem: str) -> None:
    proc = subprocess.run([program, "--check", "--numExperts=3", flag], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    name = program.rsplit("/", 1)[-1]
    assert line.startswith(f"{name}: --{flag[2:].split('=')[0]}: ") and problem in line


def test_config_serving_section_becomes_flags_and_checks_names() -> None:
    cfg = load_config({
        "scenario": {"serving": {
            "enabled": True, "streaming": False, "tokens_per_chunk": 4,
            "profiles": {
                "laptop": {"prefill_tok_s": 250, "decode_tok_s": [101, 75],
                           "slots": 2, "queue_capacity": 8},
                "phone": {"prefill_tok_s": 40, "decode_tok_s": [12], "slots": 1,
                          "queue_capacity": 0},
            },
            "experts": ["laptop", "phone", "laptop"], "local": "phone",
        }},
    })  # fmt: skip
    argv = cfg.scenario.argv(1)
    assert "--serving=1" in argv and "--streaming=0" in argv and "--tokensPerChunk=4" in argv
    laptop = "prefill=250,decode=101/75,slots=2,queue=8"
    assert f"--expertProfiles={laptop};prefill=40,decode=12,slots=1,queue=0;{laptop}" in argv
    assert "--localProfile=prefill=40,decode=12,slots=1,queue=0" in argv
    off = load_config({}).scenario.argv(1)
    assert "--serving=0" in off and not any(a.startswith("--expertProfiles") for a in off)
    with pytest.raises(ConfigError, match="profile 'tablet' is not in profiles"):
        load_config({"scenario": {"serving": {"experts": "tablet"}}})
    with pytest.raises(ConfigError, match="names 2 profiles for 3 experts"):
        load_config({"scenario": {"serving": {
            "profiles": {"a": {"prefill_tok_s": 1, "decode_tok_s": [1], "slots": 1,
                               "queue_capacity": 0}},
            "experts": ["a", "a"]}}})  # fmt: skip


def test_env_info_carries_the_serving_measurements(table_path) -> None:
    from gymnasium.utils.env_checker import check_env

    from pybridge.env import EdgeMoEEnv

    env = EdgeMoEEnv({
        "backend": "ns3",
        "scenario": {"warmup_s": 0.2, "serving": {"enabled": True}},
        "tasks": {"table": str(table_path), "episode_tasks": 2, "gap_s": 0.2,
                  "deadline_s": 30.0},
    })  # fmt: skip
    try:
        check_env(env, skip_render_check=True)  # same seed, same info (no NaN in it)
        env.reset(seed=3)
        k = env.num_subtasks  # the fixture's table: 3 subtasks, 3 experts
        _, _, _, _, info = env.step(np.array([1, 0, 2]))
        for name in ("ttft_s", "completion_s", "queue_wait_s", "subtask_rejected"):
            assert info[name].shape == (k,)
        assert info["obs_queue_len"].shape == (env.num_experts,)
        assert np.all(info["ttft_s"] <= info["completion_s"])
        assert info["task_latency_s"] >= np.nanmax(info["completion_s"])
    finally:
        env.close()


def test_deadline_cuts_a_generation_and_the_task_waits_for_local_ones() -> None:
    # the expert's reply needs 2.48 s, the deadline is 1 s; the local one ends at 0.5 s
    local = "--localProfile=prefill=100,decode=50,slots=1,queue=0"
    r = report("--script=1,0", f"--expertProfiles={ONE_SLOT}", "--deadline=1", local,
               "--replyTokens=100,1")  # fmt: skip
    assert r["subtask_delivered"] == [0, 1] and r["replies_lost"] == [1]
    assert r["completion_s"][0] is None and 0.5 < r["ttft_s"][0] < 1  # streamed a bit
    assert r["completion_s"][1] == pytest.approx(PREFILL_S, abs=1e-6)  # one token: no decode
    assert r["task_latency_s"] == pytest.approx(1.0, abs=1e-6)


def test_check_resolves_the_serving_defaults_of_the_header() -> None:
    for program in (EDGE_MOE, EDGE_MOE_LTE):
        proc = subprocess.run([program, "--check"], capture_output=True, text=True, timeout=60)
        r = json.loads(proc.stdout)
        assert r["serving"] is bool(DEFAULTS["serving"])
        assert r["expertProfiles"] == DEFAULTS["expertProfiles"]
        assert r["localProfile"] == DEFAULTS["localProfile"]
        assert r["chunkOverheadBytes"] == DEFAULTS["chunkOverheadBytes"]


def test_lte_experts_serve_the_same_way() -> None:
    proc = run("--serving=1", "--script=1,1", f"--expertProfiles={ONE_SLOT}",
               program=EDGE_MOE_LTE)  # fmt: skip
    (r,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert r["subtask_delivered"] == [1, 1]
    assert SERVICE_S - 0.1 < r["queue_wait_s"][1] <= SERVICE_S
    assert PREFILL_S < r["ttft_s"][0] < r["completion_s"][0] < r["ttft_s"][1]


def test_task_tokens_come_from_the_table_columns_or_the_documented_estimate(tmp_path) -> None:
    from conftest import synthetic_frame

    from pybridge.env import BYTES_PER_TOKEN, TOKENS_PER_WORD, EdgeMoEEnv

    df = synthetic_frame(2, 3, 3)
    plain = tmp_path / "plain.parquet"
    df.to_parquet(plain)
    counted = tmp_path / "tokens.parquet"
    df.assign(
        prompt_tokens=np.arange(len(df)) + 10,
        completion_tokens=np.arange(len(df)) + 500,
        token_source="usage/usage",
    ).to_parquet(counted)
    action = np.array([1, 0, 3])
    tasks = {}
    for name, path in (("plain", plain), ("tokens", counted)):
        env = EdgeMoEEnv({"backend": "shannon", "tasks": {"table": str(path)}})
        env.reset(seed=0)
        p, tb = env.current_prompt, env.table
        tasks[name] = (env.build_task(action), p, tb)
        env.close()
    task, p, tb = tasks["tokens"]
    k = np.arange(3)
    assert task.reply_tokens.tolist() == tb.completion_tokens[p, k, action].tolist()
    assert task.prompt_tokens.tolist() == tb.prompt_tokens[p, k, action].tolist()
    assert task.fusion_prompt_tokens == task.reply_tokens.sum() == task.fusion_reply_tokens
    task, p, tb = tasks["plain"]
    words = tb.words[p, k, action]
    assert task.reply_tokens.tolist() == np.ceil(words * TOKENS_PER_WORD).tolist()
    request = tb.subtask_bytes[p] + 200  # tasks.request_overhead_bytes
    assert task.prompt_tokens.tolist() == np.ceil(request / BYTES_PER_TOKEN).tolist()
