"""The slash command (`/rapport` by default): `customer <query>`, `queue`, `link <channel:user> <customer>`,
`macro <name> <case>`, `macros`, and `shift on|off` (automatic assignment's roster).

Answers are ephemeral: they go back in the command's HTTP response (or Socket Mode ack), so they need
no extra API call and only the person who asked sees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.desk import CustomerProfile, Desk
from bot.domain import CHANNELS, Escalation
from bot.errors import InputError
from bot.staff.tools import StaffTools
from connectors.slack import blocks as bk
from connectors.slack.blocks import Block
from connectors.slack.cards import intent_label, who
from connectors.slack.staff import StaffDirectory
from connectors.slack.triage import staff_actor

Answer = dict[str, Any]  # keyword arguments for bolt's ack()
QUEUE_SHOWN = 20


def ephemeral(text: str, blocks: list[Block] | None = None) -> Answer:
    answer: Answer = {"response_type": "ephemeral", "text": bk.clip(text, bk.FALLBACK_TEXT_MAX)}
    if blocks:
        answer["blocks"] = blocks[: bk.MESSAGE_BLOCKS_MAX]
    return answer


def usage(command: str) -> Answer:
    return ephemeral(
        f"Usage:\n• `{command} customer <handle, name, email or id>`: the customer's profile\n"
        f"• `{command} queue`: open escalations by priority\n"
        f"• `{command} link <channel:user id> <customer>`: link an account to a customer "
        f"(channels: {', '.join(sorted(CHANNELS))})\n"
        f"• `{command} macro <name> <case number>`: send a macro to the customer (in a card's thread: "
        f"`macro: <name>`)\n"
        f"• `{command} macros`: the macros there are\n"
        f"• `{command} shift on|off`: whether new cases are assigned to you"
    )


def escalation_line(esc: Escalation) -> str:
    owner = f" · {who(esc.assignee)}" if esc.assignee else " · unclaimed"
    return (
        f"*#{esc.id}* {esc.priority.value} · {intent_label(esc.intent)} on {esc.channel}{owner} · "
        f"opened {bk.date(esc.created_at)}"
    )


def profile_blocks(profile: CustomerProfile) -> list[Block]:
    c = profile.customer
    identities = ", ".join(f"{i.channel}:{bk.escape(i.handle or i.platform_user_id)}" for i in c.identities) or "none"
    result: list[Block] = [
        bk.header(f"{c.display_name} (#{c.id})"),
        bk.fields_section(
            [
                f"*Tier*\n{c.tier}",
                f"*Stage*\n{c.stage}",
                f"*Email*\n{bk.escape(c.email) or '—'}",
                f"*Accounts*\n{identities}",
                f"*Customer since*\n{bk.date(c.created_at)}",
            ]
        ),
    ]
    if profile.recent:
        lines = []
        for stored in profile.recent[:5]:
            m = stored.message
            mood = f" ({stored.analysis.sentiment.value})" if stored.analysis else ""
            lines.append(f"• {bk.date(m.sent_at)} {m.channel}{mood}: {bk.clip(bk.said(' '.join(m.text.split())), 200)}")
        result.append(bk.section("*Recent messages*\n" + "\n".join(lines)))
    if profile.escalations:
        lines = [f"• {escalation_line(e)} · {e.status.value}" for e in profile.escalations[-5:]]
        result.append(bk.section("*Escalations*\n" + "\n".join(lines)))
    return result


class SlashCommand:
    def __init__(self, command: str, desk: Desk, staff: StaffDirectory, tools: StaffTools | None = None) -> None:
        self.command = command
        self._desk = desk
        self._staff = staff
        self._tools = tools

    async def answer(self, body: Mapping[str, Any]) -> Answer:
        """What to acknowledge the command with. Never raises for bad input: that gets a usage hint."""
        user = str(body.get("user_id", ""))
        words = str(body.get("text", "")).split()
        if not await self._staff.is_staff(user):
            await self._desk.audit(
                "slack.refused",
                staff_actor(user or "unknown"),
                {"command": self.command, "text": " ".join(words)[:200]},
            )
            return ephemeral(f"`{self.command}` is for support staff. (This attempt was logged.)")
        if not words:
            return usage(self.command)
        verb, args = words[0].lower(), words[1:]
        try:
            if verb == "customer" and args:
                return await self._customer(" ".join(args))
            if verb == "queue" and not args:
                return await self._queue()
            if verb == "link" and len(args) >= 2:
                return await self._link(args[0], " ".join(args[1:]), user)
            if self._tools is not None:
                if verb == "macro" and len(args) == 2:
                    return await self._macro(self._tools, args[0], args[1], user, str(body.get("trigger_id", "")))
                if verb == "macros" and not args:
                    return self._macros(self._tools)
                if verb == "shift" and len(args) <= 1:
                    return await self._shift(self._tools, args[0].lower() if args else "", user)
        except InputError as exc:
            return ephemeral(f"Nothing done: {exc}.")
        return usage(self.command)

    async def _customer(self, query: str) -> Answer:
        profile = await self._desk.profile(query[:200])
        if profile is None:
            return ephemeral(f"No customer matches “{query[:80]}”.")
        return ephemeral(f"{profile.customer.display_name} (#{profile.customer.id})", profile_blocks(profile))

    async def _queue(self) -> Answer:
        queue = await self._desk.queue()
        if not queue:
            return ephemeral("No open escalations. :tada:")
        lines = [escalation_line(e) for e in queue[:QUEUE_SHOWN]]
        more = f"\n…and {len(queue) - QUEUE_SHOWN} more" if len(queue) > QUEUE_SHOWN else ""
        return ephemeral(
            f"{len(queue)} open escalations",
            [bk.section(f"*{len(queue)} open escalations*, most pressing first\n" + "\n".join(lines) + more)],
        )

    async def _macro(self, tools: StaffTools, name: str, case: str, user: str, trigger: str) -> Answer:
        number = case.removeprefix("#")
        if not number.isdigit() or len(number) > 11:
            raise InputError(f"{case[:20]!r} is not a case number")
        # Slack's trigger id is unique per invocation: a retried delivery queues the reply once. Without one,
        # no key: a shared "slack:macro:" would make every later macro a repeat of the first.
        key = f"slack:macro:{trigger}" if trigger else ""
        await tools.macros.send(int(number), staff_actor(user), name.lower(), request_key=key)
        return ephemeral(f"Sent macro `{name.lower()}` to the customer of case #{number}.")

    def _macros(self, tools: StaffTools) -> Answer:
        texts = tools.macros.texts()
        if not texts:
            return ephemeral("No macros are configured (a [macros] table in the config).")
        lines = [f"• `{name}`: {bk.clip(bk.escape(text), 200)}" for name, text in texts.items()]
        return ephemeral(f"{len(texts)} macros", [bk.section("*Macros*\n" + "\n".join(lines))])

    async def _shift(self, tools: StaffTools, state: str, user: str) -> Answer:
        actor = staff_actor(user)
        if state in ("on", "off"):
            await tools.shifts.set(actor, state == "on", by=actor)
            return ephemeral(
                "You are on shift: new cases may be assigned to you."
                if state == "on"
                else "You are off shift: no new cases will be assigned to you."
            )
        if state:
            raise InputError("say `shift on` or `shift off`")
        on = [s for s in await tools.shifts.list() if s.on_shift]
        if not on:
            return ephemeral("Nobody is on shift: new cases stay unassigned.")
        lines = [f"• {who(s.actor)}: {s.open_cases} open" for s in on]
        return ephemeral(f"{len(on)} on shift", [bk.section("*On shift*, next in turn first\n" + "\n".join(lines))])

    async def _link(self, account: str, customer: str, user: str) -> Answer:
        if ":" not in account:
            raise InputError("the account is channel:user id, e.g. discord:123456")
        channel, platform_user = account.split(":", 1)
        if not platform_user:
            raise InputError("the account is channel:user id, e.g. discord:123456")
        identity = await self._desk.link(channel.lower(), platform_user, customer, staff_actor(user))
        return ephemeral(f"Linked {identity.channel}:{identity.platform_user_id} to customer #{identity.customer_id}.")
