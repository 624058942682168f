"""Judges: the offline scorer's terms and its validation; the LLM judge's parsing."""

from __future__ import annotations

import os

import pytest

from llm_pipeline.errors import BackendError
from llm_pipeline.judge import (
    PAPER_JUDGE_PROMPT,
    LLMJudge,
    OfflineJudge,
    order_violations,
    parse_score,
    repetition,
    sentences,
)
from llm_pipeline.testing import HashEmbedder

STORY = (
    "Mira found a small dog behind the bakery. It was thin and cold. She gave it bread. "
    "Finally, the dog followed her home."
)


def test_sentences_and_repetition():
    assert len(sentences(STORY)) == 4
    assert repetition("a b c d e f") == 1.0
    assert repetition("the cat sat " * 10) < 0.2


def test_order_violations_catch_displaced_cues():
    s = sentences(STORY)
    assert order_violations(s) == 0
    assert order_violations([s[1], s[0], s[2], s[3]]) >= 1  # "It ..." opens the text
    assert order_violations([s[0], s[3], s[1], s[2]]) >= 1  # "Finally" before the end
    assert order_violations(["I saw the bottle.", "Then a bottle fell."]) == 1  # the X .. a X
    assert order_violations(["Then a bottle fell.", "I saw the bottle."]) == 1  # "Then" first


def test_offline_score_range_and_penalties():
    j = OfflineJudge(HashEmbedder())
    assert j.score("", "anything") == 0.0
    good = j.details(STORY, "a story about a dog and a bakery")
    assert 0 <= good.score <= 10
    looped = j.score("The dog ran. " * 30, "a story about a dog")
    assert looped < good.score  # repetition term
    short = j.score("Dog.", "a story about a dog")
    assert short < good.score  # length term


@pytest.mark.parametrize(
    "answer, value",
    [
        ("8", 8.0),
        ("Score: 7.5/10", 7.5),
        ("I would give it 10.", 10.0),
        ("0", 0.0),
        ("no idea", None),
        ("It is 42 out of 100", None),
        ("1. 10", 10.0),  # a list marker is not the score
        ("8. Well written", 8.0),  # ... unless no other number follows
        ("Your story is excellent. Here's a", None),
        ("3 out of 5", None),
        ("4/5, so 8", 8.0),
        ("Score: 7 out of 10", 7.0),
        ("10.5", None),
        ("-3", None),
        ("2nd draft, 85%", None),
    ],
)
def test_parse_score(answer, value):
    assert parse_score(answer) == value


class _Scripted:
    name, model_name = "scripted", "scripted"

    def __init__(self, answers):
        self.answers, self.seen = list(answers), []

    def generate(self, messages, max_tokens=8, temperature=0.0, seed=0, top_p=0.95):
        from llm_pipeline.backends import Generation

        self.seen.append(messages[-1]["content"])
        return Generation(self.answers.pop(0), 0.0, "scripted", "scripted")


def test_llm_judge_uses_the_papers_prompt_and_retries():
    b = _Scripted(["hmm", "6.5"])
    assert LLMJudge(b).score("Once upon a time.", "prompt") == 6.5
    assert PAPER_JUDGE_PROMPT in b.seen[0] and "Once upon a time." in b.seen[0]
    with pytest.raises(BackendError, match="no 0-10 score"):
        LLMJudge(_Scripted(["?", "?", "?"])).score("x", "p")


def test_before_first_ask_runs_once_and_again_after_it_failed():
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 1:
            raise BackendError("server down")

    judge = LLMJudge(_Scripted(["7", "8", "9"]), before_first_ask=check)
    assert calls == []  # made, never asked: no check
    with pytest.raises(BackendError, match="server down"):
        judge.ask("x", "p")
    assert judge.ask("x", "p").score == 7 and judge.ask("y", "p").score == 8
    assert len(calls) == 2  # failed once, passed once, then never again


