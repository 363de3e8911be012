"""App Home: open escalations by priority, today's messages by sentiment, the oldest unclaimed one, and
what metered platforms (X's pay-per-use reads and posts) have cost this month."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.desk import Desk
from bot.domain import EscalationStatus, Priority
from bot.errors import StorageError
from bot.ports import UsageReport
from connectors.slack import blocks as bk
from connectors.slack.blocks import Block
from connectors.slack.client import SlackApi
from connectors.slack.commands import escalation_line
from connectors.slack.staff import StaffDirectory

log = logging.getLogger(__name__)

PER_PRIORITY_SHOWN = 10
_SENTIMENT_EMOJI = {
    "negative": ":slightly_frowning_face:",
    "neutral": ":neutral_face:",
    "positive": ":slightly_smiling_face:",
}


class AppHome:
    def __init__(self, api: SlackApi, desk: Desk, staff: StaffDirectory, usage: Sequence[UsageReport] = ()) -> None:
        self._api = api
        self._desk = desk
        self._staff = staff
        self._usage = usage

    async def publish(self, user: str) -> None:
        """Render and publish `user`'s App Home."""
        await self._api.publish_home(user, await self.view(user))

    async def view(self, user: str) -> dict[str, Any]:
        if not await self._staff.is_staff(user):
            return {"type": "home", "blocks": [bk.section("Rapport's desk is for support staff.")]}
        return {"type": "home", "blocks": await self.staff_blocks()}

    async def staff_blocks(self) -> list[Block]:
        queue = await self._desk.queue()
        sentiment = await self._desk.today_by_sentiment()
        result: list[Block] = [bk.header("Rapport desk")]
        mood = " · ".join(f"{_SENTIMENT_EMOJI.get(k, '')} {k} {v}" for k, v in sorted(sentiment.items())) or "none yet"
        result.append(bk.section(f"*Today's messages by sentiment*\n{mood}"))
        unclaimed = [e for e in queue if e.status is EscalationStatus.OPEN]
        if unclaimed:
            oldest = min(unclaimed, key=lambda e: e.created_at)
            result.append(
                bk.section(f"*Oldest unclaimed*\n{escalation_line(oldest)}\n> {bk.clip(bk.said(oldest.reason), 200)}")
            )
        result.append(bk.divider())
        result.append(bk.section(f"*Open escalations: {len(queue)}*"))
        for priority in Priority:
            mine = [e for e in queue if e.priority is priority]
            if not mine:
                continue
            lines = [escalation_line(e) for e in mine[:PER_PRIORITY_SHOWN]]
            if len(mine) > PER_PRIORITY_SHOWN:
                lines.append(f"…and {len(mine) - PER_PRIORITY_SHOWN} more")
            result.append(bk.section(f"*{priority.value.capitalize()}* ({len(mine)})\n" + "\n".join(lines)))
        result.extend(await self._usage_blocks())
        return result[: bk.HOME_BLOCKS_MAX]

    async def _usage_blocks(self) -> list[Block]:
        blocks: list[Block] = []
        for report in self._usage:
            try:
                title, *lines = await report.summary()
            except StorageError as exc:
                # The queue above is still worth showing when the usage counters cannot be read.
                log.warning("app home: usage unavailable (%s)", exc)
                continue
            if not blocks:
                blocks.append(bk.divider())
            blocks.append(bk.section(f"*{bk.escape(title)}*\n" + "\n".join(bk.escape(line) for line in lines)))
        return blocks
