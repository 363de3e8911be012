"""Which Discord messages the bot hears, and what it keeps of them (discord.py models by attribute)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from connectors.discord.translate import Scope, clean_text, render_markup, to_inbound, wanted

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


# Discord markup as the gateway sends it, with the names discord.py resolves from the same payloads.
ALICE, SUPPORT_ROLE, GONE = 278325129692446700, 278325129692446701, 278325129692446799


class Guild:
    """The guild cache as discord.py keeps it: channels and threads, roles, (rarely) members."""

    def __init__(self) -> None:
        self.channels = {GENERAL: SimpleNamespace(id=GENERAL, name="general"), THREAD: SimpleNamespace(name="order 12")}
        self.roles = {SUPPORT_ROLE: SimpleNamespace(id=SUPPORT_ROLE, name="Support")}

    def get_channel_or_thread(self, item_id: int) -> Any:
        return self.channels.get(item_id)

    def get_role(self, item_id: int) -> Any:
        return self.roles.get(item_id)

    def get_member(self, item_id: int) -> Any:
        return None  # no members intent: mentioned members come with the message


def marked(content: str, **kw: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "guild": Guild(),
        "mentions": [SimpleNamespace(id=ALICE, display_name="Alice")],
        "role_mentions": [],
    } | kw
    msg = message(content, **values)
    msg.channel.name = "support"
    return msg


def test_channel_mentions_read_as_channel_names() -> None:
    assert render_markup(f"see <#{GENERAL}> and <#{SUPPORT}>", marked("")) == "see #general and #support"


def test_a_thread_mention_reads_as_the_thread_name() -> None:
    assert render_markup(f"in <#{THREAD}>", marked("")) == "in #order 12"


def test_role_mentions_read_as_role_names_from_the_message_or_the_guild() -> None:
    from_guild = render_markup(f"<@&{SUPPORT_ROLE}> help", marked(""))
    resolved = render_markup("<@&77> help", marked("", role_mentions=[SimpleNamespace(id=77, name="Mods")]))
    assert (from_guild, resolved) == ("@Support help", "@Mods help")


def test_user_mentions_read_as_display_names_with_or_without_the_nickname_bang() -> None:
    assert render_markup(f"ask <@{ALICE}> or <@!{ALICE}>", marked("")) == "ask @Alice or @Alice"


def test_custom_and_animated_emoji_read_as_their_names() -> None:
    assert render_markup("yay <:party:278325129692446722> <a:dance:1>!", marked("")) == "yay :party: :dance:!"


def test_unknown_ids_read_as_unknown() -> None:
    text = render_markup(f"<#{GONE}> <@&{GONE}> <@{GONE}>", marked(""))
    assert text == "#unknown @unknown @unknown"


def test_in_a_dm_only_the_mentioned_users_are_known() -> None:
    dm = marked(f"<@{ALICE}> in <#{GENERAL}>", guild=None, channel=77)
    assert render_markup(dm.content, dm) == "@Alice in #unknown"


def test_inbound_text_is_rendered_after_the_bots_own_mention_is_dropped() -> None:
    inbound = to_inbound(marked(f"<@{ME}> <@&{SUPPORT_ROLE}> my order in <#{GENERAL}> :( <:sad:5>"), ME)
    assert inbound is not None and inbound.text == "@Support my order in #general :( :sad:"


def test_plain_angle_brackets_and_timestamps_are_left_as_written() -> None:
    assert render_markup("a <b> c <t:1700000000:R> <#abc>", marked("")) == "a <b> c <t:1700000000:R> <#abc>"
