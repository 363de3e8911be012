"""The `rapport` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bot import __version__
from bot.classifier import load_classifier
from bot.cli_shared import ConfigOption, JsonOption, NoClassifier, err, fail, out, run_async, settings_from, with_bot
from bot.config import Settings
from bot.domain import Customer, Escalation, EscalationStatus
from bot.errors import RapportError
from bot.privacy import mask, mask_logs
from nlp.types import Analysis

# The bot itself (storage, migrations, pipeline, connectors) is imported by the commands that run it, so
# `rapport classify` starts in about half a second and without their memory.
if TYPE_CHECKING:
    from bot.app import Rapport
    from bot.pipeline import Outcome
    from connectors.replay import ReplayConnector

app = typer.Typer(
    help="Rapport: hear every customer on every channel.", no_args_is_help=True, pretty_exceptions_enable=False
)
escalations_app = typer.Typer(
    help="Escalations: list, show, claim, assign, reply, note, resolve.", no_args_is_help=True
)
customers_app = typer.Typer(
    help="Customers: profiles, identities and merges, imports, purchases, CSAT, exports.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(escalations_app, name="escalations")
app.add_typer(customers_app, name="customers")
app.add_typer(db_app, name="db")

DEMO_FILE = Path(__file__).parent / "data" / "demo.jsonl"
DEMO_DATABASE = Path("rapport-demo.db")
NO_CONNECTOR = "no connector is configured: set the [slack], [discord] or [x] tokens (see README)"
T = TypeVar("T")


def _settings(config: Path | None) -> Settings:
    settings = settings_from(config)
    # Alembic logs its plugin set-up at INFO when first imported, which the commands now do after this.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.basicConfig(
        level=settings.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    mask_logs()  # whatever a log line quotes, card numbers, IBANs and passwords never reach the log
    return settings


def _run(coro: Awaitable[T]) -> T:
    return run_async(coro)  # type: ignore[arg-type]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        value = asdict(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), ensure_ascii=False, indent=2) + "\n")


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False) -> None:
    if version:
        out.print(f"rapport {__version__}")
        raise typer.Exit()


# -- running the bot ------------------------------------------------------------------------------


@app.command()
def run(
    config: ConfigOption = None,
    role: Annotated[
        str, typer.Option(help='"all" (one process) or "gateway" (with [queue] url; `rapport worker` processes).')
    ] = "all",
) -> None:
    """Run the bot: every configured connector, the outbox, until Ctrl-C or SIGTERM."""
    settings = _settings(config)
    if role not in ("all", "gateway"):
        err.print(f'--role: "{role}" is not a role (all or gateway; workers run as `rapport worker`)', markup=False)
        raise typer.Exit(2)
    if role == "gateway" and not settings.queue.url:
        err.print("--role gateway needs [queue] url (a Redis stream the workers read)", markup=False)
        raise typer.Exit(2)
    if role == "all" and not (settings.slack.enabled or settings.discord.enabled or settings.x.enabled):
        # Checked before the model loads: idling with nothing to listen to helps nobody. A gateway keeps
        # running without connectors: it still owns the outbox, the event relay and the schedulers.
        err.print(NO_CONNECTOR, markup=False, highlight=False)
        raise typer.Exit(2)
    _serve(settings, role)


@app.command()
def worker(config: ConfigOption = None) -> None:
    """Process stored messages from the [queue] stream until Ctrl-C or SIGTERM (start as many as you like)."""
    settings = _settings(config)
    if not settings.queue.url:
        err.print(
            "rapport worker needs [queue] url; without it `rapport run` processes in its own process", markup=False
        )
        raise typer.Exit(2)
    _serve(settings, "worker")


def _serve(settings: Settings, role: str) -> None:
    async def main() -> None:
        from bot.app import Rapport, freeze_startup_heap

        classifier = NoClassifier() if role == "gateway" else None  # a gateway never classifies
        async with Rapport(settings, classifier=classifier) as bot:
            connectors = bot.build_connectors() if role != "worker" else []
            freeze_startup_heap()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            names = ", ".join(c.name for c in connectors) or "none"
            err.print(
                f"rapport running as {role}: connectors {names}; database {bot.db.engine.url.render_as_string()}",
                markup=False,
            )
            await bot.run(connectors, stop, role=role)

    _run(main())


async def _replay(bot: Rapport, replay: ReplayConnector) -> list[Outcome]:
    """Feed a replay through the pipeline, collect outcomes, deliver what was queued."""
    assert bot.pipeline is not None
    # A killed run may have stored messages it never processed: finish them first, or the replay would
    # only count them as duplicates.
    await bot.pipeline.resume()
    outcomes: list[Outcome] = []

    async def sink(message: Any) -> None:
        outcomes.append(await bot.process(message))

    await replay.start(sink)
    await replay.done.wait()
    bot.connected[replay.name] = replay
    await bot.outbox.deliver_due()
    return outcomes


@app.command()
def replay(file: Path, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Replay JSON lines of messages through the whole pipeline (demos, backfills, load runs)."""
    settings = _settings(config)

    if settings.queue.url:
        _enqueue_replay(settings, file, as_json)
        return

    async def main() -> None:
        from bot.app import Rapport
        from connectors.replay import ReplayConnector

        connector = ReplayConnector.from_file(file)
        async with Rapport(settings) as bot:
            outcomes = await _replay(bot, connector)
        summary = {
            "read": connector.report.read,
            "errors": connector.report.errors,
            "duplicates": sum(o.duplicate for o in outcomes),
            "replies_sent": len(connector.sent),
            "escalations_opened": len(
                {
                    o.escalation_id
                    for o in outcomes
                    if o.escalation_id and o.decision and o.decision.action == "escalate"
                }
            ),
        }
        if as_json:
            _print_json(summary)
        else:
            for problem in connector.report.errors:
                err.print(f"[yellow]skipped:[/yellow] {problem}", highlight=False)
            out.print(
                f"read {summary['read']} messages ({summary['duplicates']} duplicates), "
                f"{summary['escalations_opened']} escalations opened, {summary['replies_sent']} replies sent"
            )

    _run(main())


