"""Gate: rule and LLM splits, routing by meaning."""

from __future__ import annotations

import numpy as np
import pytest

from llm_pipeline.gate import (
    clause_split,
    parse_llm_split,
    route_scores,
    rule_split,
    split_prompt,
)
from llm_pipeline.testing import FakeBackend, HashEmbedder

PAPER = "Explain the common GAI models, their principles and application scenarios."


def test_clause_split_reproduces_the_papers_example():
    assert clause_split(PAPER, 3) == [
        "Explain the common GAI models",
        "Explain their principles",
        "Explain application scenarios",
    ]
    assert clause_split(PAPER, 2) is None  # three clauses do not make two subtasks


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
def test_rule_split_gives_k_distinct_subtasks_for_any_type(k):
    for ctype in ("story", "howto", "product", "travel", "news", "unknown-type"):
        parts = rule_split("Write about a small harbour town in winter.", k, ctype)
        assert len(parts) == k and len(set(parts)) == k
        assert all("harbour town" in p for p in parts)


def test_story_split_goes_from_opening_to_ending():
    parts = rule_split("Write a story about a fox.", 3, "story")
    assert "opening" in parts[0] and "ending" in parts[-1]


def test_parse_llm_split_accepts_a_clean_numbered_list():
    answer = (
        "Here you go:\n1. Describe the fox and its forest home.\n"
        "2) Tell how the fox loses its way in the snow.\n3. Explain how the fox gets home."
    )
    assert parse_llm_split(answer, "Write a story about a lost fox in the snow.", 3) == [
        "Describe the fox and its forest home.",
        "Tell how the fox loses its way in the snow.",
        "Explain how the fox gets home.",
    ]


@pytest.mark.parametrize(
    "answer",
    [
        "1. Describe the fox.\n2. Tell about the fox.",  # too few
        "1. Describe the fox.\n2. Describe the fox.\n3. Describe the fox.",  # duplicates
        "1. Buy some milk today.\n2. Call the bank now.\n3. Walk the dog later.",  # off-topic
        "The fox is a clever animal that lives in forests.",  # no list at all
    ],
)
def test_parse_llm_split_rejects_unusable_answers(answer):
    assert parse_llm_split(answer, "Write a story about a lost fox in the snow.", 3) is None


def test_split_prompt_falls_back_to_rules_when_llm_answer_is_unusable():
    parts, method = split_prompt("Write a story about a fox.", 3, "story", "auto", FakeBackend())
    assert method == "rules" and len(parts) == 3
    parts, method = split_prompt("Write a story about a fox.", 3, "story", "rules", None)
    assert method == "rules"


def test_route_scores_prefer_the_matching_specialty():
    emb = HashEmbedder()
    subtasks = ["coffee brewing steps coffee", "planet orbit planet science"]
    specialties = ["coffee brewing steps", "planet orbit science", "music"]
    r = route_scores(emb, subtasks, specialties)
    assert r.shape == (2, 3) and ((r >= 0) & (r <= 1)).all()
    assert np.argmax(r[0]) == 0 and np.argmax(r[1]) == 1


@pytest.mark.slow
def test_route_scores_with_real_minilm():
    from llm_pipeline.embed import get_embedder

    r = route_scores(
        get_embedder(),
        [
            "Write the opening scene of a story about a dragon.",
            "Explain how photosynthesis works in plants.",
        ],
        ["creative writing of stories and characters", "science explanations of how things work"],
    )
    assert r[0, 0] > r[0, 1] and r[1, 1] > r[1, 0]
