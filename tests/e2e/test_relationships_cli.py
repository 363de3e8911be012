"""The relationship commands as a user runs them: `rapport customers import|export|suggest|merge|unmerge|
link|unlink|purchase|profile|csat` and `rapport topics`, on a SQLite file in a temp directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = tmp_path / "rapport.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "r.db"}"\n[nlp]\nbackend = "rules"\n')
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*args, "--config", str(config)], env={"COLUMNS": "200"})
        return result.exit_code, result.stdout, result.stderr

    return run


def test_import_reports_tiers_and_export_round_trips(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, stdout, _ = cli("customers", "import", str(DATA / "customers_good.csv"))
    assert code == 0 and "5 created, 0 updated, 0 skipped; tiers: 2 gold, 2 iron, 1 platinum" in stdout
    code, stdout, _ = cli("customers", "export", "--format", "json")
    exported = json.loads(stdout)
    assert {c["external_id"]: c["tier"] for c in exported} == {
        "C-001": "platinum",
        "C-002": "gold",
        "C-003": "iron",
        "C-004": "iron",
        "C-005": "gold",
    }
    out = tmp_path / "customers.csv"
    assert cli("customers", "export", "--out", str(out))[0] == 0
    code, stdout, _ = cli("customers", "import", str(out))
    assert code == 0 and "0 created, 5 updated, 0 skipped" in stdout  # an export imports back without duplicates


def test_a_bad_csv_prints_one_line_per_problem_and_exits_1(cli) -> None:  # type: ignore[no-untyped-def]
    code, stdout, stderr = cli("customers", "import", str(DATA / "customers_bad.csv"))
    assert code == 1 and "2 created, 0 updated, 8 skipped" in stdout
    assert len([line for line in stderr.splitlines() if line.startswith("line ")]) == 9


def test_link_merge_unmerge_and_profile(cli) -> None:  # type: ignore[no-untyped-def]
    cli("customers", "import", str(DATA / "customers_good.csv"))
    code, stdout, _ = cli("customers", "link", "x", "77777", "Ada Platinum")
    assert code == 0 and "x:77777 linked to customer #1" in stdout
    code, stdout, _ = cli("customers", "merge", "2", "1", "--reason", "same person")
    assert code == 0 and "merge #1: customer #2 into #1" in stdout
    profile = json.loads(cli("customers", "profile", "1")[1])
    assert {i["channel"] for i in profile["identities"]} == {"discord", "slack", "x"}
    assert profile["tier"] == "platinum" and "lifetime value 9,700.50, 18 orders" in profile["tier_reason"]
    assert profile["merges"][0]["reason"] == "same person"
    code, stdout, _ = cli("customers", "unmerge", "1")
    assert code == 0 and "customer #2 is separate again" in stdout
    profile = json.loads(cli("customers", "profile", "1")[1])
    assert {i["channel"] for i in profile["identities"]} == {"discord", "x"}
    code, _, stderr = cli("customers", "unmerge", "1")
    assert code == 1 and "already undone" in stderr


def test_purchase_then_csat_report_and_suggestions(cli) -> None:  # type: ignore[no-untyped-def]
    cli("customers", "import", str(DATA / "customers_good.csv"))
    code, stdout, _ = cli("customers", "purchase", "Cy Iron", "950", "--ref", "order-1")
    assert code == 0 and "recorded" in stdout
    assert "already recorded" in cli("customers", "purchase", "Cy Iron", "950", "--ref", "order-1")[1]
    assert json.loads(cli("customers", "profile", "Cy Iron")[1])["account"]["lifetime_value"] == 1070.0
    assert json.loads(cli("customers", "csat", "--json")[1])["surveys"] == 0
    assert json.loads(cli("customers", "suggest", "--json")[1]) == []


def test_topics_groups_complaints_from_every_channel(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = [
        ("discord", "My package arrived damaged, the box was crushed"),
        ("x", "Delivery came damaged again, crushed box"),
        ("slack", "the parcel arrived damaged and crushed"),
        ("discord", "I was charged twice for my subscription, unacceptable"),
        ("x", "Double charged on my card this month, charged twice, terrible"),
    ]
    replay = tmp_path / "complaints.jsonl"
    rows = [
        {"channel": ch, "id": f"c-{i}", "author_id": f"a-{i}", "text": text, "author_name": f"Person {i}"}
        for i, (ch, text) in enumerate(lines)
    ]
    replay.write_text("\n".join(json.dumps(row) for row in rows))
    assert cli("replay", str(replay))[0] == 0
    code, stdout, _ = cli("topics", "--json")
    topics = json.loads(stdout)
    assert code == 0 and [t["count"] for t in topics][:2] == [3, 2]
    assert topics[0]["channels"] == ["discord", "slack", "x"] and len(topics[0]["escalation_ids"]) == 3
    assert topics[0]["trend"] == "rising"


def test_purchases_import_reports_problems_and_is_safe_to_repeat(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("customers", "import", str(DATA / "customers_good.csv"))
    purchases = tmp_path / "purchases.csv"
    purchases.write_text(
        "external_id,reference,amount,at\nC-003,o-1,900,2026-11-01\nC-404,o-2,5,2026-11-01\n"
        "C-003,o-3,-1,2026-11-01\nC-003,o-4,10,2999-01-01T00:00\n"
    )
    code, stdout, stderr = cli("customers", "import-purchases", str(purchases))
    assert code == 1 and "1 purchases recorded, 0 already known, 3 skipped" in stdout
    assert stderr.splitlines() == [
        "line 3: no customer with external_id 'C-404'",
        "line 4: amount '-1' is negative or not finite",
        "line 5: at 2999-01-01T00:00 is in the future",
    ]
    code, stdout, _ = cli("customers", "import-purchases", str(purchases))
    assert "0 purchases recorded, 1 already known" in stdout
    cy = json.loads(cli("customers", "profile", "Cy Iron")[1])
    assert cy["account"]["lifetime_value"] == 1020.0 and cy["tier"] == "iron" and len(cy["purchases"]) == 1


def test_an_error_quoting_what_was_typed_shows_it_as_typed(cli) -> None:  # type: ignore[no-untyped-def]
    """Brackets a user typed are not read as console markup (a "[/bold]" used to end in a MarkupError)."""
    code, _, stderr = cli("customers", "link", "x", "77777", "[/bold] nobody")
    assert code == 1
    assert stderr.strip() == "error: no customer matches '[/bold] nobody'"
