"""The customer page: identities, tier and stage with their reasons, purchases, CSAT, cases, link suggestions."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from bot.errors import InputError, NotFound
from bot.server.console.web import Agent, Bot, Form, PageRoute, Viewer, field, render

router = APIRouter(route_class=PageRoute)


@router.get("/customers/{customer_id}")
async def customer_page(request: Request, bot: Bot, _who: Viewer, customer_id: int) -> Response:
    customer = await bot.repo.customers.get(customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    rel = bot.relationships
    profile = await rel.profile(customer_id)
    return render(
        request,
        "customer.html",
        {
            "customer": customer,
            "profile": profile,
            "purchases": await rel.rel.purchases(customer_id),
            "merges": await rel.rel.merges(customer_id),
            "cases": sorted(await bot.repo.escalations.query(customer_id=customer_id), key=lambda e: -e.id),
            "suggestions": await rel.identities.suggestions_for(customer_id),
            "currency": bot.settings.relationships.currency,
            "done": "Merged." if request.query_params.get("done") == "merge" else "",
        },
    )


@router.post("/customers/{customer_id}/merge")
async def merge(bot: Bot, who: Agent, form: Form, customer_id: int) -> Response:
    """Merge a suggested look-alike into this customer (undoable with `rapport customers unmerge`)."""
    other = field(form, "other_id")
    if not other.isdigit():
        raise InputError("choose the customer to merge in", field="other_id")
    await bot.relationships.identities.merge(int(other), customer_id, who.actor, field(form, "reason")[:200])
    return RedirectResponse(f"/customers/{customer_id}?done=merge", status_code=303)
