"""X API v2 mention and DM payloads -> InboundMessage; anything odd is skipped, never raised."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.x.translate import dm_to_inbound, mention_to_inbound, users_by_id

ME = "1"
DANA = {"id": "100", "username": "dana_k", "name": "Dana K"}
USERS = {"100": DANA}


def tweet(text: str = "@acme my parcel is lost", **kw: Any) -> dict[str, Any]:
    return {
        "id": "500",
        "text": text,
        "author_id": "100",
        "conversation_id": "400",
        "created_at": "2026-11-22T10:00:00.000Z",
    } | kw


def event(text: str = "charged twice", **kw: Any) -> dict[str, Any]:
    return {
        "id": "900",
        "event_type": "MessageCreate",
        "text": text,
        "sender_id": "100",
        "dm_conversation_id": "1-100",
        "created_at": "2026-11-22T10:00:00.000Z",
    } | kw


def test_mention_becomes_an_inbound_message_with_tweet_ids() -> None:
    inbound = mention_to_inbound(tweet(), USERS, ME)
    assert inbound is not None
    assert (inbound.channel, inbound.connector, inbound.external_id) == ("x", "x", "500")
    assert (inbound.author_id, inbound.author_handle, inbound.author_name) == ("100", "dana_k", "Dana K")
    assert inbound.conversation_id == "400" and inbound.direct is False
    assert inbound.sent_at == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert inbound.text == "my parcel is lost"


def test_a_tweet_without_conversation_id_is_its_own_conversation() -> None:
    inbound = mention_to_inbound(tweet(conversation_id=None), USERS, ME)
    assert inbound is not None and inbound.conversation_id == "500"


def test_only_the_leading_reply_handles_are_dropped() -> None:
    inbound = mention_to_inbound(tweet("@acme @friend ask @acme why"), USERS, ME)
    assert inbound is not None and inbound.text == "ask @acme why"


def test_own_tweets_retweets_and_wordless_mentions_are_skipped() -> None:
    assert mention_to_inbound(tweet(author_id=ME), USERS, ME) is None
    assert mention_to_inbound(tweet(referenced_tweets=[{"type": "retweeted", "id": "3"}]), USERS, ME) is None
    assert mention_to_inbound(tweet("@acme @other"), USERS, ME) is None
    assert mention_to_inbound(tweet(referenced_tweets=[{"type": "replied_to", "id": "3"}]), USERS, ME) is not None


def test_missing_or_malformed_fields_are_skipped_not_raised() -> None:
    assert mention_to_inbound({}, USERS, ME) is None
    assert mention_to_inbound(tweet(id="abc"), USERS, ME) is None
    assert mention_to_inbound(tweet(author_id=None), USERS, ME) is None
    assert mention_to_inbound(tweet(text=None), USERS, ME) is None
    assert mention_to_inbound(tweet(referenced_tweets="odd"), USERS, ME) is not None
    odd_date = mention_to_inbound(tweet(created_at="yesterday"), USERS, ME)
    assert odd_date is not None and odd_date.sent_at.tzinfo is not None


def test_deleted_author_keeps_its_id_with_empty_names() -> None:
    inbound = mention_to_inbound(tweet(author_id="777"), USERS, ME)
    assert inbound is not None and (inbound.author_id, inbound.author_handle, inbound.author_name) == ("777", "", "")


def test_unicode_tricks_are_neutralised_and_long_text_kept() -> None:
    inbound = mention_to_inbound(tweet("@acme \u202eevil\x00 text"), USERS, ME)
    assert inbound is not None and inbound.text == "evil text"
    long = mention_to_inbound(tweet("@acme " + "z" * 4000), USERS, ME)
    assert long is not None and len(long.text) == 4000


def test_dm_event_becomes_a_direct_message_with_dm_ids() -> None:
    inbound = dm_to_inbound(event(), USERS, ME)
    assert inbound is not None and inbound.direct is True
    assert (inbound.external_id, inbound.conversation_id) == ("dm:900", "dm:1-100")
    assert inbound.author_handle == "dana_k"


def test_own_dms_other_events_and_empty_dms_are_skipped() -> None:
    assert dm_to_inbound(event(sender_id=ME), USERS, ME) is None
    assert dm_to_inbound(event(event_type="ParticipantsJoin"), USERS, ME) is None
    assert dm_to_inbound(event(text=""), USERS, ME) is None
    assert dm_to_inbound({"id": "5"}, USERS, ME) is None


def test_users_by_id_tolerates_odd_includes() -> None:
    assert users_by_id({"includes": {"users": [DANA, "junk", {"name": "no id"}]}}) == {"100": DANA}
    assert users_by_id({"includes": "junk"}) == {}
    assert users_by_id({}) == {}


# X API v2 escapes &, < and > in post and DM text; these are the bodies as X sends them.


def test_escaped_ampersand_in_a_mention_is_read_as_the_customer_wrote_it() -> None:
    inbound = mention_to_inbound(tweet("@acme my AT&amp;T bill &amp; my order"), USERS, ME)
    assert inbound is not None and inbound.text == "my AT&T bill & my order"


def test_escaped_angle_brackets_in_a_mention_are_read_as_written() -> None:
    inbound = mention_to_inbound(tweet("@acme love you &lt;3 but 2 &gt; 1"), USERS, ME)
    assert inbound is not None and inbound.text == "love you <3 but 2 > 1"


def test_text_that_contains_an_entity_after_unescaping_is_unescaped_only_once() -> None:
    # The customer typed "&amp;" and "&lt;b&gt;" literally; X escaped their & again.
    inbound = mention_to_inbound(tweet("@acme why does it show &amp;amp; and &amp;lt;b&amp;gt;"), USERS, ME)
    assert inbound is not None and inbound.text == "why does it show &amp; and &lt;b&gt;"


def test_entities_x_does_not_produce_are_left_alone() -> None:
    inbound = mention_to_inbound(tweet("@acme &copy; &quot;quoted&quot; &#39;"), USERS, ME)
    assert inbound is not None and inbound.text == "&copy; &quot;quoted&quot; &#39;"


def test_dm_text_is_unescaped_once_too() -> None:
    inbound = dm_to_inbound(event("AT&amp;T charged me &lt;3 times &amp;amp; more"), USERS, ME)
    assert inbound is not None and inbound.text == "AT&T charged me <3 times &amp; more"


def test_an_escaped_handle_prefix_is_still_dropped() -> None:
    inbound = mention_to_inbound(tweet("@acme @friend &gt; refund please"), USERS, ME)
    assert inbound is not None and inbound.text == "> refund please"
