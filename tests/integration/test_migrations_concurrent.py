"""Several processes started at once on a fresh PostgreSQL database (a gateway and N workers) all start:
one migrates, the others wait for it and find the schema current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.storage.database import current_revision


def test_concurrent_upgrades_on_a_fresh_database_all_succeed(postgres_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_DATABASE_URL"] = postgres_url
    root = Path(__file__).resolve().parents[2]
    upgrades = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(root)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in upgrades]
    assert [p.returncode for p in upgrades] == [0, 0, 0, 0], outputs
    assert current_revision(postgres_url) is not None
