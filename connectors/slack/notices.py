"""Relationship events posted to the triage channel: churn risk, a fall to the lead tier, the weekly topics."""

from __future__ import annotations

from bot.desk import Desk
from bot.relationships.events import ChurnRisk, LeadAttention, TopicSummary
from connectors.slack import blocks as bk
from connectors.slack.client import SlackApi

_TOPICS_SHOWN = 10


class Notices:
    def __init__(self, api: SlackApi, desk: Desk, channel: str | None) -> None:
        self._api = api
        self._desk = desk
        self._channel = channel

    async def on_event(self, event: object) -> None:
        """EventBus subscriber; events of other kinds are someone else's."""
        if not self._channel:
            return
        if isinstance(event, ChurnRisk):
            who = await self._customer(event.customer_id)
            text = (
                f":warning: *Churn risk:* {who} moved from {event.previous_stage} to dissolution. "
                f"{bk.escape(event.reason)} Someone should reach out."
            )
        elif isinstance(event, LeadAttention):
            who = await self._customer(event.customer_id)
            text = (
                f":mag: *Lead tier:* {who} fell from {event.previous_tier} to lead. {bk.escape(event.reason)} "
                "Worth a look before anyone serves them worse."
            )
        elif isinstance(event, TopicSummary):
            text = self._topics(event)
        else:
            return
        await self._api.post(self._channel, bk.clip(text, bk.SECTION_TEXT_MAX))

    async def _customer(self, customer_id: int) -> str:
        customer = await self._desk.customer(customer_id)
        name = bk.escape(customer.display_name) if customer else "a customer"
        return f"{name} (#{customer_id}, `/rapport customer {customer_id}`)"

    def _topics(self, summary: TopicSummary) -> str:
        if not summary.topics:
            return f":bar_chart: *Complaint topics {summary.week}:* none this week."
        lines = [
            f"• *{bk.escape(t.label)}*: {t.recent} this week ({t.previous} the week before, {t.trend})"
            f" on {', '.join(t.channels) or '—'}"
            for t in summary.topics[:_TOPICS_SHOWN]
        ]
        return f":bar_chart: *Complaint topics {summary.week}*, largest first\n" + "\n".join(lines)
