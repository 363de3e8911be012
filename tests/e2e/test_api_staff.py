"""Staff tools in the REST API, through `Rapport.run` with the real Discord connector against the fake
Discord and the real server: suggestions, macros, assignment and shifts, per role and with bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes import running
from tests.fakes.api import error_of
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.running import ANN, BEN, Desk, discord_settings

RETURN = "I want to return this broken blender and get my money back, your return policy is a joke"
REFUND = "Hi {name}, I've refunded your order (case #{ticket}); it shows on your statement in 3-5 days."


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async with FakeDiscord() as fake:
        async with running.desk(discord_settings(tmp_path, fake, macros={"refund": REFUND}), fake) as d:
            yield d


async def test_suggestions_list_and_send_one_as_the_caller(desk: Desk) -> None:
    esc = await desk.complaint(ANN, RETURN)
    path = f"/api/v1/escalations/{esc.id}/suggestions"
    assert (await desk.api.get(path)).status == 401
    found = await desk.api.get(path, desk.viewer)
    assert found.status == 200
    [article] = [s for s in found.body["items"] if s["key"] == "kb:return-policy"]
    assert article["kind"] == "knowledge" and article["text"].startswith("You can return anything")

    send = f"/api/v1/escalations/{esc.id}/suggestions/send"
    assert error_of(await desk.api.post(send, desk.viewer, json={"key": "kb:return-policy"}))[0] == 403
    assert error_of(await desk.api.post(send, desk.agent, json={"key": "kb:nope"})) == (
        422,
        "invalid",
        "key",
    )
    sent = await desk.api.post(send, desk.agent, json={"key": "kb:return-policy"})
    assert sent.status == 202 and sent.body["kind"] == "staff"
    await desk.posted_text(article["text"])  # reached the customer on Discord
    [audit] = [e for e in await desk.bot.repo.audit.events(escalation_id=esc.id) if e.kind == "escalation.replied"]
    assert audit.actor == "token:agent-bot" and audit.detail["suggested"] == "kb:return-policy"
    assert (await desk.api.get("/api/v1/escalations/999/suggestions", desk.viewer)).status == 404


async def test_macros_are_listed_and_sent_filled_in(desk: Desk) -> None:
    listed = await desk.api.get("/api/v1/macros", desk.viewer)
    assert listed.status == 200 and listed.body == {"items": [{"name": "refund", "text": REFUND}]}
    esc = await desk.complaint(ANN)
    path = f"/api/v1/escalations/{esc.id}/macro"
    assert error_of(await desk.api.post(path, desk.viewer, json={"name": "refund"}))[0] == 403
    unknown = await desk.api.post(path, desk.agent, json={"name": "nope"})
    assert error_of(unknown) == (422, "invalid", "name") and "macros: refund" in unknown.body["message"]
    assert error_of(await desk.api.post(path, desk.agent, json={}))[2] == "name"
    sent = await desk.api.post(path, desk.agent, json={"name": "refund"}, headers={"Idempotency-Key": "k1"})
    again = await desk.api.post(path, desk.agent, json={"name": "refund"}, headers={"Idempotency-Key": "k1"})
    assert sent.status == again.status == 202 and sent.body["id"] == again.body["id"]
    await desk.posted_text(REFUND.format(name="Ann", ticket=esc.id))
    [audit] = [e for e in await desk.bot.repo.audit.events(escalation_id=esc.id) if e.kind == "escalation.replied"]
    assert audit.detail["macro"] == "refund"


async def test_assign_and_shifts(desk: Desk) -> None:
    esc = await desk.complaint(ANN)
    path = f"/api/v1/escalations/{esc.id}/assign"
    assert error_of(await desk.api.post(path, desk.viewer, json={"assignee": "user:lee@example.com"}))[0] == 403
    assert error_of(await desk.api.post(path, desk.agent, json={"assignee": ""}))[2] == "assignee"
    assigned = await desk.api.post(path, desk.agent, json={"assignee": "user:lee@example.com"})
    assert assigned.status == 200 and assigned.body["assignee"] == "user:lee@example.com"
    assert assigned.body["status"] == "claimed"

    assert error_of(await desk.api.post("/api/v1/shifts", desk.viewer, json={"on_shift": True}))[0] == 403
    assert error_of(await desk.api.post("/api/v1/shifts", desk.agent, json={"on_shift": "maybe"}))[2] == "on_shift"
    mine = await desk.api.post("/api/v1/shifts", desk.agent, json={"on_shift": True})
    assert mine.status == 200 and mine.body["actor"] == "token:agent-bot" and mine.body["on_shift"] is True
    lee = await desk.api.post("/api/v1/shifts", desk.agent, json={"actor": "user:lee@example.com", "on_shift": True})
    assert lee.body["open_cases"] == 1
    listed = await desk.api.get("/api/v1/shifts", desk.viewer)
    assert {s["actor"] for s in listed.body["items"]} == {"token:agent-bot", "user:lee@example.com"}
    [audit] = await desk.bot.repo.audit.events(kind="staff.shift", limit=1)
    assert audit.actor == "token:agent-bot"


async def test_a_past_reply_suggested_on_another_case_is_masked(desk: Desk) -> None:
    """What staff wrote to one customer may quote their card: suggested to another case, it is shown masked."""
    first = await desk.complaint(ANN, RETURN)
    answer = "Refunded to your card 4111 1111 1111 1111, Ann; the return label is in your inbox."
    sent = await desk.api.post(f"/api/v1/escalations/{first.id}/reply", desk.agent, json={"text": answer})
    assert sent.status == 202
    await desk.posted_text(answer)
    assert (await desk.api.post(f"/api/v1/escalations/{first.id}/resolve", desk.agent)).status == 200

    other = await desk.complaint(BEN, "The blender I bought is broken, I want to return it and get my money back")
    found = await desk.api.get(f"/api/v1/escalations/{other.id}/suggestions", desk.viewer)
    [past] = [s for s in found.body["items"] if s["kind"] == "past_reply"]
    assert past["text"] == "Refunded to your card •••• •••• •••• 1111, Ann; the return label is in your inbox."
