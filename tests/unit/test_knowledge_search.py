"""The knowledge base's `search`: the best articles for a person to pick from, best first, over a floor."""

from __future__ import annotations

from bot.knowledge.index import BUNDLED, KnowledgeBase

RETURN = "I want to return this broken blender and get my money back, your return policy is a joke"


def kb() -> KnowledgeBase:
    return KnowledgeBase(BUNDLED, min_score=0.64, min_score_lexical=0.86)  # BM25 alone: no encoder


def test_search_ranks_articles_best_first_and_agrees_with_answer() -> None:
    base = kb()
    found = base.search("where is my order, it has not been delivered", "en", limit=3)
    assert 1 <= len(found) <= 3
    assert [a.score for a in found] == sorted((a.score for a in found), reverse=True)
    best = base.answer("where is my order, it has not been delivered", "en")
    assert best is not None and found[0].article == best.article and found[0].score == best.score


def test_search_keeps_what_scores_over_the_floor_of_the_scoring_used() -> None:
    base = kb()
    [article] = base.search(RETURN, "en", limit=3, floor=0.99, floor_lexical=0.5)
    assert article.article == "return-policy" and not article.answered  # under the answering bar
    assert base.search(RETURN, "en", floor=0.0, floor_lexical=0.9) == []
    assert base.search("", "en") == [] and base.search(RETURN, "xx") == []
