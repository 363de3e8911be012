"""Which Discord messages the bot hears, and what it keeps of them (discord.py models by attribute)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from connectors.discord.translate import Scope, clean_text, to_inbound, wanted

ME, GUILD, SUPPORT, GENERAL, THREAD, CUSTOMER = 1, 10, 20, 21, 30, 100


def author(user_id: int = CUSTOMER, **kw: Any) -> SimpleNamespace:
    values = {"id": user_id, "bot": False, "name": "dana", "global_name": "Dana", "display_name": "Dana"} | kw
    return SimpleNamespace(**values)


def message(
    content: str = "help", *, dm: bool = False, channel: int = SUPPORT, parent: int | None = None, **kw: Any
) -> SimpleNamespace:
    values: dict[str, Any] = {
        "id": 555,
        "content": content,
        "author": author(),
        "mentions": [],
        "attachments": [],
        "webhook_id": None,
        "channel": SimpleNamespace(id=channel, parent_id=parent),
        "created_at": datetime(2026, 1, 2, tzinfo=UTC),
        "guild": None if dm else SimpleNamespace(id=GUILD),
    } | kw
    return SimpleNamespace(**values)


EVERYWHERE = Scope(me_id=ME)
SUPPORT_ONLY = Scope(me_id=ME, guild_ids=frozenset({GUILD}), channel_ids=frozenset({SUPPORT}))


def test_guild_message_becomes_an_inbound_message_with_platform_ids() -> None:
    inbound = to_inbound(message("my order is late"), ME)
    assert inbound is not None
    assert (inbound.channel, inbound.connector, inbound.external_id) == ("discord", "discord", "555")
    assert (inbound.author_id, inbound.author_handle, inbound.author_name) == (str(CUSTOMER), "dana", "Dana")
    assert inbound.conversation_id == str(SUPPORT) and inbound.direct is False
    assert inbound.sent_at == datetime(2026, 1, 2, tzinfo=UTC)


def test_dm_is_direct_and_its_channel_is_the_conversation() -> None:
    inbound = to_inbound(message("charged twice", dm=True, channel=77), ME)
    assert inbound is not None and inbound.direct is True and inbound.conversation_id == "77"


def test_thread_message_keeps_the_thread_as_conversation_and_is_heard_via_its_parent() -> None:
    msg = message("in a thread", channel=THREAD, parent=SUPPORT)
    assert wanted(msg, SUPPORT_ONLY)
    inbound = to_inbound(msg, ME)
    assert inbound is not None and inbound.conversation_id == str(THREAD)


def test_bots_webhooks_and_itself_are_not_heard() -> None:
    assert not wanted(message(author=author(bot=True)), EVERYWHERE)
    assert not wanted(message(author=author(ME)), EVERYWHERE)
    assert not wanted(message(webhook_id=9), EVERYWHERE)
    assert not wanted(message(author=None), EVERYWHERE)


def test_channel_and_guild_lists_limit_listening_but_mentions_and_dms_are_heard() -> None:
    assert wanted(message(channel=SUPPORT), SUPPORT_ONLY)
    assert not wanted(message(channel=GENERAL), SUPPORT_ONLY)
    assert wanted(message(f"<@{ME}> help", channel=GENERAL), SUPPORT_ONLY)
    assert wanted(message("hey", channel=GENERAL, mentions=[SimpleNamespace(id=ME)]), SUPPORT_ONLY)
    assert not wanted(message(guild=SimpleNamespace(id=99)), SUPPORT_ONLY)
    assert wanted(message(dm=True, channel=5), SUPPORT_ONLY)
    assert wanted(message(channel=GENERAL), EVERYWHERE)


def test_the_bots_own_mention_is_removed_from_the_text() -> None:
    inbound = to_inbound(message(f"<@{ME}> my login fails <@!{ME}>"), ME)
    assert inbound is not None and inbound.text == "my login fails"


def test_empty_and_attachment_only_messages_are_skipped() -> None:
    assert to_inbound(message(""), ME) is None
    assert to_inbound(message("   "), ME) is None
    assert to_inbound(message(f"<@{ME}>"), ME) is None
    assert to_inbound(message("", attachments=[object()]), ME) is None


def test_missing_or_odd_fields_are_skipped_not_raised() -> None:
    assert to_inbound(message(id=None), ME) is None
    assert to_inbound(message(author=SimpleNamespace()), ME) is None
    assert to_inbound(message(content=None), ME) is None
    inbound = to_inbound(message(created_at="yesterday"), ME)
    assert inbound is not None and inbound.sent_at.tzinfo is not None


def test_deleted_author_keeps_its_id_and_a_name() -> None:
    gone = author(456226577798135808, name="Deleted User", global_name=None, display_name="Deleted User")
    inbound = to_inbound(message(author=gone), ME)
    assert inbound is not None and inbound.author_id == "456226577798135808"
    assert inbound.author_name == "Deleted User"


def test_unicode_tricks_are_neutralised_and_long_messages_kept_whole() -> None:
    inbound = to_inbound(message("\u202eevil\x00 te\u0301xt"), ME)
    assert inbound is not None and inbound.text == "evil t\u00e9xt"
    long = to_inbound(message("x" * 4000), ME)
    assert long is not None and len(long.text) == 4000
    name = to_inbound(message(author=author(global_name="\u202e" + "n" * 300)), ME)
    assert name is not None and name.author_name == "n" * 100


def test_clean_text_of_a_non_string_is_empty() -> None:
    assert clean_text(None) == "" and clean_text(42) == ""
