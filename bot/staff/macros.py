"""Macros: named reply texts from `[macros]`, with the customer's name and the case number filled in,
sent as a staff reply through the desk (so they are audited as that person's, marked with the macro)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.desk import Desk
from bot.domain import OutboundReply
from bot.errors import InputError, NotFound
from bot.templates import render


class UnknownMacro(InputError):
    """A macro name `[macros]` does not define; `known` lists those it does."""

    def __init__(self, name: str, known: list[str]) -> None:
        listed = ", ".join(known) if known else "none are configured: add a [macros] table"
        super().__init__(f"no macro {name[:40]!r} (macros: {listed})", field="name")
        self.known = known


def first_name(author_name: str, author_handle: str) -> str:
    """What a reply calls the customer, as the bot's own replies do: the first word of their name."""
    name = (author_name or author_handle).split()
    return name[0] if name else "there"


class Macros:
    def __init__(self, texts: Mapping[str, str], desk: Desk) -> None:
        self._texts = dict(sorted(texts.items()))
        self._desk = desk

    def names(self) -> list[str]:
        return list(self._texts)

    def texts(self) -> dict[str, str]:
        """Every macro's text as configured, placeholders and all."""
        return dict(self._texts)

    async def rendered(self, escalation_id: int, name: str) -> str:
        """The macro's text for this case; UnknownMacro or NotFound."""
        if name not in self._texts:
            raise UnknownMacro(name, self.names())
        card = await self._desk.card(escalation_id)
        if card is None:
            raise NotFound(f"escalation #{escalation_id} does not exist")
        m = card.opening.message
        return render(self._texts, name, name=first_name(m.author_name, m.author_handle), ticket=str(escalation_id))

    async def send(self, escalation_id: int, staff: str, name: str, *, request_key: str = "") -> OutboundReply:
        """Send the macro as `staff`'s reply to the customer."""
        text = await self.rendered(escalation_id, name)
        return await self._desk.reply(escalation_id, staff, text, key=request_key, marker={"macro": name})
