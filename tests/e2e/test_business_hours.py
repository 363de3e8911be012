"""Business hours through the whole bot: outside them the acknowledgement says when a person will answer
(in the customer's language) and the SLA clock starts at the opening; without them, today's behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import Rapport
from tests.conftest import Driver, RecordingConnector, make_settings

DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
DIAS = "lunes martes miércoles jueves viernes sábado domingo".split()


def _closed_until() -> datetime:
    """Midnight UTC four days from now: the desk below is on holiday from yesterday until then."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=4)


@pytest.fixture
async def closed(tmp_path: Path) -> AsyncIterator[Driver]:
    opens = _closed_until()
    holidays = [(opens - timedelta(days=d)).date().isoformat() for d in range(1, 6)]
    week = {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    settings = make_settings(
        f"sqlite:///{tmp_path / 'bot.db'}", business_hours={"timezone": "UTC", "holidays": holidays, **week}
    )
    async with Rapport(settings) as bot:
        connector = RecordingConnector()
        await bot.attach(connector)
        yield Driver(bot, connector)


async def test_outside_hours_the_acknowledgement_says_when_a_person_answers(closed: Driver) -> None:
    opens = _closed_until()
    outcome = await closed.say("My order #55120 arrived broken and nobody answers my emails")
    esc_id = outcome.escalation_id
    assert closed.replies == [
        f"Sorry to hear that, Casey. We've passed this to our team (ref #{esc_id}) and will get back to you "
        f"shortly. A person will reply from {DAYS[opens.weekday()]} 00:00."
    ]
    card = await closed.bot.desk.card(esc_id or 0)
    assert card is not None
    # Normal priority: four business hours to the first response, counted from the opening.
    assert card.sla.first_response_due == opens + timedelta(minutes=240)
    assert not card.sla.breached


async def test_outside_hours_in_spanish(closed: Driver) -> None:
    opens = _closed_until()
    outcome = await closed.say("Mi pedido llegó roto y nadie responde a mis correos, estoy muy enfadado")
    assert closed.replies == [
        f"Gracias, Casey. Hemos pasado tu solicitud a nuestro equipo (ref. #{outcome.escalation_id}). "
        f"Una persona te responderá a partir del {DIAS[opens.weekday()]} 00:00."
    ]


async def test_without_business_hours_nothing_changes(testbot: Driver) -> None:
    outcome = await testbot.say("My order #55120 arrived broken and nobody answers my emails")
    assert testbot.replies[0].endswith("will get back to you shortly.")
    card = await testbot.bot.desk.card(outcome.escalation_id or 0)
    assert card is not None
    assert card.sla.first_response_due == card.escalation.created_at + timedelta(minutes=240)
