"""The `rapport` command as a user runs it: a real process, a real SQLite file in a temp directory."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.x.budget import Usage, month_key

RULES = '[nlp]\nbackend = "rules"\n'


def rapport(
    *args: str, cwd: Path, stdin: str | None = None, config: str | None = RULES, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in `cwd`. By default with the rule classifier, so CLI behaviour is tested quickly."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "SLACK_", "DISCORD_", "X_"))}
    full_env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "200"}, **(env or {}))
    if config is not None:
        (cwd / "rapport.toml").write_text(config)
        full_env["RAPPORT_CONFIG"] = str(cwd / "rapport.toml")
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            t: conn.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("messages", "customers", "escalations", "replies")
        }


def test_demo_fills_its_own_database_and_exits_0(tmp_path: Path) -> None:
    result = rapport("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Escalations" in result.stdout and "Customers" in result.stdout and "duplicate (ignored)" in result.stdout
    got = counts(tmp_path / "rapport-demo.db")
    assert got["messages"] == 48 and got["escalations"] > 5 and got["replies"] > 10 and got["customers"] == 44
    assert not (tmp_path / "rapport.db").exists()  # the configured database is never the demo's


def test_demo_run_twice_shows_the_same_results(tmp_path: Path) -> None:
    first = rapport("demo", cwd=tmp_path)
    second = rapport("demo", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    summary = [line for line in first.stdout.splitlines() if " messages, " in line]
    assert summary and summary == [line for line in second.stdout.splitlines() if " messages, " in line]
    assert "50 messages, 2 duplicate" in summary[0]


def test_demo_tables_never_break_a_word_at_80_columns(tmp_path: Path) -> None:
    """Every word in the 80-column demo output is whole: a word of a demo text, a reply or a heading."""
    result = rapport("demo", cwd=tmp_path, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    wide = rapport("demo", "--database", "wide.db", cwd=tmp_path, env={"COLUMNS": "400"}).stdout
    words = set(re.findall(r"\w+", wide))
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    broken = sorted({w for line in lines for w in re.findall(r"\w+(?!…)\b", line) if w not in words})
    assert broken == []


def test_replaying_the_same_file_twice_adds_no_reply_and_no_escalation(tmp_path: Path) -> None:
    demo = Path(__file__).parents[2] / "bot" / "data" / "demo.jsonl"
    first = rapport("replay", str(demo), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = counts(tmp_path / "rapport.db")
    second = rapport("replay", str(demo), "--json", cwd=tmp_path)
    summary = json.loads(second.stdout)
    assert summary["duplicates"] == 50 and summary["replies_sent"] == 0 and summary["escalations_opened"] == 0
    assert counts(tmp_path / "rapport.db") == before


def test_replay_reports_bad_lines_and_processes_the_rest(tmp_path: Path) -> None:
    lines = [
        '{"channel": "discord", "id": "1", "author_id": "a", "text": "thank you, great service"}',
        "{broken json",
        '{"channel": "myspace", "id": "2", "author_id": "b", "text": "hi"}',
        '{"channel": "x", "id": "3", "author_id": "c", "text": "My order arrived broken"}',
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    result = rapport("replay", "in.jsonl", "--json", cwd=tmp_path)
    summary = json.loads(result.stdout)
    assert result.returncode == 0 and summary["read"] == 2 and summary["replies_sent"] == 2
    assert summary["errors"] == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        "line 3: unknown channel 'myspace' (known: console, discord, email, slack, x)",
    ]


def test_classify_jsonl_contract(tmp_path: Path) -> None:
    stdin = (
        "\n".join(
            [
                json.dumps({"id": "a", "text": "My order arrived broken, terrible service"}),
                "not json",
                json.dumps({"id": 7}),
                json.dumps({"id": "b", "text": ""}),
                json.dumps({"id": "c", "text": "Mi pedido llegó roto y nadie responde"}),
            ]
        )
        + "\n"
    )
    result = rapport("classify", "--jsonl", cwd=tmp_path, stdin=stdin)
    assert result.returncode == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", 2, 7, "b", "c"]
    assert "error" in rows[1] and "error" in rows[2] and "line 2" in result.stderr and "line 3" in result.stderr
    for row in (rows[0], rows[3], rows[4]):
        assert row["sentiment"] in ("negative", "neutral", "positive")
        assert row["intent"] in (
            "complaint",
            "cancellation",
            "question",
            "request",
            "purchase_interest",
            "praise",
            "other",
        )
        assert isinstance(row["urgent"], bool) and isinstance(row["abusive"], bool) and row["language"]
        intent_total = sum(v for k, v in row["scores"].items() if k.startswith("intent:"))
        assert abs(intent_total - 1) < 1e-3
    assert rows[0]["intent"] == "complaint" and rows[4]["language"] == "es"


def test_classify_jsonl_with_nothing_classifiable_exits_nonzero(tmp_path: Path) -> None:
    result = rapport("classify", "--jsonl", cwd=tmp_path, stdin="nope\n")
    assert result.returncode == 1 and json.loads(result.stdout)["error"].startswith("line 1")


def test_classify_one_text_prints_a_readable_result(tmp_path: Path) -> None:
    result = rapport("classify", "thank you, great service", cwd=tmp_path)
    assert result.returncode == 0 and "praise" in result.stdout and "positive" in result.stdout


def test_escalations_and_customers_as_json(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text(
        '{"channel": "discord", "id": "1", "author_id": "a", "author_name": "Ann", "text": "My order arrived broken"}\n'
    )
    assert rapport("replay", "in.jsonl", cwd=tmp_path).returncode == 0
    escalations = json.loads(rapport("escalations", "list", "--json", cwd=tmp_path).stdout)
    assert len(escalations) == 1 and escalations[0]["status"] == "open"
    shown = json.loads(rapport("escalations", "show", "1", "--json", cwd=tmp_path).stdout)
    assert shown["messages"][0]["message"]["text"] == "My order arrived broken" and shown["replies"]
    customer = json.loads(rapport("customers", "show", "Ann", "--json", cwd=tmp_path).stdout)
    assert customer["identities"][0]["platform_user_id"] == "a"
    assert [e["id"] for e in customer["open_escalations"]] == [1]
    assert customer["tier"] and customer["tier_reason"] and customer["stage"] and customer["stage_reason"]
    assert customer["csat"] == [] and customer["opt_outs"] == []
    assert rapport("escalations", "resolve", "1", "--by", "maria", cwd=tmp_path).returncode == 0
    resolved = json.loads(rapport("escalations", "list", "--status", "resolved", "--json", cwd=tmp_path).stdout)
    assert [e["id"] for e in resolved] == [1]
    assert len(json.loads(rapport("customers", "list", "--json", cwd=tmp_path).stdout)) == 1
    missing = rapport("escalations", "show", "99", cwd=tmp_path)
    assert missing.returncode == 1 and "no escalation #99" in missing.stderr


def test_a_config_typo_is_named_and_exits_2(tmp_path: Path) -> None:
    result = rapport("demo", cwd=tmp_path, config='[database]\nurll = "x"\n')
    assert result.returncode == 2 and "database.urll: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = rapport("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0 and counts(tmp_path / "rapport.db")["messages"] == 0


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("RAPPORT_TEST_POSTGRES_URL"), reason="set RAPPORT_TEST_POSTGRES_URL")
def test_replay_on_postgres_by_url(tmp_path: Path) -> None:
    from tests.conftest import _postgres_database

    gen = _postgres_database()
    url = next(gen)
    try:
        (tmp_path / "in.jsonl").write_text('{"channel": "x", "id": "1", "author_id": "a", "text": "thanks, great!"}\n')
        result = rapport("replay", "in.jsonl", "--json", cwd=tmp_path, env={"RAPPORT_DATABASE_URL": url})
        assert result.returncode == 0, result.stderr and json.loads(result.stdout)["replies_sent"] == 1
        assert json.loads(result.stdout)["replies_sent"] == 1
    finally:
        gen.close()


def test_chat_answers_in_the_terminal(tmp_path: Path) -> None:
    result = rapport("chat", "--name", "tess", cwd=tmp_path, stdin="thank you, great service\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert "bot> Thank you, tess!" in result.stdout and "praise" in result.stdout


def test_run_with_no_connector_says_which_tokens_and_exits_nonzero(tmp_path: Path) -> None:
    result = rapport("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "no connector is configured: set the [slack], [discord] or [x] tokens (see README)"
    )


def test_read_only_commands_print_no_migration_log(tmp_path: Path) -> None:
    result = rapport("escalations", "list", "--json", cwd=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout) == []
    assert "alembic" not in result.stderr.lower() and result.stderr == ""


def test_db_upgrade_says_what_it_migrated(tmp_path: Path) -> None:
    first = rapport("db", "upgrade", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout.startswith("database upgraded from empty to ")
    second = rapport("db", "upgrade", cwd=tmp_path)
    assert second.returncode == 0 and second.stdout.startswith("database already at ")


def test_a_bad_sqlite_path_is_named(tmp_path: Path) -> None:
    config = RULES + '[database]\nurl = "sqlite:///no/such/folder/rapport.db"\n'
    result = rapport("escalations", "list", cwd=tmp_path, config=config)
    assert result.returncode == 1 and "no/such/folder/rapport.db" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["train", "eval"])
def test_train_and_eval_without_data_say_what_is_missing(tmp_path: Path, command: str) -> None:
    result = rapport(command, "--data", str(tmp_path / "nothing"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "no labelled data at" in result.stderr


X_BUDGET = RULES + "[x]\nmonthly_read_budget = 10000\nmonthly_post_budget = 500\ncost_per_read = 0.005\n"


def test_status_shows_x_usage_against_the_budget_with_projection_and_cost(tmp_path: Path) -> None:
    assert rapport("db", "upgrade", cwd=tmp_path, config=X_BUDGET).returncode == 0
    usage = Usage(month_key(datetime.now(UTC)), reads=1200, posts=40).encode()
    with sqlite3.connect(tmp_path / "rapport.db") as conn:
        conn.execute(
            "insert into connector_state (key, value, updated_at) values (?, ?, ?)",
            ("x:usage.month", usage, datetime.now(UTC).isoformat()),
        )
    result = rapport("status", cwd=tmp_path, config=X_BUDGET)
    assert result.returncode == 0, result.stderr
    reads, posts = result.stdout.splitlines()[1:3]
    assert reads.startswith("  reads 1,200 of 10,000, $6.00; month-end projection ")
    assert posts.startswith("  posts 40 of 500; month-end projection ")


def test_escalations_and_customers_show_mask_a_pasted_card_number(tmp_path: Path) -> None:
    """What a customer pasted stays in the database; the terminal shows it masked, as Slack and the API do."""
    card = "4111 1111 1111 1111"  # a test card number: Luhn-valid
    (tmp_path / "in.jsonl").write_text(
        json.dumps(
            {"channel": "discord", "id": "1", "author_id": "a", "author_name": "Ann",
             "text": f"You charged my card {card} twice, refund it"}
        ) + "\n"
    )  # fmt: skip
    assert rapport("replay", "in.jsonl", cwd=tmp_path).returncode == 0
    for args in (("escalations", "show", "1"), ("customers", "show", "Ann")):
        shown = rapport(*args, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert "4111" not in shown.stdout and "•••• 1111" in shown.stdout, args
    with sqlite3.connect(tmp_path / "rapport.db") as conn:
        assert card in conn.execute("select text from messages").fetchone()[0]
