"""What the desk's faces offer besides the Desk's own actions."""

from __future__ import annotations

from dataclasses import dataclass

from bot.staff.assignment import Shifts
from bot.staff.macros import Macros
from bot.staff.suggestions import Suggestions


@dataclass(frozen=True, slots=True)
class StaffTools:
    """What a desk face (a Slack card, the API, the console) offers besides the Desk's own actions."""

    suggestions: Suggestions
    macros: Macros
    shifts: Shifts
