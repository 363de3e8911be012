"""Pure relationship rules: tiers, stages, quiet hours, CSAT answers, link suggestions, birthdays."""

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import RelationshipSettings, TierThresholds
from bot.domain import Customer, Identity
from bot.relationships.csat import parse_score
from bot.relationships.followups import birthday_this_year
from bot.relationships.identities import suggest_links
from bot.relationships.models import Account, CustomerStats, Signal, Stage, Tier
from bot.relationships.quiet import next_allowed
from bot.relationships.stages import infer_stage
from bot.relationships.tiers import compute_tier, cost_to_serve
from nlp.types import Intent, Sentiment

T = TierThresholds(
    platinum_value=5000,
    platinum_orders=10,
    gold_value=1000,
    gold_orders=3,
    lead_below=0,
    complaint_cost=20,
    escalation_cost=50,
    handling_hour_cost=30,
)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CFG = RelationshipSettings()


# -- tiers ----------------------------------------------------------------------------------------


def test_high_value_frequent_buyer_is_platinum_with_the_numbers_in_the_reason() -> None:
    result = compute_tier(Account(1, lifetime_value=8000, orders=12), CustomerStats(), T)
    assert result.tier is Tier.PLATINUM and not result.attention
    assert "lifetime value 8,000.00" in result.reason and "12 orders" in result.reason and "≥ 5,000.00" in result.reason


def test_platinum_value_with_few_orders_is_only_gold() -> None:
    assert compute_tier(Account(1, lifetime_value=8000, orders=4), CustomerStats(), T).tier is Tier.GOLD


def test_cost_to_serve_pulls_a_customer_down_a_tier() -> None:
    stats = CustomerStats(complaints=5, escalations=4, handling_hours=10)  # 100 + 200 + 300 = 600
    assert cost_to_serve(stats, T) == 600
    result = compute_tier(Account(1, lifetime_value=1500, orders=5), stats, T)
    assert result.tier is Tier.IRON and "net 900.00" in result.reason


def test_a_customer_who_costs_more_than_they_bring_is_lead_and_flagged() -> None:
    result = compute_tier(Account(1, lifetime_value=50, orders=1), CustomerStats(complaints=3, escalations=2), T)
    assert result.tier is Tier.LEAD and result.attention and "flagged for attention" in result.reason


def test_a_new_contact_with_no_value_and_no_cost_is_iron() -> None:
    assert compute_tier(Account(1), CustomerStats(), T).tier is Tier.IRON


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="platinum thresholds"):
        TierThresholds(platinum_value=100, gold_value=1000)


# -- stages ---------------------------------------------------------------------------------------


def sig(intent: Intent, sentiment: Sentiment = Sentiment.NEUTRAL, days_ago: float = 1) -> Signal:
    return Signal(NOW - timedelta(days=days_ago), intent, sentiment)


def test_first_contact_is_exploration() -> None:
    result = infer_stage([sig(Intent.QUESTION)], None, NOW, CFG)
    assert result.stage is Stage.EXPLORATION and "first contact" in result.reason


def test_questions_about_the_offer_are_awareness() -> None:
    result = infer_stage([sig(Intent.OTHER, days_ago=3), sig(Intent.QUESTION)], None, NOW, CFG)
    assert result.stage is Stage.AWARENESS and "1 question" in result.reason


def test_purchase_interest_is_expansion() -> None:
    result = infer_stage([sig(Intent.QUESTION, days_ago=2), sig(Intent.PURCHASE_INTEREST)], None, NOW, CFG)
    assert result.stage is Stage.EXPANSION and "purchase interest" in result.reason


def test_a_recent_purchase_is_expansion_and_an_old_one_is_not() -> None:
    signals = [sig(Intent.QUESTION, days_ago=60), sig(Intent.OTHER, days_ago=50)]
    assert infer_stage(signals, NOW - timedelta(days=3), NOW, CFG).stage is Stage.EXPANSION
    assert infer_stage(signals, NOW - timedelta(days=45), NOW, CFG).stage is Stage.AWARENESS


def test_steady_mostly_positive_contact_is_engagement() -> None:
    signals = [sig(Intent.PRAISE, Sentiment.POSITIVE, d) for d in (40, 30, 20)] + [sig(Intent.OTHER, days_ago=10)]
    result = infer_stage(signals, None, NOW, CFG)
    assert result.stage is Stage.ENGAGEMENT and "4 messages" in result.reason


def test_cancellation_intent_is_dissolution() -> None:
    signals = [sig(Intent.PRAISE, Sentiment.POSITIVE, 5), sig(Intent.CANCELLATION, Sentiment.NEGATIVE)]
    result = infer_stage(signals, NOW - timedelta(days=2), NOW, CFG)
    assert result.stage is Stage.DISSOLUTION and "cancellation" in result.reason


