"""`rapport escalations claim|assign|reply|note` and `rapport customers forget` as an operator runs them:
real processes on the SQLite file a running bot (real discord.py against the fake Discord) uses; the reply
reaches the customer on Discord through the bot's outbox."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.access import Role
from bot.app import Rapport
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.running import complaint, discord_settings, serving

ROOT = Path(__file__).parents[2]
PASSWORD = "a long enough password"


@dataclass
class Shift:
    bot: Rapport
    discord: FakeDiscord
    folder: Path

    def rapport(self, *args: str, user: str = "nobody") -> subprocess.CompletedProcess[str]:
        """Run `rapport ARGS` in a new process on the bot's database, as login `user`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "SLACK_", "DISCORD_", "X_"))}
        config = self.folder / "cli.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{self.folder / "rapport.db"}"\n[nlp]\nbackend = "rules"\n')
        env.update(RAPPORT_CONFIG=str(config), HF_HUB_OFFLINE="1", COLUMNS="200", PYTHONPATH=str(ROOT), USER=user)
        return subprocess.run(
            [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=300, check=False
        )

    async def run(self, *args: str, user: str = "nobody") -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(self.rapport, *args, user=user)

    async def complaint(self) -> int:
        return (await complaint(self.bot, self.discord)).id


@pytest.fixture
async def shift(tmp_path: Path) -> AsyncIterator[Shift]:
    async with FakeDiscord() as fake:
        async with Rapport(discord_settings(tmp_path, fake)) as bot:
            for email, role in (("ana@example.test", Role.AGENT), ("bo@example.test", Role.AGENT)):
                await bot.access.add_user(email, role, PASSWORD, actor="test")
            await bot.access.add_user("root@example.test", Role.ADMIN, PASSWORD, actor="test")
            await bot.access.add_user("vic@example.test", Role.VIEWER, PASSWORD, actor="test")
            async with serving(bot, "discord"):
                yield Shift(bot, fake, tmp_path)


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert all(w in done.stderr for w in words), done.stderr


async def test_claim_assign_note_and_reply_from_the_cli_are_audited_and_the_reply_reaches_discord(shift: Shift) -> None:
    esc_id = await shift.complaint()

    claimed = await shift.run("escalations", "claim", str(esc_id), "--as", "ana")
    assert claimed.returncode == 0, claimed.stderr
    assert f"escalation #{esc_id} claimed by user:ana@example.test" in claimed.stdout
    # Someone else claiming it -> one line, who has it, exit 1.
    one_line_error(await shift.run("escalations", "claim", str(esc_id), "--as", "bo"), "already claimed", "ana")

    assigned = await shift.run("escalations", "assign", str(esc_id), "bo@example.test", "--as", "ana@example.test")
    assert assigned.returncode == 0, assigned.stderr
    noted = await shift.run("escalations", "note", str(esc_id), "Called the courier", user="bo")  # --as from $USER
    assert noted.returncode == 0, noted.stderr
    replied = await shift.run("escalations", "reply", str(esc_id), "A replacement ships today.", "--as", "bo")
    assert replied.returncode == 0, replied.stderr

    # The running bot's outbox sends it to the customer on Discord.
    async with asyncio.timeout(15):
        while not [p for p in shift.discord.posted if p.get("content") == "A replacement ships today."]:
            await asyncio.sleep(0.05)

    esc = await shift.bot.repo.escalations.get(esc_id)
    assert esc is not None and esc.assignee == "user:bo@example.test"
    assert [(n.author, n.text) for n in esc.notes] == [("user:bo@example.test", "Called the courier")]
    trail = [(e.kind, e.actor) for e in await shift.bot.repo.audit.events(escalation_id=esc_id)]
    assert ("escalation.claimed", "user:ana@example.test") in trail
    assert ("escalation.assigned", "user:ana@example.test") in trail
    assert ("escalation.noted", "user:bo@example.test") in trail
    assert ("escalation.replied", "user:bo@example.test") in trail


async def test_cli_errors_are_one_line_with_a_non_zero_exit(shift: Shift) -> None:
    esc_id = await shift.complaint()
    one_line_error(await shift.run("escalations", "claim", "999", "--as", "ana"), "#999", "does not exist")
    one_line_error(await shift.run("escalations", "reply", "999", "hello", "--as", "ana"), "#999")
    one_line_error(await shift.run("escalations", "claim", str(esc_id), "--as", "zed"), "no staff user 'zed'")
    one_line_error(await shift.run("escalations", "claim", str(esc_id), "--as", "vic"), "viewer")
    one_line_error(await shift.run("escalations", "note", str(esc_id), "  ", "--as", "ana"), "empty")
    one_line_error(await shift.run("escalations", "assign", str(esc_id), "nobody", "--as", "ana"), "nobody")

    assert (await shift.run("escalations", "resolve", str(esc_id), "--by", "user:ana@example.test")).returncode == 0
    one_line_error(await shift.run("escalations", "claim", str(esc_id), "--as", "ana"), "already resolved")
    one_line_error(await shift.run("escalations", "assign", str(esc_id), "bo", "--as", "ana"), "already resolved")


async def test_customers_forget_takes_an_admin_and_refuses_an_open_case_unless_forced(shift: Shift) -> None:
    esc_id = await shift.complaint()
    esc = await shift.bot.repo.escalations.get(esc_id)
    assert esc is not None
    who = str(esc.customer_id)

    one_line_error(await shift.run("customers", "forget", who, "--as", "ana"), "admin")
    one_line_error(await shift.run("customers", "forget", who, "--as", "root"), "open escalations", f"#{esc_id}")
    assert await shift.bot.repo.customers.get(esc.customer_id) is not None

    forced = await shift.run("customers", "forget", who, "--force", "--as", "root")
    assert forced.returncode == 0, forced.stderr
    assert f"customer {who} forgotten" in forced.stdout and "1 messages" in forced.stdout
    assert await shift.bot.repo.customers.get(esc.customer_id) is None
    one_line_error(await shift.run("customers", "forget", who, "--as", "root"), f"no customer {who}")
