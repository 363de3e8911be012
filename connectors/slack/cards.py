"""Block Kit rendering of the triage card, from the desk's `EscalationCard` (domain objects only).

The same function renders a card first and every time it changes, so `chat.update` always replaces
the whole message with the current state.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.desk import EscalationCard
from bot.domain import ConversationState, EscalationStatus, InboundMessage, Intent
from bot.staff.suggestions import Suggestion
from connectors.slack import blocks as bk
from connectors.slack.blocks import Block

# Action ids: the card's buttons and menu, matched by connectors/slack/actions.py.
CLAIM = "rapport.claim"
RESOLVE = "rapport.resolve"
SNOOZE = "rapport.snooze"
RECLASSIFY = "rapport.reclassify"
SUGGEST = "rapport.suggest"  # a suggested reply's Send button; its value is "<escalation id>:<suggestion key>"
ACTION_IDS = (CLAIM, RESOLVE, SNOOZE, RECLASSIFY, SUGGEST)
_SUGGESTION_SHOWN = 600  # characters of a suggested reply on the card (Send sends all of it)

_PRIORITY_EMOJI = {
    "urgent": ":red_circle:",
    "high": ":large_orange_circle:",
    "normal": ":large_blue_circle:",
    "low": ":white_circle:",
}
_HISTORY_SHOWN = 6
_USER_ID = re.compile(r"[A-Za-z0-9_]{1,40}")


def who(actor: str) -> str:
    """Staff actors are recorded as "slack:U123"; show them as a mention, anyone else as text."""
    if actor.startswith("slack:") and _USER_ID.fullmatch(actor[6:]):
        return f"<@{actor[6:]}>"
    return bk.escape(actor or "bot")


def intent_label(intent: str) -> str:
    return intent.replace("_", " ").capitalize() if intent else "Unclassified"


def handle_of(card: EscalationCard) -> str:
    m = card.opening.message
    return (card.identity.handle if card.identity else "") or m.author_handle or m.author_name or m.author_id


def original_link(message: InboundMessage) -> str:
    """A link to a customer's message where the platform id alone is enough to build one."""
    if message.channel == "x" and message.external_id.isdigit():
        return f"https://x.com/i/web/status/{message.external_id}"
    return ""


def _where(card: EscalationCard, link: str) -> str:
    m = card.opening.message
    kind = "DM" if m.direct else "message"
    place = f"{m.channel} · {bk.escape(handle_of(card))}"
    link = link or original_link(m)
    return f"{place}\n<{link}|original {kind}>" if link.startswith(("http://", "https://")) else f"{place} ({kind})"


def _sla(card: EscalationCard) -> list[str]:
    if not card.escalation.status.active:
        return []
    first = ":rotating_light: *breached* " if card.sla.first_response_breached else ""
    resolution = ":rotating_light: *breached* " if card.sla.resolution_breached else ""
    return [
        f"*First response due*\n{first}{bk.date(card.sla.first_response_due)}",
        f"*Resolution due*\n{resolution}{bk.date(card.sla.resolution_due)}",
    ]


def _state_line(card: EscalationCard, now: datetime) -> str:
    esc = card.escalation
    if esc.status in (EscalationStatus.RESOLVED, EscalationStatus.CLOSED):
        by = f" by {who(esc.assignee)}" if esc.assignee else ""
        return f":white_check_mark: {esc.status.value.capitalize()}{by} {bk.date(esc.resolved_at)}"
    line = ":inbox_tray: Open, unclaimed"
    if esc.status is EscalationStatus.CLAIMED and esc.assignee:
        taken = next((h.what for h in reversed(card.history) if h.what in ("claimed", "assigned")), "claimed")
        verb = "Assigned to" if taken == "assigned" else "Claimed by"
        line = f":raising_hand: {verb} {who(esc.assignee)} {bk.date(esc.claimed_at)}"
    if card.snoozed_until is not None and card.snoozed_until > now:
        line += f" · :zzz: snoozed until {bk.date(card.snoozed_until)}"
    return line + f" · :speech_balloon: {_CONVERSATION[esc.conversation]}"


# Who holds the conversation, as staff read it on the card.
_CONVERSATION = {
    ConversationState.BOT: "the bot answers",
    ConversationState.WAITING_FOR_DETAILS: "waiting for the customer's details",
    ConversationState.WITH_PERSON: "with a person: the bot stays quiet",
    ConversationState.RESOLVED: "resolved",
}


def _details(card: EscalationCard) -> str:
    given = card.escalation.details
    if not given:
        return ""
    return "*Details:* " + " · ".join(f"{k.replace('_', ' ')} {bk.said(v)}" for k, v in sorted(given.items()))


