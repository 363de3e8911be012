"""`rapport kb ask|list|check`: try the knowledge base, list its articles, check the folder.
Registered by bot/cli.py."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from bot.cli_shared import ConfigOption, err, out
from bot.config import Settings, load_settings
from bot.errors import ConfigError
from bot.knowledge import BUNDLED, KnowledgeBase, load_knowledge
from bot.knowledge.articles import check as check_folder
from bot.ports import Answer
from bot.privacy import mask_logs

LanguageOption = Annotated[
    str | None, typer.Option("--language", help="Answer from the articles in this language (default: en).")
]

kb_app = typer.Typer(help="Knowledge base: try an answer, list the articles, check the folder.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `rapport kb` to the CLI."""
    app.add_typer(kb_app, name="kb")


def _settings(config: Path | None) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    mask_logs()
    return settings


def _folder(settings: Settings) -> Path:
    return Path(settings.knowledge.path) if settings.knowledge.path else BUNDLED


def _knowledge(settings: Settings) -> KnowledgeBase:
    from bot.classifier import load_classifier  # the model is loaded only by `ask`

    try:
        return load_knowledge(settings, load_classifier(settings))
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


def answer_json(answer: Answer | None) -> dict[str, Any]:
    """The stable machine shape of one answer: what `kb ask --json` prints."""
    answered = answer is not None and answer.answered
    return {
        "answered": answered,
        "article": answer.article if answer is not None and answered else None,
        "score": answer.score if answer is not None else 0.0,
        "reply": answer.reply if answer is not None and answered else "",
    }


@kb_app.command("ask")
def ask(
    text: Annotated[str | None, typer.Argument(help="A customer's question.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Read {id, text} JSON lines on stdin.")] = False,
    language: LanguageOption = None,
    config: ConfigOption = None,
) -> None:
    """What the bot would answer to a question, or JSON lines from stdin with --jsonl (one out per line in)."""
    if (text is None) == (not jsonl):
        err.print("give a question, or --jsonl to read JSON lines on stdin (not both)")
        raise typer.Exit(2)
    kb = _knowledge(_settings(config))
    if text is not None:
        found = kb.answer(text, language)
        if as_json:
            sys.stdout.write(json.dumps(answer_json(found), ensure_ascii=False) + "\n")
            return
        threshold = kb.min_score if kb.semantic else kb.min_score_lexical
        if found is None:
            out.print("no article in this language: a person would answer", highlight=False)
        elif found.answered:
            out.print(f"[bold]{escape(found.article)}[/bold] (score {found.score:.2f}, threshold {threshold:.2f})")
            out.print(found.reply, markup=False, highlight=False)
        else:
            out.print(
                f"not answered: closest is {found.article} at {found.score:.2f}, below {threshold:.2f}; "
                "a person would answer",
                markup=False,
                highlight=False,
            )
        return
    from bot.cli import jsonl_items

    stdin = (line.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for line in sys.stdin)
    ok = bad = 0
    for lineno, item_id, item_text, problem in jsonl_items(stdin):
        if problem is not None:
            row: dict[str, Any] = {"id": item_id if item_id is not None else lineno, "line": lineno, "error": problem}
            err.print(problem, highlight=False)
            bad += 1
        else:
            row = {"id": item_id, **answer_json(kb.answer(item_text or "", language))}
            ok += 1
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    if ok == 0 and bad > 0:
        raise typer.Exit(1)


@kb_app.command("list")
def list_articles(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    config: ConfigOption = None,
) -> None:
    """The articles in the configured folder: name, language, title, questions, tags, reply."""
    folder = _folder(_settings(config))
    articles, problems = check_folder(folder)
    if as_json:
        rows = [
            {
                "article": a.stem,
                "language": a.language,
                "title": a.title,
                "questions": list(a.questions),
                "tags": list(a.tags),
                "reply": a.reply,
            }
            for a in articles
        ]
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    else:
        table = Table(title=f"Articles in {folder}", box=box.SIMPLE_HEAD, padding=(0, 1), expand=True)
        # One line per article, cut to the terminal's width (`kb list --json` has everything whole).
        table.add_column("article", no_wrap=True)
        table.add_column("lang", no_wrap=True)
        table.add_column("qs", justify="right", no_wrap=True)
        table.add_column("title", no_wrap=True, overflow="ellipsis", ratio=2)
        table.add_column("tags", no_wrap=True, overflow="ellipsis", ratio=1)
        table.add_column("reply", no_wrap=True, overflow="ellipsis", ratio=3)
        for a in articles:
            cells = (a.stem, a.language, str(len(a.questions)), a.title, ", ".join(a.tags), a.reply)
            table.add_row(*(escape(c) for c in cells))
        out.print(table)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        err.print(f"{len(errors)} file(s) left out or in conflict: run `rapport kb check`", highlight=False)


@kb_app.command("check")
def check(config: ConfigOption = None) -> None:
    """Report front matter errors, empty bodies and questions two articles share; exit 1 on an error."""
    folder = _folder(_settings(config))
    articles, problems = check_folder(folder)
    for problem in problems:
        style = "red" if problem.level == "error" else "yellow"
        err.print(f"[{style}]{problem.level}[/{style}] {escape(str(problem.path))}: {escape(problem.message)}")
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    out.print(f"{len(articles)} articles in {folder}: {errors} error(s), {warnings} warning(s)", markup=False)
    if errors:
        raise typer.Exit(1)
