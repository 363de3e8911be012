"""Root-cause topics: complaints that say the same thing group together, whatever the channel."""

from datetime import UTC, datetime, timedelta

from bot.relationships.models import Complaint
from bot.relationships.topics import describe, group_complaints

TEXTS = [
    "My package arrived damaged, the box was crushed",
    "Delivery came damaged again, crushed box",
    "the parcel arrived damaged and crushed",
    "I was charged twice for my subscription",
    "Double charged on my card this month, charged twice",
    "The app crashes when I log in",
]


def test_complaints_about_the_same_thing_form_one_topic_largest_first() -> None:
    drafts = group_complaints(TEXTS, min_similarity=0.2)
    assert [sorted(d.members) for d in drafts[:2]] == [[0, 1, 2], [3, 4]]
    assert "damaged" in drafts[0].label or "crushed" in drafts[0].label
    assert "charged" in drafts[1].label
    assert sorted(i for d in drafts for i in d.members) == list(range(len(TEXTS)))


def test_grouping_is_deterministic_and_handles_empty_and_wordless_input() -> None:
    assert group_complaints(TEXTS, 0.2) == group_complaints(TEXTS, 0.2)
    assert group_complaints([], 0.2) == []
    drafts = group_complaints(["!!!", "???"], 0.2)
    assert sorted(len(d.members) for d in drafts) == [1, 1]


def test_a_supplied_encoder_is_used_for_similarity() -> None:
    # An encoder that sees every text as the same point puts them all in one topic.
    drafts = group_complaints(TEXTS, 0.9, embed=lambda texts: [[1.0, 0.0] for _ in texts])
    assert len(drafts) == 1 and len(drafts[0].members) == len(TEXTS)


def test_a_topic_counts_its_trend_examples_and_escalations() -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    members = [
        Complaint(1, 1, "discord", "box crushed", now - timedelta(days=1), escalation_id=7),
        Complaint(2, 2, "x", "crushed box", now - timedelta(days=2)),
        Complaint(3, 3, "slack", "box crushed", now - timedelta(days=9), escalation_id=9),
    ]
    topic = describe(5, "box, crushed", members, now)
    assert (topic.count, topic.recent, topic.previous, topic.trend) == (3, 2, 1, "rising")
    assert topic.examples == ("box crushed", "crushed box") and topic.escalation_ids == (7, 9)
    assert topic.channels == ("discord", "slack", "x")