def _analysis(card: EscalationCard) -> str:
    a = card.analysis
    if a is None:
        return f"*Classification:* {intent_label(card.escalation.intent)}"
    flags = [s for s, on in (("urgent", a.urgent), ("abusive", a.abusive), ("low confidence", a.low_confidence)) if on]
    extra = f" · {', '.join(flags)}" if flags else ""
    return (
        f"*Classification:* {intent_label(card.escalation.intent)} ({a.confidence:.0%}) · "
        f"{a.sentiment.value} · {a.language}{extra}"
    )


def _interactions(card: EscalationCard) -> str:
    if not card.recent:
        return "*Last interactions:* none before this"
    lines = []
    for stored in card.recent[:3]:
        m = stored.message
        mood = f" ({stored.analysis.sentiment.value})" if stored.analysis else ""
        text = bk.clip(bk.said(" ".join(m.text.split())), 300)
        lines.append(f"• {bk.date(m.sent_at, '{date_short} {time}')} {m.channel}{mood}: {text}")
    return "*Last interactions*\n" + "\n".join(lines)


def _actions(card: EscalationCard) -> Block:
    esc = card.escalation
    value = str(esc.id)
    elements = []
    if esc.status is EscalationStatus.OPEN:
        elements.append(bk.button("Claim", CLAIM, value, style="primary"))
    elements.append(bk.button("Resolve", RESOLVE, value))
    elements.append(bk.button("Snooze", SNOOZE, value))
    options = [(intent_label(i.value), f"{esc.id}:{i.value}") for i in Intent]
    elements.append(bk.select("Reclassify", RECLASSIFY, options, initial=f"{esc.id}:{esc.intent}"))
    return {"type": "actions", "block_id": f"card:{esc.id}", "elements": elements}


def _suggestions(card: EscalationCard, suggestions: tuple[Suggestion, ...]) -> list[Block]:
    """A "Suggested replies" section: each suggestion with a Send button that replies as whoever clicks."""
    if not suggestions:
        return []
    out: list[Block] = [bk.section("*Suggested replies*")]
    for s in suggestions:
        origin = f"article {s.source}" if s.kind == "knowledge" else f"sent on {s.source}"
        text = f"{bk.quote(bk.clip(s.text, _SUGGESTION_SHOWN), 1000)}\n_{bk.escape(origin)} · {s.score:.0%} match_"
        value = f"{card.escalation.id}:{s.key}"
        out.append(bk.section(text, accessory=bk.button("Send", SUGGEST, value)))
    return out


def fallback_text(card: EscalationCard) -> str:
    esc = card.escalation
    return bk.clip(
        f"Escalation #{esc.id} ({esc.priority.value}): {intent_label(esc.intent)} from "
        f"{bk.escape(card.customer.display_name)} on {esc.channel} — {esc.status.value}",
        bk.FALLBACK_TEXT_MAX,
    )


def render(
    card: EscalationCard, now: datetime, link: str = "", suggestions: tuple[Suggestion, ...] = ()
) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for the triage card of one escalation; `link` points at the original, and
    `suggestions` are shown with a Send button each while the case is active."""
    esc = card.escalation
    customer = card.customer
    done = not esc.status.active
    title = f"{'✅ ' if done else ''}#{esc.id} {intent_label(esc.intent)} · {esc.priority.value.upper()}"
    if esc.flagged:
        title += " · ⚠ read first"
    result: list[Block] = [
        bk.header(title),
        bk.fields_section(
            [
                f"*Customer*\n{bk.escape(customer.display_name)} (#{customer.id})",
                f"*Where*\n{_where(card, link)}",
                f"*Tier · stage*\n{customer.tier} · {customer.stage}",
                f"*Priority*\n{_PRIORITY_EMOJI.get(esc.priority.value, '')} {esc.priority.value}",
                *_sla(card),
            ]
        ),
        bk.section(bk.quote(card.opening.message.text)),
        bk.context(_analysis(card), f"*Why:* {bk.said(esc.reason)}" if esc.reason else "", _details(card)),
        bk.section(_interactions(card)),
        bk.context(_state_line(card, now)),
    ]
    if card.history:
        shown = card.history[-_HISTORY_SHOWN:]
        lines = [f"{bk.date(h.at, '{time}')} {who(h.actor)} {bk.escape(h.what)}" for h in shown]
        result.append(bk.context("\n".join(lines)))
    if not done:
        result += _suggestions(card, suggestions)
        result.append(_actions(card))
    return fallback_text(card), result


def escalation_id_of(action: dict[str, Any]) -> int | None:
    """The escalation a card action refers to: from its value ("12" or "12:intent") or its block id."""
    raw = action.get("value")
    if raw is None:
        option = action.get("selected_option")
        raw = option.get("value") if isinstance(option, dict) else None
    if raw is None:
        raw = str(action.get("block_id", "")).removeprefix("card:")
    head = str(raw).split(":", 1)[0]
    return int(head) if head.isdigit() and len(head) < 12 else None
