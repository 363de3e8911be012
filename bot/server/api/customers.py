"""`/api/v1/customers`: a profile, recording a purchase, linking a platform account."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from bot.access.models import Role
from bot.errors import InputError, NotFound
from bot.forget import Forget
from bot.privacy import mask
from bot.server.api.schemas import CustomerOut, ForgottenOut, IdentityOut, LinkIn, PurchaseIn, PurchaseOut
from bot.server.auth import Admin, Agent, Bot, Viewer

router = APIRouter(prefix="/customers", tags=["customers"])


def _masked(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile with what the customer wrote masked: recent messages, CSAT answers, case reasons."""
    data = dict(profile)
    data["recent"] = [mask(line) for line in data.get("recent", [])]
    data["csat"] = [{**c, "answer_text": mask(c.get("answer_text", ""))} for c in data.get("csat", [])]
    data["open_escalations"] = [{**e, "reason": mask(e.get("reason", ""))} for e in data.get("open_escalations", [])]
    return data


@router.get("/{customer_id}", response_model=CustomerOut, summary="A customer's profile")
async def get_customer(
    customer_id: int,
    bot: Bot,
    who: Viewer,
    original: Annotated[
        bool, Query(description="Admins only: texts as stored, card numbers, IBANs and passwords unmasked (audited).")
    ] = False,
) -> CustomerOut:
    if original:
        who.require(Role.ADMIN)
    customer = await bot.repo.customers.get(customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    profile = await bot.relationships.profile_json(customer_id)
    if original:
        await bot.repo.audit.record("privacy.original_shown", {}, actor=who.actor, customer_id=customer_id)
    else:
        profile = _masked(profile)
    return CustomerOut(id=customer.id, **{k: v for k, v in profile.items() if k != "customer_id"})


@router.delete(
    "/{customer_id}",
    response_model=ForgottenOut,
    summary="Forget a customer: erase their messages, identities, profile and cases (admin only)",
    responses={409: {"description": "A case of theirs is open: resolve it, or pass force=true"}},
)
async def forget_customer(
    customer_id: int,
    bot: Bot,
    who: Admin,
    force: Annotated[bool, Query(description="Erase even while a case of theirs is open or claimed.")] = False,
) -> ForgottenOut:
    done = await Forget(bot.repo, bot.db).customer(customer_id, actor=who.actor, force=force)
    return ForgottenOut(customer_id=done.customer_id, rows=done.counts, forced=done.forced)


@router.post(
    "/{customer_id}/purchases",
    response_model=PurchaseOut,
    status_code=201,
    responses={200: {"model": PurchaseOut, "description": "Recorded before (the same reference)"}},
    summary="Record a purchase: updates value and tier, schedules the thank-you",
)
async def add_purchase(
    customer_id: int,
    body: PurchaseIn,
    bot: Bot,
    who: Agent,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> PurchaseOut:
    currency = bot.settings.relationships.currency
    if body.currency.upper() != currency:
        raise InputError(
            f"purchases are recorded in {currency} ([relationships] currency); convert before sending",
            field="currency",
        )
    reference = body.reference or (f"api:{idempotency_key}" if idempotency_key else f"api:{uuid.uuid4().hex}")
    purchase = await bot.relationships.record_purchase(
        customer_id, body.amount, reference, body.at, source="api", actor=who.actor
    )
    if purchase is None:
        response.status_code = 200
        return PurchaseOut(
            recorded=False, reference=reference, customer_id=customer_id, amount=body.amount, currency=currency, at=None
        )
    return PurchaseOut(
        recorded=True,
        reference=purchase.reference,
        customer_id=purchase.customer_id,
        amount=purchase.amount,
        currency=currency,
        at=purchase.at,
    )


@router.post(
    "/{customer_id}/links",
    response_model=IdentityOut,
    status_code=201,
    summary="Link a platform account to this customer (its earlier messages come along, undoably)",
)
async def link(customer_id: int, body: LinkIn, bot: Bot, who: Agent) -> IdentityOut:
    if await bot.repo.customers.get(customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    identity = await bot.desk.linker(body.channel, body.platform_user_id, customer_id, who.actor)
    return IdentityOut.of(identity)
