"""`rapport escalations claim|assign|reply|note` and `rapport customers forget`: the desk's actions from a
terminal, through the same Desk (and audit) as Slack's card and the API. Registered by bot/cli.py."""

from __future__ import annotations

import getpass
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.access.models import Role, User
from bot.cli_shared import ConfigOption, out, settings_from, with_bot
from bot.errors import AccessDenied, InputError

if TYPE_CHECKING:
    from bot.app import Rapport

T = TypeVar("T")

AS_HELP = (
    "Who does it, recorded in the audit log: a staff user from `rapport users list`, by email or by the name "
    "before the @. Default: $RAPPORT_STAFF, else your login name ($USER). With no staff users added yet, "
    "the action is recorded as cli:<name>."
)
AsOption = Annotated[str | None, typer.Option("--as", envvar="RAPPORT_STAFF", help=AS_HELP, show_default=False)]


def _login() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError:  # no login name at all (a container without passwd entry)
        return "cli"


def staff_actor(users: list[User], name: str, *, acting: bool = True) -> str:
    """The audit actor for `name`: "user:<email>" of the matching staff user (an agent or admin when
    `acting`); "cli:<name>" while no staff user exists. InputError or AccessDenied otherwise."""
    name = name.strip()
    if not name:
        raise InputError("--as: who are you? (a staff user's email or name)", field="as")
    if not users:
        return f"cli:{name}"
    wanted = name.lower()
    found = [u for u in users if u.email == wanted] or [u for u in users if u.email.split("@", 1)[0] == wanted]
    if not found:
        raise InputError(f"no staff user {name[:80]!r} (see `rapport users list`)", field="as")
    if len(found) > 1:
        raise InputError(f"{name[:80]!r} names {len(found)} staff users: give the email", field="as")
    user = found[0]
    if user.disabled_at is not None:
        raise AccessDenied(f"staff user {user.email} is disabled")
    if acting and not user.role.allows(Role.AGENT):
        raise AccessDenied(f"{user.email} is a {user.role.value}: acting on escalations takes agent", needs="agent")
    return f"user:{user.email}"


def _with_bot(config: Path | None, body: Callable[[Rapport], Awaitable[T]]) -> T:
    return with_bot(settings_from(config), body)


async def _actor(bot: Rapport, name: str | None, *, acting: bool = True) -> str:
    return staff_actor(await bot.access.users(), name or _login(), acting=acting)


def register(escalations_app: typer.Typer, customers_app: typer.Typer) -> None:
    """Add the desk's actions to `rapport escalations` and `customers forget` to `rapport customers`."""

    @escalations_app.command("claim")
    def escalations_claim(escalation_id: int, as_: AsOption = None, config: ConfigOption = None) -> None:
        """Claim an open escalation (as --as)."""

        async def body(bot: Rapport) -> str:
            actor = await _actor(bot, as_)
            await bot.desk.claim(escalation_id, actor)
            return actor

        actor = _with_bot(config, body)
        out.print(f"escalation #{escalation_id} claimed by {actor}", markup=False, highlight=False)

    @escalations_app.command("assign")
    def escalations_assign(
        escalation_id: int,
        to: Annotated[str, typer.Argument(help="A staff user (email or name), or a Slack user as slack:U123.")],
        as_: AsOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Assign an open or claimed escalation to a staff member (--as says who decided)."""

        async def body(bot: Rapport) -> str:
            users = await bot.access.users()
            actor = staff_actor(users, as_ or _login())
            target = to.strip() if to.strip().startswith("slack:") else staff_actor(users, to)
            await bot.desk.assign(escalation_id, actor, target)
            return target

        target = _with_bot(config, body)
        out.print(f"escalation #{escalation_id} assigned to {target}", markup=False, highlight=False)

    @escalations_app.command("reply")
    def escalations_reply(
        escalation_id: int,
        text: Annotated[str, typer.Argument(help="What the customer gets, on their own channel.")],
        as_: AsOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Reply to the customer on their channel: queued in the outbox, sent by the running bot."""

        async def body(bot: Rapport) -> int:
            actor = await _actor(bot, as_)
            queued = await bot.desk.reply(escalation_id, actor, text)
            return queued.id

        reply_id = _with_bot(config, body)
        out.print(
            f"reply {reply_id} to escalation #{escalation_id} queued; the running bot sends it",
            markup=False,
            highlight=False,
        )

    @escalations_app.command("note")
    def escalations_note(
        escalation_id: int,
        text: Annotated[str, typer.Argument(help="An internal note: staff see it, the customer never does.")],
        as_: AsOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Add an internal note to an escalation."""

        async def body(bot: Rapport) -> None:
            await bot.desk.note(escalation_id, await _actor(bot, as_), text)

        _with_bot(config, body)
        out.print(f"note added to escalation #{escalation_id}", markup=False, highlight=False)

    @customers_app.command("forget")
    def customers_forget(
        customer_id: int,
        force: Annotated[bool, typer.Option("--force", help="Even while a case of theirs is open.")] = False,
        as_: AsOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Erase a customer: messages, identities, profile, purchases, follow-ups, cases. Cannot be undone;
        the audit log keeps only that it happened (the internal id and row counts). With staff users, --as
        must name an admin."""

        async def body(bot: Rapport) -> dict[str, int]:
            from bot.forget import Forget

            users = await bot.access.users()
            actor = staff_actor(users, as_ or _login())
            if users and not any(f"user:{u.email}" == actor and u.role is Role.ADMIN for u in users):
                raise AccessDenied(f"{actor.removeprefix('user:')} is not an admin: forgetting takes admin")
            done = await Forget(bot.repo, bot.db).customer(customer_id, actor=actor, force=force)
            return done.counts

        counts = _with_bot(config, body)
        rows = ", ".join(f"{n} {table}" for table, n in sorted(counts.items())) or "no rows"
        out.print(f"customer {customer_id} forgotten ({rows})", markup=False, highlight=False)