def test_sentiment_turning_negative_is_dissolution() -> None:
    signals = [sig(Intent.PRAISE, Sentiment.POSITIVE, d) for d in (30, 20, 15)]
    signals += [sig(Intent.COMPLAINT, Sentiment.NEGATIVE, 3), sig(Intent.COMPLAINT, Sentiment.NEGATIVE, 1)]
    result = infer_stage(signals, None, NOW, CFG)
    assert result.stage is Stage.DISSOLUTION and "2 of the last 3" in result.reason


def test_one_complaint_among_good_contact_is_not_dissolution() -> None:
    signals = [sig(Intent.PRAISE, Sentiment.POSITIVE, d) for d in (30, 20, 15, 10)]
    signals.append(sig(Intent.COMPLAINT, Sentiment.NEGATIVE, 1))
    assert infer_stage(signals, None, NOW, CFG).stage is Stage.ENGAGEMENT


def test_messages_outside_the_window_do_not_count() -> None:
    assert infer_stage([sig(Intent.CANCELLATION, Sentiment.NEGATIVE, 200)], None, NOW, CFG).stage is Stage.EXPLORATION


# -- quiet hours, birthdays -----------------------------------------------------------------------


def test_quiet_hours_postpone_to_their_end_and_leave_daytime_alone() -> None:
    night = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert next_allowed(night, "21:00", "08:00", "UTC") == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    early = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    assert next_allowed(early, "21:00", "08:00", "UTC") == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert next_allowed(NOW, "21:00", "08:00", "UTC") == NOW
    assert next_allowed(night, None, "08:00", "UTC") == night


def test_quiet_hours_follow_the_configured_time_zone() -> None:
    # 19:30 UTC is 20:30 in Paris in winter: quiet from 20:00 there.
    evening = datetime(2026, 11, 22, 19, 30, tzinfo=UTC)
    assert next_allowed(evening, "20:00", "08:00", "Europe/Paris") == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def test_a_leap_day_birthday_is_celebrated_on_the_28th_in_other_years() -> None:
    assert birthday_this_year(date(2000, 2, 29), 2027) == date(2027, 2, 28)
    assert birthday_this_year(date(2000, 2, 29), 2028) == date(2028, 2, 29)


# -- CSAT answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5", 5),
        (" 4 ", 4),
        ("3/5", 3),
        ("2 stars", 2),
        ("five", 5),
        ("1.", 1),
        ("0", None),
        ("6", None),
        ("great", None),
        ("5 but the app still crashes", None),
        ("", None),
    ],
)
def test_csat_answers_are_1_to_5_only(text: str, score: int | None) -> None:
    assert parse_score(text) == score


# -- link suggestions -----------------------------------------------------------------------------


def cust(cid: int, *idents: tuple[str, str, str, str], email: str = "") -> Customer:
    return Customer(
        cid,
        idents[0][3] if idents else "",
        NOW,
        email=email,
        identities=tuple(Identity(ch, uid, cid, h, n) for ch, uid, h, n in idents),
    )


def test_same_handle_on_two_channels_is_suggested_with_its_confidence() -> None:
    found = suggest_links([cust(1, ("discord", "d1", "casey_doe", "Casey")), cust(2, ("x", "x1", "@CaseyDoe", "C."))])
    assert len(found) == 1 and (found[0].customer_id, found[0].other_id) == (1, 2)
    assert found[0].confidence == 0.8 and "same handle" in found[0].reason


def test_an_email_written_in_a_message_points_at_its_owner() -> None:
    people = [cust(1, ("discord", "d1", "kc", "Kim"), email="kim@example.com"), cust(2, ("x", "x9", "kk", "K"))]
    found = suggest_links(people, [(2, "my account is Kim@Example.com, please check")])
    assert found[0].confidence == 0.95 and "kim@example.com" in found[0].reason


def test_evidence_adds_up_and_the_same_channel_is_not_a_match() -> None:
    a = cust(1, ("discord", "d1", "casey_doe", "Casey Doe"))
    b = cust(2, ("slack", "U1", "casey.doe", "Casey Doe"))
    c = cust(3, ("discord", "d2", "caseydoe", "Casey Doe"))  # same channel as #1: two people can share a name
    found = {(s.customer_id, s.other_id): s for s in suggest_links([a, b, c])}
    assert (1, 3) not in found and found[(1, 2)].confidence == 0.92
    assert suggest_links([a, b], exclude={2}) == []
