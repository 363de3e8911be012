"""Screenshots of the web console for the README: a bot on a throw-away SQLite file, filled with demo
conversations we wrote ourselves, served on 127.0.0.1 and photographed by Debian's chromium.

    PYTHONPATH=. .venv/bin/python docs/screenshots.py   # writes docs/console-*.png
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.async_api import async_playwright
from sqlalchemy import update

from bot.access import Role
from bot.app import Rapport
from bot.config import Settings
from bot.domain import InboundMessage, utcnow
from bot.storage.tables import CsatSurveyRow, EscalationRow, MessageRow

DOCS = Path(__file__).parent
EMAIL, PASSWORD = "maya@example.com", "demo password 123"

# (author, name, channel, text): customers writing in, some upset, some not.
DEMO = [
    ("d-101", "Ann Fischer", "discord", "My order #55120 never arrived and nobody answers, this is unacceptable"),
    ("x-202", "Ben Ortiz", "x", "URGENT I was charged twice for my subscription, refund it now!!"),
    ("d-103", "Cara Lindqvist", "discord", "The app crashes every time I open the settings page"),
    ("x-204", "Dev Patel", "x", "Where is my parcel? The tracking has not moved for two weeks"),
    ("s-305", "Eve Moreau", "slack", "We would like to upgrade our whole team to the business plan, who can help?"),
    ("d-106", "Finn Walsh", "discord", "I want to cancel my account, the last update broke everything"),
    ("x-207", "Gia Romano", "x", "My package arrived crushed and the screen is broken"),
    ("d-108", "Hana Sato", "discord", "thanks for the quick fix yesterday, works great now"),
    ("s-309", "Ivan Petrov", "slack", "How do I export my invoices as CSV?"),
    ("x-210", "Jo Kim", "x", "The parcel never arrived, still waiting for my refund"),
    ("d-111", "Kai Müller", "discord", "love the new dashboard, great job team"),
    ("x-212", "Lea Novak", "x", "Order arrived broken, the box was crushed, I want a replacement"),
]


def settings(db: Path) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{db}"},
            "nlp": {"backend": "rules"},
            "server": {"host": "127.0.0.1", "port": 0},
        }
    )


async def fill(bot: Rapport) -> int:
    """Demo conversations spread over the last two weeks; returns the escalation to photograph."""
    rng = random.Random(7)
    now = utcnow()
    for n, (author, name, channel, text) in enumerate(DEMO * 3):
        await bot.process(
            InboundMessage(
                channel=channel,
                external_id=f"demo-{n}",
                author_id=f"{author}-{n // len(DEMO)}" if n >= len(DEMO) else author,
                text=text,
                conversation_id=f"conv-{author}-{n}",
                author_name=name,
                author_handle=name.split()[0].lower(),
            )
        )
    async with bot.db.session() as s:
        # Spread the history over two weeks so the per-day charts have a shape; the newest stay recent.
        for message_id in range(1, len(DEMO) * 3 + 1):
            back = timedelta(days=rng.randint(0, 13), hours=rng.randint(0, 23)) if message_id > 8 else timedelta()
            await s.execute(
                update(MessageRow).where(MessageRow.id == message_id).values(received_at=now - back, sent_at=now - back)
            )
        await s.commit()
    cases = await bot.repo.escalations.query()
    for i, esc in enumerate(cases):
        async with bot.db.session() as s:
            opened = now - timedelta(hours=rng.randint(1, 200)) if i > 3 else now - timedelta(minutes=10 + 15 * i)
            await s.execute(update(EscalationRow).where(EscalationRow.id == esc.id).values(created_at=opened))
            await s.commit()
        if i > 3 and i % 2 == 0:
            await bot.desk.claim(esc.id, "user:sam@example.com")
            text = "Sorry about this: we are on it and will write back today."
            await bot.desk.reply(esc.id, "user:sam@example.com", text)
            await bot.desk.resolve(esc.id, "user:sam@example.com")
            async with bot.db.session() as s:
                s.add(
                    CsatSurveyRow(
                        escalation_id=esc.id,
                        customer_id=esc.customer_id,
                        channel=esc.channel,
                        status="answered",
                        score=rng.choice([3, 4, 5, 5, 4, 2]),
                        asked_at=now - timedelta(hours=2),
                        answered_at=now - timedelta(hours=1),
                    )
                )
                await s.commit()
    for i, customer in enumerate(await bot.repo.customers.find("")):
        if i % 3 == 0:
            await bot.relationships.record_purchase(
                customer.id, 40.0 + 75 * i, f"demo-order-{i}", None, source="demo", actor="demo"
            )
    await bot.relationships.topics.refresh(now)
    first = cases[0]
    await bot.desk.note(first.id, "user:sam@example.com", "Carrier says the parcel is lost; offer a reshipment.")
    return first.id


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Rapport(settings(Path(tmp) / "demo.db")) as bot:
            await bot.access.add_user(EMAIL, Role.ADMIN, PASSWORD, actor="demo")
            await bot.access.add_user("sam@example.com", Role.AGENT, PASSWORD, actor="demo")
            case = await fill(bot)
            stop = asyncio.Event()
            running = asyncio.create_task(bot.run([], stop))
            while bot.http is None:  # noqa: ASYNC110 - the bot exposes no event for "serving"
                await asyncio.sleep(0.05)
            url = f"http://127.0.0.1:{bot.http.port}"
            try:
                async with async_playwright() as pw:
                    browser = await pw.chromium.launch(executable_path="/usr/bin/chromium")
                    page = await browser.new_page(base_url=url, viewport={"width": 1400, "height": 900})
                    await page.goto("/login")
                    await page.fill("input[name=email]", EMAIL)
                    await page.fill("input[name=password]", PASSWORD)
                    async with page.expect_navigation():
                        await page.click("button[type=submit]")
                    await page.screenshot(path=DOCS / "console-inbox.png", full_page=True)
                    await page.goto(f"/escalations/{case}")
                    await page.screenshot(path=DOCS / "console-escalation.png", full_page=True)
                    await page.goto("/reports?days=30")
                    await page.wait_for_function("() => window.rapportCharts !== undefined")
                    await page.screenshot(path=DOCS / "console-reports.png", full_page=True)
                    await browser.close()
            finally:
                stop.set()
                await running
    print("wrote", ", ".join(p.name for p in sorted(DOCS.glob("console-*.png"))))


if __name__ == "__main__":
    asyncio.run(main())