def test_wilson_interval_matches_a_hand_worked_value():
    from llm_pipeline.judge_validation import wilson_interval

    # 28/30, z = 1.96: centre (p + z^2/60) / (1 + z^2/30) = 0.88414, half-width 0.09738
    lo, hi = wilson_interval(28, 30)
    assert lo == pytest.approx(0.78676, abs=1e-4) and hi == pytest.approx(0.98152, abs=1e-4)
    assert wilson_interval(30, 30)[1] == 1.0 and wilson_interval(0, 30)[0] == 0.0
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, min_shuffle",
    [("judge_heldout.yaml", 0.8), ("judge_heldout2.yaml", 0.9), ("judge_heldout3.yaml", 0.65)],
)
def test_offline_judge_validation_rates(name, min_shuffle):
    """Rates recorded in docs/llm-pipeline.md. The issue's target is 0.9 for both; judge v3
    meets it for topicality only: on the 150-item fresh set its order rate is 68.2 %, so the
    floor here guards against regressions, it is not the target."""
    from llm_pipeline.embed import get_embedder
    from llm_pipeline.judge_validation import HELDOUT, load_items, validate_judge

    r = validate_judge(OfflineJudge(get_embedder()), load_items(HELDOUT.parent / name))
    assert r.topic_rate >= 0.9
    assert r.shuffle_rate >= min_shuffle


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("NETMOE_LONG_TESTS") != "1",
    reason="the LM judges 252 long texts (about 5 min here, which would double the slow "
    "tier): NETMOE_LONG_TESTS=1 python3 -m pytest -m slow tests/test_llm_judge.py",
)
def test_table_judge_ranks_long_texts_at_the_issues_90_percent():
    """The judge exactly as the v2 table was judged (v4, 64-token LM chunks) on held-out
    set 5's long passages (written after v4 was frozen): shuffled and off-topic foils below
    the original in at least 90% of pairs (issue 17's target; docs/llm-pipeline.md
    records the rates). About 5 min (270 CPU-s here): the LM scores every passage and
    its foils."""
    from llm_pipeline.embed import get_embedder
    from llm_pipeline.judge import make_offline_judge
    from llm_pipeline.judge_validation import HELDOUT, load_items, validate_judge

    judge = make_offline_judge("offline-minilm-lm-v4", get_embedder(), 64)
    r = validate_judge(judge, load_items(HELDOUT.with_name("judge_heldout5.yaml")))
    assert r.shuffle_rate >= 0.9 and r.topic_rate >= 0.9, (r.shuffle_rate, r.topic_rate)


def test_heldout_set_5_holds_36_long_passages():
    """Set 5 (issue 17: the v2 table's reply lengths) is a default held-out set: 6 content
    types x 6 items, every passage 150-260 words and at least 8 sentences, prompts distinct."""
    from collections import Counter

    from llm_pipeline.judge_validation import HELDOUT, HELDOUT_SETS, load_items

    path = HELDOUT.with_name("judge_heldout5.yaml")
    assert path in HELDOUT_SETS
    items = load_items(path)
    assert len(items) == 36
    kinds = Counter(item["type"] for item in items)
    assert kinds == dict.fromkeys(("story", "explainer", "howto", "product", "travel", "news"), 6)
    for item in items:
        assert 150 <= len(item["text"].split()) <= 260, item["prompt"]
        assert len(sentences(item["text"])) >= 8, item["prompt"]
    assert len({item["prompt"] for item in items}) == 36


class _RecordingJudge:
    """Scores a text by its length and records every (text, reference) pair it sees."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def score(self, text: str, reference: str) -> float:
        self.seen.append((text, reference))
        return float(len(text))


def test_long_items_join_a_passage_with_the_next_of_its_type():
    """Long texts for the fused-answer check: item i + the next item of its type (wrapping
    round), item i's prompt; no off-topic foil contains item i's own passage."""
    from llm_pipeline.judge_validation import long_items, validate_judge

    items = [
        {"type": t, "prompt": f"prompt {t}{k}", "text": f"{t}{k} one. {t}{k} two. {t}{k} three."}
        for t in ("a", "b")
        for k in range(3)
    ]
    long = long_items(items)
    assert [x["parts"] for x in long] == [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)]
    assert long[2]["text"] == f"{items[2]['text']} {items[0]['text']}"
    assert long[2]["prompt"] == items[2]["prompt"] and long[2]["type"] == "a"
    judge = _RecordingJudge()
    r = validate_judge(judge, long, shuffles=2, off_topic=3)
    assert (r.shuffle_pairs, r.topic_pairs) == (12, 18)
    for i, item in enumerate(long):
        own = items[i]["text"]
        foils = [
            t for t, ref in judge.seen if ref == item["prompt"] and t in (x["text"] for x in long)
        ]
        assert all(own not in t for t in foils if t != item["text"])
    with pytest.raises(ValueError, match="at least 2 items"):
        long_items(items[:4])
