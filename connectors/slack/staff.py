"""Who counts as staff: members of the triage channel, plus the configured staff user ids."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from bot.errors import ConnectorError
from connectors.slack.client import SlackApi

log = logging.getLogger(__name__)

_MEMBERS_TTL = 60.0  # seconds; someone removed from the triage channel loses access within a minute


class StaffDirectory:
    def __init__(
        self, api: SlackApi, triage_channel: str | None, staff_user_ids: Collection[str], bot_user_id: str = ""
    ) -> None:
        self._api = api
        self._triage = triage_channel
        self._configured = frozenset(staff_user_ids)
        self.bot_user_id = bot_user_id
        self._members: frozenset[str] = frozenset()
        self._fetched_at = -_MEMBERS_TTL

    async def is_staff(self, user: str) -> bool:
        if not user or user == self.bot_user_id:
            return False
        if user in self._configured:
            return True
        return user in await self._triage_members()

    async def _triage_members(self) -> frozenset[str]:
        if self._triage is None:
            return frozenset()
        now = time.monotonic()
        if now - self._fetched_at >= _MEMBERS_TTL:
            try:
                self._members = frozenset(await self._api.members(self._triage))
                self._fetched_at = now
            except ConnectorError as exc:
                # Keep the last known list: a Slack hiccup should not lock staff out (or let others in).
                log.warning("slack: could not list triage channel members: %s", exc)
        return self._members
