"""`message` events: customer messages go to the core's sink, staff thread replies to the triage desk."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.config import SlackSettings
from bot.domain import InboundMessage
from bot.errors import ConnectorError, InputError
from connectors.base import Sink
from connectors.slack.client import SlackApi
from connectors.slack.ingest import to_inbound, to_staff_reply
from connectors.slack.retries import EventLedger
from connectors.slack.staff import StaffDirectory
from connectors.slack.triage import TriageDesk

log = logging.getLogger(__name__)


class MessageHandler:
    def __init__(
        self, settings: SlackSettings, api: SlackApi, triage: TriageDesk, staff: StaffDirectory, ledger: EventLedger
    ) -> None:
        self._settings = settings
        self._api = api
        self._triage = triage
        self._staff = staff
        self._ledger = ledger
        self._customer_channels = frozenset(settings.customer_channels)
        self.sink: Sink | None = None
        self.bot_user_id = ""

    async def on_event(self, body: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        """Bolt listener for `message`: acts once per event id, however often Slack delivers it."""
        event_id = body.get("event_id")
        await self._ledger.once(event_id if isinstance(event_id, str) else "", lambda: self._route(event))

    async def _route(self, event: Mapping[str, Any]) -> None:
        staff_reply = to_staff_reply(event, triage_channel=self._settings.triage_channel, bot_user_id=self.bot_user_id)
        if staff_reply is not None:
            await self._triage.on_staff_reply(staff_reply)
            return
        inbound = to_inbound(
            event,
            customer_channels=self._customer_channels,
            triage_channel=self._settings.triage_channel,
            bot_user_id=self.bot_user_id,
        )
        if inbound is None or self.sink is None:
            return
        if await self._staff.is_staff(inbound.author_id):
            # Staff talking in a community or shared channel are not customers; their work is in triage.
            log.debug("slack: %s is staff; not ingested", inbound.external_id)
            return
        try:
            await self.sink(await self._named(inbound))
        except InputError as exc:
            # Unusable, and it will be just as unusable on Slack's retry: acknowledge and move on.
            log.warning("slack: message %s rejected: %s", inbound.external_id, exc)

    async def _named(self, inbound: InboundMessage) -> InboundMessage:
        """Fill in the author's handle and name, which message events usually leave out."""
        if inbound.author_name and inbound.author_handle:
            return inbound
        try:
            handle, name = await self._api.user_names(inbound.author_id)
        except ConnectorError as exc:
            log.info("slack: no profile for %s (%s)", inbound.author_id, exc)
            return inbound
        return replace(inbound, author_handle=inbound.author_handle or handle, author_name=inbound.author_name or name)
