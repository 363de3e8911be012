"""`/api/v1/customers`: a profile, recording a purchase, linking a platform account."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response

from bot.errors import InputError, NotFound
from bot.server.api.schemas import CustomerOut, IdentityOut, LinkIn, PurchaseIn, PurchaseOut
from bot.server.auth import Agent, Bot, Viewer

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("/{customer_id}", response_model=CustomerOut, summary="A customer's profile")
async def get_customer(customer_id: int, bot: Bot, _who: Viewer) -> CustomerOut:
    customer = await bot.repo.get_customer(customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    profile = await bot.relationships.profile_json(customer_id)
    return CustomerOut(id=customer.id, **{k: v for k, v in profile.items() if k != "customer_id"})


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
    if await bot.repo.get_customer(customer_id) is None:
        raise NotFound(f"no customer {customer_id}")
    identity = await bot.desk.linker(body.channel, body.platform_user_id, customer_id, who.actor)
    return IdentityOut.of(identity)
