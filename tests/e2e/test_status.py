"""`rapport status` as a real process: the one-process view (messages waiting, the oldest one's age, the
outbox backlog), and with [queue] an unreachable Redis reported rather than a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = '[nlp]\nbackend = "rules"\n'


def status(cwd: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    (cwd / "rapport.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "SLACK_", "DISCORD_", "X_"))}
    env.update(RAPPORT_CONFIG=str(cwd / "rapport.toml"), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "bot", "status", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def waiting_message(db: Path, external_id: str, stored: datetime) -> None:
    """A message a connector stored and no worker has processed yet."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "insert into messages (channel, external_id, connector, conversation_id, author_id, author_handle,"
            " author_name, text, direct, sent_at, received_at, action, error)"
            " values ('discord', ?, 'discord', 'c', 'u1', '', '', 'hello', 0, ?, ?, '', '')",
            (external_id, stored.isoformat(), stored.isoformat()),
        )


def test_one_process_status_shows_the_waiting_messages_with_the_oldest_age_and_the_outbox(tmp_path: Path) -> None:
    assert status(tmp_path, RULES).returncode == 0  # creates the schema
    now = datetime.now(UTC).replace(tzinfo=None)
    waiting_message(tmp_path / "rapport.db", "1", now - timedelta(minutes=5))
    waiting_message(tmp_path / "rapport.db", "2", now)
    result = status(tmp_path, RULES)
    assert result.returncode == 0, result.stderr
    work = result.stdout.splitlines()[3:]
    assert work[0] == "Work (one process):"
    assert work[1] == "  messages waiting to be processed: 2, oldest stored 5m ago"
    assert work[2] == "  outbox: 0 queued, 0 sending, 0 failed"


def test_status_with_an_unreachable_redis_says_so(tmp_path: Path) -> None:
    config = RULES + '[queue]\nurl = "redis://127.0.0.1:1/0"\n'
    result = status(tmp_path, config)
    assert result.returncode == 0, result.stderr
    assert "  stream: unavailable (redis unavailable: ConnectionError)" in result.stdout.splitlines()
    assert "Traceback" not in result.stderr
