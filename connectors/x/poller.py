"""Reading new mentions and DMs since the last stored id, and handing them to the sink oldest first.

The stored id advances only after the sink returned for that item, so a crash or restart re-reads
what was not yet stored (the core dedupes it) and never skips anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import InboundMessage
from bot.errors import InputError
from connectors.base import Sink, StateStore
from connectors.x.api import Page, XApi
from connectors.x.budget import MIN_READ
from connectors.x.translate import dm_to_inbound, mention_to_inbound, users_by_id
from connectors.x.usage import Meter

log = logging.getLogger(__name__)

MAX_PAGES = 5  # per poll; a backlog bigger than 500 is read over the next polls
PAGE_SIZE = 100
BASELINE_SIZE = 5  # first start: only learn the newest id, don't answer the account's history


@dataclass
class Feed:
    """One stream of items with increasing numeric ids: mentions, or DM events."""

    name: str
    since_key: str
    fetch: Callable[[str | None, int, str | None], Any]  # (since_id, max_results, page token) -> Page
    to_inbound: Callable[[Mapping[str, Any], Mapping[str, Mapping[str, Any]], str], InboundMessage | None]
    filters_by_since: bool  # mentions take since_id; DM events do not, so we filter ourselves
    started_empty: bool = False  # baseline found nothing: everything from now on is new


def mentions_feed(api: XApi, user_id: str) -> Feed:
    async def fetch(since: str | None, size: int, token: str | None) -> Page:
        return await api.mentions(user_id, since_id=since, max_results=size, token=token)

    return Feed("mentions", "mentions.since_id", fetch, mention_to_inbound, filters_by_since=True)


def dm_feed(api: XApi) -> Feed:
    async def fetch(since: str | None, size: int, token: str | None) -> Page:
        return await api.dm_events(max_results=size, token=token)

    return Feed("DMs", "dms.since_id", fetch, dm_to_inbound, filters_by_since=False)


def _items(page: Page) -> list[Mapping[str, Any]]:
    data = page.body.get("data")
    return [i for i in data if isinstance(i, Mapping)] if isinstance(data, list) else []


def _newer(item_id: object, since: str | None) -> bool:
    return isinstance(item_id, str) and item_id.isdigit() and (since is None or int(item_id) > int(since))


async def _size(meter: Meter | None, wanted: int) -> int | None:
    """The page size the read budget allows now, or None when it allows no read."""
    allowed = await meter.read_allowance() if meter is not None else None
    if allowed is None:
        return wanted
    return min(wanted, allowed) if allowed >= MIN_READ else None


async def _fetch(feed: Feed, meter: Meter | None, since: str | None, size: int, token: str | None) -> Page:
    page = await feed.fetch(since, size, token)
    if meter is not None:
        # X bills every post a read returns, the unreadable ones too.
        await meter.count_reads(str(i.get("id")) for i in _items(page))
    return page


async def poll(feed: Feed, state: StateStore, sink: Sink, me_id: str, meter: Meter | None = None) -> Page | None:
    """Read what is new in `feed` (within the read budget), give it to the sink oldest first, advance the
    stored id. Returns the last page, or None when the budget allowed no read."""
    since = await state.get(feed.since_key)
    if since is None and not feed.started_empty:
        return await _baseline(feed, state, meter)
    items: list[Mapping[str, Any]] = []
    users: dict[str, Mapping[str, Any]] = {}
    token: str | None = None
    page: Page | None = None
    for _ in range(MAX_PAGES):
        size = await _size(meter, PAGE_SIZE)
        if size is None:
            if token:
                # X lists newest first: what the budget leaves unread now is older than what was read, and
                # since_id moves past it. Reading it later would cost the same and answer it later still.
                log.warning("x: read budget reached with more %s waiting; the older ones are skipped", feed.name)
            break
        page = await _fetch(feed, meter, since, size, token)
        listed = _items(page)
        fresh = [i for i in listed if _newer(i.get("id"), since)]
        items.extend(fresh)
        users.update(users_by_id(page.body))
        meta = page.body.get("meta")
        token = meta.get("next_token") if isinstance(meta, Mapping) else None
        # Without since_id support, stop paging once a page reaches what we have already read.
        if not token or (not feed.filters_by_since and len(fresh) < len(listed)):
            break
    for item in sorted(items, key=lambda i: int(i["id"])):
        if not await _ingest(feed, item, users, sink, me_id):
            break  # the core is failing: keep since_id here and try again next poll
        await state.set(feed.since_key, str(item["id"]))
    return page


async def _baseline(feed: Feed, state: StateStore, meter: Meter | None) -> Page | None:
    if await _size(meter, BASELINE_SIZE) is None:
        return None
    page = await _fetch(feed, meter, None, BASELINE_SIZE, None)
    ids = [int(i["id"]) for i in _items(page) if _newer(i.get("id"), None)]
    if ids:
        await state.set(feed.since_key, str(max(ids)))
        log.info("x: first start: %s before %s are history, not answered", feed.name, max(ids))
    else:
        feed.started_empty = True
    return page


async def _ingest(
    feed: Feed, item: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]], sink: Sink, me_id: str
) -> bool:
    """Give one item to the sink. False when the core failed and the item must be read again."""
    try:
        message = feed.to_inbound(item, users, me_id)
    except Exception as exc:  # a payload shape we did not foresee: skip it, keep reading
        log.warning("x: skipped an unreadable %s item (%s)", feed.name, type(exc).__name__)
        return True
    if message is None:
        return True
    try:
        await sink(message)
    except InputError as exc:
        log.warning("x: core refused %s %s: %s", feed.name, message.external_id, exc)
        return True
    except Exception as exc:
        log.error("x: core failed on %s %s: %s; will read it again", feed.name, message.external_id, exc)
        return False
    return True
