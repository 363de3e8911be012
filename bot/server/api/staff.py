"""Staff tools in the API: suggested replies, macros, assignment and shifts (the same as the Slack card's)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bot.privacy import mask
from bot.server.api.idempotency import IdempotencyKey, request_key
from bot.server.api.schemas import EscalationOut, ReplyOut, StrictIn
from bot.server.auth import Agent, Bot, Viewer
from bot.staff.suggestions import Suggestion
from bot.storage.staff import Shift

router = APIRouter(tags=["staff tools"])


class SuggestionOut(BaseModel):
    key: str = Field(description="What `POST .../suggestions/send` takes: kb:<article> or reply:<reply id>.")
    kind: str = Field(description="knowledge (an article) or past_reply (what staff sent on a resolved case)")
    source: str
    text: str
    score: float

    @classmethod
    def of(cls, s: Suggestion) -> SuggestionOut:
        # A past reply was written to another customer: what it quotes is masked as any text shown is.
        return cls(key=s.key, kind=s.kind, source=s.source, text=mask(s.text), score=s.score)


class Suggestions(BaseModel):
    items: list[SuggestionOut]


class MacroOut(BaseModel):
    name: str
    text: str = Field(description="As configured: {name} and {ticket} are filled in when sent.")


class Macros(BaseModel):
    items: list[MacroOut]


class MacroIn(StrictIn):
    name: str = Field(min_length=1, max_length=40)


class SuggestionIn(StrictIn):
    key: str = Field(min_length=1, max_length=120)


class AssignIn(StrictIn):
    assignee: str = Field(min_length=1, max_length=100, description='Who takes it: "user:ann@example.com", ...')


class ShiftIn(StrictIn):
    actor: str | None = Field(None, max_length=100, description="Who (default: the caller)")
    on_shift: bool


class ShiftOut(BaseModel):
    actor: str
    on_shift: bool
    open_cases: int
    last_assigned_at: str | None

    @classmethod
    def of(cls, s: Shift) -> ShiftOut:
        at = s.last_assigned_at.isoformat() if s.last_assigned_at else None
        return cls(actor=s.actor, on_shift=s.on_shift, open_cases=s.open_cases, last_assigned_at=at)


class Shifts(BaseModel):
    items: list[ShiftOut]


@router.get(
    "/escalations/{escalation_id}/suggestions",
    response_model=Suggestions,
    summary="Suggested replies: knowledge-base articles, then replies from similar resolved cases",
)
async def suggestions(escalation_id: int, bot: Bot, _who: Viewer) -> Suggestions:
    found = await bot.staff.suggestions.for_case(escalation_id)
    return Suggestions(items=[SuggestionOut.of(s) for s in found])


@router.post(
    "/escalations/{escalation_id}/suggestions/send",
    response_model=ReplyOut,
    status_code=202,
    summary="Send a suggested reply as the caller (audited as suggested)",
)
async def send_suggestion(
    escalation_id: int, body: SuggestionIn, bot: Bot, who: Agent, idempotency_key: IdempotencyKey = None
) -> ReplyOut:
    key = request_key(who, idempotency_key)
    queued = await bot.staff.suggestions.send(escalation_id, who.actor, body.key, request_key=key)
    return ReplyOut.of(queued)


@router.get("/macros", response_model=Macros, summary="The configured macros")
async def macros(bot: Bot, _who: Viewer) -> Macros:
    return Macros(items=[MacroOut(name=n, text=t) for n, t in bot.staff.macros.texts().items()])


@router.post(
    "/escalations/{escalation_id}/macro",
    response_model=ReplyOut,
    status_code=202,
    summary="Send a macro to the customer as the caller",
)
async def send_macro(
    escalation_id: int, body: MacroIn, bot: Bot, who: Agent, idempotency_key: IdempotencyKey = None
) -> ReplyOut:
    key = request_key(who, idempotency_key)
    queued = await bot.staff.macros.send(escalation_id, who.actor, body.name, request_key=key)
    return ReplyOut.of(queued)


@router.post("/escalations/{escalation_id}/assign", response_model=EscalationOut, summary="Assign to someone")
async def assign(escalation_id: int, body: AssignIn, bot: Bot, who: Agent) -> EscalationOut:
    return EscalationOut.of(await bot.desk.assign(escalation_id, who.actor, body.assignee))


@router.get("/shifts", response_model=Shifts, summary="Who is on shift for automatic assignment")
async def shifts(bot: Bot, _who: Viewer) -> Shifts:
    return Shifts(items=[ShiftOut.of(s) for s in await bot.staff.shifts.list()])


@router.post("/shifts", response_model=ShiftOut, summary="Put someone (default: the caller) on or off shift")
async def set_shift(body: ShiftIn, bot: Bot, who: Agent) -> ShiftOut:
    return ShiftOut.of(await bot.staff.shifts.set(body.actor or who.actor, body.on_shift, by=who.actor))
