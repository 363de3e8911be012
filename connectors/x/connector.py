"""The X connector: polls mentions (and DMs where access allows), paced by X's limits; replies or DMs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.config import XSettings
from bot.domain import OutboundReply
from bot.errors import AuthFailed, ConfigError, ConnectorError, DeliveryFailed, RateLimited
from bot.events import BudgetSpent
from bot.text import split_parts
from connectors.base import Sink, StateStore
from connectors.parts import send_in_parts
from connectors.x.api import XApi
from connectors.x.budget import Budget, month_end
from connectors.x.errors import NAME
from connectors.x.pacing import PostBudget, next_poll_delay
from connectors.x.poller import Feed, dm_feed, mentions_feed, poll
from connectors.x.usage import Meter

log = logging.getLogger(__name__)

TWEET_LIMIT = 280
DM_LIMIT = 10_000
MAX_BACKOFF = 900.0  # X down: try again at least every 15 minutes


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%MZ")


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _why(exc: Exception) -> str:
    return str(exc).removeprefix(f"{NAME}: ")


def _dms_refused(exc: ConnectorError) -> bool:
    """X refused the DM endpoint itself (403, or another final refusal), not our credentials (401)."""
    if isinstance(exc, AuthFailed):
        return exc.status == 403
    return isinstance(exc, DeliveryFailed) and not exc.retryable


class XConnector:
    """Mentions and DMs in, replies (`in_reply_to_tweet_id`) and DMs out, within X's limits and our budget."""

    def __init__(
        self,
        settings: XSettings,
        state: StateStore,
        *,
        notify: Callable[[BudgetSpent], Awaitable[None]] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`notify` publishes a spent monthly budget (to the Slack desk); `clock` is the budget's (tests)."""
        self._settings = settings
        self._state = state
        self._api = XApi(settings)
        self._budget = PostBudget(state, settings.daily_post_budget)
        self._meter = Meter(state, Budget.of(settings), clock)
        self._notify = notify
        self._sink: Sink | None = None
        self._feeds: list[Feed] = []
        self._user_id = settings.user_id or ""
        self._poller: asyncio.Task[None] | None = None
        self._status = "stopped"
        self._dm_note = ""
        self._failure: ConnectorError | None = None

    @property
    def name(self) -> str:
        return NAME

    @property
    def status(self) -> str:
        return self._status + self._dm_note

    @property
    def failure(self) -> ConnectorError | None:
        """The fatal error that stopped polling after start, if any."""
        return self._failure

    async def start(self, sink: Sink) -> None:
        """Find the account, read once (checking the credentials) and keep polling in a task.

        Raises AuthFailed or ConfigError; an X outage does not fail the start, it shows in `status`.
        """
        if not self._settings.enabled:
            raise ConfigError("[x] needs bearer_token or access_token (or X_BEARER_TOKEN, X_ACCESS_TOKEN)")
        if self._poller is not None:
            await self.stop()  # a restart after a failure: never two pollers at once
        self._sink = sink
        self._failure = None
        self._status = "starting"
        if not self._user_id:
            if not self._api.has_user_context:
                raise ConfigError("[x] user_id is required when only a bearer token is configured")
            try:
                me = await self._api.me()
            except AuthFailed:
                await self._api.close()
                raise
            data = me.body.get("data")
            self._user_id = str(data.get("id", "")) if isinstance(data, dict) else ""
            if not self._user_id.isdigit():
                await self._api.close()
                raise ConnectorError("could not learn the account's user id", connector=NAME)
        self._feeds = [mentions_feed(self._api, self._user_id)]
        if self._settings.read_dms:
            if self._api.has_user_context:
                self._feeds.append(dm_feed(self._api))
            else:
                self._dm_note = "; DMs off: read_dms needs access_token and access_token_secret"
        try:
            delay = await self._poll_once()
        except AuthFailed as exc:
            await self._api.close()
            self._status = f"down: {_why(exc)}"
            raise
        except ConnectorError as exc:
            # X down or limiting us: don't fail the start (the runner would retry at once and hammer it);
            # the poller waits and tries again, and the status says what is wrong meanwhile.
            delay = self._note_trouble(exc, self._settings.poll_interval)
        self._poller = asyncio.create_task(self._run(delay), name="x-poller")

    async def _poll_once(self) -> float:
        """Read every feed once; the delay before the next read, from X's rate headers. Raises ConnectorError."""
        assert self._sink is not None
        wait = await self._read_budget_wait()
        if wait > 0:
            return wait
        delay = self._settings.poll_interval
        for feed in list(self._feeds):
            try:
                page = await poll(feed, self._state, self._sink, self._user_id, self._meter)
            except (AuthFailed, DeliveryFailed) as exc:
                if feed.name == "DMs" and _dms_refused(exc):
                    # Usually an access level or app permission without DM reads: keep the mentions going.
                    self._feeds.remove(feed)
                    self._dm_note = f"; DMs off: {_why(exc)}"
                    log.warning("x: DM reading turned off: %s", _why(exc))
                    continue
                raise
            if page is not None:
                delay = max(delay, next_poll_delay(page.headers, self._settings.poll_interval))
        self._status = "connected"
        return max(delay, await self._read_budget_wait())

    async def _read_budget_wait(self) -> float:
        """Seconds the read budget wants before the next read (0: read now), said in the status."""
        wait = await self._meter.read_wait()
        if wait <= 0:
            return 0.0
        now = self._meter.clock()
        limit = self._meter.limits.reads or 0
        if await self._meter.reads_spent(now):
            used = (await self._meter.usage(now)).reads
            resumes = month_end(now)
            self._status = f"read budget spent: {used:,} of {limit:,} posts this month; reading again {_when(resumes)}"
            await self._tell("reads", used, limit, resumes)
        else:
            self._status = f"connected; paced by the read budget, next read {_clock(time.time() + wait)}"
        return wait

    async def _tell(self, what: str, used: int, limit: int, resumes: datetime) -> None:
        """Publish a spent budget once a month (the first time it is seen spent, across restarts too)."""
        log.warning("x: monthly %s budget spent (%d of %d); resumes %s", what, used, limit, _when(resumes))
        if self._notify is not None and await self._meter.first_notice(what):
            await self._notify(BudgetSpent(NAME, what, used, limit, resumes))

    def _note_trouble(self, exc: Exception, backoff: float) -> float:
        """Record a transient failure in the status; the seconds to wait before reading again."""
        if isinstance(exc, RateLimited):
            delay = exc.retry_after
            self._status = f"rate limited until {_clock(time.time() + delay)}"
        else:
            delay = backoff
            self._status = f"down: {_why(exc)}"
        log.warning("x: %s; next read in %.1fs", _why(exc), delay)
        return delay

    async def _run(self, delay: float) -> None:
        """Poll until stopped. Outages and 429s wait and retry; revoked credentials end polling (see `wait`)."""
        backoff = self._settings.poll_interval
        while True:
            await asyncio.sleep(delay)
            try:
                delay = await self._poll_once()
                backoff = self._settings.poll_interval
            except AuthFailed as exc:
                # Kept rather than raised in the task: `wait()` raises it to whoever supervises us.
                self._failure = exc
                self._status = f"down: {_why(exc)}"
                log.error("x: connector stopped: %s", _why(exc))
                return
            except ConnectorError as exc:
                backoff = min(MAX_BACKOFF, backoff * 2)
                delay = self._note_trouble(exc, backoff)
            except Exception as exc:  # e.g. the state store failing: keep polling, loudly
                backoff = min(MAX_BACKOFF, backoff * 2)
                delay = backoff
                self._status = f"down: {type(exc).__name__} while polling"
                log.exception("x: polling failed; next read in %.1fs", delay)

    async def wait(self) -> None:
        """Return when polling ends (after `stop()`); raise the fatal error that ended it, if any."""
        if self._poller is not None:
            await asyncio.wait({self._poller})
        if self._failure is not None:
            raise self._failure

    async def stop(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
        await self._api.close()
        self._status = "stopped"

    async def send(self, reply: OutboundReply) -> str:
        """Post a reply (`in_reply_to_tweet_id`) or a DM within the daily budget; returns the tweet or "dm:" id."""
        if not reply.text.strip():
            raise DeliveryFailed("empty reply", retryable=False, connector=NAME)
        if not self._api.has_user_context:
            raise AuthFailed("posting needs consumer_key/secret and access_token/secret", connector=NAME)
        # A reply longer than a post is a thread: each part answers the one before, and counts as a post.
        parts = split_parts(reply.text, DM_LIMIT if reply.direct else TWEET_LIMIT)
        async with self._budget.lock:

            async def post(text: str, previous: str | None) -> str:
                await self._budget.check()
                try:
                    await self._meter.check_post()
                except RateLimited:
                    limit = self._meter.limits.posts or 0
                    now = self._meter.clock()
                    await self._tell("posts", (await self._meter.usage(now)).posts, limit, month_end(now))
                    raise
                if reply.direct:
                    external_id = await self._send_dm(reply, text)
                else:
                    external_id = await self._send_tweet(reply, text, previous)
                await self._budget.spend()
                await self._meter.count_post()
                return external_id

            return await send_in_parts(self._state, reply.id, parts, post)

    async def usage(self) -> list[str]:
        """This month's reads and posts against the budget, the month-end projection and the cost."""
        return [line.text() for line in await self._meter.report()]

    async def summary(self) -> list[str]:
        """The `UsageReport` port (the App Home's X section): a title naming the month, then usage()."""
        return await self._meter.summary()

    async def _send_tweet(self, reply: OutboundReply, text: str, previous: str | None) -> str:
        # A staff reply may name no message: answer the conversation's first tweet rather than post loose.
        target = previous or reply.in_reply_to or reply.conversation_id
        in_reply_to = target if target.isdigit() else None
        page = await self._api.reply(text, in_reply_to)
        data = page.body.get("data")
        tweet_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(tweet_id, str):
            raise DeliveryFailed("X accepted the tweet but returned no id", retryable=False, connector=NAME)
        return tweet_id

    async def _send_dm(self, reply: OutboundReply, text: str) -> str:
        conversation = reply.conversation_id.removeprefix("dm:") if reply.conversation_id.startswith("dm:") else ""
        participant = None if conversation else reply.recipient_id
        if not conversation and not (participant or "").isdigit():
            raise DeliveryFailed(
                f"no DM conversation or user id ({reply.recipient_id!r})", retryable=False, connector=NAME
            )
        page = await self._api.direct_message(text, conversation_id=conversation or None, participant_id=participant)
        data = page.body.get("data")
        event_id = data.get("dm_event_id") if isinstance(data, dict) else None
        if not isinstance(event_id, str):
            raise DeliveryFailed("X accepted the DM but returned no id", retryable=False, connector=NAME)
        return f"dm:{event_id}"
