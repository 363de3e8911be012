"""WIRING POINT for the staff tools (issue 15, item 7): suggested replies and the macros menu.

The escalation page shows what `staff_tools` returns in its "staff tools" block
(templates/_staff_tools.html): each suggestion as a one-click reply form and the macros as a menu,
both posting to the page's Reply action, so a reply sent from them goes through Desk.reply and is
audited as sent by the signed-in person. Until the staff tools are wired in here, it returns none
and the block says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.app import Rapport
from bot.desk import EscalationCard


@dataclass(frozen=True, slots=True)
class Suggestion:
    text: str  # sent as it is when staff click it
    source: str  # where it came from: "knowledge base: Returns", "sent by user:ann on #12"
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Macro:
    name: str
    text: str  # already filled in for this case ({name}, {ticket})


@dataclass(frozen=True, slots=True)
class StaffTools:
    suggestions: tuple[Suggestion, ...] = ()
    macros: tuple[Macro, ...] = ()
    wired: bool = False  # False: the block says suggestions and macros are not set up


async def staff_tools(bot: Rapport, card: EscalationCard) -> StaffTools:
    """Suggested replies and macros for this case. Replace the body with the staff tools' calls."""
    del bot, card  # used once wired
    return StaffTools()
