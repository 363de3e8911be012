"""`rapport staff shift on|off NAME` and `rapport staff shifts`: who automatic assignment may give cases to.
Registered by bot/cli.py."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import typer
from rich.table import Table

from bot.cli_shared import ByOption, ConfigOption, JsonOption, out, settings_from, with_bot

if TYPE_CHECKING:
    from bot.staff.assignment import Shifts

T = TypeVar("T")


def _with_shifts(config: Path | None, body: Callable[[Shifts], Awaitable[T]]) -> T:
    return with_bot(settings_from(config), lambda bot: body(bot.shifts))


def register(app: typer.Typer) -> None:
    """Add the `staff` commands to the `rapport` CLI."""
    staff_app = typer.Typer(help="Staff on shift for automatic assignment ([assignment]).", no_args_is_help=True)
    app.add_typer(staff_app, name="staff")

    @staff_app.command("shift")
    def shift(
        state: Annotated[Literal["on", "off"], typer.Argument(help="on or off")],
        name: Annotated[str, typer.Argument(help='Who, as the desk records them: "slack:U123", "user:EMAIL"')],
        config: ConfigOption = None,
        by: ByOption = "cli",
    ) -> None:
        """Put someone on shift (new cases may be assigned to them) or take them off."""
        done = _with_shifts(config, lambda shifts: shifts.set(name, state == "on", by=by))
        out.print(f"{done.actor} is {'on' if done.on_shift else 'off'} shift", markup=False, highlight=False)

    @staff_app.command("shifts")
    def shifts(config: ConfigOption = None, as_json: JsonOption = False) -> None:
        """Everyone put on shift at some point, next in turn first, with their open cases."""
        found = _with_shifts(config, lambda shifts: shifts.list())
        if as_json:
            rows = [
                {
                    "actor": s.actor,
                    "on_shift": s.on_shift,
                    "open_cases": s.open_cases,
                    "last_assigned_at": s.last_assigned_at.isoformat() if s.last_assigned_at else None,
                }
                for s in found
            ]
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return
        table = Table("who", "on shift", "open cases", "last assigned")
        for s in found:
            when = s.last_assigned_at.strftime("%Y-%m-%d %H:%M") if s.last_assigned_at else "-"
            table.add_row(s.actor, "yes" if s.on_shift else "no", str(s.open_cases), when)
        out.print(table)
