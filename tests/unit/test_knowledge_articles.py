"""Knowledge-base articles read from real files in a temporary folder, `check`'s findings, and answers by
words alone (no encoder: what the bot does with the rule classifier)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import KnowledgeSettings
from bot.errors import ConfigError
from bot.knowledge import BUNDLED, KnowledgeBase
from bot.knowledge.articles import check, read_folder
from bot.knowledge.index import queries

THRESHOLDS = KnowledgeSettings().model_dump(include={"min_score", "min_score_lexical"})
RESET = """---
title: Resetting your password
questions: ["how do I reset my password", "forgot my password"]
tags: [account]
---
You can reset your password at Settings > Account.
We email a link that works for 30 minutes.

[How passwords work](https://example.com/help/passwords)

Editors' note: this paragraph is never sent.
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def only_article(folder: Path):  # type: ignore[no-untyped-def]
    articles, problems = read_folder(folder)
    assert problems == []
    (article,) = articles
    return article


def test_front_matter_and_the_first_paragraph_make_the_article(tmp_path: Path) -> None:
    write(tmp_path, "reset-password.md", RESET)
    article = only_article(tmp_path)
    assert (article.stem, article.title, article.language, article.tags) == (
        "reset-password",
        "Resetting your password",
        "en",
        ("account",),
    )
    assert article.questions == ("how do I reset my password", "forgot my password")
    assert article.phrasings == ("Resetting your password", "how do I reset my password", "forgot my password")


def test_the_reply_is_the_first_paragraph_on_one_line_and_a_link_paragraph_after_it(tmp_path: Path) -> None:
    write(tmp_path, "reset-password.md", RESET)
    assert only_article(tmp_path).reply == (
        "You can reset your password at Settings > Account. We email a link that works for 30 minutes.\n"
        "How passwords work: https://example.com/help/passwords"
    )


def test_an_article_without_front_matter_takes_its_title_from_the_heading(tmp_path: Path) -> None:
    write(
        tmp_path,
        "hours.md",
        "# Opening hours\n\nWe are open **every day** from 8 to 20, see [hours](https://x.test/h).\n",
    )
    article = only_article(tmp_path)
    assert (article.title, article.questions, article.language) == ("Opening hours", (), "en")
    assert article.reply == "We are open every day from 8 to 20, see hours (https://x.test/h)."


def test_without_title_or_heading_the_file_name_is_the_title(tmp_path: Path) -> None:
    write(tmp_path, "gift-cards.md", "---\nlanguage: ES\n---\nLas tarjetas regalo no caducan.\n")
    article = only_article(tmp_path)
    assert (article.title, article.language) == ("Gift cards", "es")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ntitle: a: b\n---\nReply.\n", "front matter is not valid YAML at line 2"),
        ("---\ntitle: A\nquestion: [a]\n---\nReply.\n", "question: unknown key"),
        ("---\nquestions: how do I reset\n---\nReply.\n", "questions: Input should be a valid tuple"),
        ("---\nquestions: ['ok', '  ']\n---\nReply.\n", "a question is empty"),
        ("---\nlanguage: English\n---\nReply.\n", "'English' is not a language code"),
        ("---\ntitle: A\n", "has no closing --- line"),
        ("---\n- a\n- b\n---\nReply.\n", "front matter must be a mapping"),
        ("---\ntitle: Only a title\n---\n\n# A heading\n", "the body is empty"),
    ],
)
def test_a_broken_article_is_reported_with_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    write(tmp_path, "broken.md", text)
    articles, problems = read_folder(tmp_path)
    assert articles == []
    assert len(problems) == 1 and problem in problems[0].message and problems[0].level == "error"


