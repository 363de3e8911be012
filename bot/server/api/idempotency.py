"""The `Idempotency-Key` header of the desk's sending routes, and the request key the desk dedupes on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from bot.access.models import Principal

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="The same key again (a retried request) does nothing new.",
    ),
]


def request_key(who: Principal, idempotency_key: str | None) -> str:
    """The desk's request key for this call: the caller's own, so two callers' keys never collide; "" without."""
    return f"api:{who.actor}:{idempotency_key}" if idempotency_key else ""
