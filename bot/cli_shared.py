"""What every `rapport` command module shares: the consoles, the common options, and the classifier
stand-in for commands that never classify. Light on purpose: `rapport classify` imports it too."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bot.errors import RapportError
from nlp.types import Analysis

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
