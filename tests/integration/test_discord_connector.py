"""The real discord.py client, through DiscordConnector, against the fake Discord on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import DiscordSettings
from bot.domain import InboundMessage
from bot.errors import AuthFailed, ConnectorError, DeliveryFailed, RateLimited
from connectors.discord import DiscordConnector
from tests.fakes.discord_server import (
    ALICE,
    BOT_ID,
    BOT_USER,
    CHANNEL_ID,
    CUSTOMER,
    CUSTOMER_ID,
    GUILD_ID,
    OTHER_CHANNEL_ID,
    SUPPORT_ROLE_ID,
    THREAD_ID,
    FakeDiscord,
    mentioned,
    user,
)
from tests.fakes.sinks import Collector, MemoryState, reply_to


def settings_for(fake: FakeDiscord, **overrides: Any) -> DiscordSettings:
    values: dict[str, Any] = {
        "token": SecretStr(fake.token),
        "api_url": fake.api_url,
        "gateway_url": fake.gateway_url,
        **overrides,
    }
    return DiscordSettings(**values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


async def started(fake: FakeDiscord, sink: Collector, **overrides: Any) -> DiscordConnector:
    connector = DiscordConnector(settings_for(fake, **overrides), MemoryState(), ready_timeout=0.05)
    await connector.start(sink)
    return connector


@pytest.fixture
async def sink() -> Collector:
    return Collector()


@pytest.fixture
async def connector(fake: FakeDiscord, sink: Collector) -> AsyncIterator[DiscordConnector]:
    connector = await started(fake, sink)
    yield connector
    await connector.stop()


async def test_mentions_and_custom_emoji_are_stored_readable(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    content = (
        f"<@{BOT_ID}> <@&{SUPPORT_ROLE_ID}> <@{ALICE['id']}> said to ask in <#{OTHER_CHANNEL_ID}>, "
        f"not <#{THREAD_ID}> or <#1100000000000000999> <:party:1100000000000000050> <a:wave:1100000000000000051>"
    )
    await fake.message_create(content, mentions=[mentioned(ALICE)], mention_roles=[SUPPORT_ROLE_ID])
    [message] = await sink.wait_for(1)
    assert message.text == "@Support @Alice said to ask in #general, not #order 1234 or #unknown :party: :wave:"


async def test_a_mentioned_members_server_nickname_is_used(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    await fake.message_create(f"thanks <@!{ALICE['id']}>", mentions=[mentioned(ALICE, nick="Alice from Support")])
    [message] = await sink.wait_for(1)
    assert message.text == "thanks @Alice from Support"


async def test_guild_message_reaches_sink_with_platform_ids_and_author(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    payload = await fake.message_create("my order never arrived")
    [message] = await sink.wait_for(1)
    assert message.channel == message.connector == "discord"
    assert message.external_id == payload["id"]
    assert message.author_id == str(CUSTOMER_ID)
    assert (message.author_handle, message.author_name) == ("dana", "Dana")
    assert message.conversation_id == str(CHANNEL_ID)
    assert message.text == "my order never arrived"
    assert message.direct is False
    assert connector.status == "connected"


async def test_reply_is_posted_with_a_message_reference_to_the_customer(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    await fake.message_create("the app crashes every time")
    [message] = await sink.wait_for(1)
    sent_id = await connector.send(reply_to(message, "Sorry to hear that, Dana @everyone"))
    [post] = fake.posted
    assert sent_id == post["id"]
    assert post["channel_id"] == CHANNEL_ID
    assert str(post["message_reference"]["message_id"]) == message.external_id
    assert post["message_reference"]["fail_if_not_exists"] is False
    assert post["allowed_mentions"]["parse"] == []  # a name containing @everyone pings nobody


async def test_same_message_create_twice_is_ingested_once(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    payload = fake.message("where is my refund")
    await fake.dispatch("MESSAGE_CREATE", payload)
    await fake.dispatch("MESSAGE_CREATE", payload)
    await fake.message_create("marker")
    messages = await sink.wait_for(2)
    await asyncio.sleep(0.05)
    assert [m.text for m in messages] == ["where is my refund", "marker"]


async def test_replay_after_gateway_reconnect_is_not_ingested_again(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    payload = await fake.message_create("still waiting on support")
    await sink.wait_for(1)
    await fake.drop_connections()
    await fake.wait_for_sessions(2)
    await asyncio.sleep(0.05)
    assert connector.status == "connected"
    await fake.dispatch("MESSAGE_CREATE", payload)  # Discord replays what it thinks was missed
    await fake.message_create("marker")
    messages = await sink.wait_for(2)
    assert [m.text for m in messages] == ["still waiting on support", "marker"]


async def test_rest_429_is_retried_after_its_delay(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    await fake.message_create("nothing works")
    [message] = await sink.wait_for(1)
    fake.fail_next_post(429, retry_after=0.4)
    begun = time.monotonic()
    await connector.send(reply_to(message, "On it"))
    posts = [r for r in fake.requests if r[0] == "POST" and r[1].endswith("/messages")]
    assert len(posts) == 2 and len(fake.posted) == 1
    assert posts[1][2] - posts[0][2] >= 0.4
    assert time.monotonic() - begun >= 0.4


async def test_long_429_is_handed_to_the_outbox_as_rate_limited(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    await fake.message_create("nothing works")
    [message] = await sink.wait_for(1)
    fake.fail_next_post(429, retry_after=45)
    with pytest.raises(RateLimited) as caught:
        await connector.send(reply_to(message, "On it"))
    assert caught.value.retry_after == 45
    assert fake.posted == []


async def test_dm_is_ingested_as_direct_and_answered_by_dm(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    payload = await fake.message_create("I was charged twice", dm=True)
    [message] = await sink.wait_for(1)
    assert message.direct is True
    assert message.conversation_id == payload["channel_id"]
    await connector.send(reply_to(message, "Sorry, looking into it", in_reply_to=""))
    [post] = fake.posted
    assert post["channel_id"] == fake.dm_channels[CUSTOMER_ID]
    assert post["message_reference"] is None


async def test_reply_mode_dm_opens_a_dm_for_a_channel_message(fake: FakeDiscord, sink: Collector) -> None:
    connector = await started(fake, sink, reply_mode="dm")
    try:
        await fake.message_create("my account is locked")
        [message] = await sink.wait_for(1)
        await connector.send(reply_to(message, "We'll DM you"))
        [post] = fake.posted
        assert post["channel_id"] == fake.dm_channels[CUSTOMER_ID]
        assert ("POST", "/api/v10/users/@me/channels") in [(m, p) for m, p, _ in fake.requests]
    finally:
        await connector.stop()


async def test_bots_and_the_bot_itself_are_ignored(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    await fake.message_create("I am a bot", author=user(5, "otherbot", bot=True))
    await fake.message_create("I am rapport", author=BOT_USER)
    await fake.message_create("marker")
    messages = await sink.wait_for(1)
    await asyncio.sleep(0.05)
    assert [m.text for m in messages] == ["marker"]


async def test_channel_list_limits_listening_but_mentions_are_heard_anywhere(
    fake: FakeDiscord, sink: Collector
) -> None:
    connector = await started(fake, sink, channel_ids=(CHANNEL_ID,), guild_ids=(GUILD_ID,))
    try:
        await fake.message_create("chatting in general", channel_id=OTHER_CHANNEL_ID)
        await fake.message_create(f"<@{BOT_ID}> help, login broken", channel_id=OTHER_CHANNEL_ID, mentions=[BOT_USER])
        await fake.message_create("in a support thread", channel_id=THREAD_ID)
        messages = await sink.wait_for(2)
        await asyncio.sleep(0.05)
        assert [m.text for m in messages] == ["help, login broken", "in a support thread"]
        assert messages[1].conversation_id == str(THREAD_ID)  # the thread is the conversation
    finally:
        await connector.stop()


async def test_bad_payloads_are_skipped_and_the_gateway_keeps_going(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    broken = fake.message("no author")
    del broken["author"]
    await fake.dispatch("MESSAGE_CREATE", broken)
    await fake.dispatch("MESSAGE_CREATE", {"unexpected": True})
    await fake.message_create("")
    attachment = {"id": "1", "filename": "a.png", "size": 1, "url": "http://127.0.0.1/a.png", "proxy_url": "x"}
    await fake.message_create("", attachments=[attachment])
    deleted = user(456226577798135808, "Deleted User")
    await fake.message_create("from a deleted account", author=deleted)
    await fake.message_create("\u202eevil\u0000 text\u200b")
    await fake.message_create("x" * 4000)
    messages = await sink.wait_for(3)
    await asyncio.sleep(0.05)
    assert [m.text for m in messages] == ["from a deleted account", "evil text\u200b", "x" * 4000]
    assert connector.status == "connected"


async def test_sink_failure_is_retried_and_the_message_ingested_once(fake: FakeDiscord) -> None:
    calls: list[InboundMessage] = []
    retried = asyncio.Event()

    async def flaky(message: InboundMessage) -> None:
        calls.append(message)
        if len(calls) == 1:
            raise RuntimeError("database busy")
        retried.set()

    connector = DiscordConnector(settings_for(fake), MemoryState(), ready_timeout=0.05, sink_retry_delay=0.01)
    await connector.start(flaky)
    try:
        await fake.message_create("help")
        await asyncio.wait_for(retried.wait(), 5)
        await asyncio.sleep(0.05)
        assert len(calls) == 2 and calls[0].external_id == calls[1].external_id
    finally:
        await connector.stop()


async def test_unknown_channel_is_a_permanent_delivery_failure(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    await fake.message_create("help")
    [message] = await sink.wait_for(1)
    with pytest.raises(DeliveryFailed) as caught:
        await connector.send(reply_to(message, "hi", conversation_id="1234567"))
    assert caught.value.retryable is False


async def test_bad_token_fails_start_with_auth_failed(fake: FakeDiscord, sink: Collector) -> None:
    connector = DiscordConnector(settings_for(fake, token=SecretStr("wrong-secret")), MemoryState())
    with pytest.raises(AuthFailed) as caught:
        await connector.start(sink)
    assert "wrong-secret" not in str(caught.value)
    assert connector.status.startswith("down:")


async def test_missing_message_content_intent_fails_start_with_auth_failed(sink: Collector) -> None:
    async with FakeDiscord(privileged_intents=False) as fake:
        connector = DiscordConnector(settings_for(fake), MemoryState(), ready_timeout=0.05)
        with pytest.raises(AuthFailed, match="message content intent"):
            await connector.start(sink)
        await connector.stop()


async def test_send_before_start_is_a_retryable_failure(fake: FakeDiscord) -> None:
    connector = DiscordConnector(settings_for(fake), MemoryState())
    message = InboundMessage(channel="discord", external_id="1", author_id="2", text="x", conversation_id="3")
    with pytest.raises(DeliveryFailed) as caught:
        await connector.send(reply_to(message, "hi"))
    assert caught.value.retryable is True


def test_customer_fixture_is_a_plain_user() -> None:
    assert CUSTOMER["bot"] is False


async def test_token_revoked_after_start_is_reported_not_swallowed(fake: FakeDiscord, sink: Collector) -> None:
    connector = await started(fake, sink)
    try:
        await fake.drop_connections(code=4004)  # what the gateway does once the token is reset
        with pytest.raises(AuthFailed):
            await asyncio.wait_for(connector.wait(), 10)
        assert connector.status.startswith("down:")
        assert isinstance(connector.failure, AuthFailed)
    finally:
        await connector.stop()


async def test_discord_unreachable_fails_start_with_our_error(sink: Collector) -> None:
    async with FakeDiscord() as fake:
        settings = settings_for(fake)
    connector = DiscordConnector(settings, MemoryState())  # the fake is gone: nothing listens there
    with pytest.raises(ConnectorError) as caught:
        await connector.start(sink)
    assert connector.status.startswith("down:")
    assert "fake-discord-token" not in str(caught.value)


async def test_token_never_reaches_the_logs(
    fake: FakeDiscord, sink: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = await started(fake, sink)
    try:
        await fake.message_create("my order is late")
        [message] = await sink.wait_for(1)
        await connector.send(reply_to(message, "Sorry"))
    finally:
        await connector.stop()
    assert "Sorry" in caplog.text  # debug logging really was on
    assert fake.token not in caplog.text


async def test_start_again_after_a_failure_opens_one_fresh_session(fake: FakeDiscord, sink: Collector) -> None:
    connector = await started(fake, sink)
    try:
        await fake.drop_connections(code=4004)
        with pytest.raises(AuthFailed):
            await asyncio.wait_for(connector.wait(), 10)
        await connector.start(sink)  # what a supervisor does after a backoff
        assert connector.status == "connected" and connector.failure is None
        await fake.message_create("hello again")
        await sink.wait_for(1)
        assert len([ws for ws in fake._sockets if not ws.closed]) == 1
    finally:
        await connector.stop()


async def test_discord_server_error_is_retryable_and_the_next_try_goes_through(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    await fake.message_create("help")
    [message] = await sink.wait_for(1)
    fake.fail_next_post(503)
    with pytest.raises(DeliveryFailed) as caught:
        await connector.send(reply_to(message, "On it"))
    assert caught.value.retryable is True
    await connector.send(reply_to(message, "On it"))
    assert len(fake.posted) == 1


async def test_a_retry_after_a_lost_response_posts_once_thanks_to_the_nonce(
    fake: FakeDiscord, sink: Collector, connector: DiscordConnector
) -> None:
    """Discord posted it but the answer was lost: the outbox's retry carries the same nonce, so no double."""
    await fake.message_create("help")
    [message] = await sink.wait_for(1)
    fake.lose_next_response()
    with pytest.raises(DeliveryFailed) as caught:
        await connector.send(reply_to(message, "On it", id=41))
    assert caught.value.retryable is True
    again = await connector.send(reply_to(message, "On it", id=41))
    [posted] = fake.posted
    assert posted["id"] == again and posted["nonce"] == "r41p0"
    other = await connector.send(reply_to(message, "On it", id=42))  # a different reply is its own post
    assert len(fake.posted) == 2 and other != again
