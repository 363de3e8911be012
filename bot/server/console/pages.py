"""The inbox and the escalation page, with the desk's actions (the same Desk, rules and audit as Slack)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from bot.access.models import Principal
from bot.domain import CHANNELS, EscalationStatus, Intent, Priority, Tier, utcnow
from bot.errors import InputError, NotFound
from bot.inbox import inbox
from bot.privacy import mask
from bot.server.console.staff_tools import staff_tools
from bot.server.console.web import Agent, Bot, Form, PageRoute, Viewer, error_page, field, render, sessions_of
from bot.server.errors import status_of
from bot.storage.inbox import UNASSIGNED, InboxFilter, InboxQueries

router = APIRouter(route_class=PageRoute)

STATUS_CHOICES = {
    "active": ("open", "claimed"),
    **{s.value: (s.value,) for s in EscalationStatus},
    "all": (),
}
SNOOZE_CHOICES = ((60, "1 hour"), (240, "4 hours"), (24 * 60, "1 day"), (3 * 24 * 60, "3 days"))
DONE = {
    "claim": "Claimed.",
    "assign": "Assigned.",
    "reply": "Reply queued: it goes to the customer on their channel.",
    "suggest": "Suggested reply queued: it goes to the customer on their channel.",
    "macro": "Macro queued: it goes to the customer on their channel.",
    "note": "Note added.",
    "resolve": "Resolved.",
    "snooze": "Snoozed.",
    "reclassify": "Reclassified.",
}


def _choice(value: str, allowed: set[str], name: str) -> tuple[str, ...]:
    if not value:
        return ()
    if value not in allowed:
        raise InputError(f"unknown {name} {value[:20]!r}", field=name)
    return (value,)


@router.get("/")
async def home(_who: Viewer) -> Response:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/inbox")
async def inbox_page(
    request: Request,
    bot: Bot,
    _who: Viewer,
    status: str = "active",
    priority: str = "",
    channel: str = "",
    tier: str = "",
    assignee: str = "",
) -> Response:
    if status not in STATUS_CHOICES:
        raise InputError(f"unknown status {status[:20]!r}", field="status")
    f = InboxFilter(
        statuses=STATUS_CHOICES[status],
        priorities=_choice(priority, {p.value for p in Priority}, "priority"),
        channels=_choice(channel, set(CHANNELS), "channel"),
        tiers=_choice(tier, {t.value for t in Tier}, "tier"),
        assignee=assignee.strip()[:100],
    )
    items = await inbox(bot.db, bot.settings.sla, f, utcnow())
    return render(
        request,
        "inbox.html",
        {
            "items": items,
            "chosen": {"status": status, "priority": priority, "channel": channel, "tier": tier, "assignee": assignee},
            "statuses": list(STATUS_CHOICES),
            "priorities": [p.value for p in Priority],
            "channels": sorted(CHANNELS),
            "tiers": [t.value for t in Tier],
            "assignees": await InboxQueries(bot.db).assignees(),
            "unassigned": UNASSIGNED,
        },
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the conversation: a customer's message or a reply to them."""

    at: datetime
    kind: str  # "customer" | "staff" | "bot" | "followup"
    channel: str
    author: str
    text: str
    detail: str  # the message's classification, or the reply's delivery status
    in_case: bool  # part of this escalation


async def _conversation(bot: Bot, customer_id: int, message_ids: set[int], escalation_id: int) -> list[Entry]:
    messages = await bot.repo.messages.query(customer_id=customer_id, limit=200, newest_first=True)
    entries = [
        Entry(
            at=m.received_at,
            kind="customer",
            channel=m.message.channel,
            author=m.message.author_name or m.message.author_handle or m.message.author_id,
            text=mask(m.message.text),
            detail=(
                f"{m.analysis.intent.value}, {m.analysis.sentiment.value}" if m.analysis else m.action or "waiting"
            ),
            in_case=m.id in message_ids,
        )
        for m in messages
    ]
    for r in await InboxQueries(bot.db).replies_to(customer_id):
        entries.append(
            Entry(
                at=r.created_at,
                kind="bot" if r.kind == "auto" else r.kind,
                channel=r.channel,
                author="staff" if r.kind == "staff" else "Rapport",
                text=mask(r.text),
                detail=r.status.value,
                in_case=r.escalation_id == escalation_id,
            )
        )
    return sorted(entries, key=lambda e: e.at)


async def escalation_view(
    request: Request, bot: Bot, escalation_id: int, *, error: str = "", status_code: int = 200
) -> Response:
    card = await bot.desk.card(escalation_id)
    if card is None:
        raise NotFound(f"escalation #{escalation_id} does not exist")
    esc = card.escalation
    done = request.query_params.get("done", "")
    context: dict[str, Any] = {
        "card": card,
        "esc": esc,
        "conversation": await _conversation(bot, esc.customer_id, set(esc.message_ids), esc.id),
        "next_due": card.sla.next_due(card.responded),
        "tools": await staff_tools(bot, card),
        "staff": await sessions_of(request).staff(),
        "intents": [i.value for i in Intent],
        "snoozes": SNOOZE_CHOICES,
        "done": DONE.get(done, ""),
        "error": error,
    }
    return render(request, "escalation.html", context, status_code)


@router.get("/escalations/{escalation_id}")
async def escalation_page(request: Request, bot: Bot, _who: Viewer, escalation_id: int) -> Response:
    return await escalation_view(request, bot, escalation_id)


def _actions(bot: Bot) -> dict[str, Callable[[int, Principal, Any], Awaitable[object]]]:
    desk = bot.desk

    async def snooze(eid: int, who: Principal, form: Any) -> object:
        raw = field(form, "minutes")
        if not raw.isdigit():
            raise InputError("choose how long to snooze", field="minutes")
        return await desk.snooze(eid, who.actor, int(raw))

    return {
        "claim": lambda eid, who, _f: desk.claim(eid, who.actor),
        "assign": lambda eid, who, f: desk.assign(eid, who.actor, field(f, "assignee")),
        "reply": lambda eid, who, f: desk.reply(eid, who.actor, field(f, "text")),
        "suggest": lambda eid, who, f: bot.staff.suggestions.send(eid, who.actor, field(f, "key")),
        "macro": lambda eid, who, f: bot.staff.macros.send(eid, who.actor, field(f, "name")),
        "note": lambda eid, who, f: desk.note(eid, who.actor, field(f, "text")),
        "resolve": lambda eid, who, _f: desk.resolve(eid, who.actor),
        "snooze": snooze,
        "reclassify": lambda eid, who, f: desk.reclassify(eid, who.actor, field(f, "intent")),
    }


@router.post("/escalations/{escalation_id}/{action}")
async def act(request: Request, bot: Bot, who: Agent, form: Form, escalation_id: int, action: str) -> Response:
    """Claim, Assign, Reply, Note, Resolve, Snooze, Reclassify: the signed-in person is the actor."""
    actions = _actions(bot)
    if action not in actions:
        raise NotFound(f"no action {action[:20]!r}")
    try:
        await actions[action](escalation_id, who, form)
    except NotFound as exc:
        return error_page(request, exc)
    except InputError as exc:  # lost a race (Conflict) or bad input: the page again, saying why
        return await escalation_view(request, bot, escalation_id, error=str(exc), status_code=status_of(exc)[0])
    return RedirectResponse(f"/escalations/{escalation_id}?done={action}", status_code=303)