def _enqueue_replay(settings: Settings, file: Path, as_json: bool) -> None:
    """With [queue] set: store and enqueue each message, as a gateway does, and return; workers process."""

    async def main() -> None:
        from bot.app import Rapport
        from connectors.replay import ReplayConnector

        connector = ReplayConnector.from_file(file)
        async with Rapport(settings, classifier=NoClassifier()) as bot:
            await connector.start(bot.sink)
            await connector.done.wait()
        summary = {"read": connector.report.read, "errors": connector.report.errors, "queued": True}
        if as_json:
            _print_json(summary)
        else:
            out.print(f"stored and queued {summary['read']} messages for the workers", markup=False)

    _run(main())


@app.command()
def demo(
    config: ConfigOption = None,
    database: Annotated[
        Path, typer.Option(help="SQLite file the demo writes; recreated on every run, never the configured database.")
    ] = DEMO_DATABASE,
) -> None:
    """Replay the bundled sample of customer messages into a fresh database and show what Rapport did with each."""
    configured = _settings(config)
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        stale.unlink(missing_ok=True)
    settings = configured.model_copy(
        update={"database": configured.database.model_copy(update={"url": f"sqlite:///{database}"})}
    )

    async def main() -> None:
        from bot.app import Rapport
        from connectors.replay import ReplayConnector

        connector = ReplayConnector.from_file(DEMO_FILE)
        async with Rapport(settings) as bot:
            out.print(f"[bold]Rapport demo[/bold]: classifier {bot.classifier.version}, database {database}")
            outcomes = await _replay(bot, connector)
            replies = {r.message_id: r for r in connector.sent}
            table = Table(title="Messages", box=box.SIMPLE_HEAD, padding=(0, 1), expand=True)
            # Short columns never wrap; the message column takes the rest and wraps at spaces, so the table
            # stays readable in an 80-column terminal.
            table.add_column("#", no_wrap=True, justify="right")
            table.add_column("message → reply", ratio=1, overflow="ellipsis")
            table.add_column("understood → action", no_wrap=True, overflow="ellipsis")
            for o in outcomes:
                stored = await bot.repo.messages.get(o.message_id)
                if stored is None:
                    continue
                m, a = stored.message, stored.analysis
                flags = [
                    f
                    for f, on in (
                        ("urgent", a and a.urgent),
                        ("abusive", a and a.abusive),
                        (a.language if a else "", a and not a.english),
                    )
                    if on
                ]
                action = "duplicate (ignored)" if o.duplicate else (o.decision.action if o.decision else "error")
                if o.escalation_id:
                    action += f" #{o.escalation_id}"
                reply = replies.get(o.message_id)
                said = Text(f"{m.author_name or m.author_id} ({m.channel}): ", style="bold")
                said.append(_short(mask(m.text), 160), style="")
                if reply and not o.duplicate:
                    said.append(f"\n→ {_short(mask(reply.text), 120)}", style="dim")
                understood = f"{a.intent.value}, {a.sentiment.value}" if a else ""
                if flags:
                    understood += "\n" + " ".join(flags)
                table.add_row(str(o.message_id), said, f"{understood}\n→ {action}")
            out.print(table)
            out.print(
                _escalation_table(
                    await bot.repo.escalations.query(), {c.id: c for c in await bot.repo.customers.find()}
                )
            )
            out.print(_customer_table(await bot.repo.customers.find()))
            out.print(
                f"{len(outcomes)} messages, {sum(o.duplicate for o in outcomes)} duplicate, "
                f"{len(connector.sent)} replies sent; everything is in {database}. Look around with:\n"
                f"  export RAPPORT_DATABASE_URL=sqlite:///{database}\n  .venv/bin/rapport escalations list",
                markup=False,
                highlight=False,
            )
            for problem in connector.report.errors:
                err.print(f"[yellow]skipped:[/yellow] {problem}", highlight=False)

    _run(main())


