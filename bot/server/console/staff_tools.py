"""The escalation page's staff tools: suggested replies and the macros menu, from `bot.staff`.

Each suggestion is a one-click form posting its key to the page's `suggest` action and the macros a
menu posting a name to `macro`: what is sent goes through Desk.reply as the signed-in person, with the
same audit marker (`suggested`, `macro`) as the Slack card's Send buttons and the API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.app import Rapport
from bot.desk import EscalationCard
from bot.errors import RapportError
from bot.privacy import mask

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Suggestion:
    key: str  # "kb:<article>" or "reply:<id>": what the Send form posts
    text: str
    source: str  # where it came from: "knowledge base: returns", "sent on #12"
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Macro:
    name: str
    text: str  # filled in for this case ({name}, {ticket})


@dataclass(frozen=True, slots=True)
class StaffTools:
    suggestions: tuple[Suggestion, ...] = ()
    macros: tuple[Macro, ...] = ()


async def staff_tools(bot: Rapport, card: EscalationCard) -> StaffTools:
    """Suggested replies and macros for this case; a failing tool shows none rather than failing the page."""
    tools = bot.staff
    suggestions: list[Suggestion] = []
    try:
        for s in await tools.suggestions.for_case(card.escalation.id):
            where = f"knowledge base: {s.source}" if s.kind == "knowledge" else f"sent on {s.source}"
            suggestions.append(Suggestion(s.key, mask(s.text), where, s.score))
    except RapportError as exc:
        log.warning("no suggestions for case %s: %s", card.escalation.id, exc)
    macros: list[Macro] = []
    for name in tools.macros.names():
        try:
            macros.append(Macro(name, mask(await tools.macros.rendered(card.escalation.id, name))))
        except RapportError as exc:
            log.warning("macro %s not shown on case %s: %s", name, card.escalation.id, exc)
    return StaffTools(tuple(suggestions), tuple(macros))
