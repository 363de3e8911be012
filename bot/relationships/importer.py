"""Customer CSV import: every problem becomes one report line, good rows are imported, bad ones skipped.

Parsing and checking are pure (`parse_customers`); writing is one transaction in the repository, so an
import is never half-written.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.relationships.models import ImportRow

COLUMNS = (
    "external_id",
    "name",
    "email",
    "discord_id",
    "slack_id",
    "x_id",
    "lifetime_value",
    "orders",
    "birthday",
    "account_manager",
)
REQUIRED = ("external_id",)
IDENTITY_COLUMNS = {"discord_id": "discord", "slack_id": "slack", "x_id": "x"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_ID = 100


@dataclass
class ImportReport:
    """What an import did; `problems` has one line per problem found."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    customer_ids: list[int] = field(default_factory=list)
    tiers: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _decode(data: bytes, problems: list[str]) -> str:
    """UTF-8 text (a BOM is fine); lines in another encoding are reported and dropped, not guessed at."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    good = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            good.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError:
            problems.append(f"line {number}: not UTF-8 text (save the file as UTF-8); row skipped")
            good.append("")  # keep line numbers aligned with the file
    return "\n".join(good)


def _value(raw: str, line: int, problems: list[str], column: str = "lifetime_value") -> float | None:
    try:
        value = float(raw.replace(",", "")) if raw else 0.0
    except ValueError:
        problems.append(f"line {line}: {column} {raw[:40]!r} is not a number")
        return None
    if not math.isfinite(value) or value < 0:
        problems.append(f"line {line}: {column} {raw[:40]!r} is negative or not finite")
        return None
    return value


def _orders(raw: str, line: int, problems: list[str]) -> int | None:
    if not raw:
        return 0
    if not raw.lstrip("-").isdigit():
        problems.append(f"line {line}: orders {raw[:40]!r} is not a whole number")
        return None
    if int(raw) < 0:
        problems.append(f"line {line}: orders {raw[:40]!r} is negative")
        return None
    return int(raw)


def _birthday(raw: str, line: int, problems: list[str], today: date) -> date | bool | None:
    """A date, None when empty, False when impossible (reported)."""
    if not raw:
        return None
    try:
        born = date.fromisoformat(raw)
    except ValueError:
        problems.append(f"line {line}: birthday {raw[:40]!r} is not a real date (YYYY-MM-DD)")
        return False
    if born > today or born.year < today.year - 130:
        problems.append(f"line {line}: birthday {raw} is impossible (in the future or over 130 years ago)")
        return False
    return born


def parse_customers(data: bytes, today: date) -> tuple[list[ImportRow], ImportReport]:
    """Check a customers CSV; returns the rows that passed and a report of every problem."""
    report = ImportReport()
    problems = report.problems
    text = _decode(data, problems)
    report.skipped += len(problems)  # each undecodable line was a row
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [h.strip().lower() for h in row]
            break
    if header is None:
        problems.append("the file is empty: expected a header line with " + ", ".join(COLUMNS))
        return [], report
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        problems.append(
            f"line {reader.line_num}: missing required column {', '.join(missing)} "
            f"(columns: {', '.join(COLUMNS)}); nothing imported"
        )
        return [], report
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        problems.append(f"line {reader.line_num}: unknown column {', '.join(repr(u) for u in unknown)} ignored")
    repeated = sorted({h for h in header if header.count(h) > 1 and h in COLUMNS})
    if repeated:
        problems.append(f"line {reader.line_num}: column {', '.join(repeated)} appears twice; the first one is used")
    index = {name: header.index(name) for name in COLUMNS if name in header}
    seen_ids: dict[str, int] = {}
    seen_identities: dict[tuple[str, str], int] = {}
    rows: list[ImportRow] = []
    for raw in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in raw):
            continue
        report.rows += 1
        if len(raw) > len(header):
            problems.append(f"line {line}: {len(raw)} fields for {len(header)} columns (a stray comma?); row skipped")
            report.skipped += 1
            continue
        cell = {name: (raw[i].strip() if i < len(raw) else "") for name, i in index.items()}
        before = len(problems)
        external_id = cell.get("external_id", "")
        if not external_id:
            problems.append(f"line {line}: external_id is empty")
        elif len(external_id) > _MAX_ID:
            problems.append(f"line {line}: external_id is longer than {_MAX_ID} characters")
        elif external_id in seen_ids:
            problems.append(f"line {line}: external_id {external_id!r} already on line {seen_ids[external_id]}")
        email = cell.get("email", "")
        if email and not _EMAIL.match(email):
            problems.append(f"line {line}: email {email[:80]!r} is not an email address")
        identities = []
        for column, channel in IDENTITY_COLUMNS.items():
            user = cell.get(column, "")
            if not user:
                continue
            if len(user) > _MAX_ID or any(c.isspace() for c in user):
                problems.append(f"line {line}: {column} {user[:40]!r} is not a platform id")
            elif (channel, user) in seen_identities:
                problems.append(f"line {line}: {column} {user!r} already on line {seen_identities[(channel, user)]}")
            else:
                identities.append((channel, user))
        value = _value(cell["lifetime_value"], line, problems) if "lifetime_value" in cell else None
        orders = _orders(cell["orders"], line, problems) if "orders" in cell else None
        born = _birthday(cell.get("birthday", ""), line, problems, today)
        if len(problems) > before:
            report.skipped += 1
            continue
        seen_ids[external_id] = line
        for ident in identities:
            seen_identities[ident] = line
        rows.append(
            ImportRow(
                line=line,
                external_id=external_id,
                name=cell.get("name", "")[:200],
                email=email,
                identities=tuple(identities),
                lifetime_value=value,
                orders=orders,
                birthday=born if isinstance(born, date) else None,
                account_manager=cell["account_manager"][:200] if "account_manager" in cell else None,
            )
        )
    return rows, report


PURCHASE_COLUMNS = ("external_id", "reference", "amount", "at")


@dataclass(frozen=True, slots=True)
class PurchaseLine:
    line: int
    external_id: str
    reference: str
    amount: float
    at: datetime


def _when(raw: str, line: int, problems: list[str], now: datetime) -> datetime | None:
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        problems.append(f"line {line}: at {raw[:40]!r} is not a date or time (ISO 8601)")
        return None
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # a bare date or time is taken as UTC
    if at > now + timedelta(days=1):
        problems.append(f"line {line}: at {raw[:40]} is in the future")
        return None
    return at


def parse_purchases(data: bytes, now: datetime) -> tuple[list[PurchaseLine], ImportReport]:
    """Check a purchases CSV (external_id, reference, amount, at); same reporting as customers."""
    report = ImportReport()
    problems = report.problems
    reader = csv.reader(io.StringIO(_decode(data, problems), newline=""))
    report.skipped += len(problems)
    header = next((([h.strip().lower() for h in row]) for row in reader if any(c.strip() for c in row)), None)
    missing = [c for c in PURCHASE_COLUMNS if header is None or c not in header]
    if header is None or missing:
        problems.append(f"line {reader.line_num or 1}: missing column {', '.join(missing)}; nothing imported")
        return [], report
    unknown = [h for h in header if h not in PURCHASE_COLUMNS]
    if unknown:
        problems.append(f"line {reader.line_num}: unknown column {', '.join(repr(u) for u in unknown)} ignored")
    index = {name: header.index(name) for name in PURCHASE_COLUMNS}
    seen: dict[str, int] = {}
    out: list[PurchaseLine] = []
    for raw in reader:
        line = reader.line_num
        if not any(c.strip() for c in raw):
            continue
        report.rows += 1
        cell = {name: (raw[i].strip() if i < len(raw) else "") for name, i in index.items()}
        before = len(problems)
        for name in PURCHASE_COLUMNS:
            if not cell[name]:
                problems.append(f"line {line}: {name} is empty")
        if cell["reference"] in seen:
            problems.append(f"line {line}: reference {cell['reference']!r} already on line {seen[cell['reference']]}")
        amount = _value(cell["amount"], line, problems, "amount") if cell["amount"] else None
        at = _when(cell["at"], line, problems, now) if cell["at"] else None
        if len(problems) > before or amount is None or at is None:
            report.skipped += 1
            continue
        seen[cell["reference"]] = line
        out.append(PurchaseLine(line, cell["external_id"], cell["reference"][:200], amount, at))
    return out, report
