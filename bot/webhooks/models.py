"""Webhook deliveries as the rest of Rapport sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a sender
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # given up: the retry window closed


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook: str
    event_id: int
    event_type: str
    body: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_status: int | None = None
    last_error: str = ""
    delivered_at: datetime | None = None
