"""`rapport customers link|unlink|merge|unmerge|suggest|import|export|purchase|profile|csat|recompute` and
`rapport topics`. Registered by bot/cli.py when this module exists."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer
from rich.table import Table

from bot.cli_shared import ByOption, ConfigOption, JsonOption, err, fail, out, settings_from, with_bot
from bot.domain import utcnow
from bot.errors import InputError

# The bot and its storage are imported by the commands that use them (see bot/cli.py: `rapport classify`
# registers these commands too and should not pay for them).
if TYPE_CHECKING:
    from bot.app import Rapport
    from bot.relationships.importer import ImportReport
    from bot.relationships.service import RelationshipService

T = TypeVar("T")


def _with_service(config: Path | None, body: Callable[[Rapport, RelationshipService], Awaitable[T]]) -> T:
    return with_bot(settings_from(config), lambda bot: body(bot, bot.relationships))


async def _customer_id(bot: Rapport, ref: str) -> int:
    profile = await bot.desk.profile(ref)
    if profile is None:
        raise InputError(f"no customer matches {ref[:80]!r}")
    return profile.customer.id


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def register(app: typer.Typer, customers_app: typer.Typer) -> None:
    """Add the relationship commands to the `rapport` CLI."""

    @customers_app.command("link")
    def link(
        channel: str, platform_user_id: str, customer: str, config: ConfigOption = None, by: ByOption = "cli"
    ) -> None:
        """Link a platform account (CHANNEL USER_ID) to CUSTOMER (id, name, handle, email)."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            cid = await _customer_id(bot, customer)
            await svc.identities.link(channel, platform_user_id, cid, by)
            await svc.refresh(cid)
            out.print(f"{channel}:{platform_user_id} linked to customer #{cid}")

        _with_service(config, body)

    @customers_app.command("unlink")
    def unlink(channel: str, platform_user_id: str, config: ConfigOption = None, by: ByOption = "cli") -> None:
        """Split a platform account and its messages off into a customer of its own."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            old, new = await svc.identities.unlink(channel, platform_user_id, by)
            for cid in (old, new):
                await svc.refresh(cid)
            out.print(f"{channel}:{platform_user_id} unlinked from customer #{old}; now customer #{new}")

        _with_service(config, body)

    @customers_app.command("merge")
    def merge(
        source: str,
        target: str,
        config: ConfigOption = None,
        by: ByOption = "cli",
        reason: Annotated[str, typer.Option(help="Why (kept with the merge).")] = "",
    ) -> None:
        """Merge customer SOURCE into TARGET, keeping all history (undo with `unmerge`)."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            merged = await svc.identities.merge(
                await _customer_id(bot, source), await _customer_id(bot, target), by, reason
            )
            await svc.refresh(merged.target_id)
            moved = ", ".join(f"{len(v)} {k}" for k, v in merged.moved.items() if v) or "nothing"
            out.print(f"merge #{merged.id}: customer #{merged.source_id} into #{merged.target_id} ({moved})")

        _with_service(config, body)

    @customers_app.command("unmerge")
    def unmerge(merge_id: int, config: ConfigOption = None, by: ByOption = "cli") -> None:
        """Undo a merge: everything it moved goes back."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            undone = await svc.identities.undo(merge_id, by)
            for cid in (undone.source_id, undone.target_id):
                await svc.refresh(cid)
            out.print(f"merge #{undone.id} undone: customer #{undone.source_id} is separate again")

        _with_service(config, body)

    @customers_app.command("suggest")
    def suggest(
        config: ConfigOption = None,
        as_json: JsonOption = False,
        customer: Annotated[str | None, typer.Option(help="Only this customer's.")] = None,
        min_confidence: Annotated[float, typer.Option("--min", help="Lowest confidence shown.")] = 0.5,
    ) -> None:
        """Customers that look like one person, for review (merge with `customers merge`)."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            cid = await _customer_id(bot, customer) if customer else None
            found = await svc.identities.suggestions(cid, min_confidence)
            if as_json:
                _print_json([asdict(s) for s in found])
                return
            table = Table(title="Suggested links")
            for col in ("customer", "other", "confidence", "why"):
                table.add_column(col, overflow="fold")
            for s in found:
                table.add_row(f"#{s.customer_id}", f"#{s.other_id}", f"{s.confidence:.2f}", s.reason)
            out.print(table)

        _with_service(config, body)

    def _import(file: Path, config: Path | None, as_json: bool, purchases: bool) -> None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror}", 2)

        async def body(bot: Rapport, svc: RelationshipService) -> ImportReport:
            return await (svc.import_purchases(data) if purchases else svc.import_customers(data))

        report = _with_service(config, body)
        if as_json:
            _print_json(asdict(report))
        else:
            for problem in report.problems:
                err.print(problem, highlight=False, markup=False)
            if purchases:
                out.print(
                    f"{report.created} purchases recorded, {report.updated} already known, {report.skipped} skipped"
                )
            else:
                tiers = ", ".join(f"{n} {t}" for t, n in sorted(report.tiers.items())) or "none"
                out.print(
                    f"{report.created} created, {report.updated} updated, {report.skipped} skipped; tiers: {tiers}"
                )
        if report.skipped or (report.problems and not report.rows):
            raise typer.Exit(1)

    @customers_app.command("import")
    def import_(file: Path, config: ConfigOption = None, as_json: JsonOption = False) -> None:
        """Import customers from CSV; a report line per problem, good rows imported, re-import updates.

        Columns: external_id, name, email, discord_id, slack_id, x_id, lifetime_value, orders, birthday,
        account_manager. Exits 1 when a row was skipped."""
        _import(file, config, as_json, purchases=False)

    @customers_app.command("import-purchases")
    def import_purchases(file: Path, config: ConfigOption = None, as_json: JsonOption = False) -> None:
        """Import purchases from CSV (external_id, reference, amount, at); each gets a thank-you follow-up."""
        _import(file, config, as_json, purchases=True)

    @customers_app.command("export")
    def export_(
        config: ConfigOption = None,
        escalations: Annotated[bool, typer.Option("--escalations", help="Escalations, not customers.")] = False,
        fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
        output: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
    ) -> None:
        """Export customers (with tiers and stages) or escalations as CSV or JSON."""
        if fmt not in ("csv", "json"):
            err.print("--format is csv or json")
            raise typer.Exit(2)
        kind: Literal["customers", "escalations"] = "escalations" if escalations else "customers"

        async def body(bot: Rapport, svc: RelationshipService) -> str:
            from bot.relationships.export import export

            return await export(svc, kind, "json" if fmt == "json" else "csv")

        text = _with_service(config, body)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            err.print(f"{kind} written to {output}")

    @customers_app.command("purchase")
    def purchase(
        customer: str,
        amount: float,
        config: ConfigOption = None,
        ref: Annotated[str, typer.Option("--ref", help="Order id: the same one is never counted twice.")] = "",
        at: Annotated[str | None, typer.Option(help="When (ISO 8601); default now.")] = None,
    ) -> None:
        """Record a purchase: updates value and tier, schedules the thank-you."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            when = None
            if at:
                try:
                    when = datetime.fromisoformat(at)
                except ValueError:
                    raise InputError(f"--at {at[:40]!r} is not an ISO 8601 time") from None
                if when.tzinfo is None:
                    raise InputError("--at needs a time zone (e.g. 2026-11-22T10:00+00:00)")
            cid = await _customer_id(bot, customer)
            recorded = await svc.record_purchase(cid, amount, ref, when, source="cli")
            out.print(
                f"purchase {ref} recorded for customer #{cid}" if recorded else f"purchase {ref} already recorded"
            )

        _with_service(config, body)

    @customers_app.command("profile")
    def profile(customer: str, config: ConfigOption = None) -> None:
        """The relationship profile as JSON: identities, tier and stage with reasons, open escalations, CSAT
        answers, opt-outs, purchases and merges."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            _print_json(await svc.profile_json(await _customer_id(bot, customer)))

        _with_service(config, body)

    @customers_app.command("csat")
    def csat(config: ConfigOption = None, as_json: JsonOption = False) -> None:
        """CSAT answers: each survey, and the average score."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            surveys = await svc.rel.surveys()
            scores = [s.score for s in surveys if s.score is not None]
            summary = {
                "surveys": len(surveys),
                "answered": len(scores),
                "unanswered": sum(s.status.value == "unanswered" for s in surveys),
                "average": round(sum(scores) / len(scores), 2) if scores else None,
            }
            if as_json:
                _print_json({**summary, "answers": [asdict(s) for s in surveys]})
                return
            for s in surveys:
                out.print(
                    f"escalation #{s.escalation_id} customer #{s.customer_id} on {s.channel}: {s.status.value}"
                    f"{f' {s.score}/5' if s.score else ''}"
                )
            out.print(f"{summary['answered']} answered of {summary['surveys']}; average {summary['average'] or '-'}")

        _with_service(config, body)

    @customers_app.command("recompute")
    def recompute(config: ConfigOption = None) -> None:
        """Recompute every customer's tier and stage now (the bot also does it on a schedule)."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            out.print(f"{await svc.refresh_all()} customers recomputed")

        _with_service(config, body)

    @app.command("topics")
    def topics(
        config: ConfigOption = None,
        as_json: JsonOption = False,
        refresh: Annotated[bool, typer.Option("--refresh/--stored", help="Recluster now.")] = True,
    ) -> None:
        """Root causes: complaints grouped into topics with count, trend, examples and escalations."""

        async def body(bot: Rapport, svc: RelationshipService) -> None:
            now = utcnow()
            found = await (svc.topics.refresh(now) if refresh else svc.topics.stored(now))
            found.sort(key=lambda t: (-t.count, t.id))
            if as_json:
                _print_json([{**asdict(t), "trend": t.trend} for t in found])
                return
            table = Table(title="Complaint topics")
            for col in ("#", "topic", "count", "trend (7d vs 7d before)", "channels", "escalations", "example"):
                table.add_column(col, overflow="fold")
            for t in found:
                table.add_row(
                    str(t.id),
                    t.label,
                    str(t.count),
                    f"{t.trend} ({t.recent} vs {t.previous})",
                    ", ".join(t.channels),
                    ", ".join(f"#{e}" for e in t.escalation_ids),
                    t.examples[0][:80] if t.examples else "",
                )
            out.print(table)

        _with_service(config, body)
