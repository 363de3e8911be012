"""Staff tools, the same in Slack, the API and the console: suggested replies (suggestions), macros,
business hours (business_hours) and automatic assignment to staff on shift (assignment)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.staff.assignment import AUTO_ASSIGN, AutoAssigner, Shifts
from bot.staff.business_hours import BusinessHours, business_hours
from bot.staff.macros import Macros, UnknownMacro
from bot.staff.suggestions import Suggestion, Suggestions


@dataclass(frozen=True, slots=True)
class StaffTools:
    """What a desk face (a Slack card, the API, the console) offers besides the Desk's own actions."""

    suggestions: Suggestions
    macros: Macros
    shifts: Shifts


__all__ = [
    "AUTO_ASSIGN",
    "AutoAssigner",
    "BusinessHours",
    "Macros",
    "Shifts",
    "StaffTools",
    "Suggestion",
    "Suggestions",
    "UnknownMacro",
    "business_hours",
]
