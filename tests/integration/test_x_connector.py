"""The real tweepy async client, through XConnector, against the fake X API v2 on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import XSettings
from bot.domain import InboundMessage
from bot.errors import AuthFailed, DeliveryFailed, RateLimited
from bot.events import BudgetSpent
from connectors.x import XConnector
from connectors.x.budget import Usage
from tests.fakes.sinks import Collector, MemoryState, reply_to
from tests.fakes.x_server import ACCOUNT_ID, BODY_KINDS, CUSTOMER, FakeX

# tweepy builds its error from an empty JSON body by calling the aiohttp response's json() without awaiting
# it (tweepy/errors.py); the coroutine is dropped unawaited. Our mapping does not depend on it.
TWEEPY_UNAWAITED = pytest.mark.filterwarnings("ignore:coroutine 'ClientResponse.json' was never awaited")


def settings_for(fake: FakeX, **overrides: Any) -> XSettings:
    c = fake.credentials
    values: dict[str, Any] = {
        "bearer_token": SecretStr(c.bearer_token),
        "consumer_key": SecretStr(c.consumer_key),
        "consumer_secret": SecretStr(c.consumer_secret),
        "access_token": SecretStr(c.access_token),
        "access_token_secret": SecretStr(c.access_token_secret),
        "user_id": ACCOUNT_ID,
        "poll_interval": 0.05,
        "api_url": fake.base_url,
        **overrides,
    }
    return XSettings(**values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeX]:
    async with FakeX() as server:
        yield server


@pytest.fixture
def state() -> MemoryState:
    return MemoryState()


@pytest.fixture
def sink() -> Collector:
    return Collector()


@pytest.fixture
async def connector(fake: FakeX, state: MemoryState, sink: Collector) -> AsyncIterator[XConnector]:
    connector = XConnector(settings_for(fake), state)
    await connector.start(sink)
    yield connector
    await connector.stop()


async def test_new_mention_is_ingested_with_tweet_ids_and_author(
    fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    tweet = fake.mention("@acme my parcel is lost", conversation_id="1400000000000000000")
    [message] = await sink.wait_for(1)
    assert (message.channel, message.connector) == ("x", "x")
    assert message.external_id == tweet["id"]
    assert message.conversation_id == "1400000000000000000"
    assert message.author_id == CUSTOMER["id"]
    assert (message.author_handle, message.author_name) == ("dana_k", "Dana K")
    assert message.text == "my parcel is lost"  # the reply prefix of handles is not the customer's words
    assert message.direct is False
    assert connector.status == "connected"


async def test_mention_text_is_unescaped_once(fake: FakeX, sink: Collector, connector: XConnector) -> None:
    tweet = fake.mention("@acme AT&T & you <3, and the app shows &amp; literally")
    [message] = await sink.wait_for(1)
    assert tweet["text"] == "@acme AT&amp;T &amp; you &lt;3, and the app shows &amp;amp; literally"
    assert message.text == "AT&T & you <3, and the app shows &amp; literally"


async def test_dm_text_is_unescaped_once(fake: FakeX, sink: Collector, state: MemoryState) -> None:
    connector = XConnector(settings_for(fake, read_dms=True), state)
    await connector.start(sink)
    try:
        fake.dm("charged twice by AT&T, <3 x &lt; y")
        [message] = await sink.wait_for(1)
        assert message.text == "charged twice by AT&T, <3 x &lt; y"
    finally:
        await connector.stop()


async def test_reply_is_posted_with_in_reply_to_tweet_id(fake: FakeX, sink: Collector, connector: XConnector) -> None:
    fake.mention("@acme the app keeps crashing")
    [message] = await sink.wait_for(1)
    sent = await connector.send(reply_to(message, "Sorry to hear that, Dana."))
    [post] = fake.posts
    assert post == {
        "kind": "tweet",
        "id": sent,
        "text": "Sorry to hear that, Dana.",
        "in_reply_to_tweet_id": message.external_id,
    }


async def test_since_id_is_kept_across_a_restart(fake: FakeX, state: MemoryState) -> None:
    first_sink = Collector()
    first = XConnector(settings_for(fake), state)
    await first.start(first_sink)
    a = fake.mention("@acme first")
    await first_sink.wait_for(1)
    await first.stop()
    assert state.values["mentions.since_id"] == a["id"]

    b = fake.mention("@acme while we were down")
    b_at = time.time()
    second_sink = Collector()
    second = XConnector(settings_for(fake), state)
    await second.start(second_sink)
    try:
        messages = await second_sink.wait_for(1)
        await asyncio.sleep(0.15)
        assert [m.external_id for m in messages] == [b["id"]]
        after_restart = [r for r in fake.reads() if r["at"] >= b_at]
        assert after_restart[0]["query"]["since_id"] == a["id"]
    finally:
        await second.stop()


async def test_mentions_from_before_the_first_start_are_not_answered(fake: FakeX, state: MemoryState) -> None:
    old = fake.mention("@acme ancient history")
    sink = Collector()
    connector = XConnector(settings_for(fake), state)
    await connector.start(sink)
    try:
        new = fake.mention("@acme fresh problem")
        messages = await sink.wait_for(1)
        await asyncio.sleep(0.1)
        assert [m.external_id for m in messages] == [new["id"]]
        assert old["id"] < new["id"]
    finally:
        await connector.stop()


async def test_poll_interval_stretches_when_the_window_is_spent(
    fake: FakeX, sink: Collector, state: MemoryState
) -> None:
    fake.rate_limits["mentions"] = (0, int(time.time()) + 2)
    connector = XConnector(settings_for(fake), state)
    await connector.start(sink)
    try:
        started = fake.reads()[-1]["at"]
        fake.rate_limits.pop("mentions")
        await fake.wait_for_reads(2, within=5)
        assert fake.reads()[1]["at"] - started >= 1.0
    finally:
        await connector.stop()


async def test_a_repeated_tweet_id_is_ingested_once(fake: FakeX, sink: Collector, state: MemoryState) -> None:
    connector = XConnector(settings_for(fake), state)
    await connector.start(sink)
    try:
        tweet = fake.mention("@acme where is my refund")
        await sink.wait_for(1)
        fake.tweets.append(dict(tweet))  # the API hands the same tweet back again
        fake.mention("@acme marker")
        messages = await sink.wait_for(2)
        await asyncio.sleep(0.15)
        assert [m.text for m in messages] == ["where is my refund", "marker"]
    finally:
        await connector.stop()


async def test_429_on_post_is_rate_limited_until_the_reset(fake: FakeX, sink: Collector, connector: XConnector) -> None:
    fake.mention("@acme help")
    [message] = await sink.wait_for(1)
    fake.fail_next(
        "tweets", 429, headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time()) + 120)}
    )
    with pytest.raises(RateLimited) as caught:
        await connector.send(reply_to(message, "On it"))
    assert 100 < caught.value.retry_after <= 122
    assert fake.posts == []


@TWEEPY_UNAWAITED
@pytest.mark.parametrize("kind", BODY_KINDS)
async def test_429_on_post_is_rate_limited_until_the_reset_whatever_the_body(
    kind: str, fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    fake.mention("@acme help")
    [message] = await sink.wait_for(1)
    reset = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(time.time()) + 600)}
    fake.fail_next("tweets", 429, headers=reset, body=kind)
    with pytest.raises(RateLimited) as caught:
        await connector.send(reply_to(message, "On it"))
    assert 580 < caught.value.retry_after <= 602
    assert fake.posts == []


@TWEEPY_UNAWAITED
@pytest.mark.parametrize("kind", ["json", "text", "empty-json"])
async def test_429_on_read_waits_for_the_reset_whatever_the_body(
    kind: str, fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    reset = int(time.time()) + 2
    limits = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    fake.fail_next("mentions", 429, headers=limits, body=kind)
    await fake.wait_for_reads(len(fake.reads()) + 1)
    refused_at = fake.reads()[-1]["at"]
    await asyncio.sleep(0.1)
    assert connector.status.startswith("rate limited until ")
    fake.mention("@acme anyone?")
    await sink.wait_for(1, within=6)
    later = [r["at"] for r in fake.reads() if r["at"] > refused_at]
    assert later and min(later) >= reset
    assert connector.status == "connected"


@TWEEPY_UNAWAITED
@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("kind", BODY_KINDS)
async def test_5xx_on_post_is_a_retryable_failure_whatever_the_body(
    status: int, kind: str, fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    fake.mention("@acme help")
    [message] = await sink.wait_for(1)
    fake.fail_next("tweets", status, body=kind)
    with pytest.raises(DeliveryFailed) as caught:
        await connector.send(reply_to(message, "On it"))
    assert caught.value.retryable is True
    assert f"HTTP {status}" in str(caught.value)


async def test_an_html_503_while_polling_shows_down_and_polling_recovers(
    fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    fake.fail_next("mentions", 503, body="html")
    await fake.wait_for_reads(len(fake.reads()) + 1)
    await asyncio.sleep(0.02)
    fake.mention("@acme still there?")
    await sink.wait_for(1, within=5)
    assert connector.status == "connected"


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("kind", ["json", "text"])
async def test_401_and_403_on_post_are_auth_failed_with_the_reason_x_gave(
    status: int, kind: str, fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    fake.mention("@acme help")
    [message] = await sink.wait_for(1)
    reason = "You are not allowed to create a Tweet with duplicate content."
    fake.fail_next("tweets", status, body=kind, reason=reason)
    with pytest.raises(AuthFailed) as caught:
        await connector.send(reply_to(message, "On it"))
    assert caught.value.status == status
    assert reason in str(caught.value)


async def test_403_on_mentions_fails_the_start_with_x_s_reason(fake: FakeX, sink: Collector) -> None:
    reason = "When authenticating requests to the Twitter API v2 endpoints, you must use keys from a Project."
    fake.fail_next("mentions", 403, body="json", reason=reason)
    connector = XConnector(settings_for(fake), MemoryState())
    with pytest.raises(AuthFailed) as caught:
        await connector.start(sink)
    assert reason in str(caught.value)
    assert connector.status.startswith("down:")
    await connector.stop()


async def test_daily_post_budget_stops_posting_until_midnight_and_survives_restart(
    fake: FakeX, sink: Collector, state: MemoryState
) -> None:
    connector = XConnector(settings_for(fake, daily_post_budget=1), state)
    await connector.start(sink)
    fake.mention("@acme one")
    fake.mention("@acme two")
    first, second = await sink.wait_for(2)
    await connector.send(reply_to(first, "Thanks"))
    with pytest.raises(RateLimited) as caught:
        await connector.send(reply_to(second, "Thanks"))
    assert 0 < caught.value.retry_after <= 86_400
    await connector.stop()
    again = XConnector(settings_for(fake, daily_post_budget=1), state)
    with pytest.raises(RateLimited):
        await again.send(reply_to(second, "Thanks"))
    assert len(fake.posts) == 1


async def test_dm_is_ingested_as_direct_and_answered_by_dm(fake: FakeX, sink: Collector, state: MemoryState) -> None:
    connector = XConnector(settings_for(fake, read_dms=True), state)
    await connector.start(sink)
    try:
        event = fake.dm("I was charged twice")
        [message] = await sink.wait_for(1)
        assert message.direct is True
        assert message.external_id == f"dm:{event['id']}"
        assert message.conversation_id == f"dm:{event['dm_conversation_id']}"
        sent = await connector.send(reply_to(message, "Sorry, we'll fix it", in_reply_to=""))
        [post] = fake.posts
        assert post["kind"] == "dm" and sent == f"dm:{post['id']}"
        assert post["dm_conversation_id"] == event["dm_conversation_id"]
    finally:
        await connector.stop()


async def test_dm_to_a_user_without_a_conversation_opens_one(
    fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    fake.mention("@acme please DM me")
    [message] = await sink.wait_for(1)
    await connector.send(reply_to(message, "Sent you a DM", direct=True))
    [post] = fake.posts
    assert (post["kind"], post["participant_id"]) == ("dm", CUSTOMER["id"])


async def test_dm_access_refused_turns_dms_off_and_keeps_mentions(
    fake: FakeX, sink: Collector, state: MemoryState
) -> None:
    fake.dm_access = False
    connector = XConnector(settings_for(fake, read_dms=True), state)
    await connector.start(sink)
    try:
        assert "DMs off" in connector.status
        fake.mention("@acme still here")
        await sink.wait_for(1)
    finally:
        await connector.stop()


async def test_x_down_shows_in_status_and_polling_recovers(fake: FakeX, sink: Collector, connector: XConnector) -> None:
    fake.down = True
    await fake.wait_for_reads(len(fake.reads()) + 2)
    await asyncio.sleep(0.05)
    assert connector.status.startswith("down: ")
    fake.down = False
    fake.mention("@acme back?")
    await sink.wait_for(1, within=5)
    assert connector.status == "connected"


async def test_bad_credentials_fail_start_with_auth_failed(fake: FakeX, sink: Collector) -> None:
    settings = settings_for(fake, bearer_token=SecretStr("wrong-secret"), access_token=SecretStr("wrong-token"))
    connector = XConnector(settings, MemoryState())
    with pytest.raises(AuthFailed) as caught:
        await connector.start(sink)
    assert "wrong" not in str(caught.value)
    assert connector.status.startswith("down:")
    await connector.stop()


async def test_user_id_is_looked_up_when_not_configured(fake: FakeX, sink: Collector) -> None:
    connector = XConnector(settings_for(fake, user_id=None), MemoryState())
    await connector.start(sink)
    try:
        fake.mention("@acme hi")
        [message] = await sink.wait_for(1)
        assert fake.reads("me") and fake.reads()[-1]["path"] == f"/2/users/{ACCOUNT_ID}/mentions"
        assert message.text == "hi"
    finally:
        await connector.stop()


async def test_bad_mentions_are_skipped_and_polling_goes_on(
    fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    fake.tweets.append({"id": "not-a-number", "text": "broken"})
    fake.mention("@acme")  # handles only
    fake.mention("RT @acme: great", referenced_tweets=[{"type": "retweeted", "id": "1"}])
    fake.mention("@acme from someone deleted", author={"id": "1500000000000000999", "username": "", "name": ""})
    fake.mention("@acme \u202eevil\x00 text")
    fake.mention("@acme " + "y" * 4000)
    fake.tweets.append({"id": "1" * 19, "text": "no author at all"})
    messages = await sink.wait_for(3)
    await asyncio.sleep(0.15)
    assert [m.text for m in messages] == ["from someone deleted", "evil text", "y" * 4000]
    assert connector.status == "connected"


async def test_sink_failure_keeps_since_id_and_the_mention_is_read_again(fake: FakeX, state: MemoryState) -> None:
    seen: list[str] = []
    stored = asyncio.Event()

    async def flaky(message: InboundMessage) -> None:
        seen.append(message.external_id)
        if len(seen) == 1:
            raise RuntimeError("database busy")
        stored.set()

    connector = XConnector(settings_for(fake), state)
    await connector.start(flaky)
    try:
        tweet = fake.mention("@acme help")
        await asyncio.wait_for(stored.wait(), 5)
        assert seen[:2] == [tweet["id"], tweet["id"]]
        assert state.values["mentions.since_id"] == tweet["id"]
    finally:
        await connector.stop()


async def test_x_down_at_start_does_not_fail_the_start_and_polling_recovers(
    fake: FakeX, sink: Collector, state: MemoryState
) -> None:
    fake.down = True
    connector = XConnector(settings_for(fake), state)
    await connector.start(sink)
    try:
        assert connector.status.startswith("down: ")
        fake.down = False
        await fake.wait_for_reads(len(fake.reads()) + 2)
        fake.mention("@acme hello?")
        await sink.wait_for(1)
        assert connector.status == "connected"
    finally:
        await connector.stop()


async def test_rate_limited_at_start_waits_instead_of_failing(fake: FakeX, sink: Collector, state: MemoryState) -> None:
    reset = int(time.time()) + 2
    fake.fail_next("mentions", 429, headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
    connector = XConnector(settings_for(fake), state)
    await connector.start(sink)
    try:
        assert connector.status.startswith("rate limited until ")
        await fake.wait_for_reads(2, within=6)
        assert fake.reads()[1]["at"] >= reset
    finally:
        await connector.stop()


async def test_a_failing_state_store_does_not_stop_polling(fake: FakeX, sink: Collector) -> None:
    class BrokenOnce(MemoryState):
        failed = False

        async def set(self, key: str, value: str) -> None:
            if key == "mentions.since_id" and not self.failed:
                self.failed = True
                raise OSError("disk full")
            await super().set(key, value)

    state = BrokenOnce()
    connector = XConnector(settings_for(fake), state)
    await connector.start(sink)
    try:
        fake.mention("@acme one")
        await sink.wait_for(1)
        fake.mention("@acme two")
        await sink.wait_for(3)  # "one" is read again: its since_id was never stored
        assert [m.text for m in sink.messages] == ["one", "one", "two"]
        assert state.values["mentions.since_id"] == sink.messages[-1].external_id
    finally:
        await connector.stop()


async def test_credentials_revoked_after_start_end_polling_and_are_reported(
    fake: FakeX, sink: Collector, connector: XConnector
) -> None:
    fake.credentials.bearer_token = "rotated"
    fake.credentials.access_token = "rotated"
    with pytest.raises(AuthFailed):
        await asyncio.wait_for(connector.wait(), 5)
    assert connector.status.startswith("down:")
    assert "rotated" not in connector.status


async def test_credentials_never_reach_the_logs(
    fake: FakeX, state: MemoryState, sink: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = XConnector(settings_for(fake), state)
    await connector.start(sink)
    try:
        fake.mention("@acme hello")
        [message] = await sink.wait_for(1)
        await connector.send(reply_to(message, "Hi"))
    finally:
        await connector.stop()
    c = fake.credentials
    for secret in (c.bearer_token, c.consumer_key, c.consumer_secret, c.access_token, c.access_token_secret):
        assert secret not in caplog.text


# The monthly budget, on a fixed budget clock: half of November gone, so with 1,000 reads a month the
# allowance is 500 + half of 2 days' share (33) = 533 minus what was used.
MID_NOV = datetime(2026, 11, 16, tzinfo=UTC)


def budget_connector(fake: FakeX, state: MemoryState, notices: list[BudgetSpent], **overrides: Any) -> XConnector:
    async def notify(event: BudgetSpent) -> None:
        notices.append(event)

    settings = settings_for(fake, monthly_read_budget=1_000, **overrides)
    return XConnector(settings, state, notify=notify, clock=lambda: MID_NOV)


def used(state: MemoryState, reads: int = 0, posts: int = 0) -> None:
    state.values["usage.month"] = Usage("2026-11", reads=reads, posts=posts).encode()


async def test_reads_stop_at_the_allowance_and_wait_for_the_budget(fake: FakeX, state: MemoryState) -> None:
    state.values["mentions.since_id"] = "1"
    used(state, reads=526)  # 7 reads allowed
    for n in range(20):
        fake.mention(f"@acme busy day {n}")
    sink = Collector()
    connector = budget_connector(fake, state, [])
    await connector.start(sink)
    try:
        assert [r["query"]["max_results"] for r in fake.reads()] == ["7"]
        assert [m.text for m in sink.messages] == [f"busy day {n}" for n in range(13, 20)]  # the newest seven
        assert Usage.decode(state.values["usage.month"], MID_NOV).reads == 533
        assert connector.status.startswith("connected; paced by the read budget, next read ")
    finally:
        await connector.stop()


async def test_a_spent_read_budget_stops_reading_says_so_and_notices_once(fake: FakeX, state: MemoryState) -> None:
    state.values["mentions.since_id"] = "1"
    used(state, reads=996)
    notices: list[BudgetSpent] = []
    connector = budget_connector(fake, state, notices)
    await connector.start(Collector())
    await connector.stop()
    again = budget_connector(fake, state, notices)
    await again.start(Collector())
    try:
        assert fake.reads() == []
        assert again.status == "read budget spent: 996 of 1,000 posts this month; reading again 2026-12-01 00:00Z"
        assert notices == [BudgetSpent("x", "reads", 996, 1_000, datetime(2026, 12, 1, tzinfo=UTC))]
    finally:
        await again.stop()


async def test_a_post_read_again_the_same_day_is_counted_once(fake: FakeX, state: MemoryState) -> None:
    seen: list[str] = []

    async def flaky(message: InboundMessage) -> None:
        seen.append(message.text)
        if len(seen) == 1:
            raise RuntimeError("database busy")  # the mention is read again on the next poll

    connector = budget_connector(fake, state, [])
    await connector.start(flaky)
    try:
        fake.mention("@acme help")
        async with asyncio.timeout(5):
            while len(seen) < 2:
                await asyncio.sleep(0.01)
        assert seen == ["help", "help"]
        assert Usage.decode(state.values["usage.month"], MID_NOV).reads == 1
    finally:
        await connector.stop()


async def test_the_monthly_post_budget_stops_posting_until_next_month(
    fake: FakeX, sink: Collector, state: MemoryState
) -> None:
    notices: list[BudgetSpent] = []
    connector = budget_connector(fake, state, notices, monthly_post_budget=1)
    await connector.start(sink)
    try:
        fake.mention("@acme one")
        fake.mention("@acme two")
        first, second = await sink.wait_for(2)
        await connector.send(reply_to(first, "Thanks"))
        with pytest.raises(RateLimited) as caught:
            await connector.send(reply_to(second, "Thanks"))
        assert caught.value.retry_after == 15 * 86_400
        assert len(fake.posts) == 1
        assert notices == [BudgetSpent("x", "posts", 1, 1, datetime(2026, 12, 1, tzinfo=UTC))]
        assert await connector.usage() == [
            "reads 2 of 1,000; month-end projection 4",
            "posts 1 of 1; month-end projection 2 (capped by the budget)",
        ]
    finally:
        await connector.stop()


async def test_a_long_reply_is_a_thread_and_a_retry_after_a_spent_budget_posts_only_the_rest(
    fake: FakeX, state: MemoryState, sink: Collector
) -> None:
    """Each part answers the one before; parts already posted are never posted again."""
    notices: list[BudgetSpent] = []
    connector = budget_connector(fake, state, notices, monthly_post_budget=2)
    await connector.start(sink)
    try:
        fake.mention("@acme where is my parcel?")
        [message] = await sink.wait_for(1)
        text = " ".join(f"Update {i}: the courier scanned your parcel at the depot." for i in range(12))
        reply = reply_to(message, text, id=7)
        with pytest.raises(RateLimited):
            await connector.send(reply)  # the month's two posts go on the first two parts
        assert [p["text"][-6:] for p in fake.posts] == [" (1/3)", " (2/3)"]
    finally:
        await connector.stop()
    # The operator raises the budget and restarts: the outbox retries the reply, only part 3 goes out.
    connector = budget_connector(fake, state, notices, monthly_post_budget=10)
    await connector.start(sink)
    try:
        last = await connector.send(reply)
    finally:
        await connector.stop()
    first, second, third = fake.posts
    assert first["in_reply_to_tweet_id"] == message.external_id
    assert second["in_reply_to_tweet_id"] == first["id"] and third["in_reply_to_tweet_id"] == second["id"]
    assert third["text"].endswith(" (3/3)") and last == third["id"]
    assert " ".join(p["text"].rsplit(" (", 1)[0] for p in fake.posts) == text
