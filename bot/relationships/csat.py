"""The pipeline interceptor for answers to follow-ups: CSAT scores, "stop" and "start".

It runs after the customer is known and before classification, so "5" is recorded as a score rather
than routed as a message nobody understands.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.config import RelationshipSettings
from bot.domain import Customer, StoredMessage
from bot.events import EventBus
from bot.relationships.events import CsatReceived, publish
from bot.relationships.models import CsatStatus
from bot.relationships.templates import render_followup
from bot.storage import Repository
from bot.storage.relationships import RelationshipRepository

STOP_WORDS = frozenset({"stop", "stop all", "opt out", "optout"})
START_WORDS = frozenset({"start", "opt in", "optin"})
_SCORE = re.compile(r"^\s*([1-5])\s*(?:/\s*5|out\s+of\s+5|stars?)?\s*[.!]*\s*$", re.IGNORECASE)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# A longer message while a survey waits is more likely something new to say than an answer: it is
# counted as a non-answer but still routed, so a fresh complaint is never swallowed by the survey.
_SHORT_WORDS = 4


def parse_score(text: str) -> int | None:
    """1-5 from "4", "4/5", "5 stars", "five"; None for anything else."""
    match = _SCORE.match(text)
    if match:
        return int(match.group(1))
    return _WORDS.get(text.strip().strip(".!").lower())


def _command(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").strip(" .!\"'").split())


class CsatInterceptor:
    """Claims a message that answers a survey or opts out / in; returns the action taken, or None."""

    def __init__(
        self,
        repo: Repository,
        rel: RelationshipRepository,
        settings: RelationshipSettings,
        wake: Callable[[], None],
        events: EventBus | None = None,
    ) -> None:
        self.repo = repo
        self.rel = rel
        self.settings = settings
        self.wake = wake
        self.events = events

    async def __call__(self, stored: StoredMessage, customer: Customer) -> str | None:
        m = stored.message
        command = _command(m.text)
        if command in STOP_WORDS:
            if await self.rel.opt_out(customer.id, m.channel, stored.id):
                await self.repo.audit.record(
                    "followup.opted_out", {"channel": m.channel}, message_id=stored.id, customer_id=customer.id
                )
            await self._reply(stored, customer, "opt_out", f"optout:{stored.id}")
            return "opt_out"
        if command in START_WORDS and await self.rel.opt_in(customer.id, m.channel):
            await self.repo.audit.record(
                "followup.opted_in", {"channel": m.channel}, message_id=stored.id, customer_id=customer.id
            )
            await self._reply(stored, customer, "opt_in", f"optin:{stored.id}")
            return "opt_in"
        survey = None if customer.first_contact else await self.rel.outstanding_survey(customer.id, m.channel)
        if survey is None:
            return None
        score = parse_score(m.text)
        short = len(m.text.split()) <= _SHORT_WORDS
        if score is not None:
            await self.rel.update_survey(survey.id, CsatStatus.ANSWERED, score=score, text=m.text, message_id=stored.id)
            await self.repo.audit.record(
                "csat.answered",
                {"score": score, "survey_id": survey.id},
                message_id=stored.id,
                customer_id=customer.id,
                escalation_id=survey.escalation_id,
            )
            if self.events is not None:
                await publish(self.events, CsatReceived(customer.id, survey.escalation_id, score))
            await self._reply(stored, customer, "csat_thanks", f"csat-thanks:{survey.id}")
            return "csat"
        if survey.status is CsatStatus.ASKED:
            await self.rel.update_survey(survey.id, CsatStatus.REASKED, text=m.text, message_id=stored.id)
            await self.repo.audit.record(
                "csat.reasked",
                {"survey_id": survey.id},
                message_id=stored.id,
                customer_id=customer.id,
                escalation_id=survey.escalation_id,
            )
            await self._reply(stored, customer, "csat_reask", f"csat-reask:{survey.id}")
            return "csat" if short else None
        await self.rel.update_survey(survey.id, CsatStatus.UNANSWERED, text=m.text, message_id=stored.id)
        await self.repo.audit.record(
            "csat.unanswered",
            {"survey_id": survey.id},
            message_id=stored.id,
            customer_id=customer.id,
            escalation_id=survey.escalation_id,
        )
        return "csat" if short else None

    async def _reply(self, stored: StoredMessage, customer: Customer, template: str, key: str) -> None:
        m = stored.message
        text = render_followup(
            self.settings.templates,
            template,
            m.channel,
            name=_first_name(m.author_name or customer.display_name),
            channel=m.channel,
        )
        queued = await self.repo.replies.enqueue(
            dedupe_key=key,
            connector=m.via,
            channel=m.channel,
            recipient_id=m.author_id,
            conversation_id=m.conversation_id,
            text=text,
            in_reply_to=m.external_id,
            direct=m.direct,
            kind="followup",
            message_id=stored.id,
        )
        if queued is not None:
            await self.repo.audit.record(
                "reply.queued",
                {"reply_id": queued.id, "template": template},
                message_id=stored.id,
                customer_id=customer.id,
            )
            self.wake()


def _first_name(name: str) -> str:
    return name.split()[0] if name.strip() else "there"
