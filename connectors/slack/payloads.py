"""The raw Slack JSON shapes Rapport reads, as TypedDicts. They never leave `connectors/slack`."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class UserProfile(TypedDict, total=False):
    display_name: str
    real_name: str
    name: str


class MessageEvent(TypedDict):
    """A `message` event (Events API `event` field)."""

    type: str
    channel: str
    ts: str
    text: NotRequired[str]
    user: NotRequired[str]
    bot_id: NotRequired[str]
    subtype: NotRequired[str]
    thread_ts: NotRequired[str]
    channel_type: NotRequired[str]  # channel | group | im | mpim
    user_profile: NotRequired[UserProfile]


class BlockAction(TypedDict):
    """One element of `actions` in a `block_actions` payload."""

    action_id: str
    block_id: NotRequired[str]
    value: NotRequired[str]
    selected_option: NotRequired[dict[str, Any]]
    action_ts: NotRequired[str]
