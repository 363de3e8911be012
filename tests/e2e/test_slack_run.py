"""`rapport run` with [slack] pointed at the fake Slack serves signed requests end to end."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientConnectionError, ClientSession

from tests.fakes.slack_server import (
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    FakeSlack,
    SlackSender,
    block_actions,
    message_event,
)

CUSTOMERS, TRIAGE, STAFF, CUSTOMER, STRANGER = "C_CUST", "C_TRIAGE", "U_STAFF", "U_ANN", "U_EVE"
COMPLAINT = "My order never arrived and this is unacceptable"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_listening(url: str, proc: asyncio.subprocess.Process, within: float = 60.0) -> None:
    async with asyncio.timeout(within), ClientSession() as session:
        while True:
            if proc.returncode is not None:
                raise AssertionError(f"rapport run exited with {proc.returncode}")
            try:
                async with session.post(url, data=b"{}") as resp:
                    if resp.status == 401:  # unsigned: the server is up and checking signatures
                        return
            except ClientConnectionError:
                pass
            await asyncio.sleep(0.2)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[FakeSlack, SlackSender]]:
    fake = FakeSlack(users={CUSTOMER: {"name": "ann", "display_name": "Ann"}}, members={TRIAGE: [STAFF, BOT_USER_ID]})
    await fake.start()
    port = free_port()
    config = tmp_path / "rapport.toml"
    config.write_text(f"""
[database]
url = "sqlite:///{tmp_path / "rapport.db"}"

[nlp]
backend = "rules"

[outbox]
poll_interval = 0.1

[server]
host = "127.0.0.1"
port = {port}

[slack]
mode = "http"
api_url = "{fake.api_url}"
customer_channels = ["{CUSTOMERS}"]
triage_channel = "{TRIAGE}"
""")
    # Secrets come from the environment, as they would in production.
    env = os.environ | {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    env.pop("RAPPORT_CONFIG", None)
    log = (tmp_path / "rapport.log").open("wb")  # a file, not a pipe: a full pipe would stall the bot
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await wait_listening(url, proc)
        yield fake, SlackSender(url)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        log.close()
        await fake.stop()
    assert proc.returncode == 0, (tmp_path / "rapport.log").read_text(errors="replace")[-3000:]


async def test_rapport_run_serves_signed_slack_requests_end_to_end(running: tuple[FakeSlack, SlackSender]) -> None:
    fake, slack = running
    complaint = message_event(CUSTOMERS, CUSTOMER, COMPLAINT, "1700000100.000100")

    # A complaint -> a card in the triage channel and an acknowledgement in the customer's thread.
    assert await slack.event(complaint, "Ev1") == 200
    card_ts = await fake.wait_for_card(TRIAGE)
    [ack] = await fake.wait_for("chat.postMessage", channel=CUSTOMERS, wait=30)
    assert ack["thread_ts"] == "1700000100.000100"

    # Slack's retry of the same delivery -> nothing doubled.
    assert await slack.event(complaint, "Ev1", retry=1) == 200

    # A bad signature -> 401.
    status, _ = await slack.post(json.dumps({"type": "event_callback"}), secret="wrong")
    assert status == 401

    # A stranger's click -> refused; a staff member's Claim -> the card shows the claimer.
    await slack.interaction(block_actions(STRANGER, TRIAGE, card_ts, "rapport.claim", value="1"))
    await fake.wait_for("chat.postEphemeral", user=STRANGER)
    await slack.interaction(block_actions(STAFF, TRIAGE, card_ts, "rapport.claim", value="1"))
    [update] = await fake.wait_for("chat.update", ts=card_ts)
    assert f"Claimed by <@{STAFF}>" in json.dumps(update["blocks"])

    # A staff reply in the card's thread -> the customer gets it in their thread.
    assert (
        await slack.event(
            message_event(TRIAGE, STAFF, "A replacement ships today.", "1700000200.000100", thread_ts=card_ts), "Ev2"
        )
        == 200
    )
    sent = await fake.wait_for("chat.postMessage", count=2, channel=CUSTOMERS, wait=30)
    assert sent[-1]["text"] == "A replacement ships today." and sent[-1]["thread_ts"] == "1700000100.000100"

    await asyncio.sleep(0.5)
    assert len(fake.cards(TRIAGE)) == 1
    assert len([c for c in fake.calls_to("chat.postMessage") if c["channel"] == CUSTOMERS]) == 2
