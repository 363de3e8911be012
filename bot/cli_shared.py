"""What every `rapport` command module shares: the consoles, the common options, the classifier
stand-in for commands that never classify, and running a command's body against the bot with errors as
one line. Light on purpose: `rapport classify` imports it too (the bot is imported when a body runs)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Settings, load_settings
from bot.errors import ConfigError, RapportError
from nlp.types import Analysis

if TYPE_CHECKING:
    from bot.app import Rapport

T = TypeVar("T")

out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", envvar="RAPPORT_CONFIG", help="TOML config file.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ByOption = Annotated[str, typer.Option("--by", help="Who does it (recorded in the audit log).")]


class NoClassifier:
    """For commands that never classify (listing, linking, a gateway): the model is not loaded."""

    version = "none"

    def classify(self, texts: Any) -> list[Analysis]:
        raise RapportError("this command does not classify")


def fail(message: object, code: int) -> NoReturn:
    """Print `error: <message>` as one line on stderr and exit with `code`. The message is escaped: what a
    user typed ("[/x]") is shown as typed, never read as markup."""
    err.print(f"[red]error:[/red] {escape(str(message))}", highlight=False)
    raise typer.Exit(code) from None


def settings_from(config: Path | None) -> Settings:
    """The settings of `config` (or $RAPPORT_CONFIG); a ConfigError exits 2 with its one line."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        fail(exc, 2)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a RapportError exits 1 with its one line, never a traceback."""
    try:
        return asyncio.run(coro)
    except RapportError as exc:
        fail(exc, 1)


def with_bot(settings: Settings, body: Callable[[Rapport], Awaitable[T]]) -> T:
    """`body(bot)` on a Rapport without a classifier (these commands never classify), as `run_async` runs it."""

    async def main() -> T:
        from bot.app import Rapport

        async with Rapport(settings, classifier=NoClassifier()) as bot:
            return await body(bot)

    return run_async(main())
