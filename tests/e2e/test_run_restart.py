"""`rapport run` as a real process against a fake Discord: killed while replies are queued, started
again, every reply is delivered exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.app import Rapport
from bot.domain import InboundMessage, ReplyStatus
from tests.conftest import make_settings
from tests.fakes.discord_server import CHANNEL_ID, FakeDiscord

COMPLAINTS = ["My order arrived broken", "The app crashes at checkout, terrible", "Still no refund, awful service"]


def config(db: Path, fake: FakeDiscord) -> str:
    return (
        f'[database]\nurl = "sqlite:///{db}"\n[nlp]\nbackend = "rules"\n[outbox]\npoll_interval = 0.2\n'
        "[server]\nport = 0\n"
        f'[discord]\ntoken = "{fake.token}"\napi_url = "{fake.api_url}"\ngateway_url = "{fake.gateway_url}"\n'
    )


async def start_run(tmp_path: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DISCORD_", "SLACK_", "X_"))}
    env["RAPPORT_CONFIG"] = str(tmp_path / "rapport.toml")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_killed_with_replies_queued_then_restarted_delivers_each_once(tmp_path: Path) -> None:
    db = tmp_path / "rapport.db"
    # Three complaints arrived and were acknowledged in the outbox, but Discord was not reachable yet.
    async with Rapport(make_settings(f"sqlite:///{db}")) as bot:
        for i, text in enumerate(COMPLAINTS):
            await bot.process(
                InboundMessage(
                    channel="discord",
                    external_id=f"9000{i}",
                    author_id=f"77{i}",
                    text=text,
                    conversation_id=str(CHANNEL_ID),
                    connector="discord",
                )
            )
        assert len(await bot.repo.replies.query(statuses=[ReplyStatus.QUEUED])) == 3

    async with FakeDiscord() as fake:
        (tmp_path / "rapport.toml").write_text(config(db, fake))
        # First run: Discord rate-limits the first post; we kill -9 the process while it waits.
        fake.fail_next_post(429, retry_after=15)
        proc = await start_run(tmp_path)
        try:
            await fake.wait_for_sessions(1, within=60)
            async with asyncio.timeout(30):
                while not any(m == "POST" and p.endswith("/messages") for m, p, _ in fake.requests):
                    await asyncio.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        delivered_before_kill = len(fake.posted)

        # Second run: everything still owed is delivered, once.
        proc = await start_run(tmp_path)
        try:
            posts = await fake.wait_for_posts(3, within=90)
            await asyncio.sleep(1.5)  # a few more outbox passes: nothing more may arrive
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await proc.communicate()
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert delivered_before_kill < 3
        texts = sorted(p["content"] for p in fake.posted)
        assert len(fake.posted) == 3 and len(set(texts)) == 3 and all("Sorry to hear that" in t for t in texts)
        assert {str(p["message_reference"]["message_id"]) for p in posts} == {"90000", "90001", "90002"}
        assert fake.token not in stderr.decode()

    async with Rapport(make_settings(f"sqlite:///{db}")) as bot:
        assert [r.status for r in await bot.repo.replies.query()] == [ReplyStatus.SENT] * 3
