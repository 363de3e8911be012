"""Routing: match the analysis of a message against the configured rules, first match wins.

Pure functions of their inputs, so every rule can be tested without a database or a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import Conditions, Rule
from bot.domain import Customer, Escalation, InboundMessage, Priority
from bot.ports import Answer
from nlp.types import Analysis

# Tiers whose escalations jump the queue. A lead-tier customer is never lowered: tiers only raise.
_TIER_BOOST = {"platinum": 2, "gold": 1}


@dataclass(frozen=True, slots=True)
class Decision:
    action: str  # reply | escalate | answer | sales_alert | record | attach | handoff
    rule: str
    reason: str
    reply: str | None = None  # template name
    priority: Priority = Priority.NORMAL
    flag: bool = False
    escalation_id: int | None = None  # for "attach"
    answer: Answer | None = None  # for "answer", when deciding already found the article


def matches(when: Conditions, analysis: Analysis, message: InboundMessage, tier: str, templated: bool = True) -> bool:
    """Whether every condition that is set holds for this message (`templated`: we can reply in its language)."""
    checks = (
        when.intent is None or analysis.intent in when.intent,
        when.sentiment is None or analysis.sentiment in when.sentiment,
        when.urgent is None or analysis.urgent == when.urgent,
        when.abusive is None or analysis.abusive == when.abusive,
        when.low_confidence is None or analysis.low_confidence == when.low_confidence,
        when.min_confidence is None or analysis.confidence >= when.min_confidence,
        when.max_confidence is None or analysis.confidence < when.max_confidence,
        when.english is None or analysis.english == when.english,
        when.templated is None or templated == when.templated,
        when.channel is None or message.channel in when.channel,
        when.tier is None or tier in when.tier,
        when.direct is None or message.direct == when.direct,
    )
    return all(checks)


def priority_for(rule: Rule, analysis: Analysis, tier: str) -> Priority:
    """The rule's priority, raised to urgent for urgent messages and raised for valuable tiers."""
    if analysis.urgent:
        return Priority.URGENT
    return rule.priority.raised(_TIER_BOOST.get(tier, 0))


def route(
    rules: Sequence[Rule],
    analysis: Analysis,
    message: InboundMessage,
    customer: Customer,
    open_escalation: Escalation | None = None,
    *,
    templated: bool = True,
) -> Decision:
    """Decide what to do with one message (`templated`: we have reply templates in its language)."""
    if open_escalation is not None:
        # A person already owns this conversation: automatic replies would talk over them.
        return Decision(
            action="attach",
            rule="open-escalation",
            reason=f"conversation has open escalation #{open_escalation.id}",
            priority=open_escalation.priority,
            escalation_id=open_escalation.id,
        )
    for rule in rules:
        if matches(rule.when, analysis, message, customer.tier, templated):
            return Decision(
                action=rule.action,
                rule=rule.name,
                reason=rule.reason or rule.name,
                reply=rule.reply,
                priority=priority_for(rule, analysis, customer.tier),
                flag=rule.flag,
            )
    return Decision(action="record", rule="(none)", reason="no rule matched")


def handoff(customer: Customer, open_escalation: Escalation | None = None) -> Decision:
    """The customer asked for a person: hand the case over at once, one priority step up."""
    base = (
        open_escalation.priority
        if open_escalation is not None
        else Priority.NORMAL.raised(_TIER_BOOST.get(customer.tier, 0))
    )
    return Decision(
        action="handoff",
        rule="handoff",
        reason="customer asked for a person",
        reply="handoff",
        priority=base.raised(1),
        escalation_id=open_escalation.id if open_escalation is not None else None,
    )