@app.command()
def chat(config: ConfigOption = None, name: Annotated[str | None, typer.Option(help="Who you are.")] = None) -> None:
    """Talk to the bot as a customer in the terminal (Ctrl-D or /quit to leave)."""
    settings = _settings(config)

    if name is None and sys.stdin.isatty():
        name = input("Your name (Enter to skip): ")

    async def main() -> None:
        from bot.app import Rapport
        from connectors.console import ConsoleConnector

        async with Rapport(settings) as bot:
            console = ConsoleConnector(author=name.strip() if name and name.strip() else None, name=name or "")

            async def sink(message: Any) -> None:
                outcome = await bot.process(message)
                a = outcome.analysis
                if a is not None and outcome.decision is not None:
                    out.print(
                        f"[dim]  ({a.intent.value}, {a.sentiment.value}, confidence {a.confidence:.2f}"
                        f"{', urgent' if a.urgent else ''}{', abusive' if a.abusive else ''} -> "
                        f"{outcome.decision.action}"
                        f"{f' #{outcome.escalation_id}' if outcome.escalation_id else ''})[/dim]"
                    )
                await bot.outbox.deliver_due()

            bot.connected[console.name] = console
            out.print("Type as a customer; Ctrl-D or /quit to leave.")
            await console.start(sink)
            await console.closed.wait()

    _run(main())


# -- classification -------------------------------------------------------------------------------


def _analysis_json(item_id: Any, a: Analysis) -> dict[str, Any]:
    return {
        "id": item_id,
        "sentiment": a.sentiment.value,
        "intent": a.intent.value,
        "urgent": a.urgent,
        "abusive": a.abusive,
        "language": a.language,
        "confidence": round(a.confidence, 4),
        "low_confidence": a.low_confidence,
        "scores": {k: round(v, 4) for k, v in a.scores.items()},
        "model_version": a.model_version,
    }


