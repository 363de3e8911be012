"""`rapport staff shift|shifts` as an operator runs them: a real process, a real SQLite file, and the
shift it stores feeding automatic assignment."""

from __future__ import annotations

import json
from pathlib import Path

from bot.app import Rapport
from bot.config import Settings
from tests.e2e.test_access_cli import rapport


async def test_shift_on_off_is_stored_audited_and_listed(tmp_path: Path) -> None:
    on = rapport("staff", "shift", "on", "slack:U1", "--by", "lead", cwd=tmp_path)
    assert on.returncode == 0, on.stderr
    assert on.stdout.strip() == "slack:U1 is on shift"
    assert rapport("staff", "shift", "on", "user:lee@example.com", cwd=tmp_path).returncode == 0
    assert rapport("staff", "shift", "off", "user:lee@example.com", cwd=tmp_path).returncode == 0
    listed = rapport("staff", "shifts", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {r["actor"]: r["on_shift"] for r in json.loads(listed.stdout)}
    assert rows == {"slack:U1": True, "user:lee@example.com": False}
    bad = rapport("staff", "shift", "maybe", "slack:U1", cwd=tmp_path)
    assert bad.returncode == 2 and "maybe" in bad.stderr

    settings = Settings.model_validate(
        {"database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"}, "nlp": {"backend": "rules"}}
    )
    async with Rapport(settings) as bot:
        [audit, *_] = await bot.repo.audit.events(kind="staff.shift")
        assert audit.actor == "lead" and audit.detail == {"actor": "slack:U1", "on_shift": True}
