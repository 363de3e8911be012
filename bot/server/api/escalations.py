"""`/api/v1/escalations`: the queue, one case, and the desk's actions on it (the same Desk as Slack's card)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from bot.access.models import Role
from bot.domain import EscalationStatus
from bot.errors import InputError, NotFound
from bot.privacy import mask
from bot.server.api.idempotency import IdempotencyKey, request_key
from bot.server.api.pagination import MAX_LIMIT, decode, encode
from bot.server.api.schemas import EscalationDetail, EscalationOut, NoteOut, Page, ReplyOut, TextIn
from bot.server.auth import Agent, Bot, Viewer

Original = Annotated[
    bool,
    Query(description="Admins only: texts as stored, card numbers, IBANs and passwords unmasked (audited)."),
]

router = APIRouter(prefix="/escalations", tags=["escalations"])


def _statuses(raw: list[str] | None) -> list[EscalationStatus] | None:
    if not raw:
        return None
    out = []
    for part in (p.strip() for item in raw for p in item.split(",")):
        try:
            out.append(EscalationStatus(part))
        except ValueError:
            known = ", ".join(s.value for s in EscalationStatus)
            raise InputError(f"unknown status {part[:20]!r} (known: {known})", field="status") from None
    return out


@router.get("", response_model=Page[EscalationOut], summary="List escalations, oldest first")
async def list_escalations(
    bot: Bot,
    _who: Viewer,
    status: Annotated[
        list[str] | None, Query(description="open, claimed, resolved, closed; repeat or comma-separate")
    ] = None,
    cursor: Annotated[str | None, Query(description="`next` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> Page[EscalationOut]:
    found = await bot.repo.escalations.query(statuses=_statuses(status), after_id=decode(cursor), limit=limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return Page[EscalationOut](items=[EscalationOut.of(e) for e in page], next=encode(page[-1].id) if more else None)


@router.get("/{escalation_id}", response_model=EscalationDetail, summary="One escalation with its conversation")
async def get_escalation(escalation_id: int, bot: Bot, who: Viewer, original: Original = False) -> EscalationDetail:
    if original:
        who.require(Role.ADMIN)
    card = await bot.desk.card(escalation_id)
    if card is None:
        raise NotFound(f"escalation #{escalation_id} does not exist")
    messages = await bot.repo.messages.query(escalation_id=escalation_id, limit=500)
    replies = await bot.repo.replies.query(escalation_id=escalation_id)
    if original:  # who saw what a customer pasted is on the record, as every staff action is
        await bot.repo.audit.record(
            "privacy.original_shown",
            {},
            actor=who.actor,
            escalation_id=card.escalation.id,
            customer_id=card.escalation.customer_id,
        )
    return EscalationDetail.build(card, messages, replies, (lambda text: text) if original else mask)


@router.post("/{escalation_id}/claim", response_model=EscalationOut, summary="Claim an open escalation")
async def claim(escalation_id: int, bot: Bot, who: Agent) -> EscalationOut:
    return EscalationOut.of(await bot.desk.claim(escalation_id, who.actor))


@router.post("/{escalation_id}/resolve", response_model=EscalationOut, summary="Resolve an escalation")
async def resolve(escalation_id: int, bot: Bot, who: Agent) -> EscalationOut:
    return EscalationOut.of(await bot.desk.resolve(escalation_id, who.actor))


@router.post(
    "/{escalation_id}/reply",
    response_model=ReplyOut,
    status_code=202,
    summary="Reply to the customer on their own channel (queued in the outbox)",
)
async def reply(
    escalation_id: int, body: TextIn, bot: Bot, who: Agent, idempotency_key: IdempotencyKey = None
) -> ReplyOut:
    queued = await bot.desk.reply(escalation_id, who.actor, body.text, key=request_key(who, idempotency_key))
    return ReplyOut.of(queued)


@router.post("/{escalation_id}/note", response_model=NoteOut, status_code=201, summary="Add an internal note")
async def note(escalation_id: int, body: TextIn, bot: Bot, who: Agent, response: Response) -> NoteOut:
    esc = await bot.desk.note(escalation_id, who.actor, body.text)
    response.headers["Location"] = f"/api/v1/escalations/{esc.id}"
    return NoteOut.of(esc.notes[-1])