def jsonl_items(lines: Iterator[str]) -> Iterator[tuple[int, Any, str | None, str | None]]:
    """(line number, id, text, error) per non-empty input line."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield lineno, None, None, f"line {lineno}: not valid JSON ({exc.msg})"
            continue
        if not isinstance(data, dict):
            yield lineno, None, None, f"line {lineno}: expected a JSON object"
            continue
        item_id = data.get("id", lineno)
        text = data.get("text")
        if not isinstance(text, str):
            yield lineno, item_id, None, f"line {lineno}: 'text' must be a string"
            continue
        yield lineno, item_id, text, None


@app.command()
def classify(
    text: Annotated[str | None, typer.Argument(help="Text to classify.")] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Read {id, text} JSON lines on stdin.")] = False,
    batch: Annotated[int, typer.Option(help="Messages per batch with --jsonl.")] = 64,
    config: ConfigOption = None,
) -> None:
    """Classify a text, or JSON lines from stdin with --jsonl (one JSON object out per line in)."""
    settings = _settings(config)
    if text is None and not jsonl:
        err.print("give a text, or --jsonl to read JSON lines on stdin")
        raise typer.Exit(2)
    classifier = load_classifier(settings)
    if text is not None:
        a = classifier.classify([text])[0]
        unsure = ", low confidence" if a.low_confidence else ""
        out.print(f"intent     [bold]{a.intent.value}[/bold] ({a.confidence:.2f}{unsure})")
        out.print(f"sentiment  [bold]{a.sentiment.value}[/bold] ({a.head('sentiment').get(a.sentiment.value, 0):.2f})")
        out.print(f"urgent     {a.urgent}   abusive  {a.abusive}   language  {a.language}")
        out.print(f"[dim]model {a.model_version}[/dim]")
        return
    stdin = (line.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for line in sys.stdin)
    ok = 0
    bad = 0
    pending: list[tuple[Any, str]] = []

    def flush() -> None:
        nonlocal ok, bad
        if not pending:
            return
        try:
            results = classifier.classify([t for _, t in pending])
            for (item_id, _), a in zip(pending, results, strict=True):
                sys.stdout.write(json.dumps(_analysis_json(item_id, a), ensure_ascii=False) + "\n")
                ok += 1
        except Exception as exc:  # one bad batch: classify its items alone so the others still run
            if len(pending) > 1:
                items = list(pending)
                pending.clear()
                for item in items:
                    pending.append(item)
                    flush()
                return
            item_id = pending[0][0]
            sys.stdout.write(
                json.dumps({"id": item_id, "error": f"classification failed: {type(exc).__name__}"}) + "\n"
            )
            err.print(f"id {item_id}: classification failed: {type(exc).__name__}", highlight=False)
            bad += 1
        pending.clear()
        sys.stdout.flush()

    for lineno, item_id, item_text, problem in jsonl_items(stdin):
        if problem is not None:
            flush()
            sys.stdout.write(
                json.dumps(
                    {"id": item_id if item_id is not None else lineno, "line": lineno, "error": problem},
                    ensure_ascii=False,
                )
                + "\n"
            )
            err.print(problem, highlight=False)
            bad += 1
            continue
        pending.append((item_id, item_text or ""))
        if len(pending) >= batch:
            flush()
    flush()
    if ok == 0 and bad > 0:
        raise typer.Exit(1)


# -- escalations and customers --------------------------------------------------------------------


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _escalation_table(items: list[Escalation], customers: dict[int, Customer]) -> Table:
    table = Table(title="Escalations", box=box.SIMPLE_HEAD, padding=(0, 1), expand=True)
    table.add_column("#", no_wrap=True, justify="right")
    table.add_column("status", no_wrap=True)
    table.add_column("customer", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("intent", no_wrap=True, overflow="ellipsis", max_width=12)
    table.add_column("reason", ratio=1, overflow="ellipsis")
    table.add_column("opened", no_wrap=True)
    for e in items:
        who = customers.get(e.customer_id)
        status = f"{e.status.value}\n{e.priority.value}" + (" ⚑" if e.flagged else "")
        if e.assignee:
            status += f"\n{e.assignee}"
        table.add_row(
            str(e.id),
            status,
            f"{who.display_name if who else e.customer_id}\n{e.channel}",
            e.intent,
            _short(mask(e.reason), 120),
            e.created_at.strftime("%m-%d %H:%M"),
        )
    return table


def _customer_table(items: list[Customer]) -> Table:
    table = Table(title="Customers", box=box.SIMPLE_HEAD, padding=(0, 1), expand=True)
    table.add_column("#", no_wrap=True, justify="right")
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("tier", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("identities", ratio=1, overflow="ellipsis")
    for c in items:
        idents = ", ".join(f"{i.channel}:{i.handle or i.platform_user_id}" for i in c.identities)
        table.add_row(str(c.id), c.display_name, c.tier, c.stage, idents)
    return table


def _with_bot(config: Path | None, body: Callable[[Rapport], Awaitable[T]]) -> T:
    return with_bot(_settings(config), body)


@escalations_app.command("list")
def escalations_list(
    config: ConfigOption = None,
    status: Annotated[list[EscalationStatus] | None, typer.Option(help="Only these statuses.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List escalations (all, or by --status)."""

    async def body(bot: Rapport) -> None:
        items = await bot.repo.escalations.query(statuses=status or None)
        if as_json:
            _print_json(items)
        else:
            out.print(_escalation_table(items, {c.id: c for c in await bot.repo.customers.find(limit=10_000)}))

    _with_bot(config, body)


