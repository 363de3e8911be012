"""Routing rules: defaults, first match wins, conditions, priority from urgency and tier."""

from datetime import UTC, datetime

import pytest

from bot.config import DEFAULT_RULES, Rule, Settings
from bot.domain import Customer, Escalation, EscalationStatus, InboundMessage, Priority
from bot.routing import route
from nlp.types import Analysis, Intent, Sentiment

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def analysis(
    intent: str = "other",
    sentiment: str = "neutral",
    *,
    urgent: bool = False,
    abusive: bool = False,
    language: str = "en",
    confidence: float = 0.9,
    low: bool = False,
) -> Analysis:
    return Analysis(Sentiment(sentiment), Intent(intent), urgent, abusive, language, confidence, low)


def message(channel: str = "discord", direct: bool = False) -> InboundMessage:
    return InboundMessage(channel=channel, external_id="1", author_id="u", text="t", direct=direct)


def customer(tier: str = "iron") -> Customer:
    return Customer(id=1, display_name="C", created_at=NOW, tier=tier)


@pytest.mark.parametrize(
    ("a", "action", "reply"),
    [
        (analysis("complaint", "negative"), "escalate", "acknowledge"),
        (analysis("cancellation", "negative"), "escalate", "acknowledge"),
        (analysis("praise", "positive"), "reply", "thanks"),
        (analysis("question"), "answer", "question"),
        (analysis("purchase_interest"), "sales_alert", "sales"),
        (analysis("request"), "escalate", "received"),
        (analysis("other"), "record", None),
    ],
)
def test_default_rules_by_intent(a: Analysis, action: str, reply: str | None) -> None:
    decision = route(DEFAULT_RULES, a, message(), customer())
    assert (decision.action, decision.reply) == (action, reply)


def test_abusive_message_is_escalated_flagged_without_a_reply() -> None:
    decision = route(DEFAULT_RULES, analysis("complaint", "negative", abusive=True), message(), customer())
    assert decision.action == "escalate" and decision.flag and decision.reply is None


def test_a_language_without_templates_goes_to_a_human_without_an_automatic_reply() -> None:
    decision = route(
        DEFAULT_RULES, analysis("praise", "positive", language="ja"), message(), customer(), templated=False
    )
    assert decision.rule == "no-templates" and decision.action == "escalate" and decision.reply is None


def test_a_language_with_templates_is_routed_like_english() -> None:
    decision = route(
        DEFAULT_RULES, analysis("praise", "positive", language="es"), message(), customer(), templated=True
    )
    assert (decision.rule, decision.action, decision.reply) == ("praise", "reply", "thanks")


def test_asking_for_a_person_raises_the_open_case_one_step() -> None:
    from bot.routing import handoff

    assert handoff(customer()).priority is Priority.HIGH
    assert handoff(customer()).escalation_id is None


def test_low_confidence_goes_to_a_human() -> None:
    decision = route(DEFAULT_RULES, analysis("praise", "positive", low=True, confidence=0.3), message(), customer())
    assert decision.rule == "low-confidence" and decision.action == "escalate"


def test_unknown_language_counts_as_english() -> None:
    decision = route(DEFAULT_RULES, analysis("praise", "positive", language="unknown"), message(), customer())
    assert decision.action == "reply"


def test_urgent_complaint_gets_urgent_priority() -> None:
    decision = route(DEFAULT_RULES, analysis("complaint", "negative", urgent=True), message(), customer())
    assert decision.priority is Priority.URGENT


def test_valuable_tiers_raise_priority_and_lead_is_never_lowered() -> None:
    a = analysis("complaint", "negative")
    assert route(DEFAULT_RULES, a, message(), customer("iron")).priority is Priority.NORMAL
    assert route(DEFAULT_RULES, a, message(), customer("gold")).priority is Priority.HIGH
    assert route(DEFAULT_RULES, a, message(), customer("platinum")).priority is Priority.URGENT
    assert route(DEFAULT_RULES, a, message(), customer("lead")).priority is Priority.NORMAL


def test_first_matching_rule_wins_and_conditions_combine() -> None:
    rules = Settings.model_validate(
        {
            "routing": {
                "rules": [
                    {"name": "x-complaints", "action": "record", "when": {"intent": ["complaint"], "channel": ["x"]}},
                    {"name": "gold-praise", "action": "escalate", "when": {"intent": ["praise"], "tier": ["gold"]}},
                    {"name": "all", "action": "reply", "reply": "thanks"},
                ]
            }
        }
    ).routing.rules
    assert route(rules, analysis("complaint"), message("x"), customer()).rule == "x-complaints"
    assert route(rules, analysis("complaint"), message("discord"), customer()).rule == "all"
    assert route(rules, analysis("praise"), message(), customer("gold")).rule == "gold-praise"
    assert route(rules, analysis("praise"), message(), customer("iron")).rule == "all"


def test_confidence_bounds_and_direct_condition() -> None:
    rule = Rule.model_validate(
        {"name": "r", "action": "record", "when": {"min_confidence": 0.5, "max_confidence": 0.8, "direct": True}}
    )
    fallback = Rule.model_validate({"name": "other", "action": "reply"})
    rules = (rule, fallback)
    assert route(rules, analysis(confidence=0.6), message(direct=True), customer()).rule == "r"
    assert route(rules, analysis(confidence=0.9), message(direct=True), customer()).rule == "other"
    assert route(rules, analysis(confidence=0.6), message(direct=False), customer()).rule == "other"


def test_open_escalation_takes_new_messages_instead_of_automatic_replies() -> None:
    esc = Escalation(
        id=7,
        customer_id=1,
        opening_message_id=1,
        channel="discord",
        conversation_id="c",
        status=EscalationStatus.CLAIMED,
        priority=Priority.HIGH,
        reason="",
        intent="complaint",
        created_at=NOW,
        updated_at=NOW,
    )
    decision = route(DEFAULT_RULES, analysis("praise", "positive"), message(), customer(), esc)
    assert decision.action == "attach" and decision.escalation_id == 7


def test_no_rule_matching_records_only() -> None:
    only = (Rule.model_validate({"name": "p", "action": "reply", "reply": "thanks", "when": {"intent": ["praise"]}}),)
    assert route(only, analysis("question"), message(), customer()).action == "record"
