"""Holding a conversation: which case a follow-up belongs to, asking for missing details, hand-offs to a
person, and staying quiet while staff handle a case. Pure decisions here; the pipeline acts on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import ConversationSettings, DetailRequest
from bot.domain import ConversationState, Escalation
from bot.storage.conversations import ConversationStore
from nlp.types import Analysis

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What to do with a customer's message on a case that is already open."""

    reply: str | None  # template name of the acknowledgement, or None to stay quiet
    reason: str  # why, for the audit
    details: Mapping[str, str]  # details the message gave that the case was waiting for
    state: ConversationState  # the conversation's state after this message


class Conversations:
    """The conversation rules of `[conversation]` over the escalation bookkeeping in storage."""

    def __init__(self, settings: ConversationSettings, store: ConversationStore) -> None:
        self.settings = settings
        self.store = store
        self._handoff = [re.compile(p, re.IGNORECASE) for ps in settings.handoff_phrases.values() for p in ps]
        self._details = [(d, re.compile(d.pattern)) for d in settings.details]

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.settings.window_minutes)

    @property
    def quiet(self) -> timedelta:
        return timedelta(minutes=self.settings.quiet_minutes)

    def asks_for_person(self, text: str) -> bool:
        """'Can I talk to a human?' in any language we have phrases for, whatever the classifier says."""
        return any(p.search(text) for p in self._handoff)

    def missing(self, text: str, analysis: Analysis | None) -> tuple[list[DetailRequest], dict[str, str]]:
        """For a message that opens a case: the details it needs and lacks, and those it already gives."""
        needed, given = [], {}
        for request, pattern in self._details:
            if not _applies(request, text, analysis):
                continue
            value = extract(pattern, text)
            if value is None:
                needed.append(request)
            else:
                given[request.name] = value
        return needed, given

    def found(self, text: str, wanted: Mapping[str, str] | None = None) -> dict[str, str]:
        """Every configured detail this message gives (an order number in a follow-up), except known ones."""
        known = wanted or {}
        out = {}
        for request, pattern in self._details:
            if request.name in known:
                continue
            value = extract(pattern, text)
            if value is not None:
                out[request.name] = value
        return out

    def question(self, requests: list[DetailRequest], language: str) -> str:
        return " ".join(r.questions.get(language, r.question) for r in requests)

    async def case_for(self, customer_id: int, channel: str, sent_at: datetime) -> int | None:
        """An active case of this customer on this platform that the message continues (within the window)."""
        if self.settings.window_minutes <= 0:
            return None
        return await self.store.recent_case(customer_id, channel, sent_at - self.window)

    async def follow_up(self, esc: Escalation, text: str, now: datetime) -> FollowUp:
        """Decide the bot's part in a message on an open case: store what it gives, acknowledge once per
        quiet period, and say nothing at all once a person has replied (they hold the conversation)."""
        given = self.found(text, esc.details)
        state = esc.state
        if given:
            await self.store.add_details(esc.id, given)
            if state is ConversationState.WAITING_FOR_DETAILS:
                state = ConversationState.WITH_PERSON
                await self.store.set_state(esc.id, state)
        if await self.store.staff_replied(esc.id):
            return FollowUp(None, "a person is handling the conversation", given, state)
        if given and esc.state is ConversationState.WAITING_FOR_DETAILS:
            # The answer to our own question is always acknowledged, and restarts the quiet period.
            await self.store.take_acknowledgement(esc.id, now, timedelta(0))
            return FollowUp("followup", "details received", given, state)
        if await self.store.take_acknowledgement(esc.id, now, self.quiet):
            return FollowUp("followup", "follow-up acknowledged", given, state)
        return FollowUp(None, "acknowledged already within the quiet period", given, state)


def _applies(request: DetailRequest, text: str, analysis: Analysis | None) -> bool:
    if analysis is None or analysis.intent not in request.intents:
        return False
    if not request.words:
        return True
    words = _WORD.findall(text.lower())
    return any(w.startswith(stem) for w in words for stem in request.words)


def extract(pattern: re.Pattern[str], text: str) -> str | None:
    """The pattern's first non-empty group (or whole match) in `text`, if it matches."""
    match = pattern.search(text)
    if match is None:
        return None
    return next((g for g in match.groups() if g), match.group(0)) or None