@escalations_app.command("show")
def escalations_show(escalation_id: int, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show one escalation with its messages, replies, notes and history."""

    async def body(bot: Rapport) -> None:
        esc = await bot.repo.escalations.get(escalation_id)
        if esc is None:
            err.print(f"no escalation #{escalation_id}")
            raise typer.Exit(1)
        messages = await bot.repo.messages.query(escalation_id=esc.id)
        replies = await bot.repo.replies.query(escalation_id=esc.id)
        history = await bot.repo.audit.events(escalation_id=esc.id)
        if as_json:
            _print_json({"escalation": esc, "messages": messages, "replies": replies, "history": history})
            return
        out.print(
            f"[bold]Escalation #{esc.id}[/bold] {esc.status.value}, priority {esc.priority.value}"
            f"{' (flagged)' if esc.flagged else ''}: {escape(mask(esc.reason))}"
        )
        out.print(f"customer #{esc.customer_id} on {esc.channel}; assignee {esc.assignee or '-'}")
        for m in messages:
            out.print(
                f"  [{m.received_at:%H:%M}] {escape(m.message.author_name or m.message.author_id)}: "
                f"{escape(mask(m.message.text))}"
            )
        for r in replies:
            out.print(f"  [dim]reply ({r.kind}, {r.status.value}):[/dim] {escape(mask(r.text))}")
        for n in esc.notes:
            out.print(f"  [dim]note by {escape(n.author)}:[/dim] {escape(mask(n.text))}")
        for h in history:
            out.print(f"  [dim]{h.at:%Y-%m-%d %H:%M} {h.actor} {h.kind}[/dim]")

    _with_bot(config, body)


@escalations_app.command("resolve")
def escalations_resolve(
    escalation_id: int,
    config: ConfigOption = None,
    by: Annotated[str, typer.Option(help="Who resolves it.")] = "cli",
) -> None:
    """Mark an escalation resolved."""

    async def body(bot: Rapport) -> None:
        esc = await bot.desk.resolve(escalation_id, by)
        out.print(f"escalation #{esc.id} resolved")

    _with_bot(config, body)


@customers_app.command("list")
def customers_list(
    config: ConfigOption = None,
    query: Annotated[str, typer.Option(help="Filter by name, handle, email or id.")] = "",
    as_json: JsonOption = False,
) -> None:
    """List customers."""

    async def body(bot: Rapport) -> None:
        items = await bot.repo.customers.find(query, limit=10_000)
        if as_json:
            _print_json(items)
        else:
            out.print(_customer_table(items))

    _with_bot(config, body)


@customers_app.command("show")
def customers_show(customer: str, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show a customer by id, handle, name, email or channel:user_id."""

    async def body(bot: Rapport) -> None:
        profile = await bot.desk.profile(customer)
        if profile is None:
            err.print(f"no customer matches {customer!r}", markup=False, highlight=False)
            raise typer.Exit(1)
        c = profile.customer
        if as_json:
            data = {
                **_jsonable(c),
                "recent_messages": profile.recent,
                "escalations": profile.escalations,
                "open_escalations": [e.id for e in profile.escalations if e.status.active],
            }
            # Tier and stage with reasons, CSAT answers, opt-outs, purchases, merges.
            data.update(await bot.relationships.profile_json(c.id))
            _print_json(data)
            return
        out.print(f"[bold]{escape(c.display_name)}[/bold] (#{c.id}) tier {c.tier}, stage {c.stage}")
        for i in c.identities:
            who = f"{i.handle or '-'} ({i.platform_user_id}) {i.display_name}"
            out.print(f"  {i.channel}: {escape(who)}")
        for e in profile.escalations:
            out.print(f"  escalation #{e.id} {e.status.value} {e.priority.value}: {escape(mask(e.reason))}")
        for m in profile.recent:
            intent = m.analysis.intent.value if m.analysis else "?"
            out.print(f"  [{m.received_at:%Y-%m-%d %H:%M}] ({intent}) {escape(_short(mask(m.message.text), 80))}")

    _with_bot(config, body)


@app.command("status")
def status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """X usage this month against the [x] budget; the work: processes of each role (with [queue]), the
    stream, messages waiting to be processed and the oldest one's age, the outbox backlog."""

    async def body(bot: Rapport) -> None:
        from bot.status import work_lines, work_report
        from connectors.x.budget import Budget, month_key
        from connectors.x.usage import Meter

        meter = Meter(bot.state_for("x"), Budget.of(bot.settings.x))
        x_title = f"X this month ({month_key(meter.clock())}, UTC):"
        x_lines = [line.text() for line in await meter.report()]
        scaled = bot.settings.queue.url is not None
        work = await work_report(
            bot.backlog,
            bot.queue if scaled else None,
            bot.presence,
            stream=f"{bot.settings.queue.prefix}work",
        )
        if as_json:
            _print_json({"x": x_lines, **work})
            return
        for line in [x_title, *(f"  {t}" for t in x_lines), *work_lines(work)]:
            out.print(line, highlight=False, markup=False)

    _with_bot(config, body)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, revision: str = "head") -> None:
    """Apply database migrations (run and demo do this on start)."""
    from bot.storage.database import upgrade_sync

    settings = _settings(config)
    try:
        before, after = upgrade_sync(settings.database.url, revision)
    except RapportError as exc:
        fail(exc, 1)
    if before == after:
        out.print(f"database already at {after}", markup=False)
    else:
        out.print(f"database upgraded from {before or 'empty'} to {after}", markup=False)


def _register_plugins() -> None:
    """Commands that live with their feature: `train`/`eval` in nlp/, relationship, access, desk and `kb`
    commands in bot/."""
    import importlib

    try:
        importlib.import_module("nlp.cli").register(app)
    except ModuleNotFoundError:
        pass
    try:
        importlib.import_module("bot.relationships.cli").register(app, customers_app)
    except ModuleNotFoundError:
        pass
    importlib.import_module("bot.access.cli").register(app)
    importlib.import_module("bot.desk_cli").register(escalations_app, customers_app)
    importlib.import_module("bot.knowledge.cli").register(app)
    importlib.import_module("bot.staff.cli").register(app)


_register_plugins()


def main() -> None:
    app()
