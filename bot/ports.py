"""The ports the core depends on. Connectors and queues implement them; the core never imports one.

- `Connector`: a platform adapter (ingests into a `Sink`, delivers replies);
- `StateStore`: durable key/value state a connector keeps (X's since_id, the Slack event ledger);
- `EventStore`: domain events as rows written with the change they report, and who handled which;
- `WorkQueue`: what tells the processing worker that stored messages wait (in-process by default;
  a Redis stream when several processes share the work);
- `HttpEndpoints`: a connector that takes platform requests (Slack's events) on Rapport's one HTTP server.
- `UsageReport`: a metered allowance a part spends (X reads and posts), summed up for staff.
- `Knowledge`: the articles the bot may answer a question from on its own (bot/knowledge/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bot.domain import InboundMessage, OutboundReply

# The core's entry point. It returns once the message is stored (processing happens after, from the
# work queue), so a connector acknowledges a platform event only after `await sink(message)` returns,
# and treats `bot.errors.StorageError` from it as "not stored: make the platform retry".
Sink = Callable[[InboundMessage], Awaitable[None]]

# An ASGI application, (scope, receive, send): the shape any Python web framework can mount.
AsgiScope = MutableMapping[str, Any]
AsgiApp = Callable[
    [AsgiScope, Callable[[], Awaitable[AsgiScope]], Callable[[AsgiScope], Awaitable[None]]], Awaitable[None]
]


@runtime_checkable
class Connector(Protocol):
    """A platform adapter: ingests messages into the sink and delivers replies."""

    @property
    def name(self) -> str: ...

    async def start(self, sink: Sink) -> None:
        """Begin ingesting. Returns once the connector is listening (long-running work goes in tasks)."""
        ...

    async def stop(self) -> None: ...

    # Optional: `async def wait(self) -> None` returning when the connector has ended and raising the
    # bot.errors exception that ended it. The supervisor in bot/app.py uses it to restart a connector
    # that dies after starting (a revoked token, a closed gateway); without it, only failed starts are
    # retried. `status` (a short string) is shown by `rapport run` when present.

    async def send(self, reply: OutboundReply) -> str:
        """Deliver one reply and return the platform's id for it.

        Raises `bot.errors.RateLimited`, `DeliveryFailed` or `AuthFailed`; never a platform SDK error.
        """
        ...


class StateStore(Protocol):
    """Durable key/value state for a connector (e.g. X's since_id), kept in the database."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...

    async def prune(self, prefix: str, before: datetime) -> int:
        """Forget the keys starting with `prefix` last set before `before` (redelivery guards past use)."""
        ...


class WorkQueue(Protocol):
    """The work list of stored, unprocessed message ids. The database stays the source of truth: a
    queue may lose an entry (a restart) and the worker still finds the message by its stored state."""

    async def put(self, message_id: int) -> None:
        """Announce a stored message (after its commit)."""
        ...

    async def take(self, limit: int, wait_seconds: float) -> list[int]:
        """Up to `limit` announced ids, waiting at most `wait_seconds` for the first; may be empty."""
        ...

    async def done(self, message_ids: list[int]) -> None:
        """These taken ids are handled (committed): never hand them out again."""
        ...

    async def requeue(self, waiting: list[int]) -> int:
        """Announce again those of `waiting` (stored, unprocessed ids) the queue lost; how many."""
        ...

    async def stats(self) -> dict[str, int]:
        """ "length": entries not done yet; "pending": those of them a worker has taken."""
        ...

    async def close(self) -> None: ...


class EventStore(Protocol):
    """Durable domain events: appended in the change's own transaction, relayed after its commit."""

    async def append(self, kind: str, payload: dict[str, Any]) -> int: ...

    async def undelivered(
        self, subscriber: str, since: datetime, limit: int = 200
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, kind, payload) of events since `since` this subscriber has not handled, oldest first."""
        ...

    async def delivered(self, handled: Sequence[tuple[int, str]]) -> None:
        """Record that each (event id, subscriber) pair was handled; a pair recorded before is no error."""
        ...

    async def prune(self, before: datetime) -> int:
        """Drop events (and their delivery records) older than `before`."""
        ...


@runtime_checkable
class HttpEndpoints(Protocol):
    """A connector that serves platform requests on the shared HTTP server ([server] host/port)."""

    def http_routes(self) -> Mapping[str, AsgiApp]:
        """Exact paths (e.g. "/slack/events") and the ASGI app answering each; mounted before the
        connector starts, so each app answers "not ready" (503, the platform retries) until then."""


class UsageReport(Protocol):
    """What a metered part has spent this period (X's pay-per-use reads and posts), for staff views."""

    async def summary(self) -> list[str]:
        """A title line, then one line per allowance (used, limit, projection, cost). Plain text."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The knowledge base's closest article for a question; `answered` when it may be sent unreviewed."""

    article: str  # the article's file stem
    score: float  # 0-1; `answered` is score >= the configured threshold
    reply: str
    answered: bool


class Knowledge(Protocol):
    """Answers questions from articles; below the threshold a person answers instead."""

    def answer(self, text: str, language: str | None = None) -> Answer | None:
        """The closest article in `language` (None or "unknown": English), or None when there is none.

        Blocking (it may run the encoder): call it from a thread in async code.
        """
        ...

    def search(
        self, text: str, language: str | None = None, *, limit: int = 3, floor: float = 0.0, floor_lexical: float = 0.0
    ) -> list[Answer]:
        """The best `limit` articles, best first, at or above `floor` (or `floor_lexical` when scored by
        words alone): suggestions a person reviews. Blocking, as `answer` is."""
        ...


class Deferred(Protocol):
    """Bookkeeping a message makes due that its reply need not wait for (a customer's tier and stage).

    The worker settles it between batches: what has waited past its bound always, everything when the
    queue is quiet; one-shot processing (replays, chat) settles it at once.
    """

    def pending(self) -> int:
        """How much is waiting to be settled."""
        ...

    async def settle(self, *, idle: bool, limit: int) -> int:
        """Settle up to `limit` items (all that are due when `idle`, else only the overdue); how many."""
        ...
