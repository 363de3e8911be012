"""`rapport replay` as a real process, killed with SIGKILL at moments spread over its run, then run again:
every message ends processed exactly once, every escalation has one acknowledgement, nothing doubled."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

COMPLAINTS = [
    "My order arrived broken, terrible service",
    "The app crashes at checkout, awful",
    "Still no refund after three weeks, unacceptable",
    "You charged me twice this month, fix it",
]
OTHERS = ["thank you, great service", "how do I reset my password?", "hello there"]


def messages(n: int) -> str:
    lines = []
    for i in range(n):
        text = COMPLAINTS[i % len(COMPLAINTS)] if i % 2 == 0 else OTHERS[i % len(OTHERS)]
        lines.append(
            json.dumps(
                {
                    "channel": "discord",
                    "id": f"m{i}",
                    "author_id": f"u{i}",
                    "author_name": f"Customer {i}",
                    "text": text,
                }
            )
        )
    return "\n".join(lines) + "\n"


def start(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DISCORD_", "SLACK_", "X_"))}
    env["RAPPORT_CONFIG"] = str(tmp_path / "rapport.toml")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "replay", "in.jsonl"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def prepare(path: Path) -> Path:
    path.mkdir()
    db = path / "rapport.db"
    (path / "rapport.toml").write_text(f'[database]\nurl = "sqlite:///{db}"\n[nlp]\nbackend = "rules"\n')
    (path / "in.jsonl").write_text(messages(60))
    return db


def summary(db: Path) -> dict[str, object]:
    with sqlite3.connect(db) as conn:
        return {
            "actions": dict(conn.execute("select external_id, action from messages").fetchall()),
            "escalations": conn.execute("select count(*) from escalations").fetchone()[0],
            "replies": conn.execute("select count(*) from replies").fetchone()[0],
            "acks per escalation": sorted(
                {
                    n
                    for (n,) in conn.execute(
                        "select count(r.id) from escalations e left join replies r on r.escalation_id = e.id"
                        " group by e.id"
                    )
                }
            ),
            "messages with two replies": conn.execute(
                "select count(*) from (select message_id from replies group by message_id having count(*) > 1)"
            ).fetchone()[0],
            "messages routed twice": conn.execute(
                "select count(*) from (select message_id from audit_events where kind = 'routed'"
                " group by message_id having count(*) > 1)"
            ).fetchone()[0],
        }


def test_killed_at_any_moment_then_run_again_processes_every_message_exactly_once(tmp_path: Path) -> None:
    baseline = prepare(tmp_path / "baseline")
    assert start(baseline.parent).wait(timeout=300) == 0
    db = prepare(tmp_path / "killed")
    # Kill points spread from start-up (mid-migration) to the end of processing.
    processed_after_kills = []
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1, 2.4, 2.7, 3.0, 3.5, 4.0):
        proc = start(db.parent)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        with sqlite3.connect(db) as conn:
            tables = {name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")}
        # A kill during the migration leaves no schema or the whole one, never a part of it.
        assert "messages" in tables or "escalations" not in tables, tables
        if "messages" in tables:
            processed_after_kills.append(sum(1 for a in summary(db)["actions"].values() if a))  # type: ignore[union-attr]
    print("processed after each kill:", processed_after_kills)
    assert any(0 < n < 60 for n in processed_after_kills), processed_after_kills  # some kills hit processing
    assert start(db.parent).wait(timeout=300) == 0

    expected, got = summary(baseline), summary(db)
    assert got["actions"] == expected["actions"]  # nothing lost, every message processed as without kills
    assert got == expected
    assert set(expected["acks per escalation"]) <= {0, 1}  # type: ignore[arg-type]
    assert expected["messages with two replies"] == 0 and expected["messages routed twice"] == 0
