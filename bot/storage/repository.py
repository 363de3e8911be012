"""The only place that reads and writes rows; everything it returns is a domain object."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import (
    AuditEvent,
    ConversationState,
    Customer,
    Escalation,
    EscalationStatus,
    Identity,
    InboundMessage,
    Note,
    OutboundReply,
    Priority,
    ReplyStatus,
    StoredMessage,
    utcnow,
)
from bot.errors import Conflict, InputError, NotFound, StorageError
from bot.storage.database import Database, insert_new
from bot.storage.tables import (
    AuditRow,
    ConnectorStateRow,
    CustomerRow,
    EscalationRow,
    IdentityRow,
    MessageRow,
    NoteRow,
    ReplyRow,
)
from bot.storage.turns import WAITING
from nlp.types import Analysis, Intent, Sentiment


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; everything we store is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _analysis_to_json(a: Analysis) -> dict[str, Any]:
    data = asdict(a)
    data["scores"] = dict(a.scores)
    return data


def _analysis_from_json(data: Mapping[str, Any] | None) -> Analysis | None:
    if not data:
        return None
    return Analysis(
        sentiment=Sentiment(data["sentiment"]),
        intent=Intent(data["intent"]),
        urgent=bool(data["urgent"]),
        abusive=bool(data["abusive"]),
        language=data.get("language", "unknown"),
        confidence=float(data.get("confidence", 0.0)),
        low_confidence=bool(data.get("low_confidence", False)),
        scores=dict(data.get("scores", {})),
        model_version=data.get("model_version", "unknown"),
    )


def _message(row: MessageRow) -> StoredMessage:
    inbound = InboundMessage(
        channel=row.channel,
        external_id=row.external_id,
        author_id=row.author_id,
        text=row.text,
        conversation_id=row.conversation_id,
        author_handle=row.author_handle,
        author_name=row.author_name,
        sent_at=_aware(row.sent_at) or utcnow(),
        direct=row.direct,
        connector=row.connector,
    )
    return StoredMessage(
        id=row.id,
        message=inbound,
        customer_id=row.customer_id,
        analysis=_analysis_from_json(row.analysis),
        received_at=_aware(row.received_at) or utcnow(),
        action=row.action,
    )


def _identity(row: IdentityRow) -> Identity:
    return Identity(row.channel, row.platform_user_id, row.customer_id, row.handle, row.display_name)


def _customer(row: CustomerRow, identities: Iterable[IdentityRow] = ()) -> Customer:
    return Customer(
        id=row.id,
        display_name=row.display_name,
        created_at=_aware(row.created_at) or utcnow(),
        tier=row.tier,
        stage=row.stage,
        email=row.email,
        identities=tuple(_identity(i) for i in identities),
    )


def _escalation(row: EscalationRow, message_ids: Sequence[int] = (), notes: Iterable[NoteRow] = ()) -> Escalation:
    return Escalation(
        id=row.id,
        customer_id=row.customer_id,
        opening_message_id=row.opening_message_id,
        channel=row.channel,
        conversation_id=row.conversation_id,
        status=EscalationStatus(row.status),
        priority=Priority(row.priority),
        reason=row.reason,
        intent=row.intent,
        created_at=_aware(row.created_at) or utcnow(),
        updated_at=_aware(row.updated_at) or utcnow(),
        flagged=row.flagged,
        assignee=row.assignee,
        claimed_at=_aware(row.claimed_at),
        resolved_at=_aware(row.resolved_at),
        message_ids=tuple(message_ids),
        notes=tuple(Note(n.author, n.text, _aware(n.at) or utcnow()) for n in notes),
        state=ConversationState(row.conversation_state or ConversationState.WITH_PERSON),
        details=_details(row.details),
    )


def _details(text: str | None) -> dict[str, str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _reply(row: ReplyRow) -> OutboundReply:
    return OutboundReply(
        id=row.id,
        connector=row.connector,
        channel=row.channel,
        recipient_id=row.recipient_id,
        conversation_id=row.conversation_id,
        text=row.text,
        status=ReplyStatus(row.status),
        attempts=row.attempts,
        created_at=_aware(row.created_at) or utcnow(),
        in_reply_to=row.in_reply_to,
        direct=row.direct,
        kind=row.kind,
        escalation_id=row.escalation_id,
        message_id=row.message_id,
        external_id=row.external_id,
        last_error=row.last_error,
        next_attempt_at=_aware(row.next_attempt_at),
        sent_at=_aware(row.sent_at),
    )


def _audit(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        at=_aware(row.at) or utcnow(),
        kind=row.kind,
        detail=row.detail,
        actor=row.actor,
        message_id=row.message_id,
        customer_id=row.customer_id,
        escalation_id=row.escalation_id,
    )


class Repository:
    """Async data access for the core. Each method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _session(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self._db.session()

    def unit(self) -> AbstractAsyncContextManager[None]:
        """One transaction for every repository call inside (see Database.unit)."""
        return self._db.unit()

    async def start_processing(self, message_id: int) -> bool:
        """Mark a stored message as being processed, inside the caller's unit of work.

        False when it is no longer waiting (processed already, by this process or a concurrent one): the
        conditional update is what makes processing a redelivered message change nothing.
        """
        async with self._session() as s:
            result = await s.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.action == "")
                .values(action="processing")
            )
            await s.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- messages -------------------------------------------------------------------------------

    async def store_inbound(self, msg: InboundMessage) -> tuple[StoredMessage, bool]:
        """Persist an inbound message; returns (stored, created). A known (channel, id) is not stored again."""
        same = (MessageRow.channel == msg.channel, MessageRow.external_id == msg.external_id)
        async with self._session() as s:
            # Insert first: a new message (the common case) costs one statement, a redelivery two.
            row = await s.scalar(
                insert_new(
                    s,
                    MessageRow,
                    {
                        "channel": msg.channel,
                        "external_id": msg.external_id,
                        "connector": msg.via,
                        "conversation_id": msg.conversation_id,
                        "author_id": msg.author_id,
                        "author_handle": msg.author_handle,
                        "author_name": msg.author_name,
                        "text": msg.text,
                        "direct": msg.direct,
                        "sent_at": msg.sent_at,
                        "received_at": utcnow(),
                    },
                )
            )
            if row is not None:
                await s.commit()
                return _message(row), True
            existing = await s.scalar(select(MessageRow).where(*same))
            if existing is None:
                raise StorageError(f"message {msg.channel}:{msg.external_id[:40]} violates a unique key")
            return _message(existing), False

    async def update_message(
        self,
        message_id: int,
        *,
        customer_id: int | None = None,
        analysis: Analysis | None = None,
        action: str | None = None,
        escalation_id: int | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {}
        if customer_id is not None:
            values["customer_id"] = customer_id
        if analysis is not None:
            values.update(
                analysis=_analysis_to_json(analysis), intent=analysis.intent.value, sentiment=analysis.sentiment.value
            )
        if action is not None:
            values["action"] = action
        if escalation_id is not None:
            values["escalation_id"] = escalation_id
        if error is not None:
            values["error"] = error[:2000]
        if not values:
            return
        async with self._session() as s:
            await s.execute(update(MessageRow).where(MessageRow.id == message_id).values(**values))
            await s.commit()

    async def get_message(self, message_id: int) -> StoredMessage | None:
        async with self._session() as s:
            row = await s.get(MessageRow, message_id)
            return _message(row) if row else None

    async def messages(
        self,
        *,
        customer_id: int | None = None,
        escalation_id: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
        since: datetime | None = None,
    ) -> list[StoredMessage]:
        stmt = select(MessageRow)
        if customer_id is not None:
            stmt = stmt.where(MessageRow.customer_id == customer_id)
        if escalation_id is not None:
            stmt = stmt.where(MessageRow.escalation_id == escalation_id)
        if since is not None:
            stmt = stmt.where(MessageRow.received_at >= since)
        order = MessageRow.id.desc() if newest_first else MessageRow.id
        async with self._session() as s:
            rows = (await s.scalars(stmt.order_by(order).limit(limit))).all()
            return [_message(r) for r in rows]

    async def unfinished_messages(self, limit: int = 1000) -> list[StoredMessage]:
        """Messages stored but not processed yet (waiting in the queue, or left by a process that stopped)."""
        async with self._session() as s:
            rows = (
                await s.scalars(
                    select(MessageRow).where(MessageRow.action == WAITING).order_by(MessageRow.id).limit(limit)
                )
            ).all()
            return [_message(r) for r in rows]

    async def waiting_messages(self, ids: Sequence[int]) -> list[StoredMessage]:
        """Those of `ids` that are stored and not processed yet, oldest first."""
        async with self._session() as s:
            rows = (
                await s.scalars(
                    select(MessageRow)
                    .where(MessageRow.id.in_(list(ids)), MessageRow.action == WAITING)
                    .order_by(MessageRow.id)
                )
            ).all()
            return [_message(r) for r in rows]

    async def count_by_sentiment(self, since: datetime) -> dict[str, int]:
        async with self._session() as s:
            rows = await s.execute(
                select(MessageRow.sentiment, func.count())
                .where(MessageRow.received_at >= since)
                .group_by(MessageRow.sentiment)
            )
            return {(k or "unclassified"): int(v) for k, v in rows.all()}

    # -- customers and identities ---------------------------------------------------------------

    async def resolve_customer(self, channel: str, platform_user_id: str, handle: str, name: str) -> Customer:
        """The customer behind a platform account, created on first contact; handle and name kept current."""
        now = utcnow()
        account = (IdentityRow.channel == channel, IdentityRow.platform_user_id == platform_user_id)
        async with self._session() as s:
            ident = await s.scalar(select(IdentityRow).where(*account))
            if ident is None:
                customer = await s.scalar(
                    insert(CustomerRow)
                    .values(display_name=name or handle or platform_user_id, created_at=now, updated_at=now)
                    .returning(CustomerRow)
                )
                assert customer is not None
                identity = {
                    "channel": channel,
                    "platform_user_id": platform_user_id,
                    "customer_id": customer.id,
                    "handle": handle,
                    "display_name": name,
                    "created_at": now,
                    "updated_at": now,
                }
                ident = await s.scalar(insert_new(s, IdentityRow, identity))
                if ident is not None:
                    await s.commit()
                    return _customer(customer, [ident])
                # A concurrent first message created the account first: its customer is this one's.
                await s.execute(delete(CustomerRow).where(CustomerRow.id == customer.id))
                ident = await s.scalar(select(IdentityRow).where(*account))
                if ident is None:
                    raise StorageError(f"identity {channel}:{platform_user_id[:40]} violates a unique key")
            if (handle and handle != ident.handle) or (name and name != ident.display_name):
                ident.handle = handle or ident.handle
                ident.display_name = name or ident.display_name
                ident.updated_at = now
                await s.commit()
            return await self._load_customer(s, ident.customer_id)

    async def _load_customer(self, s: AsyncSession, customer_id: int) -> Customer:
        row = await s.get(CustomerRow, customer_id)
        if row is None:
            raise NotFound(f"no customer {customer_id}")
        idents = (await s.scalars(select(IdentityRow).where(IdentityRow.customer_id == customer_id))).all()
        return _customer(row, idents)

    async def get_customer(self, customer_id: int) -> Customer | None:
        async with self._session() as s:
            try:
                return await self._load_customer(s, customer_id)
            except InputError:
                return None

    async def find_customers(self, query: str = "", limit: int = 100) -> list[Customer]:
        """Customers whose id, name, email, handle or platform id matches `query` (all when empty)."""
        stmt: Select[CustomerRow] = select(CustomerRow)
        q = query.strip().lstrip("@")
        if q:
            like = f"%{q.lower()}%"
            ids = select(IdentityRow.customer_id).where(
                or_(
                    func.lower(IdentityRow.handle).like(like),
                    IdentityRow.platform_user_id == q,
                    func.lower(IdentityRow.display_name).like(like),
                )
            )
            conds = [
                func.lower(CustomerRow.display_name).like(like),
                func.lower(CustomerRow.email) == q.lower(),
                CustomerRow.id.in_(ids),
            ]
            if q.isdigit():
                conds.append(CustomerRow.id == int(q))
            stmt = stmt.where(or_(*conds))
        async with self._session() as s:
            rows = (await s.scalars(stmt.order_by(CustomerRow.id).limit(limit))).all()
            out = []
            for row in rows:
                idents = (await s.scalars(select(IdentityRow).where(IdentityRow.customer_id == row.id))).all()
                out.append(_customer(row, idents))
            return out

    async def link_identity(self, channel: str, platform_user_id: str, customer_id: int) -> Identity:
        """Point a platform account at a customer, creating the identity if it is new."""
        now = utcnow()
        async with self._session() as s:
            if await s.get(CustomerRow, customer_id) is None:
                raise NotFound(f"no customer {customer_id}")
            ident = await s.scalar(
                select(IdentityRow).where(
                    IdentityRow.channel == channel, IdentityRow.platform_user_id == platform_user_id
                )
            )
            if ident is None:
                ident = IdentityRow(
                    channel=channel,
                    platform_user_id=platform_user_id,
                    customer_id=customer_id,
                    created_at=now,
                    updated_at=now,
                )
                s.add(ident)
            else:
                ident.customer_id = customer_id
                ident.updated_at = now
            await s.commit()
            return _identity(ident)

    # -- escalations ----------------------------------------------------------------------------

    async def active_escalation(self, customer_id: int, channel: str, conversation_id: str) -> Escalation | None:
        """The open or claimed escalation of this customer in this conversation, if any."""
        async with self._session() as s:
            row = await s.scalar(
                select(EscalationRow)
                .where(
                    EscalationRow.customer_id == customer_id,
                    EscalationRow.channel == channel,
                    EscalationRow.conversation_id == conversation_id,
                    EscalationRow.status.in_([EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value]),
                )
                .order_by(EscalationRow.id.desc())
            )
            return await self._load_escalation(s, row) if row else None

    async def open_escalation(
        self,
        *,
        customer_id: int,
        message: StoredMessage,
        priority: Priority,
        reason: str,
        intent: str,
        flagged: bool = False,
    ) -> tuple[Escalation, bool]:
        """Open an escalation for `message`: (escalation, True). When the conversation already has an active
        one (a concurrent message opened it first), the message joins that one instead: (it, False)."""
        now = utcnow()
        async with self._session() as s:
            values = {
                "customer_id": customer_id,
                "opening_message_id": message.id,
                "channel": message.message.channel,
                "conversation_id": message.message.conversation_id,
                "status": EscalationStatus.OPEN.value,
                "priority": priority.value,
                "reason": reason,
                "intent": intent,
                "flagged": flagged,
                "created_at": now,
                "updated_at": now,
            }
            # The partial unique index (one active escalation per conversation) decides a race.
            row = await s.scalar(insert_new(s, EscalationRow, values))
            if row is None:
                m = message.message
                existing = await self.active_escalation(customer_id, m.channel, m.conversation_id)
                if existing is None:
                    raise StorageError(f"escalation for message {message.id} violates a unique key")
                await self.attach_message(existing.id, message.id)
                return existing, False
            await s.execute(update(MessageRow).where(MessageRow.id == message.id).values(escalation_id=row.id))
            await s.commit()
            return _escalation(row, [message.id]), True

    async def attach_message(self, escalation_id: int, message_id: int) -> None:
        async with self._session() as s:
            await s.execute(update(MessageRow).where(MessageRow.id == message_id).values(escalation_id=escalation_id))
            await s.execute(update(EscalationRow).where(EscalationRow.id == escalation_id).values(updated_at=utcnow()))
            await s.commit()

    async def _load_escalation(self, s: AsyncSession, row: EscalationRow) -> Escalation:
        ids = await s.scalars(select(MessageRow.id).where(MessageRow.escalation_id == row.id).order_by(MessageRow.id))
        notes = (await s.scalars(select(NoteRow).where(NoteRow.escalation_id == row.id).order_by(NoteRow.id))).all()
        return _escalation(row, list(ids), notes)

    async def get_escalation(self, escalation_id: int) -> Escalation | None:
        async with self._session() as s:
            row = await s.get(EscalationRow, escalation_id)
            return await self._load_escalation(s, row) if row else None

    async def escalations(
        self,
        *,
        statuses: Sequence[EscalationStatus] | None = None,
        customer_id: int | None = None,
        limit: int = 200,
        after_id: int | None = None,
    ) -> list[Escalation]:
        """Escalations in id order; `after_id` continues a page from there."""
        stmt = select(EscalationRow)
        if after_id is not None:
            stmt = stmt.where(EscalationRow.id > after_id)
        if statuses:
            stmt = stmt.where(EscalationRow.status.in_([st.value for st in statuses]))
        if customer_id is not None:
            stmt = stmt.where(EscalationRow.customer_id == customer_id)
        async with self._session() as s:
            rows = (await s.scalars(stmt.order_by(EscalationRow.id).limit(limit))).all()
            return [await self._load_escalation(s, r) for r in rows]

    async def update_escalation(
        self, escalation_id: int, *, only_if: Sequence[EscalationStatus] = (), **values: Any
    ) -> Escalation:
        """Set columns on an escalation (status, assignee, priority, intent, timestamps) and return it.

        With `only_if`, a conditional update: it changes the row only while its status is one of those,
        so of two staff acting at once exactly one wins; the other gets an InputError saying why.
        """
        for key in ("status", "priority"):
            if key in values and hasattr(values[key], "value"):
                values[key] = values[key].value
        values.setdefault("updated_at", utcnow())
        stmt = update(EscalationRow).where(EscalationRow.id == escalation_id)
        if only_if:
            stmt = stmt.where(EscalationRow.status.in_([st.value for st in only_if]))
        async with self._session() as s:
            changed = (await s.execute(stmt.values(**values).execution_options(synchronize_session=False))).rowcount  # type: ignore[attr-defined]
            row = await s.get(EscalationRow, escalation_id, populate_existing=True)
            if row is None:
                raise NotFound(f"escalation #{escalation_id} does not exist")
            if not changed:
                by = f" by {row.assignee}" if row.assignee and row.status == EscalationStatus.CLAIMED.value else ""
                raise Conflict(f"escalation #{escalation_id} is already {row.status}{by}")
            await s.commit()
            return await self._load_escalation(s, row)

    async def escalation_times(self, escalation_id: int) -> dict[str, datetime | None]:
        """Timestamps that are bookkeeping rather than domain state (first response, snooze)."""
        async with self._session() as s:
            row = await s.get(EscalationRow, escalation_id)
            if row is None:
                raise NotFound(f"no escalation {escalation_id}")
            return {"first_response_at": _aware(row.first_response_at), "snoozed_until": _aware(row.snoozed_until)}

    async def add_note(self, escalation_id: int, author: str, text: str) -> None:
        async with self._session() as s:
            if await s.get(EscalationRow, escalation_id) is None:
                raise NotFound(f"no escalation {escalation_id}")
            s.add(NoteRow(escalation_id=escalation_id, author=author, text=text, at=utcnow()))
            await s.commit()

    # -- outbox ---------------------------------------------------------------------------------

    async def enqueue_reply(
        self,
        *,
        dedupe_key: str,
        connector: str,
        channel: str,
        recipient_id: str,
        conversation_id: str,
        text: str,
        in_reply_to: str = "",
        direct: bool = False,
        kind: str = "auto",
        escalation_id: int | None = None,
        message_id: int | None = None,
    ) -> OutboundReply | None:
        """Queue a reply; None if one with the same dedupe key was already queued (never twice)."""
        now = utcnow()
        async with self._session() as s:
            row = await s.scalar(
                insert_new(
                    s,
                    ReplyRow,
                    {
                        "dedupe_key": dedupe_key,
                        "connector": connector,
                        "channel": channel,
                        "recipient_id": recipient_id,
                        "conversation_id": conversation_id,
                        "in_reply_to": in_reply_to,
                        "direct": direct,
                        "text": text,
                        "kind": kind,
                        "status": ReplyStatus.QUEUED.value,
                        "attempts": 0,
                        "escalation_id": escalation_id,
                        "message_id": message_id,
                        "created_at": now,
                        "next_attempt_at": now,
                    },
                )
            )
            if row is None:  # the dedupe key is taken: queued before (a redelivery, a retried step)
                return None
            await s.commit()
            return _reply(row)

    async def claim_due_replies(self, connectors: Sequence[str], now: datetime, limit: int = 50) -> list[OutboundReply]:
        """Mark due queued replies as sending and return them. The conditional UPDATE makes each
        reply go to exactly one worker even when several share the database."""
        async with self._session() as s:
            ids = (
                await s.scalars(
                    select(ReplyRow.id)
                    .where(
                        ReplyRow.status == ReplyStatus.QUEUED.value,
                        ReplyRow.connector.in_(connectors),
                        or_(ReplyRow.next_attempt_at.is_(None), ReplyRow.next_attempt_at <= now),
                    )
                    .order_by(ReplyRow.id)
                    .limit(limit)
                )
            ).all()
            claimed = []
            for reply_id in ids:
                result = await s.execute(
                    update(ReplyRow)
                    .where(ReplyRow.id == reply_id, ReplyRow.status == ReplyStatus.QUEUED.value)
                    .values(status=ReplyStatus.SENDING.value, attempts=ReplyRow.attempts + 1)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(reply_id)
            await s.commit()
            rows = (await s.scalars(select(ReplyRow).where(ReplyRow.id.in_(claimed)).order_by(ReplyRow.id))).all()
            return [_reply(r) for r in rows]

    async def requeue_stale_sending(self, older_than: datetime) -> int:
        """Replies left 'sending' by a process that died mid-send go back to the queue."""
        async with self._session() as s:
            result = await s.execute(
                update(ReplyRow)
                .where(
                    ReplyRow.status == ReplyStatus.SENDING.value,
                    or_(ReplyRow.next_attempt_at.is_(None), ReplyRow.next_attempt_at <= older_than),
                )
                .values(status=ReplyStatus.QUEUED.value)
            )
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def release_replies(self, reply_ids: Sequence[int]) -> int:
        """Replies this process claimed ('sending') and did not send go back to the queue."""
        async with self._session() as s:
            result = await s.execute(
                update(ReplyRow)
                .where(ReplyRow.id.in_(reply_ids), ReplyRow.status == ReplyStatus.SENDING.value)
                .values(status=ReplyStatus.QUEUED.value)
            )
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def mark_reply(self, reply_id: int, status: ReplyStatus, **values: Any) -> OutboundReply:
        async with self._session() as s:
            row = await s.get(ReplyRow, reply_id)
            if row is None:
                raise InputError(f"no reply {reply_id}")
            row.status = status.value
            for key, value in values.items():
                setattr(row, key, value)
            await s.commit()
            return _reply(row)

    async def replies(
        self,
        *,
        escalation_id: int | None = None,
        message_id: int | None = None,
        statuses: Sequence[ReplyStatus] | None = None,
        limit: int = 500,
    ) -> list[OutboundReply]:
        stmt = select(ReplyRow)
        if escalation_id is not None:
            stmt = stmt.where(ReplyRow.escalation_id == escalation_id)
        if message_id is not None:
            stmt = stmt.where(ReplyRow.message_id == message_id)
        if statuses:
            stmt = stmt.where(ReplyRow.status.in_([st.value for st in statuses]))
        async with self._session() as s:
            return [_reply(r) for r in (await s.scalars(stmt.order_by(ReplyRow.id).limit(limit))).all()]

    # -- audit ----------------------------------------------------------------------------------

    async def audit(
        self,
        kind: str,
        detail: Mapping[str, Any] | None = None,
        *,
        actor: str = "bot",
        message_id: int | None = None,
        customer_id: int | None = None,
        escalation_id: int | None = None,
    ) -> None:
        # Nothing reads an audit row back inside the unit that writes it (audit_events writes them first):
        # the unit's audit rows go in together, one statement, at its end.
        await self._db.insert_later(
            AuditRow,
            {
                "at": utcnow(),
                "kind": kind,
                "actor": actor,
                "detail": dict(detail or {}),
                "message_id": message_id,
                "customer_id": customer_id,
                "escalation_id": escalation_id,
            },
        )

    async def audit_events(
        self,
        *,
        message_id: int | None = None,
        escalation_id: int | None = None,
        kind: str | None = None,
        limit: int = 500,
    ) -> list[AuditEvent]:
        stmt = select(AuditRow)
        if message_id is not None:
            stmt = stmt.where(AuditRow.message_id == message_id)
        if escalation_id is not None:
            stmt = stmt.where(AuditRow.escalation_id == escalation_id)
        if kind is not None:
            stmt = stmt.where(AuditRow.kind == kind)
        await self._db.write_later()
        async with self._session() as s:
            return [_audit(r) for r in (await s.scalars(stmt.order_by(AuditRow.id).limit(limit))).all()]

    # -- connector state ------------------------------------------------------------------------

    async def state_get(self, key: str) -> str | None:
        async with self._session() as s:
            row = await s.get(ConnectorStateRow, key)
            return row.value if row else None

    async def state_set(self, key: str, value: str) -> None:
        async with self._session() as s:
            row = await s.get(ConnectorStateRow, key)
            if row is None:
                s.add(ConnectorStateRow(key=key, value=value, updated_at=utcnow()))
            else:
                row.value = value
                row.updated_at = utcnow()
            await s.commit()

    async def state_prune(self, prefix: str, before: datetime) -> int:
        async with self._session() as s:
            result = await s.execute(
                delete(ConnectorStateRow).where(
                    ConnectorStateRow.key.startswith(prefix, autoescape=True), ConnectorStateRow.updated_at < before
                )
            )
            await s.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]


class RepositoryState:
    """A connector's `StateStore`, namespaced by connector name, kept in the database."""

    def __init__(self, repo: Repository, namespace: str) -> None:
        self._repo = repo
        self._prefix = namespace + ":"

    async def get(self, key: str) -> str | None:
        return await self._repo.state_get(self._prefix + key)

    async def set(self, key: str, value: str) -> None:
        await self._repo.state_set(self._prefix + key, value)

    async def prune(self, prefix: str, before: datetime) -> int:
        return await self._repo.state_prune(self._prefix + prefix, before)
