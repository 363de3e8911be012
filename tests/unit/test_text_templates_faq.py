"""Small pure pieces: text cleaning, reply templates, knowledge-base matching by words, outbox backoff, replay
lines."""

import pytest

from bot.config import DEFAULT_TEMPLATES, KnowledgeSettings, OutboxSettings
from bot.errors import ConfigError, InputError
from bot.knowledge import BUNDLED, KnowledgeBase
from bot.outbox import backoff
from bot.templates import render
from bot.text import clean
from connectors.replay import parse_line


def test_clean_replaces_lone_surrogates_and_drops_controls_but_keeps_text() -> None:
    text, changed = clean("bad\ud800 order\x00\x07 line\nnext\ttab 😀")
    assert changed and text == "bad\ufffd order line\nnext\ttab 😀"
    assert clean("plain") == ("plain", False)


def test_templates_fill_fields_and_do_not_expand_braces_in_values() -> None:
    assert render(DEFAULT_TEMPLATES, "thanks", name="Ana") == "Thank you, Ana! That means a lot to the team."
    assert "{ticket}" in render({"t": "hi {name}"}, "t", name="{ticket}")
    with pytest.raises(ConfigError, match="no template named"):
        render(DEFAULT_TEMPLATES, "missing")


def test_bundled_knowledge_base_answers_close_questions_only_by_words_alone() -> None:
    """Without an encoder (the rule classifier) BM25 alone answers, against its own threshold."""
    kb = KnowledgeBase(BUNDLED, **KnowledgeSettings().model_dump(include={"min_score", "min_score_lexical"}))
    match = kb.answer("How can I reset my password?")
    assert match is not None and match.article == "reset-password" and match.answered and match.score > 0.8
    off_topic = kb.answer("what is the meaning of life")
    assert off_topic is not None and not off_topic.answered
    assert kb.answer("") is None


def test_backoff_doubles_and_is_capped() -> None:
    s = OutboxSettings(backoff_initial=2, backoff_max=10)
    assert [backoff(n, s) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]


def test_replay_line_parses_with_defaults() -> None:
    m = parse_line('{"channel": "X", "id": 5, "author_id": "a", "text": "hi", "sent_at": "2026-01-02T03:04:05Z"}', 1)
    assert (m.channel, m.external_id, m.conversation_id, m.connector) == ("x", "5", "x:a", "replay")
    assert m.sent_at.year == 2026 and m.sent_at.tzinfo is not None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"channel": "discord", "id": "1", "author_id": "a"}', "missing 'text'"),
        ('{"channel": "myspace", "id": "1", "author_id": "a", "text": "x"}', "unknown channel 'myspace'"),
        ('{"channel": "x", "id": "1", "author_id": "a", "text": 5}', "'text' must be a string"),
        ('{"channel": "x", "id": "1", "author_id": "a", "text": "x", "sent_at": "yesterday"}', "sent_at"),
    ],
)
def test_bad_replay_lines_name_the_line_and_problem(line: str, problem: str) -> None:
    with pytest.raises(InputError, match=f"line 7: .*{problem}"):
        parse_line(line, 7)
