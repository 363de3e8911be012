"""The web console in a real browser: Debian's Chromium driven by Playwright, against `Rapport.run` with
the real discord.py client talking to the fake Discord, the real uvicorn server and a real SQLite file.

Chromium comes from the system (`make test` installs Debian's package when /usr/bin/chromium is
missing); Playwright never downloads a browser.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar
from playwright.async_api import Browser, Page, async_playwright

from bot.access import Role
from bot.app import Rapport
from bot.domain import Escalation
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.running import ANN, BEN, COMPLAINT, complaint, discord_settings, posted, serving

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "a long enough password"
AGENT = "agent@example.com"
VIEWER = "viewer@example.com"
ADMIN = "admin@example.com"
CARD, MASKED_CARD = "4111 1111 1111 1111", "•••• •••• •••• 1111"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (`make test` installs it)")


@dataclass
class Console:
    bot: Rapport
    discord: FakeDiscord
    url: str
    browser: Browser

    async def complaint(self, author: dict[str, Any] = ANN, text: str = COMPLAINT) -> Escalation:
        return await complaint(self.bot, self.discord, author, text)

    async def page(self) -> Page:
        """A fresh browser context (its own cookies) and a page in it."""
        context = await self.browser.new_context(base_url=self.url)
        return await context.new_page()

    async def signed_in(self, email: str = AGENT, password: str = PASSWORD) -> Page:
        page = await self.page()
        await page.goto("/inbox")
        assert "/login" in page.url  # the inbox needs a session
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", password)
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        assert page.url.endswith("/inbox"), page.url
        return page


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    async with FakeDiscord() as fake:
        async with Rapport(discord_settings(tmp_path, fake)) as bot:
            for email, role in ((AGENT, Role.AGENT), (VIEWER, Role.VIEWER), (ADMIN, Role.ADMIN)):
                await bot.access.add_user(email, role, PASSWORD, actor="test")
            async with serving(bot, "discord") as base, async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=str(CHROMIUM))
                try:
                    yield Console(bot, fake, base, browser)
                finally:
                    await browser.close()


async def test_an_agent_signs_in_claims_a_case_and_replies_and_the_customer_gets_it_on_discord(
    console: Console,
) -> None:
    esc = await console.complaint()
    page = await console.signed_in()
    row = page.locator(f"tr.case[data-id='{esc.id}']")
    await row.wait_for()
    assert "never arrived" in await row.inner_text()

    async with page.expect_navigation():
        await row.locator(f"a[href='/escalations/{esc.id}']").first.click()
    assert "My order never arrived" in await page.inner_text("ol.conversation")
    assert re.fullmatch(r"\d+%.*", (await page.inner_text("#confidence")).strip())  # classification with confidence

    async with page.expect_navigation():
        await page.click("#claim")
    assert "Claimed." in await page.inner_text("main")
    assert (await page.inner_text("#status")).strip() == "claimed"
    assert (await page.inner_text("#assignee")).strip() == f"user:{AGENT}"

    reply = "Sorry Ann, a replacement ships today: tracking follows by email."
    await page.fill("#reply-form textarea[name=text]", reply)
    async with page.expect_navigation():
        await page.click("#reply-form button[type=submit]")
    assert "Reply queued" in await page.inner_text("main")

    sent = await posted(console.discord, reply)  # through the outbox, the real discord.py client, the fake Discord
    assert sent["message_reference"]["message_id"]  # answering the customer's own message

    audit = await console.bot.repo.audit.events(escalation_id=esc.id)
    mine = [(e.kind, e.actor) for e in audit if e.actor == f"user:{AGENT}"]
    assert ("escalation.claimed", f"user:{AGENT}") in mine
    assert ("escalation.replied", f"user:{AGENT}") in mine
    history = await page.inner_text("ol.history")
    assert f"user:{AGENT} claimed" in history and f"user:{AGENT} replied" in history

    # The customer page: the Discord identity, tier and stage with reasons, the case.
    async with page.expect_navigation():
        await page.click(f"a[href='/customers/{esc.customer_id}']")
    assert "discord" in await page.inner_text("ul.identities")
    assert (await page.inner_text("#tier")).strip() and (await page.inner_text("#stage")).strip()
    assert f"#{esc.id}" in await page.inner_text("main")


async def test_the_inbox_filters_and_sorts_by_sla_due(console: Console) -> None:
    first = await console.complaint(ANN)
    second = await console.complaint(BEN, "URGENT my account was charged twice, refund now!!")
    page = await console.signed_in()
    shown = [int(i) for i in await page.locator("tr.case").evaluate_all("rows => rows.map(r => r.dataset.id)")]
    assert set(shown) == {first.id, second.id}
    escalations = {e.id: e for e in await console.bot.repo.escalations.query()}
    bot = console.bot
    targets = bot.settings.sla.targets
    due = {
        i: escalations[i].created_at.timestamp() + targets[escalations[i].priority].first_response_minutes * 60
        for i in shown
    }
    assert shown == sorted(shown, key=lambda i: due[i])  # soonest SLA due first

    await page.goto(f"/inbox?priority={escalations[first.id].priority.value}&channel=discord")
    ids = await page.locator("tr.case").evaluate_all("rows => rows.map(r => Number(r.dataset.id))")
    assert first.id in ids and all(escalations[i].priority == escalations[first.id].priority for i in ids)
    await page.goto("/inbox?channel=x")
    assert await page.locator("tr.case").count() == 0
    await bot.desk.claim(first.id, f"user:{AGENT}")
    await page.goto(f"/inbox?assignee=user:{AGENT}")
    assert await page.locator("tr.case").evaluate_all("rows => rows.map(r => Number(r.dataset.id))") == [first.id]


async def test_a_card_number_the_customer_pasted_is_masked_in_the_inbox_and_on_the_case(console: Console) -> None:
    esc = await console.complaint(
        ANN, f"You charged my card {CARD} twice and my order never arrived, this is unacceptable"
    )
    page = await console.signed_in()
    row = page.locator(f"tr.case[data-id='{esc.id}']")
    await row.wait_for()
    assert MASKED_CARD in await row.inner_text()
    assert CARD not in await page.content()
    await page.goto(f"/escalations/{esc.id}")
    assert MASKED_CARD in await page.inner_text("ol.conversation")
    assert CARD not in await page.content()


async def test_the_reports_page_draws_every_chart(console: Console) -> None:
    esc = await console.complaint()
    await console.bot.desk.claim(esc.id, "slack:U1")
    await console.bot.desk.resolve(esc.id, "slack:U1")
    await console.complaint(BEN, "Where is my parcel? It is two weeks late")
    page = await console.signed_in(VIEWER)
    await page.goto("/reports")
    canvases = await page.locator("canvas[data-chart]").count()
    assert canvases == 10
    drawn = await page.evaluate(
        """() => Array.from(document.querySelectorAll("canvas[data-chart]")).map(c => {
            const chart = Chart.getChart(c);
            const pixels = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
            return {name: c.dataset.chart, chart: chart !== undefined, painted, width: c.width};
        })"""
    )
    for chart in drawn:
        assert chart["chart"], chart  # a Chart.js instance on every canvas
        assert chart["width"] > 0 and chart["painted"] > 0, chart  # and it drew something
    messages = await page.evaluate("() => window.rapportCharts.messages.data.datasets.map(d => d.label)")
    assert messages == ["discord"]


async def test_a_post_without_the_csrf_token_is_refused(console: Console) -> None:
    esc = await console.complaint()
    page = await console.signed_in()
    for form in ({}, {"csrf": "0" * 64}):
        answer = await page.request.post(f"/escalations/{esc.id}/claim", form=form)
        assert answer.status == 403, form
        assert "CSRF" in await answer.text()
    found = await console.bot.repo.escalations.get(esc.id)
    assert found is not None and found.status.value == "open"  # nothing happened
    # The sign-in form has its own token: a forged sign-in is refused too.
    anonymous = await console.page()
    answer = await anonymous.request.post("/login", form={"email": AGENT, "password": PASSWORD})
    assert answer.status == 403


async def test_the_sixth_wrong_password_in_a_minute_gets_429(console: Console) -> None:
    page = await console.page()
    await page.goto("/login")
    statuses = []
    for password in ["wrong password 1"] * 5 + ["wrong password 1", PASSWORD]:
        await page.fill("input[name=email]", AGENT)
        await page.fill("input[name=password]", password)
        async with page.expect_navigation() as nav:
            await page.click("button[type=submit]")
        response = await nav.value
        assert response is not None
        statuses.append(response.status)
        if response.status == 429:
            retry_after = await response.header_value("retry-after")
            assert retry_after is not None and 1 <= int(retry_after) <= 60
    # Five failures are told so; the sixth attempt, and even the right password now, waits.
    assert statuses == [401] * 5 + [429, 429]
    assert "too many failed sign-ins" in await page.inner_text("main")
    kinds = [e.kind for e in await console.bot.repo.audit.events() if e.kind.startswith("console.")]
    assert kinds.count("console.sign_in_failed") == 5
    assert kinds.count("console.sign_in_refused") == 2
    # Another account is not held up by it (an address may fail more often than one account).
    other = await console.signed_in(VIEWER)
    assert other.url.endswith("/inbox")


async def test_the_session_cookie_is_httponly_and_samesite_and_ends_at_sign_out(console: Console) -> None:
    page = await console.signed_in()
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["rapport_session"]
    assert session.get("httpOnly") is True
    assert session.get("sameSite") == "Lax"
    assert session.get("secure") is False  # plain HTTP on 127.0.0.1, no HTTPS proxy configured
    assert "rapport_session" not in await page.evaluate("() => document.cookie")  # scripts cannot read it

    async with page.expect_navigation():
        await page.click("header form.who button")
    assert "/login" in page.url
    # The old cookie signs nobody in any more: the session ended on the server, not just in this browser.
    again = await console.page()
    await again.context.add_cookies([session])  # type: ignore[list-item]
    await again.goto("/inbox")
    assert "/login" in again.url
    assert "console.signed_out" in [e.kind for e in await console.bot.repo.audit.events()]


async def test_the_session_cookie_is_secure_when_the_request_came_over_https(console: Console) -> None:
    """Behind a TLS-terminating proxy on this machine (uvicorn trusts 127.0.0.1's X-Forwarded-Proto)."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        form_page = await http.get(console.url + "/login", headers={"X-Forwarded-Proto": "https"})
        token = re.search(r'name="csrf" value="([^"]+)"', await form_page.text())
        assert token is not None
        assert "Secure" in form_page.headers["Set-Cookie"]
        answer = await http.post(
            console.url + "/login",
            data={"csrf": token.group(1), "email": AGENT, "password": PASSWORD},
            headers={"X-Forwarded-Proto": "https", "Cookie": f"rapport_sign_in={token.group(1)}"},
            allow_redirects=False,
        )
        assert answer.status == 303
        cookie = next(c for c in answer.headers.getall("Set-Cookie") if c.startswith("rapport_session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


async def test_a_viewer_reads_but_cannot_claim_and_only_admins_see_webhooks(console: Console) -> None:
    esc = await console.complaint()
    page = await console.signed_in(VIEWER)
    await page.goto(f"/escalations/{esc.id}")
    assert "My order never arrived" in await page.inner_text("ol.conversation")
    assert await page.locator("#claim").count() == 0  # no buttons for a viewer
    csrf = await page.locator("header form.who input[name=csrf]").get_attribute("value")
    answer = await page.request.post(f"/escalations/{esc.id}/claim", form={"csrf": csrf or ""})
    assert answer.status == 403  # a valid form of theirs, but a viewer may not act
    assert "viewer may not do this" in await answer.text()
    found = await console.bot.repo.escalations.get(esc.id)
    assert found is not None and found.status.value == "open"
    assert "escalation.claimed" not in [e.kind for e in await console.bot.repo.audit.events(escalation_id=esc.id)]

    assert (await page.goto("/admin/webhooks")).status == 403  # type: ignore[union-attr]
    admin = await console.signed_in(ADMIN)
    response = await admin.goto("/admin/webhooks")
    assert response is not None and response.status == 200
    assert "Webhook deliveries" in await admin.inner_text("h1")
    response = await admin.goto("/admin/users")
    assert response is not None and VIEWER in await admin.inner_text("main")
