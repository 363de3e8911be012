"""Customers writing in Spanish, with the shipped model: answered in Spanish from the Spanish articles,
acknowledged in Spanish when a person must answer, and a language without templates goes to a person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Rapport
from tests.conftest import Driver, RecordingConnector, make_settings

pytestmark = pytest.mark.model


@pytest.fixture
async def modelbot(tmp_path: Path) -> AsyncIterator[Driver]:
    settings = make_settings(f"sqlite:///{tmp_path / 'bot.db'}", nlp={"backend": "auto"})
    async with Rapport(settings) as bot:
        connector = RecordingConnector()
        await bot.attach(connector)
        yield Driver(bot, connector)


async def test_a_spanish_question_is_answered_in_spanish_from_the_spanish_articles(modelbot: Driver) -> None:
    outcome = await modelbot.say("Hola, ¿a qué hora abre atención al cliente?", name="Lucía Pérez")
    assert outcome.analysis is not None and outcome.analysis.language == "es"
    assert outcome.decision is not None and outcome.decision.action == "faq" and outcome.escalation_id is None
    assert modelbot.replies == [
        "Nuestro equipo de atención está disponible todos los días de 8:00 a 20:00 UTC, y este bot responde a "
        "cualquier hora."
    ]


async def test_a_spanish_complaint_is_acknowledged_in_spanish_and_asked_for_the_order_number(
    modelbot: Driver,
) -> None:
    outcome = await modelbot.say("Mi pedido llegó roto y nadie contesta mis correos. Estoy muy enfadada.", name="Lucía")
    assert outcome.escalation_id is not None
    [reply] = modelbot.replies
    assert reply.startswith("Lo sentimos, Lucía.") and reply.endswith("¿Podrías indicarnos tu número de pedido?")


async def test_a_language_without_templates_goes_to_a_person_without_a_reply(modelbot: Driver) -> None:
    outcome = await modelbot.say("Il mio ordine è arrivato rotto e nessuno risponde alle mie email da giorni")
    assert outcome.decision is not None and outcome.decision.rule == "no-templates"
    assert outcome.escalation_id is not None and modelbot.replies == []