def test_check_finds_a_question_two_articles_share_but_not_across_languages(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\nquestions: ['Where is my order?']\n---\nA.\n")
    write(tmp_path, "b.md", "---\nquestions: ['where is my order']\n---\nB.\n")
    write(tmp_path, "es/c.md", "---\nlanguage: es\nquestions: ['where is my order']\n---\nC.\n")
    _, problems = check(tmp_path)
    assert [(p.path.name, p.level) for p in problems] == [("b.md", "error")]
    assert "also in a.md" in problems[0].message


def test_check_warns_about_an_article_without_questions_and_a_question_listed_twice(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\nquestions: ['track my order', 'Track my order!']\n---\nA.\n")
    write(tmp_path, "b.md", "B only has a reply.\n")
    _, problems = check(tmp_path)
    assert sorted((p.path.name, p.level) for p in problems) == [("a.md", "warning"), ("b.md", "warning")]


def test_two_articles_with_one_name_in_subfolders_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, "en/returns.md", "Returns take 30 days.\n")
    write(tmp_path, "es/returns.md", "---\nlanguage: es\n---\nDevoluciones en 30 días.\n")
    articles, problems = read_folder(tmp_path)
    assert [a.stem for a in articles] == ["returns"]
    assert len(problems) == 1 and "same name as en/returns.md" in problems[0].message


def test_hidden_files_and_other_files_are_not_articles(tmp_path: Path) -> None:
    write(tmp_path, ".drafts/new.md", "---\ntitle: [broken\n---\n")
    write(tmp_path, "notes.txt", "not an article")
    write(tmp_path, "a.md", "A.\n")
    articles, problems = read_folder(tmp_path)
    assert [a.stem for a in articles] == ["a"] and problems == []


def test_an_empty_or_missing_folder_is_reported(tmp_path: Path) -> None:
    assert [p.level for p in check(tmp_path)[1]] == ["warning"]
    assert [p.message for p in check(tmp_path / "nope")[1]] == ["is not a folder of Markdown articles"]


def test_the_bot_refuses_a_folder_with_a_broken_article_and_names_it(tmp_path: Path) -> None:
    write(tmp_path, "good.md", "Fine.\n")
    write(tmp_path, "bad.md", "---\ntitel: typo\n---\nReply.\n")
    with pytest.raises(ConfigError, match=r"bad\.md: error: front matter: titel: unknown key"):
        KnowledgeBase(tmp_path, **THRESHOLDS)
    with pytest.raises(ConfigError, match="is not a folder"):
        KnowledgeBase(tmp_path / "missing", **THRESHOLDS)


def test_the_bundled_folder_checks_clean() -> None:
    articles, problems = check(BUNDLED)
    assert problems == [] and len(articles) >= 8


def test_mentions_and_links_are_ignored_and_long_messages_are_scored_by_sentence() -> None:
    assert queries("@brand how do I reset my password? https://t.co/x1 <@U123>") == ["how do I reset my password?"]
    asked = queries("Hello. How do I reset my password? The app keeps logging me out every single morning.")
    assert asked[1:] == ["How do I reset my password?", "The app keeps logging me out every single morning."]
    assert queries("  @brand https://t.co/x1 ") == []


def test_by_words_alone_a_close_question_is_answered_and_a_long_message_finds_its_question() -> None:
    kb = KnowledgeBase(BUNDLED, **THRESHOLDS)
    long = "Hi there, I have been a customer for years. How do I reset my password? It stopped working yesterday."
    found = kb.answer(long)
    assert found is not None and found.article == "reset-password" and found.answered
    assert found.reply.startswith("You can reset your password")
    missed = kb.answer("Which warehouse ships orders to Iceland?")
    assert missed is not None and not missed.answered


def test_articles_answer_only_in_their_own_language(tmp_path: Path) -> None:
    write(tmp_path, "reembolso.md", "---\nlanguage: es\nquestions: ['como pido un reembolso']\n---\nDesde Pedidos.\n")
    write(tmp_path, "refund.md", "---\nquestions: ['how do I ask for a refund']\n---\nFrom Orders.\n")
    kb = KnowledgeBase(tmp_path, **THRESHOLDS)
    spanish = kb.answer("como pido un reembolso", "es")
    assert spanish is not None and spanish.article == "reembolso" and spanish.answered
    english = kb.answer("how do I ask for a refund", "unknown")  # undetected language: English
    assert english is not None and english.article == "refund"
    assert kb.answer("wie bekomme ich eine Erstattung", "de") is None  # no German articles at all


def test_an_edited_folder_is_picked_up_and_a_broken_edit_keeps_the_last_good_articles(tmp_path: Path) -> None:
    write(tmp_path, "hours.md", "---\nquestions: ['when are you open']\n---\nEvery day, 8 to 20.\n")
    kb = KnowledgeBase(tmp_path, **THRESHOLDS, check_seconds=0)
    before = kb.answer("do gift cards expire")
    assert before is not None and not before.answered
    write(tmp_path, "gift-cards.md", "---\nquestions: ['do gift cards expire']\n---\nThey never expire.\n")
    found = kb.answer("do gift cards expire")  # the next question after a change sees it
    assert found is not None and (found.article, found.answered) == ("gift-cards", True)
    write(tmp_path, "gift-cards.md", "---\nquestions: ['do gift cards expire'\n---\nHalf-saved.\n")
    assert not kb.reload()
    assert [a.stem for a in kb.articles] == ["gift-cards", "hours"]


@pytest.mark.parametrize(
    ("url", "beside"),
    [
        ("sqlite:///data/rapport.db", True),
        ("sqlite+aiosqlite:///data/rapport.db", True),
        ("sqlite:///data/rapport.db?mode=rwc", True),
        ("sqlite:///:memory:", False),
        ("postgresql://rapport@db/rapport", False),
    ],
)
def test_the_vector_cache_sits_beside_a_sqlite_file_whatever_the_driver(url: str, beside: bool) -> None:
    from bot.knowledge.cache import default_folder

    folder = default_folder(url)
    assert (folder == Path("data") / ".rapport-cache") is beside
