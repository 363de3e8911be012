"""`rapport users` and `rapport tokens` as an operator runs them: a real process, a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.access import Role
from bot.app import Rapport
from bot.config import Settings
from bot.errors import Unauthenticated

ROOT = Path(__file__).parents[2]


def rapport(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "SLACK_", "DISCORD_", "X_"))}
    (cwd / "rapport.toml").write_text(f'[database]\nurl = "sqlite:///{cwd / "rapport.db"}"\n[nlp]\nbackend = "rules"\n')
    # This checkout's code, whichever one the environment has installed.
    env.update(RAPPORT_CONFIG=str(cwd / "rapport.toml"), HF_HUB_OFFLINE="1", COLUMNS="200", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {"database": {"url": f"sqlite:///{tmp_path / 'rapport.db'}"}, "nlp": {"backend": "rules"}}
    )


async def test_tokens_create_prints_the_token_alone_on_the_last_line_and_stores_only_its_digest(tmp_path: Path) -> None:
    made = rapport("tokens", "create", "--name", "crm", "--role", "agent", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    token = made.stdout.rstrip("\n").splitlines()[-1]
    assert token.startswith("rpt_") and " " not in token and len(token) > 40
    with sqlite3.connect(tmp_path / "rapport.db") as conn:
        stored = conn.execute("select name, role, digest from api_tokens").fetchall()
        assert [(n, r) for n, r, _d in stored] == [("crm", "agent")]
        assert token not in stored[0][2]
        assert conn.execute("select actor from audit_events where kind = 'token.created'").fetchall() == [("cli",)]
    async with Rapport(settings(tmp_path)) as bot:
        who = await bot.access.authenticate(token)
    assert who.actor == "token:crm" and who.role is Role.AGENT

    listed = rapport("tokens", "list", cwd=tmp_path)
    assert "crm" in listed.stdout and token not in listed.stdout
    assert rapport("tokens", "create", "--name", "crm", "--role", "agent", cwd=tmp_path).returncode == 1
    revoked = rapport("tokens", "revoke", "crm", cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    async with Rapport(settings(tmp_path)) as bot:
        try:
            await bot.access.authenticate(token)
        except Unauthenticated:
            pass
        else:
            raise AssertionError("a revoked token still authenticates")


async def test_users_add_reads_the_password_from_stdin_and_stores_an_argon2_hash(tmp_path: Path) -> None:
    added = rapport(
        "users",
        "add",
        "Lee@Example.com",
        "--role",
        "admin",
        "--password-stdin",
        cwd=tmp_path,
        stdin="a long passphrase\n",
    )
    assert added.returncode == 0, added.stderr
    assert "lee@example.com added as admin" in added.stdout
    with sqlite3.connect(tmp_path / "rapport.db") as conn:
        [(email, role, hashed)] = conn.execute("select email, role, password_hash from users").fetchall()
    assert (email, role) == ("lee@example.com", "admin")
    assert hashed.startswith("$argon2id$") and "a long passphrase" not in hashed
    async with Rapport(settings(tmp_path)) as bot:
        who = await bot.access.sign_in("lee@example.com", "a long passphrase")
        assert who.actor == "user:lee@example.com" and who.role is Role.ADMIN
        try:
            await bot.access.sign_in("lee@example.com", "wrong passphrase")
        except Unauthenticated:
            pass
        else:
            raise AssertionError("a wrong password signed in")


def test_users_add_refuses_a_short_password_a_duplicate_and_an_unknown_role(tmp_path: Path) -> None:
    short = rapport("users", "add", "kim@example.com", "--password-stdin", cwd=tmp_path, stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    ok = rapport("users", "add", "kim@example.com", "--password-stdin", cwd=tmp_path, stdin="long enough pw\n")
    assert ok.returncode == 0, ok.stderr
    again = rapport("users", "add", "kim@example.com", "--password-stdin", cwd=tmp_path, stdin="long enough pw\n")
    assert again.returncode == 1 and "exists already" in again.stderr
    role = rapport(
        "users", "add", "amy@example.com", "--role", "boss", "--password-stdin", cwd=tmp_path, stdin="x" * 12
    )
    assert role.returncode == 2 and "boss" in role.stderr


def test_users_add_without_stdin_prompts_twice_for_the_password(tmp_path: Path) -> None:
    added = rapport("users", "add", "pat@example.com", cwd=tmp_path, stdin="long enough pw\nlong enough pw\n")
    assert added.returncode == 0, added.stderr
    listed = rapport("users", "list", "--json", cwd=tmp_path)
    assert '"email": "pat@example.com"' in listed.stdout and '"role": "agent"' in listed.stdout
