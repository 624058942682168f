"""Judge v4 (``offline-minilm-lm-v4``): the language-model coherence term and its errors.

The fast tests use a fake ``LMScorer``; the slow ones load the bundled SmolLM2 GGUF in
transformers (~40-70 s on this machine, once per process)."""

from __future__ import annotations

import sys

import pytest

from llm_pipeline.errors import BackendError
from llm_pipeline.judge import (
    DEFAULT_OFFLINE_JUDGE,
    JUDGES,
    LMScorer,
    OfflineJudge,
    OfflineLMJudge,
    make_offline_judge,
    sentences,
)
from llm_pipeline.testing import HashEmbedder

COHERENT = [
    (
        "Anna bought a small puppy at the market on Saturday. She carried it home in a basket "
        "lined with an old blanket. At home, the puppy sniffed every corner of the kitchen. "
        "Then it curled up by the stove and fell asleep. When Anna's father came home, he "
        "laughed and named it Biscuit."
    ),
    (
        "To make tea, first boil fresh water in a kettle. Put one tea bag into a warm cup. "
        "Pour the hot water over the bag and let it steep for three minutes. Then remove the "
        "bag and add milk or sugar if you like. Finally, let the tea cool for a moment before "
        "you drink it."
    ),
]
# The same sentences, order reversed (never the identity for these texts).
SHUFFLED = [" ".join(reversed(sentences(t))) for t in COHERENT]


class _FakeLM:
    """Context gain = fraction of consecutive sentence pairs in their original order."""

    def __init__(self, reference_order: list[str]) -> None:
        self.rank = {s: i for i, s in enumerate(reference_order)}

    def context_gain(self, sents: list[str]) -> float:
        ok = sum(
            self.rank.get(b, -1) == self.rank.get(a, -9) + 1
            for a, b in zip(sents, sents[1:], strict=False)
        )
        return 1.5 * ok / max(len(sents) - 1, 1)


def test_v4_adds_the_lm_term_to_v3():
    sents = sentences(COHERENT[0])
    ref = "a story about a girl and her new puppy"
    v3 = OfflineJudge(HashEmbedder())
    v4 = OfflineLMJudge(HashEmbedder(), lm=_FakeLM(sents))
    d3, d4 = v3.details(COHERENT[0], ref), v4.details(COHERENT[0], ref)
    assert (d4.topicality, d4.order, d4.repetition) == (d3.topicality, d3.order, d3.repetition)
    q = v4.params
    g = d4.lm
    assert d4.lm_gain == pytest.approx(1.5) and 0.5 < g < 1.0
    mix = q["w_t"] * d3.topicality + q["w_o"] * d3.order + q["w_g"] * g
    assert d4.score == pytest.approx(round(10 * d3.length * d3.repetition * mix, 3))
    assert v4.score(SHUFFLED[0], ref) < v4.score(COHERENT[0], ref)
    assert v4.score("", ref) == 0.0
    assert v4.details("Just one sentence here, nothing more to say.", ref).lm == 0.5


def test_judges_by_name():
    assert set(JUDGES) == {"offline-minilm-v3", "offline-minilm-lm-v4"}
    assert DEFAULT_OFFLINE_JUDGE == "offline-minilm-lm-v4"
    assert make_offline_judge("offline-minilm-v3", HashEmbedder()).name == "offline-minilm-v3"
    with pytest.raises(ValueError, match="unknown offline judge 'v9'"):
        make_offline_judge("v9", HashEmbedder())


def test_missing_gguf_is_one_line_error(tmp_path):
    with pytest.raises(BackendError, match="model file not found") as exc:
        LMScorer(tmp_path / "absent.gguf")
    assert "\n" not in str(exc.value)


def test_missing_transformers_is_one_line_error(tmp_path, monkeypatch):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "transformers", None)  # import raises ImportError
    with pytest.raises(BackendError, match="needs torch and transformers") as exc:
        LMScorer(fake).loglik("Hello.")
    assert "\n" not in str(exc.value) and "pip install transformers gguf accelerate" in str(
        exc.value
    )


def test_corrupt_gguf_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(BackendError) as exc:
        LMScorer(bad).loglik("Hello.")
    assert "\n" not in str(exc.value)


def test_validate_judge_cli_rejects_unknown_judge(capsys):
    from netmoe.cli import main

    assert main(["table", "validate-judge", "--judge", "v9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netmoe: error: unknown offline judge") and "\n" not in err


@pytest.fixture(scope="module")
def lm():
    return LMScorer()


@pytest.mark.slow
def test_lm_term_is_deterministic(lm):
    first = [lm.context_gain(sentences(t)) for t in COHERENT]
    fresh = LMScorer()  # a new cache; the model itself is shared in the process
    assert [fresh.context_gain(sentences(t)) for t in COHERENT] == first
    v4 = OfflineLMJudge(HashEmbedder(), lm=fresh)
    assert v4.score(COHERENT[0], "a puppy") == v4.score(COHERENT[0], "a puppy")


@pytest.mark.slow
def test_lm_term_prefers_the_coherent_order(lm):
    for good, bad in zip(COHERENT, SHUFFLED, strict=True):
        assert lm.context_gain(sentences(good)) > lm.context_gain(sentences(bad))
        total, n = lm.loglik(good)
        assert n > 20 and -6 < total / n < 0
    v4 = OfflineLMJudge(HashEmbedder(), lm=lm)
    for good, bad in zip(COHERENT, SHUFFLED, strict=True):
        assert v4.score(good, "tea or a puppy") > v4.score(bad, "tea or a puppy")


@pytest.mark.slow
def test_v4_validation_rates_on_set_2(lm):
    """Recorded in docs/llm-pipeline.md (development set 2; the held-out set 4 takes ~14
    min: ``netmoe table validate-judge --judge offline-minilm-lm-v4 --set ...4.yaml``)."""
    from llm_pipeline.embed import get_embedder
    from llm_pipeline.judge_validation import HELDOUT, load_items, validate_judge

    judge = OfflineLMJudge(get_embedder(), lm=lm)
    r = validate_judge(judge, load_items(HELDOUT.with_name("judge_heldout2.yaml")))
    assert (r.shuffle_wins, r.shuffle_pairs, r.topic_wins, r.topic_pairs) == (28, 30, 30, 30)


def test_chunk_tokens_must_be_positive():
    with pytest.raises(ValueError, match="chunk_tokens must be >= 1"):
        LMScorer(chunk_tokens=0)


@pytest.mark.slow
def test_chunked_values_depend_on_the_text_alone_and_reuse_shared_starts(lm):
    """Chunked evaluation (the v2 table's judge setting): a text's value is the same
    whatever was scored before, within float rounding of the one-pass value, and texts
    that share their first passages (fused answers) reuse those chunks."""
    a, b = COHERENT
    texts = [f"{a} {b}", f"{a} {b} {a}", f"{a} {a}", f"{b} {a}"]
    forward = LMScorer(chunk_tokens=16)
    backward = LMScorer(chunk_tokens=16)
    got = [forward.loglik(t) for t in texts]
    assert [backward.loglik(t) for t in reversed(texts)][::-1] == got
    for (chunked, n), (one_pass, m) in zip(got, (lm.loglik(t) for t in texts), strict=True):
        assert n == m and chunked == pytest.approx(one_pass, abs=1e-3)
    tokens = sum(n for _, n in got)
    # text 2 starts with all of text 1 (two passages, > 120 tokens), text 3 with text 2's
    # first passage (> 60 tokens): whole 16-token chunks of those starts are not recomputed
    assert forward.positions_computed <= tokens - 160
