"""Export customers (with tiers, stages and their reasons) and escalations to CSV or JSON.

The customers CSV uses the import columns first, so an export can be edited and imported again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

from bot.relationships.importer import COLUMNS
from bot.relationships.service import RelationshipService

Format = Literal["csv", "json"]
CUSTOMER_EXTRA = ("customer_id", "tier", "tier_reason", "stage", "stage_reason")
ESCALATION_COLUMNS = (
    "id",
    "customer_id",
    "status",
    "priority",
    "channel",
    "intent",
    "reason",
    "assignee",
    "flagged",
    "created_at",
    "claimed_at",
    "resolved_at",
    "message_count",
)


async def customer_records(service: RelationshipService) -> list[dict[str, Any]]:
    out = []
    for st in await service.rel.standings():
        account = await service.rel.account(st.customer_id)
        customer = await service.repo.customers.get(st.customer_id)
        ids = {i.channel: i.platform_user_id for i in (customer.identities if customer else ())}
        out.append(
            {
                "external_id": account.external_id or "",
                "name": st.display_name,
                "email": st.email,
                "discord_id": ids.get("discord", ""),
                "slack_id": ids.get("slack", ""),
                "x_id": ids.get("x", ""),
                "lifetime_value": round(account.lifetime_value, 2),
                "orders": account.orders,
                "birthday": account.birthday.isoformat() if account.birthday else "",
                "account_manager": account.account_manager,
                "customer_id": st.customer_id,
                "tier": st.tier,
                "tier_reason": st.tier_reason,
                "stage": st.stage,
                "stage_reason": st.stage_reason,
            }
        )
    return out


async def escalation_records(service: RelationshipService) -> list[dict[str, Any]]:
    out = []
    for e in await service.repo.escalations.query(limit=1_000_000):
        out.append(
            {
                "id": e.id,
                "customer_id": e.customer_id,
                "status": e.status.value,
                "priority": e.priority.value,
                "channel": e.channel,
                "intent": e.intent,
                "reason": e.reason,
                "assignee": e.assignee,
                "flagged": e.flagged,
                "created_at": e.created_at.isoformat(),
                "claimed_at": e.claimed_at.isoformat() if e.claimed_at else "",
                "resolved_at": e.resolved_at.isoformat() if e.resolved_at else "",
                "message_count": len(e.message_ids),
            }
        )
    return out


def render(records: Sequence[dict[str, Any]], columns: Sequence[str], fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


async def export(service: RelationshipService, what: Literal["customers", "escalations"], fmt: Format) -> str:
    """The whole table as CSV or JSON text."""
    if what == "customers":
        return render(await customer_records(service), (*COLUMNS, *CUSTOMER_EXTRA), fmt)
    return render(await escalation_records(service), ESCALATION_COLUMNS, fmt)
