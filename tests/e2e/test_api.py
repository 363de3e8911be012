"""The REST API as another system uses it: `Rapport.run` with the real Discord connector against the fake
Discord, the real uvicorn server on 127.0.0.1, a real SQLite file, bearer tokens of each role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import discord_server as dc
from tests.fakes import running
from tests.fakes.api import error_of
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.running import ANN, BEN, CAT, COMPLAINT, Desk, discord_settings


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async with FakeDiscord() as fake, running.desk(discord_settings(tmp_path, fake), fake) as d:
        yield d


# -- who may call what ------------------------------------------------------------------------------

READS = [
    "/api/v1/escalations",
    "/api/v1/escalations/1",
    "/api/v1/customers/1",
    "/api/v1/reports/summary?days=30",
]
ACTS = [
    ("/api/v1/escalations/1/claim", None),
    ("/api/v1/escalations/1/resolve", None),
    ("/api/v1/escalations/1/reply", {"text": "hello"}),
    ("/api/v1/escalations/1/note", {"text": "hello"}),
    ("/api/v1/customers/1/purchases", {"amount": 12.5, "currency": "EUR"}),
    ("/api/v1/customers/1/links", {"channel": "x", "platform_user_id": "42"}),
]


async def test_every_api_route_answers_401_without_a_token(desk: Desk) -> None:
    for path in READS:
        answer = await desk.api.get(path)
        assert error_of(answer) == (401, "unauthenticated", None), path
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    for path, body in ACTS:
        assert (await desk.api.post(path, json=body)).status == 401, path


async def test_an_unknown_or_revoked_token_gets_401(desk: Desk) -> None:
    assert (await desk.api.get("/api/v1/escalations", "rpt_not-a-token")).status == 401
    assert (await desk.api.get("/api/v1/escalations", "some-other-scheme")).status == 401
    await desk.bot.access.revoke_token("viewer-bot", actor="test")
    assert (await desk.api.get("/api/v1/escalations", desk.viewer)).status == 401


async def test_a_viewer_reads_but_every_action_is_403(desk: Desk) -> None:
    await desk.complaint()
    for path in READS:
        assert (await desk.api.get(path, desk.viewer)).status == 200, path
    for path, body in ACTS:
        answer = await desk.api.post(path, desk.viewer, json=body)
        assert error_of(answer) == (403, "forbidden", None), path
    esc = await desk.bot.repo.escalations.get(1)
    assert esc is not None and esc.status.value == "open"  # nothing happened


async def test_an_agent_acts_but_only_an_admin_manages_tokens_and_users(desk: Desk) -> None:
    assert (await desk.api.get("/api/v1/tokens", desk.agent)).status == 403
    assert (await desk.api.post("/api/v1/tokens", desk.agent, json={"name": "x", "role": "admin"})).status == 403
    assert (await desk.api.get("/api/v1/users", desk.agent)).status == 403
    assert (await desk.api.get("/api/v1/tokens", desk.admin)).status == 200


async def test_an_admin_creates_a_token_that_works_and_revokes_it(desk: Desk) -> None:
    created = await desk.api.post("/api/v1/tokens", desk.admin, json={"name": "crm", "role": "viewer"})
    assert created.status == 201 and created.body["role"] == "viewer"
    token = created.body["token"]
    assert (await desk.api.get("/api/v1/escalations", token)).status == 200
    listed = await desk.api.get("/api/v1/tokens", desk.admin)
    assert "token" not in listed.body[0] and {t["name"] for t in listed.body} >= {"crm", "admin-bot"}
    assert (await desk.api.call("DELETE", "/api/v1/tokens/crm", desk.admin)).status == 200
    assert (await desk.api.get("/api/v1/escalations", token)).status == 401
    [audit] = await desk.bot.repo.audit.events(kind="token.revoked")
    assert audit.actor == "token:admin-bot"


async def test_an_admin_adds_a_staff_account_and_bad_input_names_the_field(desk: Desk) -> None:
    added = await desk.api.post(
        "/api/v1/users", desk.admin, json={"email": "Lee@Example.com", "role": "agent", "password": "long enough pw"}
    )
    assert added.status == 201 and added.body["email"] == "lee@example.com"
    again = await desk.api.post(
        "/api/v1/users", desk.admin, json={"email": "lee@example.com", "role": "agent", "password": "long enough pw"}
    )
    assert error_of(again) == (409, "conflict", "email")
    short = await desk.api.post(
        "/api/v1/users", desk.admin, json={"email": "kim@example.com", "role": "agent", "password": "short"}
    )
    assert error_of(short) == (422, "invalid", "password")
    role = await desk.api.post(
        "/api/v1/users", desk.admin, json={"email": "kim@example.com", "role": "boss", "password": "long enough pw"}
    )
    assert error_of(role) == (422, "invalid", "role")


# -- escalations -------------------------------------------------------------------------------------


async def test_listing_filters_by_status_and_pages_with_a_cursor(desk: Desk) -> None:
    first = await desk.complaint(ANN)
    await desk.complaint(BEN)
    third = await desk.complaint(CAT)
    await desk.bot.desk.resolve(third.id, "slack:U1")

    page1 = await desk.api.get("/api/v1/escalations?limit=2", desk.viewer)
    assert page1.status == 200
    assert [e["id"] for e in page1.body["items"]] == [first.id, first.id + 1]
    assert page1.body["next"]
    page2 = await desk.api.get(f"/api/v1/escalations?limit=2&cursor={page1.body['next']}", desk.viewer)
    assert [e["id"] for e in page2.body["items"]] == [third.id] and page2.body["next"] is None

    open_only = await desk.api.get("/api/v1/escalations?status=open", desk.viewer)
    assert [e["id"] for e in open_only.body["items"]] == [first.id, first.id + 1]
    assert {e["status"] for e in open_only.body["items"]} == {"open"}
    both = await desk.api.get("/api/v1/escalations?status=open,resolved", desk.viewer)
    assert len(both.body["items"]) == 3


async def test_bad_list_parameters_get_422_naming_the_field(desk: Desk) -> None:
    assert error_of(await desk.api.get("/api/v1/escalations?status=lost", desk.viewer)) == (422, "invalid", "status")
    assert error_of(await desk.api.get("/api/v1/escalations?cursor=%%%", desk.viewer))[2] == "cursor"
    assert error_of(await desk.api.get("/api/v1/escalations?cursor=bm9wZQ", desk.viewer))[2] == "cursor"
    assert error_of(await desk.api.get("/api/v1/escalations?limit=0", desk.viewer)) == (422, "invalid", "limit")
    assert error_of(await desk.api.get("/api/v1/escalations?limit=many", desk.viewer))[2] == "limit"
    assert error_of(await desk.api.get("/api/v1/escalations/abc", desk.viewer))[2] == "escalation_id"


async def test_one_escalation_shows_its_conversation_classification_and_sla(desk: Desk) -> None:
    esc = await desk.complaint()
    answer = await desk.api.get(f"/api/v1/escalations/{esc.id}", desk.viewer)
    assert answer.status == 200
    body = answer.body
    assert body["status"] == "open" and body["customer"]["display_name"] == "Ann"
    assert body["classification"]["intent"] == "complaint"
    assert [m["text"] for m in body["messages"]] == [COMPLAINT]
    assert body["sla"]["first_response_breached"] is False
    assert [h["what"] for h in body["history"]] == ["opened"]
    assert error_of(await desk.api.get("/api/v1/escalations/999", desk.viewer)) == (404, "not_found", None)


async def test_claim_is_audited_with_the_token_as_a_slack_claim_is_and_a_second_claim_is_409(desk: Desk) -> None:
    esc = await desk.complaint()
    claimed = await desk.api.post(f"/api/v1/escalations/{esc.id}/claim", desk.agent)
    assert claimed.status == 200
    assert claimed.body["status"] == "claimed" and claimed.body["assignee"] == "token:agent-bot"
    [audit] = await desk.bot.repo.audit.events(kind="escalation.claimed")
    assert audit.actor == "token:agent-bot" and audit.escalation_id == esc.id
    again = await desk.api.post(f"/api/v1/escalations/{esc.id}/claim", desk.admin)
    assert error_of(again)[:2] == (409, "conflict")
    assert "token:agent-bot" in again.body["message"]
    assert (await desk.api.post("/api/v1/escalations/999/claim", desk.agent)).status == 404


async def test_a_reply_through_the_api_reaches_the_customer_on_discord_once(desk: Desk) -> None:
    esc = await desk.complaint()
    text = "Hi Ann, your parcel is on its way: tracking 1234."
    headers = {"Idempotency-Key": "crm-42"}
    first = await desk.api.post(f"/api/v1/escalations/{esc.id}/reply", desk.agent, json={"text": text}, headers=headers)
    assert first.status == 202 and first.body["kind"] == "staff"
    again = await desk.api.post(f"/api/v1/escalations/{esc.id}/reply", desk.agent, json={"text": text}, headers=headers)
    assert again.status == 202 and again.body["id"] == first.body["id"]

    post = await desk.posted_text(text)
    opening = await desk.bot.repo.messages.get(esc.opening_message_id)
    assert opening is not None
    assert post["channel_id"] == dc.CHANNEL_ID
    assert str(post["message_reference"]["message_id"]) == opening.message.external_id
    await asyncio.sleep(0.3)
    assert [p["content"] for p in desk.discord.posted].count(text) == 1
    [audit] = await desk.bot.repo.audit.events(kind="escalation.replied")
    assert audit.actor == "token:agent-bot"
    detail = await desk.api.get(f"/api/v1/escalations/{esc.id}", desk.viewer)
    assert detail.body["first_response_at"] is not None
    assert "replied" in [h["what"] for h in detail.body["history"]]


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   "}, {"text": 5}, {"text": "x", "extra": 1}])
async def test_a_reply_without_usable_text_gets_422_naming_text(desk: Desk, body: dict[str, Any]) -> None:
    esc = await desk.complaint()
    answer = await desk.api.post(f"/api/v1/escalations/{esc.id}/reply", desk.agent, json=body)
    assert answer.status == 422
    assert answer.body["field"] == ("extra" if "extra" in body else "text")


async def test_a_body_that_is_not_json_gets_422(desk: Desk) -> None:
    answer = await desk.api.call("POST", "/api/v1/escalations/1/note", desk.agent, data="{not json")
    assert error_of(answer) == (422, "invalid", "body")


async def test_a_note_stays_internal_and_resolve_closes_the_case(desk: Desk) -> None:
    esc = await desk.complaint()
    await desk.discord.wait_for_posts(1)  # the acknowledgement
    noted = await desk.api.post(f"/api/v1/escalations/{esc.id}/note", desk.agent, json={"text": "called the courier"})
    assert noted.status == 201 and noted.body == {
        "author": "token:agent-bot",
        "text": "called the courier",
        "at": noted.body["at"],
    }
    resolved = await desk.api.post(f"/api/v1/escalations/{esc.id}/resolve", desk.agent)
    assert resolved.status == 200 and resolved.body["status"] == "resolved"
    detail = await desk.api.get(f"/api/v1/escalations/{esc.id}", desk.viewer)
    assert [n["text"] for n in detail.body["notes"]] == ["called the courier"]
    assert [h["what"] for h in detail.body["history"]] == ["opened", "added a note", "resolved"]
    assert [a.actor for a in await desk.bot.repo.audit.events(kind="escalation.resolved")] == ["token:agent-bot"]
    await asyncio.sleep(0.3)
    assert len(desk.discord.posted) == 1  # the note never reached the customer
    assert (await desk.api.post(f"/api/v1/escalations/{esc.id}/resolve", desk.agent)).status == 409


# -- customers ---------------------------------------------------------------------------------------


async def test_a_customer_profile_shows_identities_tier_and_open_cases(desk: Desk) -> None:
    esc = await desk.complaint()
    answer = await desk.api.get(f"/api/v1/customers/{esc.customer_id}", desk.viewer)
    assert answer.status == 200
    body = answer.body
    assert body["id"] == esc.customer_id and body["display_name"] == "Ann"
    assert [(i["channel"], i["platform_user_id"]) for i in body["identities"]] == [("discord", ANN["id"])]
    assert [e["id"] for e in body["open_escalations"]] == [esc.id]
    assert body["tier"] and body["tier_reason"]
    assert error_of(await desk.api.get("/api/v1/customers/999", desk.viewer)) == (404, "not_found", None)


async def test_a_purchase_is_recorded_once_per_reference_and_raises_the_value(desk: Desk) -> None:
    esc = await desk.complaint()
    path = f"/api/v1/customers/{esc.customer_id}/purchases"
    body = {"amount": 1200.0, "currency": "EUR", "at": "2026-11-30T10:00:00Z", "reference": "order-77"}
    first = await desk.api.post(path, desk.agent, json=body)
    assert first.status == 201 and first.body["recorded"] is True and first.body["reference"] == "order-77"
    again = await desk.api.post(path, desk.agent, json=body)
    assert again.status == 200 and again.body["recorded"] is False
    profile = await desk.api.get(f"/api/v1/customers/{esc.customer_id}", desk.viewer)
    assert profile.body["account"]["lifetime_value"] == 1200.0
    assert [p["reference"] for p in profile.body["purchases"]] == ["order-77"]
    [audit] = await desk.bot.repo.audit.events(kind="purchase.recorded")
    assert audit.actor == "token:agent-bot"
    keyed = {"amount": 5, "currency": "eur"}
    headers = {"Idempotency-Key": "shop-9"}
    assert (await desk.api.post(path, desk.agent, json=keyed, headers=headers)).status == 201
    assert (await desk.api.post(path, desk.agent, json=keyed, headers=headers)).status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 12.5, "currency": "USD"}, "currency"),
        ({"amount": 12.5, "currency": "euro"}, "currency"),
        ({"amount": -1, "currency": "EUR"}, "amount"),
        ({"amount": "lots", "currency": "EUR"}, "amount"),
        ({"currency": "EUR"}, "amount"),
        ({"amount": 1, "currency": "EUR", "at": "yesterday"}, "at"),
        ({"amount": 1, "currency": "EUR", "reference": ""}, "reference"),
    ],
)
async def test_a_bad_purchase_gets_422_naming_the_field(desk: Desk, body: dict[str, Any], field: str) -> None:
    esc = await desk.complaint()
    answer = await desk.api.post(f"/api/v1/customers/{esc.customer_id}/purchases", desk.agent, json=body)
    assert error_of(answer) == (422, "invalid", field)


async def test_a_purchase_for_an_unknown_customer_is_404(desk: Desk) -> None:
    answer = await desk.api.post("/api/v1/customers/999/purchases", desk.agent, json={"amount": 1, "currency": "EUR"})
    assert answer.status == 404


async def test_linking_an_account_that_wrote_in_brings_its_history_to_the_customer(desk: Desk) -> None:
    ann = await desk.complaint(ANN)
    ben = await desk.complaint(BEN, dm=True)  # Ben's Discord account is really Ann's second account
    path = f"/api/v1/customers/{ann.customer_id}/links"
    linked = await desk.api.post(path, desk.agent, json={"channel": "discord", "platform_user_id": BEN["id"]})
    assert linked.status == 201 and linked.body["customer_id"] == ann.customer_id
    profile = await desk.api.get(f"/api/v1/customers/{ann.customer_id}", desk.viewer)
    assert {i["platform_user_id"] for i in profile.body["identities"]} == {ANN["id"], BEN["id"]}
    moved = await desk.bot.repo.escalations.get(ben.id)
    assert moved is not None and moved.customer_id == ann.customer_id
    [audit] = await desk.bot.repo.audit.events(kind="identity.linked")
    assert audit.actor == "token:agent-bot"
    bad = await desk.api.post(path, desk.agent, json={"channel": "myspace", "platform_user_id": "1"})
    assert error_of(bad) == (422, "invalid", "channel")
    empty = await desk.api.post(path, desk.agent, json={"channel": "x", "platform_user_id": ""})
    assert error_of(empty) == (422, "invalid", "platform_user_id")
    unknown = await desk.api.post(
        "/api/v1/customers/999/links", desk.agent, json={"channel": "x", "platform_user_id": "1"}
    )
    assert unknown.status == 404


# -- reports and the document -------------------------------------------------------------------------


async def test_the_summary_counts_messages_cases_and_response_times(desk: Desk) -> None:
    esc = await desk.complaint(ANN)
    await desk.complaint(BEN)
    await desk.bot.desk.reply(esc.id, "slack:U1", "on it")
    await desk.bot.desk.resolve(esc.id, "slack:U1")
    answer = await desk.api.get("/api/v1/reports/summary?days=7", desk.viewer)
    assert answer.status == 200
    body = answer.body
    assert body["days"] == 7
    assert body["messages"]["total"] == 2 and body["messages"]["by_channel"] == {"discord": 2}
    assert body["messages"]["by_intent"] == {"complaint": 2}
    assert body["escalations"]["opened"] == 2 and body["escalations"]["resolved"] == 1
    assert body["first_response_minutes"]["count"] == 1 and body["resolution_minutes"]["count"] == 1
    assert body["sla"]["first_response_met"] == 1.0
    assert body["csat"] == {"answered": 0, "average": None, "distribution": {str(i): 0 for i in range(1, 6)}}
    assert sum(body["customers"]["by_tier"].values()) == 2
    assert error_of(await desk.api.get("/api/v1/reports/summary?days=0", desk.viewer)) == (422, "invalid", "days")


async def test_the_openapi_document_lists_every_route_with_bearer_auth(desk: Desk) -> None:
    answer = await desk.api.get("/api/openapi.json")
    assert answer.status == 200
    paths = answer.body["paths"]
    for path in (
        "/api/v1/escalations",
        "/api/v1/escalations/{escalation_id}",
        "/api/v1/escalations/{escalation_id}/claim",
        "/api/v1/escalations/{escalation_id}/resolve",
        "/api/v1/escalations/{escalation_id}/reply",
        "/api/v1/escalations/{escalation_id}/note",
        "/api/v1/customers/{customer_id}",
        "/api/v1/customers/{customer_id}/purchases",
        "/api/v1/customers/{customer_id}/links",
        "/api/v1/reports/summary",
    ):
        assert path in paths, path
    assert "/slack/events" not in paths and "/metrics" not in paths
    assert answer.body["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_unknown_paths_and_methods_answer_json(desk: Desk) -> None:
    assert error_of(await desk.api.get("/api/v1/nothing", desk.viewer)) == (404, "not_found", None)
    assert (await desk.api.get("/api/docs")).status == 404  # no docs page: it would load scripts from a CDN
    assert error_of(await desk.api.call("DELETE", "/api/v1/escalations", desk.admin))[:2] == (
        405,
        "method_not_allowed",
    )
