"""`rapport users add|list` and `rapport tokens create|list|revoke`. Registered by bot/cli.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.table import Table

from bot.access.models import ApiToken, Role, User
from bot.cli_shared import ByOption, ConfigOption, JsonOption, out, settings_from, with_bot

# The bot and its storage are imported by the commands that use them (see bot/cli.py: every command
# registers these, `rapport classify` too, and should not pay for them).
if TYPE_CHECKING:
    from bot.access.service import Access

T = TypeVar("T")

RoleOption = Annotated[Role, typer.Option("--role", help="viewer (reads), agent (acts) or admin (manages).")]


def _with_access(config: Path | None, body: Callable[[Access], Awaitable[T]]) -> T:
    return with_bot(settings_from(config), lambda bot: body(bot.access))


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _user_json(u: User) -> dict[str, Any]:
    return {"id": u.id, "email": u.email, "role": u.role.value, "created_at": u.created_at.isoformat()}


def _token_json(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "role": t.role.value,
        "created_at": t.created_at.isoformat(),
        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
    }


def register(app: typer.Typer) -> None:
    """Add the staff-access commands to the `rapport` CLI."""
    users_app = typer.Typer(help="Staff accounts: add, list.", no_args_is_help=True)
    tokens_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")

    @users_app.command("add")
    def users_add(
        email: str,
        role: RoleOption = Role.AGENT,
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
        ] = False,
        config: ConfigOption = None,
        by: ByOption = "cli",
    ) -> None:
        """Add a staff account (the password is asked for, or read with --password-stdin; stored as argon2)."""
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        user = _with_access(config, lambda access: access.add_user(email, role, password, actor=by))
        out.print(f"user {user.email} added as {user.role.value}", markup=False, highlight=False)

    @users_app.command("list")
    def users_list(config: ConfigOption = None, as_json: JsonOption = False) -> None:
        """List staff accounts."""
        users = _with_access(config, lambda access: access.users())
        if as_json:
            sys.stdout.write(json.dumps([_user_json(u) for u in users], indent=2) + "\n")
            return
        table = Table("#", "email", "role", "created")
        for u in users:
            table.add_row(str(u.id), u.email, u.role.value, _when(u.created_at))
        out.print(table)

    @tokens_app.command("create")
    def tokens_create(
        name: Annotated[str, typer.Option("--name", help="What uses it (letters, digits, . _ -).")],
        role: RoleOption = Role.VIEWER,
        config: ConfigOption = None,
        by: ByOption = "cli",
    ) -> None:
        """Create an API token. It is printed once, alone on the last line, and only its digest is stored."""
        token, clear = _with_access(config, lambda access: access.create_token(name, role, actor=by))
        out.print(
            f"token {token.name} created with role {token.role.value}; it is shown only now:",
            markup=False,
            highlight=False,
        )
        sys.stdout.flush()
        sys.stdout.write(clear + "\n")

    @tokens_app.command("list")
    def tokens_list(config: ConfigOption = None, as_json: JsonOption = False) -> None:
        """List API tokens (names and roles; the tokens themselves are never stored)."""
        tokens = _with_access(config, lambda access: access.tokens())
        if as_json:
            sys.stdout.write(json.dumps([_token_json(t) for t in tokens], indent=2) + "\n")
            return
        table = Table("#", "name", "role", "created", "last used", "revoked")
        for t in tokens:
            table.add_row(
                str(t.id), t.name, t.role.value, _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at)
            )
        out.print(table)

    @tokens_app.command("revoke")
    def tokens_revoke(name: str, config: ConfigOption = None, by: ByOption = "cli") -> None:
        """Revoke an API token by name: requests with it get 401 from now on."""
        token = _with_access(config, lambda access: access.revoke_token(name, actor=by))
        out.print(f"token {token.name} revoked", markup=False, highlight=False)
