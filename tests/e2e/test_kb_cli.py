"""`rapport kb ask|list|check` as a user runs them: a real process, a knowledge folder in a temp directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULES = '[nlp]\nbackend = "rules"\n'
KEYS = ["answered", "article", "score", "reply"]


def kb(*args: str, cwd: Path, config: str = RULES, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `rapport kb ...` in `cwd` with `config` (the rule classifier unless told: BM25 alone, quick)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "SLACK_", "DISCORD_", "X_"))}
    (cwd / "rapport.toml").write_text(config)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200", RAPPORT_CONFIG=str(cwd / "rapport.toml"))
    # This checkout's code, whichever copy of Rapport the interpreter has installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "bot", "kb", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def folder_config(folder: Path) -> str:
    return RULES + f'[knowledge]\npath = "{folder}"\n'


def test_ask_json_prints_exactly_the_four_keys_of_an_answer(tmp_path: Path) -> None:
    result = kb("ask", "--json", "how do I reset my password?", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert list(got) == KEYS
    assert (got["answered"], got["article"]) == (True, "reset-password")
    assert got["reply"].startswith("You can reset your password") and 0.8 <= got["score"] <= 1.0


def test_ask_json_for_an_unanswered_question_has_no_article_and_no_reply(tmp_path: Path) -> None:
    result = kb("ask", "--json", "what is the meaning of life", cwd=tmp_path)
    got = json.loads(result.stdout)
    assert result.returncode == 0 and list(got) == KEYS
    assert (got["answered"], got["article"], got["reply"]) == (False, None, "")
    assert isinstance(got["score"], float) and got["score"] < 0.8


def test_ask_jsonl_answers_each_line_with_its_id_and_reports_bad_lines(tmp_path: Path) -> None:
    lines = [
        '{"id": "q1", "text": "how do I track my order"}',
        "{not json",
        '{"id": 7, "text": "what is the meaning of life"}',
        '{"id": "q3", "text": 5}',
    ]
    result = kb("ask", "--jsonl", cwd=tmp_path, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["q1", 2, 7, "q3"]
    assert list(rows[0]) == ["id", *KEYS] and (rows[0]["answered"], rows[0]["article"]) == (True, "track-order")
    assert "not valid JSON" in rows[1]["error"] and "'text' must be a string" in rows[3]["error"]
    assert (rows[2]["answered"], rows[2]["article"]) == (False, None)


def test_ask_needs_a_question_or_jsonl(tmp_path: Path) -> None:
    result = kb("ask", cwd=tmp_path)
    assert result.returncode == 2 and "give a question" in result.stderr


def test_check_passes_on_the_bundled_folder(tmp_path: Path) -> None:
    result = kb("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    bundled = len(list((Path(__file__).parents[2] / "bot" / "data" / "knowledge").glob("*.md")))
    assert f"{bundled} articles" in result.stdout and "0 error(s)" in result.stdout


def test_check_exits_1_naming_a_broken_article_and_a_shared_question(tmp_path: Path) -> None:
    articles = tmp_path / "kb"
    articles.mkdir()
    (articles / "a.md").write_text("---\nquestions: ['where is my order']\n---\nA.\n")
    (articles / "b.md").write_text("---\nquestions: ['Where is my order?']\n---\nB.\n")
    (articles / "c.md").write_text("---\ntitle: [broken\n---\nC.\n")
    (articles / "d.md").write_text("---\ntitle: Empty\n---\n")
    result = kb("check", cwd=tmp_path, config=folder_config(articles))
    assert result.returncode == 1
    assert "b.md: question 'Where is my order?' is also in a.md" in result.stderr
    assert "c.md: front matter is not valid YAML" in result.stderr
    assert "d.md: the body is empty" in result.stderr
    assert "2 articles" in result.stdout and "3 error(s)" in result.stdout


def test_list_shows_every_article(tmp_path: Path) -> None:
    articles = tmp_path / "kb"
    articles.mkdir()
    (articles / "gift-cards.md").write_text("---\nquestions: [do gift cards expire]\ntags: [cards]\n---\nNever.\n")
    table = kb("list", cwd=tmp_path, config=folder_config(articles))
    assert table.returncode == 0, table.stderr
    assert "gift-cards" in table.stdout and "Gift cards" in table.stdout and "Never." in table.stdout
    listed = json.loads(kb("list", "--json", cwd=tmp_path, config=folder_config(articles)).stdout)
    assert listed == [
        {
            "article": "gift-cards",
            "language": "en",
            "title": "Gift cards",
            "questions": ["do gift cards expire"],
            "tags": ["cards"],
            "reply": "Never.",
        }
    ]


def test_an_old_faq_section_says_where_it_went(tmp_path: Path) -> None:
    result = kb("check", cwd=tmp_path, config=RULES + '[faq]\npath = "faq.toml"\n')
    assert result.returncode == 2 and "[faq] is replaced by [knowledge]" in result.stderr


@pytest.mark.model
def test_ask_with_the_model_answers_a_paraphrase_and_caches_the_vectors(tmp_path: Path) -> None:
    result = kb("ask", "--json", "What are your opening hours for phone support?", cwd=tmp_path, config="")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert (got["answered"], got["article"]) == (True, "opening-hours")
    assert list((tmp_path / ".rapport-cache").glob("knowledge-*.npz"))  # beside the default rapport.db
