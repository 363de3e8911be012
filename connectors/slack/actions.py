"""Clicks on a triage card: Claim, Resolve, Snooze, Reclassify, and Send on a suggested reply. The desk
does the work; the card then updates itself through the EscalationChanged event the desk publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.desk import Desk
from bot.errors import ConnectorError, InputError
from bot.staff.tools import StaffTools
from connectors.slack import cards
from connectors.slack.client import SlackApi
from connectors.slack.staff import StaffDirectory
from connectors.slack.triage import TriageDesk, staff_actor

log = logging.getLogger(__name__)

REFUSAL = "Only support staff can act on triage cards. (This attempt was logged.)"


class CardActions:
    def __init__(
        self,
        api: SlackApi,
        desk: Desk,
        staff: StaffDirectory,
        triage: TriageDesk,
        snooze_minutes: int = 60,
        tools: StaffTools | None = None,
    ) -> None:
        self._api = api
        self._tools = tools
        self._snooze_minutes = snooze_minutes
        self._desk = desk
        self._staff = staff
        self._triage = triage

    async def on_action(self, body: Mapping[str, Any]) -> None:
        """Bolt listener for every `rapport.*` block action (acked before this runs)."""
        user = _get(body, "user", "id")
        channel = _get(body, "channel", "id") or _get(body, "container", "channel_id")
        actions = body.get("actions")
        action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
        action_id = str(action.get("action_id", ""))
        escalation_id = cards.escalation_id_of(action)
        if not await self._staff.is_staff(user):
            await self._desk.audit(
                "slack.refused",
                staff_actor(user or "unknown"),
                {"action": action_id[:80], "escalation_id": escalation_id, "channel": channel},
            )
            await self._tell(channel, user, REFUSAL)
            return
        run = self._dispatch(action_id, action, str(action.get("action_ts", "")))
        if run is None or escalation_id is None:
            await self._tell(channel, user, "That button is not one Rapport knows; nothing was done.")
            return
        try:
            await run(escalation_id, staff_actor(user))
        except InputError as exc:
            await self._tell(channel, user, f"Nothing done: {exc}.")
            if await self._desk.card(escalation_id) is not None:
                await self._triage.refresh(escalation_id)  # the card was stale: show the current state

    def _dispatch(
        self, action_id: str, action: Mapping[str, Any], action_ts: str = ""
    ) -> Callable[[int, str], Awaitable[Any]] | None:
        if action_id == cards.CLAIM:
            return self._desk.claim
        if action_id == cards.RESOLVE:
            return self._desk.resolve
        if action_id == cards.SNOOZE:
            return lambda esc, staff: self._desk.snooze(esc, staff, self._snooze_minutes)
        if action_id == cards.RECLASSIFY:
            option = action.get("selected_option")
            value = str(option.get("value", "")) if isinstance(option, dict) else ""
            intent = value.split(":", 1)[1] if ":" in value else value
            return lambda esc, staff: self._desk.reclassify(esc, staff, intent)
        if action_id == cards.SUGGEST and self._tools is not None:
            suggestions = self._tools.suggestions
            key = str(action.get("value", "")).partition(":")[2]
            # The click's own timestamp: a redelivered click queues the reply once.
            request = f"slack:suggest:{action_ts}:{key}" if action_ts else ""
            return lambda esc, staff: suggestions.send(esc, staff, key, request_key=request)
        return None

    async def _tell(self, channel: str, user: str, text: str) -> None:
        if not channel or not user:
            return
        try:
            await self._api.ephemeral(channel, user, text)
        except ConnectorError as exc:
            log.warning("slack: could not tell %s: %s", user, exc)


def _get(body: Mapping[str, Any], *path: str) -> str:
    node: Any = body
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, str) else ""
