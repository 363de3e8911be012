"""Relationship events posted to the triage channel: churn risk, a fall to the lead tier, the weekly topics."""

from __future__ import annotations

from bot.desk import Desk
from bot.events import BudgetSpent
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
        elif isinstance(event, BudgetSpent):
            text = self._budget(event)
        else:
            return
        await self._api.post(self._channel, bk.clip(text, bk.SECTION_TEXT_MAX))

    async def _customer(self, customer_id: int) -> str:
        customer = await self._desk.customer(customer_id)
        name = bk.escape(customer.display_name) if customer else "a customer"
        return f"{name} (#{customer_id}, `/rapport customer {customer_id}`)"

    @staticmethod
    def _budget(spent: BudgetSpent) -> str:
        platform = {"x": "X"}.get(spent.connector, spent.connector.capitalize())
        resumes = spent.resumes_at.strftime("%Y-%m-%d %H:%M UTC")
        if spent.what == "reads":
            effect = f"Rapport has stopped reading {platform}: new mentions and DMs are not seen until {resumes}."
        else:
            effect = f"Replies and DMs on {platform} wait in the outbox until {resumes}."
        kind = spent.what.removesuffix("s")  # "read", "post": the config key's word
        return (
            f":money_with_wings: *{platform} {kind} budget spent:* {spent.used:,} of {spent.limit:,} this month. "
            f"{effect} Raise `monthly_{kind}_budget` in `[{spent.connector}]` to go on sooner."
        )

    def _topics(self, summary: TopicSummary) -> str:
        if not summary.topics:
            return f":bar_chart: *Complaint topics {summary.week}:* none this week."
        lines = [
            f"• *{bk.escape(t.label)}*: {t.recent} this week ({t.previous} the week before, {t.trend})"
            f" on {', '.join(t.channels) or '—'}"
            for t in summary.topics[:_TOPICS_SHOWN]
        ]
        return f":bar_chart: *Complaint topics {summary.week}*, largest first\n" + "\n".join(lines)
